"""The addresses a calendar feed is known by: webcal, the subscribe page, add-by-URL links.

All are derived from the feed's own ``https://HOST/calendar/TOKEN.ics`` URL, so
the email, the subscribe page and ``staywatch feed-url`` can never disagree.
Pure string functions; nothing here knows tokens or the config.
"""

from __future__ import annotations

from urllib.parse import quote

GOOGLE_ADD_BY_URL = "https://calendar.google.com/calendar/r?cid="
OUTLOOK_ADD_BY_URL = "https://outlook.live.com/calendar/0/addfromweb?url="


def webcal_url(feed_url: str) -> str:
    """``webcal://HOST/...``: the scheme that makes a phone subscribe instead of download.

    The calendar app fetches the very same host and path over http(s).
    """
    return "webcal://" + feed_url.split("://", 1)[1]


def subscribe_page_url(feed_url: str) -> str:
    """The subscribe page of a feed: the same path without ``.ics``."""
    return feed_url.removesuffix(".ics")


def google_calendar_url(feed_url: str) -> str:
    """Google Calendar's "add by URL" link; Google wants the webcal form, URL-encoded."""
    return GOOGLE_ADD_BY_URL + quote(webcal_url(feed_url), safe="")


def outlook_calendar_url(feed_url: str, name: str) -> str:
    """Outlook.com's "add from web" link, with the calendar's name filled in."""
    return f"{OUTLOOK_ADD_BY_URL}{quote(feed_url, safe='')}&name={quote(name, safe='')}"
