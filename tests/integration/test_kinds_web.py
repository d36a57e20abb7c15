"""The newer kinds through a real daemon on config/example.toml: the office dashboard's
kind filter and CSV, the digest, and the people's calendars (deadline and window events).

The daemon's clock is fixed at 2026-12-01 10:00 in Seoul, so that the example's
dates always fall where they did when it was written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from icalendar import Calendar

from service import texts
from service.clock import FixedClock
from tests.fixtures.web import WebDaemon, free_port, maildir_messages, poll

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))
IDENTITY = {"Accept-Encoding": "identity"}


@pytest.fixture
async def example_daemon(tmp_path: Path) -> AsyncIterator[WebDaemon]:
    port = free_port()
    path = tmp_path / "example.toml"
    text = EXAMPLE.read_text(encoding="utf-8").replace("127.0.0.1:8780", f"127.0.0.1:{port}")
    path.write_text(text, encoding="utf-8")
    session = aiohttp.ClientSession(auto_decompress=False, skip_auto_headers=["Accept-Encoding"])
    running = WebDaemon(path, port, NOW.date(), FixedClock(NOW), session)
    try:
        await running.start()
        yield running
    finally:
        try:
            await running.stop()
        finally:
            await session.close()


async def test_the_dashboard_filters_and_exports_the_new_kinds(
    example_daemon: WebDaemon,
) -> None:
    url = (await example_daemon.cli("feed-url", "--office", "intl-office")).strip()
    page = await example_daemon.request("GET", url, IDENTITY)
    assert page.status == 200
    for kind in (
        "reentry",
        "registration_change",
        "newborn_status",
        "arc_at_17",
        "workplace_change",
        "nhis_enrolment",
    ):
        assert f'<option value="{kind}"' in page.text, kind
    reply = await example_daemon.request("GET", f"{url}.csv?kind=workplace_change", IDENTITY)
    assert reply.status == 200
    rows = list(csv.DictReader(io.StringIO(reply.body.decode("utf-8")[1:], newline="")))
    # The office reads Korean: each step under its own name.
    assert sorted(
        (r["person"], r["deadline"], r["what"], r["date"], r["days_left"], r["status"])
        for r in rows
    ) == [
        # Its reminder on the day the contract ended (yesterday) went out at start.
        ("bishnu-tamang", "job", "사업장 변경(E-9)", "2026-12-29", "28", "sent"),
        ("sita-gurung", "job", "근무처 변경허가(E-9)", "2027-01-19", "49", "pending"),
    ]
    reply = await example_daemon.request("GET", f"{url}.csv?kind=registration_change", IDENTITY)
    rows = list(csv.DictReader(io.StringIO(reply.body.decode("utf-8")[1:], newline="")))
    assert [(r["person"], r["what"], r["date"]) for r in rows] == [
        ("pham-thi-lan", "새 여권 신고", "2026-12-10")
    ]


async def test_the_digest_lists_the_new_kinds(example_daemon: WebDaemon) -> None:
    def digest() -> str | None:
        for message in maildir_messages(example_daemon.maildir):
            if str(message["X-Staywatch-Key"]).startswith("digest/intl-office/"):
                body = message.get_body(("plain",))
                assert body is not None
                return str(body.get_content())
        return None

    async def found() -> str | None:
        return digest()

    text = await poll(found, what="the office's digest at start")
    for what in ("사업장 변경(E-9)", "근무처 변경허가(E-9)", "새 여권 신고", "건강보험 가입"):
        assert what in text, what


async def _events(daemon: WebDaemon, person: str) -> dict[str, tuple[date, date]]:
    url = await daemon.feed_url(person)
    reply = await daemon.request("GET", url, IDENTITY)
    assert reply.status == 200
    calendar = Calendar.from_ical(reply.body)
    return {
        str(e["SUMMARY"]): (e.decoded("DTSTART"), e.decoded("DTEND"))
        for e in calendar.walk("VEVENT")
    }


async def test_calendars_have_the_deadlines_and_their_windows(
    example_daemon: WebDaemon,
) -> None:
    # The names come from each reader's catalog (Nepali for Sita and Bishnu, Vietnamese
    # for Lan, Uzbek for Aziz, English while a language has none), so they are looked up.
    def due(kind: str, lang: str) -> str:
        return texts.event_label(kind, lang)

    def window(kind: str, lang: str) -> str:
        label = texts.window_label(kind, lang)
        assert label is not None
        return label

    sita = await _events(example_daemon, "sita-gurung")
    permit = "workplace_change:permit"
    assert sita[due(permit, "ne")] == (date(2027, 1, 19), date(2027, 1, 20))
    assert sita[window(permit, "ne")] == (date(2026, 10, 20), date(2027, 1, 20))
    bishnu = await _events(example_daemon, "bishnu-tamang")
    assert bishnu[due("workplace_change", "ne")] == (date(2026, 12, 29), date(2026, 12, 30))
    assert bishnu[window("workplace_change", "ne")][0] == date(2026, 11, 30)
    lan = await _events(example_daemon, "pham-thi-lan")
    assert lan[due("newborn_status", "vi")][0] == date(2027, 2, 7)
    assert lan[window("newborn_status", "vi")][0] == date(2026, 11, 10)
    assert lan[due("arc_at_17", "vi")][0] == date(2027, 6, 12)
    assert lan[window("arc_at_17", "vi")][0] == date(2027, 3, 15)
    assert lan[due("registration_change:passport", "vi")][0] == date(2026, 12, 10)
    wang = await _events(example_daemon, "wang-fang")  # reads Chinese
    assert wang["再入境截止"][0] == date(2027, 3, 14)
    aziz = await _events(example_daemon, "aziz-karimov")
    assert aziz[due("nhis_enrolment", "uz")][0] == date(2026, 12, 4)
