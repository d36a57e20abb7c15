"""The feed read back by the parsers real clients use.

icalendar, vobject (validating), ics, calcurse, libical (Evolution, GNOME
Calendar: its restriction check must add no ``X-LIC-ERROR``), ical.js
(Thunderbird, many web calendars) and khal. Each must see every event the feed
holds, with the same summaries and dates, and the ones that keep alarms must
keep every alarm.

libical runs through Debian's ``gir1.2-ical-3.0`` and ``python3-gi`` in the
system ``/usr/bin/python3``; ical.js is the npm package ``.ci/run`` installs
into ``.cache/node``, run by the machine's ``node``. A test whose parser is
missing is skipped and says how to get it.
"""

from __future__ import annotations

import json
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
from service.tokens import installation_id

STAMP = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
INSTALLATION = installation_id(b"the secret of the parser tests")
#: The admin calendar is named like an office's, with text TEXT values must escape.
HARD_NAME = 'staywatch: 김민준, "Kim"; 외국인 담당'
REPO = Path(__file__).resolve().parents[2]
ICALJS = REPO / ".cache" / "node" / "node_modules" / "ical.js" / "dist" / "ical.js"
SYSTEM_PYTHON = "/usr/bin/python3"

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
        sequences={f"wang-fang/visa@{INSTALLATION}.staywatch": 2},
        modified={f"wang-fang/visa@{INSTALLATION}.staywatch": STAMP - timedelta(days=3)},
        stamp=STAMP,
        name=HARD_NAME if person is None else calendar_name(person),
        language=person.language if person else "en",
        installation=INSTALLATION,
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
    #: The TRIGGER values as written, most urgent first.
    triggers: tuple[str, ...]
    categories: tuple[str, ...]


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
                triggers=tuple(
                    a["TRIGGER"].to_ical().decode("ascii") for a in event.walk("VALARM")
                ),
                categories=tuple(event["CATEGORIES"].cats),
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
    calendar = vobject.readOne(feed.decode("utf-8"), validate=True)

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
        assert event.categories.value == list(want.categories)
    assert calendar.version.value == "2.0"
    # Commas and semicolons are escaped: the name is read back whole, not cut at the comma.
    name = calendar.x_wr_calname.value
    assert name in {HARD_NAME, *(calendar_name(p) for p in parse_config(CONFIG).people)}
    assert calendar.contents["name"][0].value == name


def test_vobject_reads_a_hard_calendar_name_whole(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    body = build_feed(
        config,
        list(config.people),
        occurrences,
        acknowledged=(),
        sequences={},
        stamp=STAMP,
        name=HARD_NAME,
        language="ko",
        installation=INSTALLATION,
    )
    calendar = vobject.readOne(body.decode("utf-8"), validate=True)

    assert calendar.x_wr_calname.value == HARD_NAME
    assert calendar.contents["name"][0].value == HARD_NAME


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
        installation=INSTALLATION,
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


# -- libical (Debian gir1.2-ical-3.0, through the system python3) ------------------

_LIBICAL = """
import json, sys
import gi
gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib as ical

calendar = ical.Component.new_from_string(sys.stdin.read())
ical.restriction_check(calendar)
events = {}
event = calendar.get_first_component(ical.ComponentKind.VEVENT_COMPONENT)
while event is not None:
    triggers = []
    alarm = event.get_first_component(ical.ComponentKind.VALARM_COMPONENT)
    while alarm is not None:
        trigger = alarm.get_first_property(ical.PropertyKind.TRIGGER_PROPERTY).get_trigger()
        triggers.append(trigger.get_duration().as_ical_string())
        alarm = event.get_next_component(ical.ComponentKind.VALARM_COMPONENT)
    events[event.get_uid()] = {"summary": event.get_summary(), "triggers": triggers}
    event = calendar.get_next_component(ical.ComponentKind.VEVENT_COMPONENT)
errors = [line for line in calendar.as_ical_string().splitlines() if "X-LIC-ERROR" in line]
print(json.dumps({"errors": errors, "events": events}))
"""


@pytest.fixture(scope="session")
def libical() -> str:
    """The system python3, if it can load libical through GObject introspection."""
    if not Path(SYSTEM_PYTHON).exists():
        pytest.skip(f"{SYSTEM_PYTHON} not found (libical is checked through Debian's python3)")
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('ICalGLib', '3.0')"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip("libical not available: apt-get install gir1.2-ical-3.0 python3-gi")
    return SYSTEM_PYTHON


def test_libical_finds_nothing_to_object_to(feed: bytes, libical: str) -> None:
    done = subprocess.run(
        [libical, "-c", _LIBICAL],
        input=feed.decode("utf-8"),
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    assert result["errors"] == []
    expected = {e.uid: e for e in _expected(feed)}
    assert set(result["events"]) == set(expected)
    for uid, event in result["events"].items():
        assert event["summary"] == expected[uid].summary
        assert tuple(event["triggers"]) == expected[uid].triggers


# -- ical.js (npm, run by node) ------------------------------------------------------

_ICALJS = """
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const ICAL = (await import(pathToFileURL(process.argv[2]).href)).default;
const calendar = new ICAL.Component(ICAL.parse(readFileSync(0, "utf8")));
const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  return {
    uid: event.uid,
    summary: event.summary,
    description: event.description,
    start: event.startDate.toString(),
    end: event.endDate.toString(),
    allDay: event.startDate.isDate,
    categories: vevent.getAllProperties("categories").flatMap((p) => p.getValues()),
    alarms: vevent.getAllSubcomponents("valarm").map((alarm) => ({
      action: alarm.getFirstPropertyValue("action"),
      trigger: alarm.getFirstPropertyValue("trigger").toString(),
      seconds: alarm.getFirstPropertyValue("trigger").toSeconds(),
    })),
  };
});
console.log(JSON.stringify({ events }));
"""


@pytest.fixture(scope="session")
def icaljs() -> tuple[str, Path]:
    """The machine's node and the ical.js that .ci/run installs."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (apt-get install nodejs)")
    if not ICALJS.exists():
        pytest.skip(f"ical.js is not installed: npm install --prefix {ICALJS.parents[3]} ical.js")
    return node, ICALJS


def _seconds(trigger: str) -> int:
    match = re.fullmatch(r"(-?)P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", trigger)
    assert match, trigger
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups()[1:])
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    return -total if match.group(1) else total


def test_icaljs_reads_every_event_with_its_alarms(
    feed: bytes, icaljs: tuple[str, Path], tmp_path: Path
) -> None:
    node, library = icaljs
    script = tmp_path / "read.mjs"
    script.write_text(_ICALJS, encoding="utf-8")
    done = subprocess.run(
        [node, str(script), str(library)],
        input=feed.decode("utf-8"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    expected = {e.uid: e for e in _expected(feed)}
    assert [e["uid"] for e in result["events"]] == [e.uid for e in _expected(feed)]
    for event in result["events"]:
        want = expected[event["uid"]]
        assert event["summary"] == want.summary
        assert event["description"] == want.description
        assert event["allDay"] == (not isinstance(want.start, datetime))
        if event["allDay"]:
            assert (event["start"], event["end"]) == (str(want.start), str(want.end))
        else:
            assert isinstance(want.start, datetime)
            assert event["start"] == want.start.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert tuple(event["categories"]) == want.categories
        assert [a["action"] for a in event["alarms"]] == ["DISPLAY"] * want.alarms
        assert tuple(a["trigger"] for a in event["alarms"]) == want.triggers
        assert [a["seconds"] for a in event["alarms"]] == [_seconds(t) for t in want.triggers]
    assert any(e["alarms"] for e in result["events"])


# -- khal (Debian) ---------------------------------------------------------------------

_KHAL_CONFIG = """\
[calendars]
[[staywatch]]
path = {folder}/calendar
type = calendar

[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
local_timezone = Asia/Seoul
default_timezone = Asia/Seoul
unicode_symbols = False

[default]
default_calendar = staywatch

[sqlite]
path = {folder}/khal.db
"""


@pytest.fixture(scope="session")
def khal() -> str:
    found = shutil.which("khal")
    if found is None:
        pytest.skip("khal is not installed (apt-get install khal)")
    return found


def _khal(khal: str, folder: Path, *args: str) -> str:
    env = {**os.environ, "HOME": str(folder), "LC_ALL": "C.UTF-8", "TZ": "Asia/Seoul"}
    env.pop("XDG_CONFIG_HOME", None)
    env.pop("XDG_DATA_HOME", None)
    done = subprocess.run(
        [khal, "-c", str(folder / "khal.conf"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_khal_imports_every_event_and_lists_its_alarms(
    feed: bytes, khal: str, tmp_path: Path
) -> None:
    (tmp_path / "calendar").mkdir()
    (tmp_path / "khal.conf").write_text(_KHAL_CONFIG.format(folder=tmp_path), encoding="utf-8")
    (tmp_path / "feed.ics").write_bytes(feed)
    _khal(khal, tmp_path, "import", "--batch", "-a", "staywatch", str(tmp_path / "feed.ics"))

    listed = _khal(
        khal,
        tmp_path,
        "list",
        "--once",
        "--format",
        "{uid}\t{alarm-symbol}",
        "--day-format",
        "",
        "2026-01-01",
        "2029-12-31",
    )
    rows = dict(line.split("\t") for line in listed.splitlines() if line.strip())
    expected = {e.uid: e for e in _expected(feed)}
    assert set(rows) == set(expected)
    # khal keeps only relative DISPLAY alarms and marks events that have some with (A).
    with_alarms = {uid for uid, mark in rows.items() if mark.strip() == "(A)"}
    assert with_alarms == {uid for uid, e in expected.items() if e.alarms}
    assert with_alarms
    stored = [Calendar.from_ical(p.read_bytes()) for p in (tmp_path / "calendar").glob("*.ics")]
    kept = {
        str(event["UID"]): tuple(
            a["TRIGGER"].to_ical().decode("ascii") for a in event.walk("VALARM")
        )
        for calendar in stored
        for event in calendar.walk("VEVENT")
    }
    assert kept == {uid: e.triggers for uid, e in expected.items()}
