"""The feed read back by four independent parsers: icalendar, vobject, ics and calcurse.

Each must see every event the feed holds, with the same summaries and dates.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import ics
import pytest
import vobject
from icalendar import Calendar

from service.config import Config, parse_config
from service.feed import build_feed, calendar_name
from service.plan import Occurrence, plan

STAMP = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)

# The shape of config/example.toml, with text that is hard to escape and fold,
# an appointment at an instant, and a person who hides details.
CONFIG = r"""
[service]
timezone = "Asia/Seoul"
send_time = "09:00"
database = "sqlite:///var/staywatch.db"
horizon_days = 400
holidays = "KR"
secret_file = "var/secret"

[mail]
transport = "maildir"
maildir = "var/mail"
from = "staywatch <staywatch@localhost>"

[feed]
listen = "127.0.0.1:8780"
public_url = "http://127.0.0.1:8780"

[[person]]
id = "wang-fang"
name = "Wang Fang"
email = ["wang.fang@example.org"]
language = "zh"

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-03-14
  note = "D-2, Seoul National University; office: room 3\\4\nbring: passport, ARC"

  [[person.deadline]]
  id = "nhis"
  kind = "nhis_premium"
  start = 2026-12-01
  autopay = false

  [[person.deadline]]
  id = "passport"
  kind = "passport_expiry"
  date = 2028-01-20

  [[person.deadline]]
  id = "sim"
  kind = "custom"
  title = "Top up prepaid SIM"
  rrule = "FREQ=MONTHLY;BYMONTHDAY=1"
  start = 2026-12-01
  remind = ["P3D", "PT0S"]
  roll = "none"

[[person]]
id = "nguyen-van-an"
name = "Nguyễn Văn An"
email = ["an.nguyen@example.org"]
language = "ko"
timezone = "Asia/Seoul"

  [[person.deadline]]
  id = "arc"
  kind = "arc_registration"
  entry = 2026-11-20
  recipients = ["hr@example.org"]

  [[person.deadline]]
  id = "move"
  kind = "address_report"
  moved = 2026-12-01

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-11-19
  note = "E-7"

  [[person.deadline]]
  id = "nhis"
  kind = "nhis_premium"
  start = 2026-12-01
  autopay = true

  [[person.deadline]]
  id = "consult"
  kind = "custom"
  title = "LONG_TITLE"
  note = "Gate 3, 2nd floor"
  at = 2027-01-05T10:30:00+09:00
  remind = ["P1D", "PT2H"]

[[person]]
id = "maria-schmidt"
name = "Maria Schmidt"
email = ["maria@example.org"]
language = "en"
timezone = "Europe/Berlin"

  [[person.deadline]]
  id = "card"
  kind = "arc_expiry"
  date = 2027-06-06

  [[person.deadline]]
  id = "nhis"
  kind = "nhis_premium"
  schedule = "national"
  start = 2026-12-01

  [[person.deadline]]
  id = "passport"
  kind = "passport_expiry"
  date = 2027-09-30

  [[person.deadline]]
  id = "tax"
  kind = "custom"
  title = "Year-end tax settlement documents to HR"
  date = 2027-01-15

[[person]]
id = "jamie-private"
name = "Jamie Quartermaine"
email = ["jamie@example.org"]
hide_details = true

  [[person.deadline]]
  id = "hearing"
  kind = "custom"
  title = "Family court hearing"
  note = "Bring the lawyer's letter"
  date = 2027-02-03
"""

# Long enough to be folded inside multi-byte characters, with , and ; to escape.
LONG_TITLE = (
    "출입국·외국인청 체류 상담 예약, 서류: 여권; 외국인등록증; 재직증명서 "
    "(회사에서 발급받은 원본을 꼭 챙기세요)"
)
CONFIG = CONFIG.replace("LONG_TITLE", LONG_TITLE)

ACKNOWLEDGED = frozenset({"maria-schmidt/tax/2027-01-15", "wang-fang/sim/2026-12-01"})
FEEDS = ["wang-fang", "nguyen-van-an", "maria-schmidt", "jamie-private", "everyone"]


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG)


@pytest.fixture(scope="module")
def occurrences(config: Config) -> tuple[Occurrence, ...]:
    start = date(2026, 11, 1)
    return plan(config, start, start + timedelta(days=400), singles_unbounded=True)


@pytest.fixture(scope="module", params=FEEDS)
def feed(
    request: pytest.FixtureRequest, config: Config, occurrences: tuple[Occurrence, ...]
) -> bytes:
    which: str = request.param
    person = None if which == "everyone" else config.person(which)
    people = list(config.people) if person is None else [person]
    return build_feed(
        config,
        people,
        occurrences,
        acknowledged=ACKNOWLEDGED,
        sequences={"wang-fang/visa@staywatch": 2},
        stamp=STAMP,
        name=calendar_name(person),
        language=person.language if person else "en",
        all_people=person is None,
    )


@dataclass(frozen=True)
class Expected:
    """What the feed holds, as icalendar reads it."""

    uid: str
    summary: str
    description: str | None
    start: date | datetime
    end: date | datetime
    alarms: int


def _expected(body: bytes) -> list[Expected]:
    calendar = Calendar.from_ical(body)
    out = []
    for event in calendar.walk("VEVENT"):
        description = event.get("DESCRIPTION")
        out.append(
            Expected(
                uid=str(event["UID"]),
                summary=str(event["SUMMARY"]),
                description=str(description) if description is not None else None,
                start=event.decoded("DTSTART"),
                end=event.decoded("DTEND"),
                alarms=len(event.walk("VALARM")),
            )
        )
    return out


def _vevent_count(body: bytes) -> int:
    return body.count(b"\r\nBEGIN:VEVENT\r\n")


# -- icalendar ---------------------------------------------------------------------


def test_icalendar_reads_every_event(feed: bytes) -> None:
    calendar = Calendar.from_ical(feed)
    events = _expected(feed)

    assert len(events) == _vevent_count(feed) > 0
    assert len({e.uid for e in events}) == len(events)
    for event in calendar.walk("VEVENT"):
        for name in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "SEQUENCE"):
            assert name in event, f"{event.get('UID')} has no {name}"
        assert not event.errors
    # icalendar writes back exactly what it read: nothing was lost or mangled.
    assert calendar.to_ical() == feed


# -- vobject -----------------------------------------------------------------------


def test_vobject_reads_every_event(feed: bytes) -> None:
    expected = {e.uid: e for e in _expected(feed)}
    calendar = vobject.readOne(feed.decode("utf-8"))

    events = calendar.vevent_list
    assert len(events) == len(expected)
    for event in events:
        want = expected[event.uid.value]
        assert event.summary.value == want.summary
        assert event.dtstart.value == want.start
        assert event.dtend.value == want.end
        assert (event.description.value if hasattr(event, "description") else None) == (
            want.description
        )
        assert len(getattr(event, "valarm_list", [])) == want.alarms
    assert calendar.version.value == "2.0"


# -- ics (PyPI) ----------------------------------------------------------------------


def test_ics_reads_every_event(feed: bytes) -> None:
    expected = _expected(feed)
    calendar = ics.Calendar(feed.decode("utf-8"))

    events = list(calendar.events)
    assert len(events) == len(expected)
    assert Counter(e.uid for e in events) == Counter(e.uid for e in expected)
    by_uid = {e.uid: e for e in expected}
    for event in events:
        want = by_uid[event.uid]
        assert event.name == want.summary
        assert event.all_day == (not isinstance(want.start, datetime))
        assert event.begin.date() == (
            want.start.date() if isinstance(want.start, datetime) else want.start
        )
        assert len(event.alarms) == want.alarms


# -- calcurse (Debian) ---------------------------------------------------------------

_EVENT = re.compile(
    r"^(?P<day>\d\d/\d\d/\d{4}) \[\d+\] (?:\{1D -> (?P<until>\d\d/\d\d/\d{4})\} )?"
    r"(?:>(?P<note>[0-9a-f]+) )?(?P<summary>.*)$"
)
_APPOINTMENT = re.compile(
    r"^(?P<day>\d\d/\d\d/\d{4}) @ (?P<start>\d\d:\d\d) -> (?P<endday>\d\d/\d\d/\d{4}) @ "
    r"(?P<end>\d\d:\d\d)(?:>(?P<note>[0-9a-f]+) )?(?P<flag>[!|])(?P<summary>.*)$"
)
_REPORT = re.compile(r"(\d+) apps? / (\d+) events? / (\d+) todos? / (\d+) skipped")


# calcurse has no multi-day events: it turns one into a daily repeat up to its
# last day (the `{1D -> ...}` above) and says so in the note.
_MULTI_DAY_NOTE = "\n-- \nImport: multi-day event changed to one-day event"


def _calcurse_note(event: Expected) -> str:
    assert event.description
    multi_day = not isinstance(event.start, datetime) and event.end - event.start > timedelta(1)
    return event.description + (_MULTI_DAY_NOTE if multi_day else "")


def _mdy(text: str) -> date:
    return datetime.strptime(text, "%m/%d/%Y").date()


@pytest.fixture(scope="session")
def calcurse() -> str:
    found = shutil.which("calcurse")
    if found is None:
        pytest.skip("calcurse is not installed (apt-get install calcurse)")
    return found


def _run(calcurse: str, folder: Path, *args: str) -> str:
    # UTC so timed events land on the date the feed gives them; HOME so that
    # no personal calcurse config leaks in.
    env = {**os.environ, "TZ": "UTC", "HOME": str(folder), "LC_ALL": "C.UTF-8"}
    done = subprocess.run(
        [calcurse, "-D", str(folder / "data"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_calcurse_imports_every_event(feed: bytes, calcurse: str, tmp_path: Path) -> None:
    expected = _expected(feed)
    (tmp_path / "data").mkdir()
    ics_file = tmp_path / "feed.ics"
    ics_file.write_bytes(feed)

    report = _run(calcurse, tmp_path, "-i", str(ics_file))

    counts = _REPORT.search(report)
    assert counts, report
    apps, events, todos, skipped = (int(n) for n in counts.groups())
    timed = [e for e in expected if isinstance(e.start, datetime)]
    assert (apps, events, todos, skipped) == (len(timed), len(expected) - len(timed), 0, 0)

    lines = (tmp_path / "data" / "apts").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(expected)
    imported: Counter[tuple[date, date, str]] = Counter()
    notes: set[str] = set()
    for line in lines:
        match = _EVENT.match(line) or _APPOINTMENT.match(line)
        assert match, f"unexpected calcurse line: {line!r}"
        fields = match.groupdict()
        start = _mdy(fields["day"])
        if "flag" in fields:
            # A timed event with VALARMs gets calcurse's alarm flag.
            assert fields["flag"] == "!"
            last = _mdy(fields["endday"])
        else:
            last = _mdy(fields["until"]) if fields["until"] else start
        imported[(start, last, fields["summary"])] += 1
        if fields["note"]:
            notes.add(fields["note"])

    def span(e: Expected) -> tuple[date, date, str]:
        if isinstance(e.start, datetime) and isinstance(e.end, datetime):
            return (e.start.date(), e.end.date(), e.summary)
        assert isinstance(e.end, date)
        # DTEND is exclusive: a window to 14 March ends on the 15th.
        return (e.start, e.end - timedelta(days=1), e.summary)

    assert imported == Counter(span(e) for e in expected)
    note_dir = tmp_path / "data" / "notes"
    # calcurse ends each note file with a newline of its own.
    texts = {(note_dir / note).read_text(encoding="utf-8").removesuffix("\n") for note in notes}
    assert texts == {_calcurse_note(e) for e in expected if e.description}


def test_calcurse_shows_a_known_deadline_on_its_day(
    config: Config, occurrences: tuple[Occurrence, ...], calcurse: str, tmp_path: Path
) -> None:
    person = config.person("wang-fang")
    assert person is not None
    body = build_feed(
        config,
        [person],
        occurrences,
        acknowledged=(),
        sequences={},
        stamp=STAMP,
        name=calendar_name(person),
        language="en",
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "feed.ics").write_bytes(body)
    _run(calcurse, tmp_path, "-i", str(tmp_path / "feed.ics"))

    day = _run(calcurse, tmp_path, "-Q", "--from", "03/14/2027", "--days", "1")
    before = _run(calcurse, tmp_path, "-Q", "--from", "02/12/2027", "--days", "1")

    assert "03/14/27:" in day
    assert " * Visa (period of stay) expires\n" in day
    assert " * Extension window open\n" in day
    assert " * Visa (period of stay) expires in 30 days\n" in before
    assert " * Extension window open\n" in before


def test_hidden_person_is_hidden_from_every_parser(feed: bytes) -> None:
    text = feed.decode("utf-8").lower()
    summaries = {e.summary for e in _expected(feed)}

    for secret in ("quartermaine", "jamie", "court", "hearing", "lawyer"):
        assert secret not in text
    assert "family" not in " ".join(summaries).lower()
    hidden = [e for e in _expected(feed) if e.uid.startswith("h-")]
    assert all(e.summary.startswith("Personal deadline") for e in hidden)
