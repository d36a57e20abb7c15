"""Calendars as subscribed clients see them, against a real daemon over HTTP.

An acknowledgement must change the bytes of exactly that occurrence's events
(a client that syncs event by event rewrites nothing else), validators must
follow RFC 9110 (weak If-None-Match, ``*``, weighted Accept-Encoding), and
the subscribe page ``/calendar/{token}`` must speak the reader's language
and refuse every other token with the feed's own 404.
"""

from __future__ import annotations

import gzip
import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from icalendar import Calendar

from service.publish import ack_url
from service.web import NOT_FOUND
from tests.fixtures.web import Reply, WebDaemon
from tests.integration.test_office_web import office_daemon, office_url

__all__ = ["office_daemon"]  # the fixture, used by name below

IDENTITY = {"Accept-Encoding": "identity"}
_EVENT = re.compile(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", re.S)
_UID = re.compile(rb"\r\nUID:([^\r]*(?:\r\n [^\r]*)*)\r\n")


def event_bytes(body: bytes) -> dict[str, bytes]:
    """UID -> the exact bytes of its VEVENT block, as a syncing client compares them."""
    out: dict[str, bytes] = {}
    for block in _EVENT.findall(body):
        found = _UID.search(b"\r\n" + block)
        assert found, block
        out[found.group(1).replace(b"\r\n ", b"").decode("utf-8")] = block
    assert len(out) == body.count(b"BEGIN:VEVENT"), "UIDs must be unique"
    return out


def assert_not_found(reply: Reply) -> None:
    """The one 404 of every wrong token: nothing tells a page token from a feed token."""
    assert reply.status == 404
    assert reply.body == NOT_FOUND
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert "ETag" not in reply.headers
    assert "Cache-Control" not in reply.headers


# -- an acknowledgement touches only its own events ------------------------------


async def test_an_acknowledgement_changes_only_that_occurrences_events(
    office_daemon: WebDaemon,
) -> None:
    running = office_daemon
    assert running.daemon is not None
    person_feed = await running.feed_url("p-02")
    office_feed = f"{await office_url(running, 'lab')}.ics"
    before = {
        url: event_bytes((await running.request("GET", url, IDENTITY)).body)
        for url in (person_feed, office_feed)
    }
    key = f"p-02/course/{running.today + timedelta(days=42)}"
    assert any(uid.startswith("p-02/course") for uid in before[office_feed])

    # An hour later, p-02 presses "I have done this" in a reminder.
    running.clock.set(running.clock.now() + timedelta(hours=1))
    occurrence = await running.daemon.occurrence(key)
    assert occurrence is not None
    link = ack_url(running.daemon.config, running.daemon.secret, occurrence, running.clock.now())
    assert (await running.request("POST", link)).status == 200

    for url, old in before.items():
        new = event_bytes((await running.request("GET", url, IDENTITY)).body)
        ours = {uid for uid in old if uid.startswith("p-02/course")}
        (deadline,) = (uid for uid in ours if uid.startswith("p-02/course@"))
        assert ours - {deadline}, "the stage events are there until it is done"
        # The deadline event changed; its stages are gone; nothing else moved a byte.
        assert set(new) == set(old) - (ours - {deadline})
        assert new[deadline] != old[deadline]
        assert {uid for uid in new if new[uid] != old[uid]} == {deadline}
        event = Calendar.from_ical(b"BEGIN:VCALENDAR\r\n" + new[deadline] + b"END:VCALENDAR\r\n")
        (done,) = event.walk("VEVENT")
        assert str(done["X-STAYWATCH-DONE"]) == "TRUE"
        assert done.decoded("DTSTAMP") == running.clock.now().replace(microsecond=0)
        assert done.decoded("LAST-MODIFIED") == done.decoded("DTSTAMP")
        assert int(done["SEQUENCE"]) == 1


# -- validators -------------------------------------------------------------------


async def test_if_none_match_compares_weakly_and_takes_lists_and_star(
    office_daemon: WebDaemon,
) -> None:
    url = await office_daemon.feed_url("p-02")
    first = await office_daemon.request("GET", url, IDENTITY)
    etag = first.headers["ETag"]
    zipped = await office_daemon.request("GET", url, {"Accept-Encoding": "gzip"})

    for given in (
        etag,
        f"W/{etag}",  # what a compressing proxy passes on
        f'"other", W/{etag}',
        f'W/"other",{etag}',
        f"W/{zipped.headers['ETag']}",
        "*",
    ):
        reply = await office_daemon.request("GET", url, {**IDENTITY, "If-None-Match": given})
        assert reply.status == 304, given
        assert reply.body == b""
        assert reply.headers["ETag"] == etag
    for given in ('"other"', 'W/"other"', etag.strip('"'), f'{etag[:-2]}x"', ""):
        reply = await office_daemon.request("GET", url, {**IDENTITY, "If-None-Match": given})
        assert reply.status == 200, given
        assert reply.body == first.body


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("*", True),
        ("GZIP;Q=1", True),
        ("identity;q=0.5, gzip", True),
        ("x-gzip", True),
        ("gzip;q=0, identity", False),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("*;q=0, identity", False),
        ("identity, *;q=0", False),
        ("identity;q=1, gzip;q=0.5", False),
        ("deflate, br", False),
        ("identity", False),
        ("", False),
    ],
)
async def test_accept_encoding_weights_are_honoured(
    office_daemon: WebDaemon, accept: str, gzipped: bool
) -> None:
    url = await office_daemon.feed_url("p-02")
    plain = await office_daemon.request("GET", url, IDENTITY)

    reply = await office_daemon.request("GET", url, {"Accept-Encoding": accept})

    assert reply.status == 200
    assert ("Content-Encoding" in reply.headers) == gzipped
    assert (gzip.decompress(reply.body) if gzipped else reply.body) == plain.body
    assert "Accept-Encoding" in reply.headers["Vary"]


# -- the subscribe page --------------------------------------------------------------


def _links(html: str) -> dict[str, str]:
    """id -> href of every link with an id."""
    return {
        found.group(1): unescape(found.group(2))
        for found in re.finditer(r'<a [^>]*id="([^"]+)"[^>]*href="([^"]*)"', html)
    }


async def test_the_subscribe_page_offers_every_way_to_subscribe(office_daemon: WebDaemon) -> None:
    feed = await office_daemon.feed_url("p-02")
    page = feed.removesuffix(".ics")
    assert feed.endswith(".ics")

    reply = await office_daemon.request("GET", page, IDENTITY)

    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["Referrer-Policy"] == "no-referrer"  # the token stays on this page
    html = reply.text
    webcal = "webcal://" + feed.split("://", 1)[1]
    links = _links(html)
    assert links["apple"] == webcal
    google = urlsplit(links["google"])
    assert (google.scheme, google.netloc, google.path) == (
        "https",
        "calendar.google.com",
        "/calendar/r",
    )
    assert parse_qs(google.query) == {"cid": [webcal]}
    assert links["google"].endswith(quote(webcal, safe=""))
    outlook = urlsplit(links["outlook"])
    assert (outlook.netloc, outlook.path) == ("outlook.live.com", "/calendar/0/addfromweb")
    assert parse_qs(outlook.query) == {"url": [feed], "name": ["staywatch: Person 02"]}
    assert f'value="{feed}"' in html
    assert html.count("<svg") == 1
    assert '<html lang="en">' in html
    assert "Person 02" in html
    assert "<script" in html  # only the copy button, which is hidden without it
    assert 'id="copy" hidden' in html

    head = await office_daemon.request("HEAD", page, IDENTITY)
    assert head.status == 200
    assert head.body == b""


@pytest.mark.parametrize(("office", "lang", "name"), [("lab", "ko", "Lab Office")])
async def test_the_subscribe_page_of_an_office_and_of_everyone(
    office_daemon: WebDaemon, office: str, lang: str, name: str
) -> None:
    dashboard = await office_url(office_daemon, office)
    token = dashboard.rsplit("/", 1)[1]
    office_page = await office_daemon.request("GET", f"/calendar/{token}", IDENTITY)
    admin_page = await office_daemon.request(
        "GET", (await office_daemon.feed_url(None)).removesuffix(".ics"), IDENTITY
    )

    assert office_page.status == 200
    assert f'<html lang="{lang}">' in office_page.text
    assert f"staywatch: {name}" in office_page.text
    assert _links(office_page.text)["apple"].endswith(f"/calendar/{token}.ics")
    assert admin_page.status == 200
    assert '<html lang="en">' in admin_page.text
    assert "staywatch: everyone" in admin_page.text


async def test_the_subscribe_page_refuses_what_the_feed_refuses(office_daemon: WebDaemon) -> None:
    good = (await office_daemon.feed_url("p-02")).removesuffix(".ics")
    token = good.rsplit("/", 1)[1]
    rotated = (await office_daemon.cli("feed-url", "--rotate", "p-02")).strip()
    wrong = [
        token,  # rotated away
        token[:-1],
        token[:10] + ("A" if token[10] != "A" else "B") + token[11:],
        "x" * 24,
        "abc.txt",
        "%00",
    ]

    async def old_refused() -> bool:
        return (await office_daemon.request("GET", good, IDENTITY)).status == 404

    from tests.fixtures.web import poll

    await poll(old_refused, what="the rotated page to answer 404", within=5)
    pages = [await office_daemon.request("GET", f"/calendar/{t}", IDENTITY) for t in wrong]
    feeds = [await office_daemon.request("GET", f"/calendar/{t}.ics", IDENTITY) for t in wrong]
    for reply in (*pages, *feeds):
        assert_not_found(reply)
    assert {r.body for r in pages} == {r.body for r in feeds}
    assert (await office_daemon.request("GET", rotated.removesuffix(".ics"))).status == 200
