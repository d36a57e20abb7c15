"""The HTTP contract against a running daemon: feeds, action links, health, metrics.

Every test talks HTTP to a real :class:`service.daemon.Daemon` (the ``web_daemon``
fixture in tests/fixtures/web.py) and uses the real ``staywatch`` CLI for feed URLs,
rotation, ``done``, ``upcoming`` and ``feed export``.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import secrets
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

import service.daemon as daemon_module
from service.publish import ack_url
from service.status import PUBLIC_HEALTH
from service.store.models import metadata
from service.tokens import feed_token, installation_id, sign_action
from service.web import NOT_FOUND
from tests.fixtures.web import Reply, WebDaemon, poll

IDENTITY = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip, deflate"}
CALENDAR_TYPE = "text/calendar; charset=utf-8"
#: Tables whose rows are the daemon's state (the Alembic bookkeeping is not).
STATE_TABLES = list(metadata.sorted_tables)


# -- helpers ---------------------------------------------------------------------


#: The installation part of a UID (``...@0123456789abcdef.staywatch``).
_INSTALLATION = re.compile(r"@[0-9a-f]{16}\.staywatch$")


def events(body: bytes) -> dict[str, Any]:
    """UID -> VEVENT of a calendar, parsed with icalendar; UIDs without the installation part."""
    calendar = Calendar.from_ical(body)
    out = {}
    for event in calendar.walk("VEVENT"):
        uid = str(event["UID"])
        assert _INSTALLATION.search(uid), uid
        out[_INSTALLATION.sub("@staywatch", uid)] = event
    return out


def event_summary(event: Any) -> tuple[Any, ...]:
    """What a subscriber sees of an event (for comparing two calendars)."""
    return (
        str(event["UID"]),
        str(event["SUMMARY"]),
        event.decoded("DTSTART"),
        event.decoded("DTEND", None),
        int(event.get("SEQUENCE", 0)),
        str(event.get("X-STAYWATCH-DONE", "")),
        str(event.get("DESCRIPTION", "")),
        len(event.walk("VALARM")),
    )


async def store_state(running: WebDaemon) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every state table (the heartbeat, a liveness stamp, left out)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with running.store.engine.connect() as conn:
        for table in STATE_TABLES:
            rows = [tuple(row) for row in await conn.execute(select(table))]
            if table.name == "meta":
                rows = [row for row in rows if row[0] != "heartbeat"]
            out[table.name] = sorted(rows, key=repr)
    return out


async def upcoming(running: WebDaemon) -> dict[str, str]:
    """key -> status from ``staywatch upcoming --json``."""
    rows = json.loads(await running.cli("upcoming", "--json", "--days", "60"))
    return {row["key"]: row["status"] for row in rows}


def occurrence_key(running: WebDaemon, person: str) -> str:
    """The one occurrence of the test config's deadline for ``person``."""
    deadline, days = {"ana-lima": ("permit", 10), "li-wei": ("stay", 12)}[person]
    return f"{person}/{deadline}/{running.today + timedelta(days=days)}"


async def act_link(running: WebDaemon, key: str, *, expires: datetime | None = None) -> str:
    """The acknowledge link the dispatcher writes into emails (or one expiring at ``expires``)."""
    assert running.daemon is not None
    secret = running.daemon.secret
    if expires is None:
        occurrence = await running.daemon.occurrence(key)
        assert occurrence is not None, key
        return ack_url(running.daemon.config, secret, occurrence, running.clock.now())
    signed = sign_action(secret, occurrence=key, action="ack", expires=expires)
    return f"{running.base}/act/{signed}"


def assert_not_found(reply: Reply) -> None:
    """The one 404 every wrong token or link gets: nothing to tell them apart."""
    assert reply.status == 404
    assert reply.body == NOT_FOUND
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert "ETag" not in reply.headers
    assert "Last-Modified" not in reply.headers


# -- the calendar feed -------------------------------------------------------------


async def test_calendar_is_served_with_strong_validators_and_304(web_daemon: WebDaemon) -> None:
    url = await web_daemon.feed_url("ana-lima")
    assert urlsplit(url).path.startswith("/calendar/")
    assert url.endswith(".ics")

    first = await web_daemon.request("GET", url, IDENTITY)
    assert first.status == 200
    assert first.headers["Content-Type"] == CALENDAR_TYPE
    assert "Content-Encoding" not in first.headers
    etag = first.headers["ETag"]
    assert not etag.startswith("W/"), "the ETag must be strong"
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert len(etag) > 2
    last_modified = parsedate_to_datetime(first.headers["Last-Modified"])
    assert last_modified.tzinfo is not None
    assert last_modified <= web_daemon.clock.now()

    parsed = events(first.body)
    deadline = parsed["ana-lima/permit@staywatch"]
    assert web_daemon.daemon is not None
    installation = installation_id(web_daemon.daemon.secret)
    assert str(deadline["UID"]) == f"ana-lima/permit@{installation}.staywatch"
    assert deadline.decoded("DTSTART") == web_daemon.today + timedelta(days=10)
    assert "Renew work permit" in str(deadline["SUMMARY"])
    assert not any(uid.startswith(("li-wei/", "carol-ng/")) for uid in parsed)

    again = await web_daemon.request("GET", url, IDENTITY)
    assert again.status == 200
    assert again.body == first.body
    assert again.headers["ETag"] == etag
    assert again.headers["Last-Modified"] == first.headers["Last-Modified"]

    by_etag = await web_daemon.request("GET", url, {**IDENTITY, "If-None-Match": etag})
    assert by_etag.status == 304
    assert by_etag.body == b""
    assert by_etag.headers["ETag"] == etag

    listed = await web_daemon.request("GET", url, {**IDENTITY, "If-None-Match": f'"x", {etag}'})
    assert listed.status == 304

    by_date = await web_daemon.request(
        "GET", url, {**IDENTITY, "If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert by_date.status == 304
    assert by_date.body == b""

    older = format_datetime(last_modified - timedelta(seconds=1), usegmt=True)
    stale = await web_daemon.request("GET", url, {**IDENTITY, "If-Modified-Since": older})
    assert stale.status == 200
    assert stale.body == first.body

    other = await web_daemon.request("GET", url, {**IDENTITY, "If-None-Match": '"not-it"'})
    assert other.status == 200
    assert other.body == first.body

    # webcal:// is only a scheme that tells a phone "subscribe with the calendar app";
    # the app fetches the very same path over http(s), so nothing else is served.
    webcal = url.replace("http://", "webcal://", 1)
    assert urlsplit(webcal).scheme == "webcal"
    assert urlsplit(webcal).path == urlsplit(url).path
    assert urlsplit(webcal).netloc == urlsplit(url).netloc


async def test_calendar_is_gzipped_when_asked(web_daemon: WebDaemon) -> None:
    url = await web_daemon.feed_url("ana-lima")
    plain = await web_daemon.request("GET", url, IDENTITY)
    zipped = await web_daemon.request("GET", url, GZIP)
    assert zipped.status == 200
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Content-Type"] == CALENDAR_TYPE
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert zipped.body[:2] == b"\x1f\x8b"
    assert gzip.decompress(zipped.body) == plain.body
    assert len(zipped.body) < len(plain.body)
    # A different representation has a different strong validator.
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert not zipped.headers["ETag"].startswith("W/")
    assert zipped.headers["Last-Modified"] == plain.headers["Last-Modified"]

    again = await web_daemon.request("GET", url, GZIP)
    assert again.body == zipped.body
    assert again.headers["ETag"] == zipped.headers["ETag"]
    cached = await web_daemon.request("GET", url, {**GZIP, "If-None-Match": again.headers["ETag"]})
    assert cached.status == 304
    assert cached.body == b""


async def test_head_answers_like_get_and_neither_changes_the_store(
    web_daemon: WebDaemon,
) -> None:
    url = await web_daemon.feed_url("ana-lima")
    admin = await web_daemon.feed_url(None)
    # The first GET of a calendar records its SEQUENCE baseline and stamp; after that,
    # reading must leave every table as it is.
    warm = await web_daemon.request("GET", url, IDENTITY)
    await web_daemon.request("GET", admin, IDENTITY)
    before = await store_state(web_daemon)
    acked_before = await web_daemon.store.acknowledged()

    head = await web_daemon.request("HEAD", url, IDENTITY)
    assert head.status == 200
    assert head.body == b""
    for name in ("Content-Type", "ETag", "Last-Modified", "Content-Length", "Cache-Control"):
        assert head.headers[name] == warm.headers[name], name
    assert int(head.headers["Content-Length"]) == len(warm.body)

    head_gz = await web_daemon.request("HEAD", url, GZIP)
    assert head_gz.status == 200
    assert head_gz.body == b""
    assert head_gz.headers["Content-Encoding"] == "gzip"
    head_304 = await web_daemon.request(
        "HEAD", url, {**IDENTITY, "If-None-Match": warm.headers["ETag"]}
    )
    assert head_304.status == 304

    for method in ("GET", "HEAD"):
        for headers in (IDENTITY, GZIP):
            assert (await web_daemon.request(method, url, headers)).status == 200
            assert (await web_daemon.request(method, admin, headers)).status == 200
    # Rebuild from the store (as after a reload) and read again: same bytes, no writes.
    assert web_daemon.daemon is not None
    web_daemon.daemon._invalidate_feeds(None)
    rebuilt = await web_daemon.request("GET", url, IDENTITY)
    assert rebuilt.body == warm.body
    assert rebuilt.headers["ETag"] == warm.headers["ETag"]

    assert await store_state(web_daemon) == before
    assert await web_daemon.store.acknowledged() == acked_before


async def test_wrong_tokens_all_get_the_same_404(web_daemon: WebDaemon) -> None:
    good = await web_daemon.feed_url("ana-lima")
    carol = await web_daemon.feed_url("carol-ng")
    li_token = urlsplit(await web_daemon.feed_url("li-wei")).path.split("/")[-1][: -len(".ics")]
    assert len(li_token) == 24
    flipped = li_token[:10] + ("A" if li_token[10] != "A" else "B") + li_token[11:]
    assert (await web_daemon.request("GET", carol, IDENTITY)).status == 200

    # carol-ng leaves the config; the running daemon reloads it and her
    # (once valid) token stops working.
    text = web_daemon.config_path.read_text(encoding="utf-8")
    start, end = text.index("# carol-begin"), text.index("# carol-end")
    web_daemon.config_path.write_text(text[:start] + text[end:], encoding="utf-8")

    async def carol_gone() -> bool:
        return (await web_daemon.request("GET", carol, IDENTITY)).status == 404

    await poll(carol_gone, what="the removed person's feed to answer 404")

    assert web_daemon.daemon is not None
    ghost = feed_token(web_daemon.daemon.secret, "nobody-here")
    wrong = [
        secrets.token_urlsafe(18),  # random, 24 characters like a real token
        "abc",  # too short
        flipped,  # another person's token with one character changed
        li_token[:-1],  # one character cut off
        li_token + "x",
        ghost,  # a genuine token of a person who is not in the config
        "%00",
    ]
    replies = [
        await web_daemon.request("GET", f"/calendar/{token}.ics", headers)
        for token in wrong
        for headers in (IDENTITY, GZIP)
    ]
    replies.append(await web_daemon.request("GET", carol, IDENTITY))
    replies.append(await web_daemon.request("GET", carol, {**IDENTITY, "If-None-Match": "*"}))
    for reply in replies:
        assert_not_found(reply)
    heads = [await web_daemon.request("HEAD", f"/calendar/{t}.ics", IDENTITY) for t in wrong]
    assert {r.status for r in heads} == {404}
    assert {r.headers["Content-Length"] for r in heads} == {str(len(NOT_FOUND))}
    # The right token still works.
    assert (await web_daemon.request("GET", good, IDENTITY)).status == 200
    # The timing side is by construction (TokenIndex hashes the token for the lookup
    # and always runs one compare_digest); it is not measured over the wire here.


async def test_admin_url_shows_everyone(web_daemon: WebDaemon) -> None:
    admin = await web_daemon.feed_url(None)
    people = {await web_daemon.feed_url(p) for p in ("ana-lima", "li-wei", "carol-ng")}
    assert admin not in people
    assert len(people) == 3

    reply = await web_daemon.request("GET", admin, IDENTITY)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == CALENDAR_TYPE
    calendar = Calendar.from_ical(reply.body)
    assert str(calendar["X-WR-CALNAME"]) == "staywatch: everyone"
    uids = set(events(reply.body))
    for uid in ("ana-lima/permit@staywatch", "li-wei/stay@staywatch", "carol-ng/card@staywatch"):
        assert uid in uids
    # The person's own calendar is exactly their part of the admin one.
    own = set(events((await web_daemon.request("GET", min(people), IDENTITY)).body))
    assert own
    assert own <= uids


async def test_rotation_revokes_the_old_url_at_once_and_for_good(web_daemon: WebDaemon) -> None:
    old = await web_daemon.feed_url("li-wei")
    assert (await web_daemon.request("GET", old, IDENTITY)).status == 200
    other = await web_daemon.feed_url("ana-lima")

    new = (await web_daemon.cli("feed-url", "--rotate", "li-wei")).strip()
    assert new != old
    assert new.startswith(f"{web_daemon.base}/calendar/")
    assert await web_daemon.feed_url("li-wei") == new

    loop_time = asyncio.get_running_loop().time
    started = loop_time()

    async def old_refused() -> bool:
        return (await web_daemon.request("GET", old, IDENTITY)).status == 404

    await poll(old_refused, what="the rotated URL to answer 404", within=5)
    # The daemon re-reads token generations at most once a second.
    assert loop_time() - started < 2.5
    assert_not_found(await web_daemon.request("GET", old, IDENTITY))
    fresh = await web_daemon.request("GET", new, IDENTITY)
    assert fresh.status == 200
    assert "li-wei/stay@staywatch" in events(fresh.body)
    # Nobody else's URL changed.
    assert (await web_daemon.request("GET", other, IDENTITY)).status == 200

    await web_daemon.restart()
    assert_not_found(await web_daemon.request("GET", old, IDENTITY))
    assert (await web_daemon.request("GET", new, IDENTITY)).status == 200
    assert (await web_daemon.request("GET", other, IDENTITY)).status == 200


async def test_done_on_the_command_line_changes_the_feed(web_daemon: WebDaemon) -> None:
    url = await web_daemon.feed_url("ana-lima")
    before = await web_daemon.request("GET", url, IDENTITY)
    event = events(before.body)["ana-lima/permit@staywatch"]
    assert "X-STAYWATCH-DONE" not in event

    key = occurrence_key(web_daemon, "ana-lima")
    out = await web_daemon.cli("done", key)
    assert key in out

    async def changed() -> Reply | None:
        reply = await web_daemon.request("GET", url, IDENTITY)
        return reply if reply.headers.get("ETag") != before.headers["ETag"] else None

    after = await poll(changed, what="the feed to show the acknowledgement", within=5)
    assert after.status == 200
    done = events(after.body)["ana-lima/permit@staywatch"]
    assert str(done["X-STAYWATCH-DONE"]) == "TRUE"
    assert int(done["SEQUENCE"]) > int(event["SEQUENCE"])
    assert not done.walk("VALARM")
    # The old validator no longer matches: a subscribed client downloads the change.
    revalidated = await web_daemon.request(
        "GET", url, {**IDENTITY, "If-None-Match": before.headers["ETag"]}
    )
    assert revalidated.status == 200


# -- action links -------------------------------------------------------------------


async def test_act_get_shows_a_confirmation_page_and_changes_nothing(
    web_daemon: WebDaemon,
) -> None:
    from service.texts import ui

    before = await store_state(web_daemon)
    key = occurrence_key(web_daemon, "li-wei")
    link = await act_link(web_daemon, key)
    assert link.startswith(f"{web_daemon.base}/act/")

    page = await web_daemon.request("GET", link)
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-store"
    html = page.text
    assert '<html lang="zh">' in html
    assert ui("confirm_question", "zh") in html
    assert ui("confirm_button", "zh") in html
    assert '<form method="post">' in html
    assert 'id="confirm"' in html
    assert 'id="state"' not in html
    assert "Li Wei" in html
    assert "Extend period of stay" in html

    english = await web_daemon.request(
        "GET", await act_link(web_daemon, occurrence_key(web_daemon, "ana-lima"))
    )
    assert english.status == 200
    assert '<html lang="en">' in english.text
    assert ui("confirm_question", "en") in english.text

    head = await web_daemon.request("HEAD", link)
    assert head.status == 200
    assert head.body == b""
    for _ in range(3):  # a mail scanner prefetching, repeatedly
        assert (await web_daemon.request("GET", link)).status == 200

    assert await store_state(web_daemon) == before
    assert key not in await web_daemon.store.acknowledged()
    statuses = await upcoming(web_daemon)
    assert statuses[f"{key}/P3D"] == "pending"


async def test_act_post_records_the_acknowledgement(web_daemon: WebDaemon) -> None:
    from service.texts import ui

    key = occurrence_key(web_daemon, "li-wei")
    link = await act_link(web_daemon, key)
    url = await web_daemon.feed_url("li-wei")
    feed_before = await web_daemon.request("GET", url, IDENTITY)

    result = await web_daemon.request("POST", link)
    assert result.status == 200
    assert result.headers["Content-Type"].startswith("text/html")
    assert 'id="state"' in result.text
    assert ui("done", "zh") in result.text
    assert ui("confirmed", "zh") in result.text

    assert key in await web_daemon.store.acknowledged("li-wei")
    statuses = await upcoming(web_daemon)
    assert statuses[f"{key}/P3D"] == "acknowledged"
    assert statuses[f"{key}/PT0S"] == "acknowledged"
    other = occurrence_key(web_daemon, "ana-lima")
    assert statuses[f"{other}/P5D"] == "pending"

    # The page now says it is done (no button), and a second POST is harmless.
    page = await web_daemon.request("GET", link)
    assert page.status == 200
    assert 'id="state"' in page.text
    assert 'id="confirm"' not in page.text
    assert (await web_daemon.request("POST", link)).status == 200
    assert await web_daemon.store.acknowledged() == {key}

    feed_after = await web_daemon.request("GET", url, IDENTITY)
    assert feed_after.headers["ETag"] != feed_before.headers["ETag"]
    assert str(events(feed_after.body)["li-wei/stay@staywatch"]["X-STAYWATCH-DONE"]) == "TRUE"


async def test_tampered_links_are_refused_with_the_same_page(web_daemon: WebDaemon) -> None:
    key = occurrence_key(web_daemon, "ana-lima")
    link = await act_link(web_daemon, key)
    signed = link.rsplit("/", 1)[1]
    payload, tag = signed.split(".")

    def flip(text: str, at: int) -> str:
        return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]

    other_secret = sign_action(
        b"another-secret-entirely-0123456789",
        occurrence=key,
        expires=web_daemon.clock.now() + timedelta(days=30),
    )
    forged_for_other = sign_action(
        b"another-secret-entirely-0123456789",
        occurrence=occurrence_key(web_daemon, "li-wei"),
        expires=web_daemon.clock.now() + timedelta(days=30),
    )
    wrong = [
        f"{flip(payload, 3)}.{tag}",  # the claim changed
        f"{payload}.{flip(tag, 0)}",  # the tag changed
        f"{payload}.{flip(tag, len(tag) - 1)}",
        signed[:-1],  # truncated
        signed[: len(signed) // 2],
        payload,  # the tag cut off
        f"{payload}.",
        f".{tag}",
        "garbage",
        secrets.token_urlsafe(40),
        other_secret,
        forged_for_other,
    ]
    from service.texts import ui

    before = await store_state(web_daemon)
    bodies = set()
    for bad in wrong:
        for method in ("GET", "POST"):
            reply = await web_daemon.request(method, f"/act/{bad}")
            # One page for every bad link, in English and Korean (whose link it was
            # cannot be trusted): it says the link may have been cut short.
            assert reply.status == 404
            assert reply.headers["Content-Type"].startswith("text/html")
            assert ui("link_invalid", "en") in reply.text
            assert ui("link_invalid", "ko") in reply.text
            assert 'id="confirm"' not in reply.text
            bodies.add(reply.body)
    assert len(bodies) == 1
    assert await store_state(web_daemon) == before
    assert not await web_daemon.store.acknowledged()
    # The genuine link is still fine.
    assert (await web_daemon.request("GET", link)).status == 200


async def test_expired_links_are_refused_and_record_nothing(web_daemon: WebDaemon) -> None:
    from service.texts import ui

    key = occurrence_key(web_daemon, "ana-lima")
    now = web_daemon.clock.now()
    before = await store_state(web_daemon)

    expired = await act_link(web_daemon, key, expires=now - timedelta(seconds=1))
    for method in ("GET", "POST"):
        reply = await web_daemon.request(method, expired)
        assert reply.status == 410
        assert ui("link_expired", "en") in reply.text
        assert 'id="confirm"' not in reply.text

    # A link valid for one more minute works until the clock passes its expiry.
    short = await act_link(web_daemon, key, expires=now + timedelta(minutes=1))
    assert (await web_daemon.request("GET", short)).status == 200
    web_daemon.clock.set(now + timedelta(minutes=1))
    assert (await web_daemon.request("GET", short)).status == 410
    assert (await web_daemon.request("POST", short)).status == 410

    # A genuine link for an occurrence the config does not have: gone.
    gone = await act_link(web_daemon, "ana-lima/permit/2020-01-01", expires=now + timedelta(days=9))
    web_daemon.clock.set(now)
    assert (await web_daemon.request("POST", gone)).status == 410

    assert await store_state(web_daemon) == before
    assert not await web_daemon.store.acknowledged()
    assert (await upcoming(web_daemon))[f"{key}/P5D"] == "pending"


# -- health and metrics -------------------------------------------------------------


async def test_healthz_reports_and_turns_503_on_a_broken_config(web_daemon: WebDaemon) -> None:
    reply = await web_daemon.request("GET", "/healthz")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    health = json.loads(reply.body)
    assert set(health) == set(PUBLIC_HEALTH)  # counts, booleans and instants only
    assert health["config_ok"] is True
    assert health["db"] is True
    assert health["sent"] == 2  # the reminder of each person already due at start
    assert health["pending"] == 5
    assert health["failed"] == 0
    assert health["last_plan"]

    feed_url = await web_daemon.feed_url("li-wei")
    admin = (await web_daemon.feed_url(None)).rsplit("/", 1)[1].removesuffix(".ics")
    good = web_daemon.config_path.read_text(encoding="utf-8")
    web_daemon.config_path.write_text(
        good.replace('language = "zh"', 'language = "fr"'), encoding="utf-8"
    )

    async def unhealthy() -> Reply | None:
        reply = await web_daemon.request("GET", "/healthz")
        return reply if reply.status == 503 else None

    broken = json.loads((await poll(unhealthy, what="/healthz to answer 503")).body)
    assert broken["config_ok"] is False
    assert "config_errors" not in broken
    assert broken["db"] is True
    details = json.loads((await web_daemon.request("GET", f"/healthz?token={admin}")).body)
    assert any("language" in problem for problem in details["config_errors"])
    # The daemon keeps serving on the last good config.
    feed = await web_daemon.request("GET", feed_url, IDENTITY)
    assert feed.status == 200

    web_daemon.config_path.write_text(good, encoding="utf-8")

    async def healthy() -> Reply | None:
        reply = await web_daemon.request("GET", "/healthz")
        return reply if reply.status == 200 else None

    fixed = json.loads((await poll(healthy, what="/healthz to recover")).body)
    assert fixed["config_ok"] is True
    assert fixed["last_reload"]


async def test_healthz_reads_the_store_once_for_many_requests_and_again_after_a_write(
    web_daemon: WebDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = web_daemon.store
    reads = 0
    real_counts = store.counts

    async def counts() -> dict[str, int]:
        nonlocal reads
        reads += 1
        return await real_counts()

    monkeypatch.setattr(store, "counts", counts)
    await store.set_meta("probe", "1")  # a write: what was read before is stale
    # A burst of monitors (or a flood): one read of the store answers them all.
    replies = await asyncio.gather(*(web_daemon.request("GET", "/healthz") for _ in range(40)))
    assert {r.status for r in replies} == {200}
    assert reads == 1
    before = json.loads(replies[0].body)
    await web_daemon.request("GET", "/healthz")
    assert reads == 1

    # A write of this process shows at once: an acknowledgement stops pending reminders.
    row = next(r for r in await store.reminders() if r.status == "pending")
    stopped = await store.acknowledge(
        row.occurrence,
        person=row.person,
        deadline=row.deadline,
        occurrence_date=row.occurrence_date,
        by="cli",
        at=web_daemon.clock.now(),
    )
    assert stopped >= 1
    after = json.loads((await web_daemon.request("GET", "/healthz")).body)
    assert reads == 2
    assert after["acknowledged"] == before["acknowledged"] + stopped
    assert after["pending"] == before["pending"] - stopped

    # What other processes write shows once the answer is old enough.
    monkeypatch.setattr(daemon_module, "SNAPSHOT_MAX_AGE", 0.0)
    await web_daemon.request("GET", "/healthz")
    assert reads == 3


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_metrics_are_prometheus_text(web_daemon: WebDaemon) -> None:
    url = await web_daemon.feed_url("ana-lima")

    async def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        reply = await web_daemon.request("GET", "/metrics")
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/plain")
        return _samples(reply.text)

    def requests(samples: dict[Any, float], code: str) -> float:
        return samples.get(("staywatch_feed_requests_total", (("code", code),)), 0.0)

    before = await scrape()
    first = await web_daemon.request("GET", url, IDENTITY)
    await web_daemon.request("GET", url, {**IDENTITY, "If-None-Match": first.headers["ETag"]})
    await web_daemon.request("GET", "/calendar/nope.ics", IDENTITY)
    await web_daemon.request("GET", "/calendar/nope.ics", IDENTITY)
    after = await scrape()

    counts = await web_daemon.store.counts()
    assert after[("staywatch_reminders", (("status", "pending"),))] == counts["pending"] == 5
    assert after[("staywatch_reminders", (("status", "sent"),))] == counts["sent"] == 2
    assert requests(after, "200") - requests(before, "200") == 1
    assert requests(after, "304") - requests(before, "304") == 1
    assert requests(after, "404") - requests(before, "404") == 2
    assert ("staywatch_config_ok", ()) in after


async def test_feed_export_writes_what_the_url_serves(
    web_daemon: WebDaemon, tmp_path: Path
) -> None:
    url = await web_daemon.feed_url("li-wei")
    served = await web_daemon.request("GET", url, IDENTITY)
    target = tmp_path / "li-wei.ics"
    out = await web_daemon.cli("feed", "export", "li-wei", "-o", str(target))
    assert str(target) in out
    exported = target.read_bytes()

    served_events = events(served.body)
    exported_events = events(exported)
    assert served_events.keys() == exported_events.keys()
    assert "li-wei/stay@staywatch" in exported_events
    for uid, event in served_events.items():
        assert event_summary(exported_events[uid]) == event_summary(event), uid
        assert exported_events[uid].decoded("DTSTAMP") == event.decoded("DTSTAMP")
    exported_calendar = Calendar.from_ical(exported)
    served_calendar = Calendar.from_ical(served.body)
    assert str(exported_calendar["X-WR-CALNAME"]) == str(served_calendar["X-WR-CALNAME"])


async def test_other_paths_are_plain_404s(web_daemon: WebDaemon) -> None:
    for path in ("/calendar/.ics", "/calendar/x", "/act/", "/nope", "/calendar"):
        assert (await web_daemon.request("GET", path, IDENTITY)).status == 404, path
