"""The office dashboard over HTTP: GET /office/{token}, .csv and .ics, against a real daemon.

A :class:`service.daemon.Daemon` runs in the test's loop on a config with two
offices (everyone, in English; the ``lab`` tag, in Korean) and people in every
status: reminders already sent (caught up at start), overdue, pending and one
acknowledged with the real ``staywatch done``. URLs come from the real
``staywatch feed-url --office``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from icalendar import Calendar

from service.clock import FixedClock, SystemClock
from service.web import NOT_FOUND
from tests.fixtures.web import Reply, WebDaemon, free_port, poll, run_cli, service_today

IDENTITY = {"Accept-Encoding": "identity"}

#: What person number ``i % 5`` gets: (status on the dashboard, tag).
PATTERN = ("sent", "overdue", "pending", "pending", "acknowledged")


def person_toml(i: int, today: date) -> str:
    """Person ``p-NN`` whose deadline ends up in status ``PATTERN[i % 5]``."""
    pid = f"p-{i:02d}"
    tag = "lab" if i % 2 == 0 else "staff"
    head = (
        f'\n[[person]]\nid = "{pid}"\nname = "Person {i:02d}"\n'
        f'email = ["{pid}@example.org"]\ntags = ["{tag}"]\n'
    )
    kind = i % 5
    if kind == 0:  # a reminder 30 days ahead is already due: sent at start
        body = (
            f'  id = "permit"\n  kind = "custom"\n  title = "Renew permit"\n'
            f'  date = {today + timedelta(days=10 + i)}\n  remind = ["P30D", "PT0S"]\n'
            "  overdue = false\n"
        )
    elif kind == 1:  # the period of stay ended a few days ago and nobody confirmed
        body = (
            f'  id = "visa"\n  kind = "stay_expiry"\n  date = {today - timedelta(days=2 + i % 3)}\n'
        )
    elif kind == 2:
        body = (
            f'  id = "course"\n  kind = "custom"\n  title = "Language course"\n'
            f'  date = {today + timedelta(days=40 + i)}\n  remind = ["P5D"]\n  overdue = false\n'
        )
    elif kind == 3:
        body = (
            f'  id = "passport"\n  kind = "passport_expiry"\n'
            f'  date = {today + timedelta(days=100 + i)}\n  remind = ["P7D"]\n'
        )
    else:  # acknowledged with `staywatch done` by the test
        body = (
            f'  id = "report"\n  kind = "custom"\n  title = "Send report"\n'
            f'  date = {today + timedelta(days=15 + i)}\n  remind = ["P5D"]\n  overdue = false\n'
        )
    return head + "\n  [[person.deadline]]\n" + body


def office_config(folder: Path, port: int, today: date, people: int) -> Path:
    """A config with offices ``hr`` (everyone, en) and ``lab`` (tag lab, ko)."""
    path = folder / "staywatch.toml"
    text = (
        '[service]\ntimezone = "Asia/Seoul"\nsend_time = "09:00"\n'
        'database = "sqlite:///var/staywatch.db"\nsecret_file = "var/secret"\n'
        '\n[mail]\ntransport = "maildir"\nmaildir = "var/mail"\n'
        f'\n[feed]\nlisten = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n'
        '\n[[office]]\nid = "hr"\nname = "Human Resources"\nemail = ["hr@example.org"]\n'
        'people = ["*"]\ndigest = false\n'
        '\n[[office]]\nid = "lab"\nname = "Lab Office"\nemail = ["lab@example.org"]\n'
        'language = "ko"\ntags = ["lab"]\ndigest = false\n'
    )
    text += "".join(person_toml(i, today) for i in range(people))
    path.write_text(text, encoding="utf-8")
    return path


def expected_status(i: int) -> str:
    """The dashboard status of person ``i``'s deadline."""
    return PATTERN[i % 5]


@pytest.fixture
async def office_daemon(tmp_path: Path) -> AsyncIterator[WebDaemon]:
    """A daemon on the office config (5 people, one of each status)."""
    today = service_today()
    port = free_port()
    path = office_config(tmp_path, port, today, people=5)
    session = aiohttp.ClientSession(auto_decompress=False, skip_auto_headers=["Accept-Encoding"])
    running = WebDaemon(path, port, today, FixedClock(SystemClock().now()), session)
    try:
        await running.start()
        done = await run_cli(path, "done", "p-04/report")
        assert done.returncode == 0, done.stderr

        async def sent() -> bool:
            assert running.daemon is not None
            rows = await running.daemon.office_rows("hr")
            return bool(rows) and any(r.person == "p-00" and r.status == "sent" for r in rows)

        await poll(sent, what="the caught-up reminder of p-00 to be sent")
        yield running
    finally:
        try:
            await running.stop()
        finally:
            await session.close()


async def office_url(running: WebDaemon, office: str, *more: str) -> str:
    """``staywatch feed-url --office OFFICE`` (the dashboard URL)."""
    return (await running.cli("feed-url", "--office", office, *more)).strip()


def table_rows(html: str) -> list[dict[str, str]]:
    """The data attributes of every row of the dashboard table."""
    rows = []
    for line in html.split("<tr ")[1:]:
        attributes = dict(
            part.split('="', 1) for part in line.split(">", 1)[0].replace('"\n', '" ').split('" ')
        )
        rows.append({k.strip(): v.strip('"').strip() for k, v in attributes.items()})
    return [row for row in rows if "data-person" in row]


def csv_rows(reply: Reply) -> list[dict[str, str]]:
    """The CSV export parsed (the BOM is checked and dropped)."""
    text = reply.body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


async def test_dashboard_lists_every_status_with_counts_and_days_left(
    office_daemon: WebDaemon,
) -> None:
    url = await office_url(office_daemon, "hr")
    assert urlsplit(url).path.startswith("/office/")
    reply = await office_daemon.request("GET", url, IDENTITY)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    html = reply.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<script" not in html
    assert "Human Resources" in html
    rows = table_rows(html)
    assert {(r["data-person"], r["data-status"]) for r in rows} == {
        ("p-00", "sent"),
        ("p-01", "overdue"),
        ("p-02", "pending"),
        ("p-03", "pending"),
        ("p-04", "acknowledged"),
    }
    # Most urgent first; overdue rows are marked for the highlight.
    assert rows[0]["data-status"] == "overdue"
    assert 'class="status-overdue"' in html
    assert "3 days overdue" in html  # p-01: 2 + 1 % 3 days ago
    # The same words as the digests: texts.status_label.
    assert 'data-status="pending">not reminded yet: <strong>2</strong>' in html
    assert 'data-status="overdue">overdue: <strong>1</strong>' in html


async def test_filters_by_status_kind_and_tag(office_daemon: WebDaemon) -> None:
    url = await office_url(office_daemon, "hr")

    async def shown(query: str) -> set[str]:
        reply = await office_daemon.request("GET", f"{url}?{query}", IDENTITY)
        assert reply.status == 200
        return {r["data-person"] for r in table_rows(reply.text)}

    assert await shown("status=pending") == {"p-02", "p-03"}
    assert await shown("status=overdue") == {"p-01"}
    assert await shown("kind=passport_expiry") == {"p-03"}
    assert await shown("tag=lab") == {"p-00", "p-02", "p-04"}
    assert await shown("tag=lab&status=pending") == {"p-02"}
    assert await shown("status=&kind=&tag=") == {f"p-0{i}" for i in range(5)}
    assert await shown("status=failed") == set()
    reply = await office_daemon.request("GET", f"{url}?status=failed", IDENTITY)
    assert 'id="empty"' in reply.text
    # The selects show the filter in force.
    reply = await office_daemon.request("GET", f"{url}?status=overdue&tag=staff", IDENTITY)
    assert '<option value="overdue" selected>' in reply.text
    assert '<option value="staff" selected>' in reply.text


async def test_csv_has_the_same_rows_and_filters(office_daemon: WebDaemon) -> None:
    url = await office_url(office_daemon, "hr")
    reply = await office_daemon.request("GET", f"{url}.csv", IDENTITY)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = reply.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="staywatch-hr-')
    rows = csv_rows(reply)
    page = table_rows((await office_daemon.request("GET", url, IDENTITY)).text)
    assert [(r["person"], r["deadline"], r["status"]) for r in rows] == [
        (r["data-person"], r["data-deadline"], r["data-status"]) for r in page
    ]
    assert list(rows[0]) == [
        "person",
        "name",
        "tags",
        "deadline",
        "kind",
        "what",
        "date",
        "days_left",
        "status",
        "covers",
        "acknowledged_by",
    ]
    overdue = next(r for r in rows if r["status"] == "overdue")
    assert overdue["person"] == "p-01"
    assert int(overdue["days_left"]) == -3
    assert date.fromisoformat(overdue["date"]) == office_daemon.today - timedelta(days=3)
    filtered = csv_rows(await office_daemon.request("GET", f"{url}.csv?tag=lab&status=sent"))
    assert [r["person"] for r in filtered] == ["p-00"]


async def test_the_office_calendar_combines_its_people(office_daemon: WebDaemon) -> None:
    lab = await office_url(office_daemon, "lab")
    reply = await office_daemon.request("GET", f"{lab}.ics", IDENTITY)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(reply.body)
    assert str(calendar["X-WR-CALNAME"]) == "staywatch: Lab Office"
    uids = {str(e["UID"]) for e in calendar.walk("VEVENT")}
    people = {uid.split("/")[0] for uid in uids}
    assert people == {"p-00", "p-02", "p-04"}  # the lab tag only
    summaries = [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")]
    assert any(s.startswith("Person 00") for s in summaries), summaries
    again = await office_daemon.request(
        "GET", f"{lab}.ics", {**IDENTITY, "If-None-Match": reply.headers["ETag"]}
    )
    assert again.status == 304
    # The Korean office's page is in Korean.
    page = await office_daemon.request("GET", lab, IDENTITY)
    assert "기한 현황" in page.text
    assert '<html lang="ko">' in page.text
    assert {r["data-person"] for r in table_rows(page.text)} == {"p-00", "p-02", "p-04"}


async def test_wrong_and_rotated_tokens_get_the_calendar_404(office_daemon: WebDaemon) -> None:
    hr = await office_url(office_daemon, "hr")
    person = (await office_daemon.cli("feed-url", "p-00")).strip()
    person_token = urlsplit(person).path.split("/")[-1].removesuffix(".ics")
    for path in (
        "/office/AAAAAAAAAAAAAAAAAAAAAAAA",
        f"/office/{person_token}",  # a person's token is not an office's
        f"/office/{person_token}.csv",
        f"{urlsplit(hr).path}.txt",
        "/office/",
    ):
        reply = await office_daemon.request("GET", path, IDENTITY)
        assert reply.status == 404, path
        if path != "/office/":
            assert reply.body == NOT_FOUND
    new = await office_url(office_daemon, "hr", "--rotate")
    assert new != hr
    assert await office_url(office_daemon, "hr") == new

    async def revoked() -> bool:
        return (await office_daemon.request("GET", hr, IDENTITY)).status == 404

    await poll(revoked, what="the rotated office URL to answer 404", within=5)
    for suffix in ("", ".csv", ".ics"):
        old = await office_daemon.request("GET", hr + suffix, IDENTITY)
        assert (old.status, old.body) == (404, NOT_FOUND)
        assert (await office_daemon.request("GET", new + suffix, IDENTITY)).status == 200
    # The other office's URL did not change.
    assert (
        await office_daemon.request("GET", await office_url(office_daemon, "lab"))
    ).status == 200


async def test_feed_url_office_needs_a_known_office(office_daemon: WebDaemon) -> None:
    done = await run_cli(office_daemon.config_path, "feed-url", "--office", "nope")
    assert done.returncode == 1
    assert "no office 'nope' in the config; known: hr, lab" in done.stderr
    both = await run_cli(office_daemon.config_path, "feed-url", "p-00", "--office", "hr")
    assert both.returncode == 1
    assert "give one of PERSON, --all or --office ID" in both.stderr


async def test_a_recipients_copy_link_records_that_recipient_as_who_acknowledged(
    office_daemon: WebDaemon,
) -> None:
    from service.offices import digest_content
    from service.publish import ack_url

    assert office_daemon.daemon is not None
    daemon = office_daemon.daemon
    key = f"p-02/course/{office_daemon.today + timedelta(days=42)}"
    occurrence = await daemon.occurrence(key)
    assert occurrence is not None
    link = ack_url(daemon.config, daemon.secret, occurrence, SystemClock().now(), by="hr@corp.org")
    assert (await office_daemon.request("POST", link)).status == 200
    assert key in await office_daemon.store.acknowledged("p-02")

    url = await office_url(office_daemon, "hr")
    html = (await office_daemon.request("GET", url, IDENTITY)).text
    row = html.split('data-person="p-02"', 1)[1].split("</tr>", 1)[0]
    assert 'data-status="acknowledged"' in row
    assert "hr@corp.org" in row
    [exported] = [
        r
        for r in csv_rows(await office_daemon.request("GET", f"{url}.csv"))
        if r["person"] == "p-02"
    ]
    assert exported["acknowledged_by"] == "hr@corp.org"
    # p-04 was acknowledged with `staywatch done`: no recipient to show.
    assert all(
        r["acknowledged_by"] == ""
        for r in csv_rows(await office_daemon.request("GET", f"{url}.csv"))
        if r["person"] == "p-04"
    )

    office = daemon.config.office("hr")
    assert office is not None
    now = SystemClock().now()
    content = await digest_content(
        daemon.config, office_daemon.store, office, period=now, since=None, now=now
    )
    assert (key, "hr@corp.org") in {(occ, by) for occ, _, by in content.acknowledged}
