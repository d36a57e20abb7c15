"""The addresses of one feed: webcal, subscribe page, Google and Outlook links."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from service.links import (
    google_calendar_url,
    outlook_calendar_url,
    subscribe_page_url,
    webcal_url,
)

FEED = "https://staywatch.example.org/calendar/Q2FsZW5kYXJUb2tlbjEy.ics"


def test_webcal_and_the_page_keep_host_and_path() -> None:
    assert webcal_url(FEED) == "webcal://staywatch.example.org/calendar/Q2FsZW5kYXJUb2tlbjEy.ics"
    assert webcal_url("http://127.0.0.1:8780/calendar/x.ics") == (
        "webcal://127.0.0.1:8780/calendar/x.ics"
    )
    assert subscribe_page_url(FEED) == "https://staywatch.example.org/calendar/Q2FsZW5kYXJUb2tlbjEy"


def test_google_gets_the_webcal_address_encoded() -> None:
    url = google_calendar_url(FEED)

    assert url == (
        "https://calendar.google.com/calendar/r?cid="
        "webcal%3A%2F%2Fstaywatch.example.org%2Fcalendar%2FQ2FsZW5kYXJUb2tlbjEy.ics"
    )
    assert parse_qs(urlsplit(url).query) == {"cid": [webcal_url(FEED)]}


def test_outlook_gets_the_https_address_and_the_name() -> None:
    url = outlook_calendar_url(FEED, 'staywatch: 김민준, "Kim" & co')

    assert url.startswith("https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2F")
    assert parse_qs(urlsplit(url).query) == {
        "url": [FEED],
        "name": ['staywatch: 김민준, "Kim" & co'],
    }
