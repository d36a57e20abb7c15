from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from service import texts
from service.config import Config, Person, parse_config
from service.feed import (
    MAX_ALARMS,
    build_feed,
    bump_sequences,
    calendar_name,
    etag_for,
    event_fingerprints,
)
from service.plan import Occurrence, plan
from service.tokens import installation_id
from tests.fixtures.golden import check_golden

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "feeds"
STAMP = datetime(2026, 11, 1, 3, 4, 5, tzinfo=UTC)
START, END = date(2026, 11, 1), date(2027, 2, 28)
INSTALLATION = installation_id(b"the secret of the test installation")
#: The right-hand side of every UID in these feeds.
AT = f"@{INSTALLATION}.staywatch"

# The shape of config/example.toml, plus a person who hides details and an
# appointment at a fixed instant.
CONFIG = """
[service]
timezone = "Asia/Seoul"
send_time = "09:00"
horizon_days = 400
holidays = "KR"

[feed]
refresh_minutes = 90

[[person]]
id = "wang-fang"
name = "Wang Fang"
email = ["wang.fang@example.org"]
language = "zh"

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-03-14
  note = "D-2, Seoul National University"

  [[person.deadline]]
  id = "nhis"
  kind = "nhis_premium"
  start = 2026-12-01

  [[person.deadline]]
  id = "sim"
  kind = "custom"
  title = "Top up prepaid SIM"
  rrule = "FREQ=MONTHLY;BYMONTHDAY=1"
  start = 2026-12-01
  remind = ["P3D", "PT0S"]

[[person]]
id = "nguyen-van-an"
name = "Nguyễn Văn An"
email = ["an.nguyen@example.org"]
language = "ko"

  [[person.deadline]]
  id = "arc"
  kind = "arc_registration"
  entry = 2026-11-20

  [[person.deadline]]
  id = "move"
  kind = "address_report"
  moved = 2026-12-01

  [[person.deadline]]
  id = "nhis"
  kind = "nhis_premium"
  start = 2026-12-01
  autopay = true

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
  id = "tax"
  kind = "custom"
  title = "Year-end tax settlement documents to HR"
  date = 2027-01-15

  [[person.deadline]]
  id = "interview"
  kind = "custom"
  title = "Immigration interview"
  at = 2027-01-20T14:00:00+09:00
  remind = ["P1D", "PT2H"]

[[person]]
id = "jamie-private"
name = "Jamie Quartermaine"
email = ["jamie@example.org"]
hide_details = true

  [[person.deadline]]
  id = "court-hearing"
  kind = "custom"
  title = "Family court hearing"
  note = "Bring the lawyer's letter"
  date = 2027-02-03

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-04-30
  note = "F-6 marriage visa"
"""


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG)


@pytest.fixture(scope="module")
def occurrences(config: Config) -> tuple[Occurrence, ...]:
    return plan(config, START, END, singles_unbounded=True)


def _person(config: Config, person_id: str) -> Person:
    person = config.person(person_id)
    assert person is not None
    return person


def _feed(
    config: Config,
    occurrences: tuple[Occurrence, ...],
    person_id: str | None = None,
    *,
    acknowledged: Collection[str] = (),
    sequences: Mapping[str, int] | None = None,
    modified: Mapping[str, datetime] | None = None,
    language: str | None = None,
) -> bytes:
    if person_id is None:
        people = list(config.people)
        lang = language or "en"
        name = calendar_name(None, lang)
    else:
        person = _person(config, person_id)
        people = [person]
        lang = language or person.language
        name = calendar_name(person, lang)
    return build_feed(
        config,
        people,
        occurrences,
        acknowledged=acknowledged,
        sequences={_full(uid): seq for uid, seq in (sequences or {}).items()},
        modified={_full(uid): when for uid, when in (modified or {}).items()},
        stamp=STAMP,
        name=name,
        language=lang,
        installation=INSTALLATION,
        all_people=person_id is None,
    )


def _short(uid: str) -> str:
    """A UID written without its installation part: ``wang-fang/visa@staywatch``."""
    assert uid.endswith(AT), uid
    return uid.removesuffix(AT) + "@staywatch"


def _full(uid: str) -> str:
    """The UID as the feed writes it, from its short form."""
    return uid.removesuffix("@staywatch") + AT


def _events(body: bytes) -> dict[str, Any]:
    """The events by UID, written without the installation part (see :func:`_short`)."""
    calendar = Calendar.from_ical(body)
    events = {_short(str(e["UID"])): e for e in calendar.walk("VEVENT")}
    assert len(events) == len(calendar.walk("VEVENT")), "UIDs must be unique"
    return events


def _fingerprints(
    config: Config,
    people: Collection[Person],
    occurrences: tuple[Occurrence, ...],
    acknowledged: Collection[str] = (),
) -> dict[str, str]:
    """:func:`event_fingerprints` keyed like :func:`_events`."""
    prints = event_fingerprints(
        config, list(people), occurrences, acknowledged, installation=INSTALLATION
    )
    return {_short(uid): value for uid, value in prints.items()}


# -- determinism and the calendar head -------------------------------------------


def test_same_state_gives_the_same_bytes_and_etag(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    first = _feed(config, occurrences)
    again = _feed(
        parse_config(CONFIG), plan(parse_config(CONFIG), START, END, singles_unbounded=True)
    )

    assert first == again
    assert etag_for(first) == etag_for(again)
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag_for(first))


def test_a_state_change_changes_the_etag(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    before = _feed(config, occurrences)
    after = _feed(config, occurrences, acknowledged={"maria-schmidt/tax/2027-01-15"})

    assert etag_for(before) != etag_for(after)


def test_output_is_crlf_and_folded(config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    body = _feed(config, occurrences, "nguyen-van-an")

    assert body.startswith(b"BEGIN:VCALENDAR\r\n")
    assert body.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert max(len(line) for line in body.split(b"\r\n")) <= 75


def test_calendar_head(config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    calendar = Calendar.from_ical(_feed(config, occurrences, "maria-schmidt"))

    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]).startswith("-//staywatch//")
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    # A subscribed calendar is not an iTIP message: no METHOD (libical would want an ORGANIZER).
    assert "METHOD" not in calendar
    assert str(calendar["NAME"]) == "staywatch: Maria Schmidt"
    assert str(calendar["X-WR-CALNAME"]) == "staywatch: Maria Schmidt"
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Berlin"
    body = _feed(config, occurrences, "maria-schmidt")
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H30M\r\n" in body
    assert b"\r\nX-PUBLISHED-TTL:PT1H30M\r\n" in body


def test_events_are_sorted_by_date_then_uid(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    events = list(Calendar.from_ical(_feed(config, occurrences)).walk("VEVENT"))

    def day(event: Any) -> date:
        start = event.decoded("DTSTART")
        return start.date() if isinstance(start, datetime) else start

    keys = [(day(e), str(e["UID"])) for e in events]
    assert keys == sorted(keys)
    assert len(events) > 50


def test_events_without_a_revision_carry_the_stamp(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    for event in _events(_feed(config, occurrences)).values():
        assert event.decoded("DTSTAMP") == STAMP
        assert event.decoded("LAST-MODIFIED") == STAMP
        assert str(event["UID"]).endswith(AT)
        assert int(event["SEQUENCE"]) == 0
        assert "staywatch" in event["CATEGORIES"].cats


def test_deadline_days_are_free_time_and_appointments_busy(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    events = _events(_feed(config, occurrences)).values()

    timed = [e for e in events if isinstance(e.decoded("DTSTART"), datetime)]
    all_day = [e for e in events if not isinstance(e.decoded("DTSTART"), datetime)]
    assert timed
    assert all_day
    assert {str(e["TRANSP"]) for e in timed} == {"OPAQUE"}
    assert {str(e["TRANSP"]) for e in all_day} == {"TRANSPARENT"}


def test_each_event_carries_its_own_revision(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    changed = datetime(2026, 12, 24, 8, 30, 15, 999, tzinfo=UTC)
    person = _person(config, "wang-fang")
    body = build_feed(
        config,
        [person],
        occurrences,
        acknowledged=(),
        sequences={_full("wang-fang/visa@staywatch"): 4},
        modified={_full("wang-fang/visa@staywatch"): changed},
        stamp=STAMP,
        name="wang",
        language="en",
        installation=INSTALLATION,
    )
    events = _events(body)

    visa = events.pop("wang-fang/visa@staywatch")
    assert (
        visa.decoded("DTSTAMP") == visa.decoded("LAST-MODIFIED") == changed.replace(microsecond=0)
    )
    assert int(visa["SEQUENCE"]) == 4
    assert events
    for event in events.values():
        assert event.decoded("DTSTAMP") == event.decoded("LAST-MODIFIED") == STAMP


def test_uids_carry_the_installation_id(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    other = installation_id(b"another installation's secret")
    person = _person(config, "wang-fang")
    common: dict[str, Any] = {
        "acknowledged": (),
        "sequences": {},
        "stamp": STAMP,
        "name": "w",
        "language": "en",
    }

    ours = Calendar.from_ical(
        build_feed(config, [person], occurrences, installation=INSTALLATION, **common)
    )
    theirs = Calendar.from_ical(
        build_feed(config, [person], occurrences, installation=other, **common)
    )

    uids = {str(e["UID"]) for e in ours.walk("VEVENT")}
    assert f"wang-fang/visa@{INSTALLATION}.staywatch" in uids
    assert f"wang-fang/nhis/2026-12-25@{INSTALLATION}.staywatch" in uids
    assert re.fullmatch(r"[0-9a-f]{16}", INSTALLATION)
    # Two installations with the same people never share an event in one calendar app.
    assert uids.isdisjoint(str(e["UID"]) for e in theirs.walk("VEVENT"))
    for bad in ("", "Has Space", "a/b", "-x"):
        with pytest.raises(ValueError, match="installation id"):
            build_feed(config, [person], occurrences, installation=bad, **common)


# -- deadline events ---------------------------------------------------------------


def test_date_deadline_is_all_day_ending_the_next_day(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    body = _feed(config, occurrences, "wang-fang", language="en")
    visa = _events(body)["wang-fang/visa@staywatch"]

    assert visa.decoded("DTSTART") == date(2027, 3, 14)
    assert visa.decoded("DTEND") == date(2027, 3, 15)
    assert b"DTSTART;VALUE=DATE:20270314\r\n" in body
    assert b"DTEND;VALUE=DATE:20270315\r\n" in body
    assert str(visa["SUMMARY"]) == "Visa (period of stay) expires"
    # Categories in the reader's language: the kind's name.
    assert visa["CATEGORIES"].cats == ["staywatch", "Period of stay (visa)"]


def test_at_deadline_is_a_timed_utc_event_of_30_minutes(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    body = _feed(config, occurrences, "maria-schmidt")
    interview = _events(body)["maria-schmidt/interview@staywatch"]

    assert str(interview["TRANSP"]) == "OPAQUE"  # the time is taken
    assert interview.decoded("DTSTART") == datetime(2027, 1, 20, 5, 0, tzinfo=UTC)
    assert interview.decoded("DTEND") == datetime(2027, 1, 20, 5, 30, tzinfo=UTC)
    assert b"DTSTART:20270120T050000Z\r\n" in body
    assert str(interview["SUMMARY"]) == "Immigration interview"


def _trigger_text(alarm: Any) -> str:
    return alarm["TRIGGER"].to_ical().decode("ascii")


def test_alarms_are_relative_to_the_start_and_most_urgent_first(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    body = _feed(config, occurrences, "wang-fang", language="en")
    visa = _events(body)["wang-fang/visa@staywatch"]
    alarms = visa.walk("VALARM")

    # 09:00 on the day, 09:00 the day before (15 hours before the all-day start), ...
    assert [_trigger_text(a) for a in alarms] == [
        "PT9H",
        "-PT15H",
        "-P1DT15H",
        "-P2DT15H",
        "-P6DT15H",
        "-P13DT15H",
        "-P29DT15H",
        "-P59DT15H",
        "-P119DT15H",
    ]
    assert b"\r\nTRIGGER:-P29DT15H\r\n" in body  # 09:00 KST, 30 days before
    assert b"VALUE=DATE-TIME" not in body
    assert [str(a["DESCRIPTION"]) for a in alarms][:3] == [
        "Visa (period of stay) expires",
        "Visa (period of stay) expires tomorrow",
        "Visa (period of stay) expires in 2 days",
    ]
    assert all(str(a["ACTION"]) == "DISPLAY" for a in alarms)
    assert all("RELATED" not in a["TRIGGER"].params for a in alarms)  # from the start


def test_timed_events_alarm_at_the_exact_lead(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    interview = _events(_feed(config, occurrences, "maria-schmidt"))[
        "maria-schmidt/interview@staywatch"
    ]

    assert [_trigger_text(a) for a in interview.walk("VALARM")] == ["-PT2H", "-P1D"]


def test_alarms_keep_the_most_urgent_when_there_are_too_many() -> None:
    many = CONFIG.replace(
        'remind = ["P1D", "PT2H"]',
        "remind = [" + ", ".join(f'"P{n}D"' for n in range(1, 16)) + ', "PT2H"]',
    )
    config = parse_config(many)
    occurrences = plan(config, START, END, singles_unbounded=True)
    interview = _events(_feed(config, occurrences, "maria-schmidt"))[
        "maria-schmidt/interview@staywatch"
    ]

    texts_ = [_trigger_text(a) for a in interview.walk("VALARM")]
    assert len(texts_) == MAX_ALARMS
    assert texts_[:3] == ["-PT2H", "-P1D", "-P2D"]
    assert texts_[-1] == f"-P{MAX_ALARMS - 1}D"


_DURATION = re.compile(r"^(-?)P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def _fire(start: date, trigger: str, zone: ZoneInfo) -> datetime:
    """When a client fires ``trigger`` on an all-day event: RFC 5545 from local midnight.

    Weeks and days are nominal (wall-clock days), hours to seconds exact.
    """
    match = _DURATION.match(trigger)
    assert match, trigger
    sign = -1 if match.group(1) else 1
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups()[1:])
    wall = datetime.combine(start, time()) + sign * timedelta(days=7 * weeks + days)
    exact = sign * timedelta(hours=hours, minutes=minutes, seconds=seconds)
    return (wall.replace(tzinfo=zone).astimezone(UTC) + exact).astimezone(zone)


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(
        ["Asia/Seoul", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kathmandu"]
    ),
    send=st.times(min_value=time(4, 0), max_value=time(23, 59)).map(
        lambda t: t.replace(second=0, microsecond=0)
    ),
    day=st.dates(min_value=date(2027, 1, 1), max_value=date(2028, 12, 31)),
    leads=st.sets(st.integers(min_value=0, max_value=200), min_size=1, max_size=6),
)
def test_all_day_alarms_fire_at_the_send_time_on_the_reminders_day(
    zone: str, send: time, day: date, leads: set[int]
) -> None:
    remind = ", ".join(f'"P{n}D"' if n else '"PT0S"' for n in sorted(leads))
    config = parse_config(
        f"""
[service]
timezone = "Asia/Seoul"
send_time = "{send:%H:%M}"

[[person]]
id = "p"
name = "P"
email = ["p@example.org"]
timezone = "{zone}"

  [[person.deadline]]
  id = "d"
  kind = "custom"
  title = "Something"
  date = {day.isoformat()}
  remind = [{remind}]
  overdue = false
  roll = "none"
"""
    )
    occurrences = plan(config, day - timedelta(days=400), day, singles_unbounded=True)
    (occ,) = occurrences
    event = _events(_feed(config, occurrences, "p"))["p/d@staywatch"]
    tz = ZoneInfo(zone)

    fired = sorted(_fire(day, _trigger_text(a), tz) for a in event.walk("VALARM"))
    assert fired == sorted(r.due.astimezone(tz) for r in occ.reminders)
    assert {f.time() for f in fired} == {send}


def test_summaries_are_in_the_persons_language(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    zh = _events(_feed(config, occurrences, "wang-fang"))
    ko = _events(_feed(config, occurrences, "wang-fang", language="ko"))

    assert str(zh["wang-fang/visa@staywatch"]["SUMMARY"]) == "滞留期间到期"
    assert str(zh["wang-fang/visa/window@staywatch"]["SUMMARY"]) == "可申请滞留期间延长"
    assert str(zh["wang-fang/visa/P30D@staywatch"]["SUMMARY"]) == "滞留期间到期（还剩30天）"
    assert str(zh["wang-fang/visa/P1D@staywatch"]["SUMMARY"]) == "滞留期间到期（明天）"
    assert str(ko["wang-fang/visa@staywatch"]["SUMMARY"]) == "체류기간 만료"
    assert str(ko["wang-fang/visa/window@staywatch"]["SUMMARY"]) == "체류기간 연장 신청 기간"
    assert str(ko["wang-fang/visa/P30D@staywatch"]["SUMMARY"]) == "체류기간 만료 D-30"
    assert str(ko["wang-fang/visa/P1D@staywatch"]["SUMMARY"]) == "체류기간 만료 D-1"


def test_nhis_summary_names_the_month_covered(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    en = _events(_feed(config, occurrences, "wang-fang", language="en"))
    ko = _events(_feed(config, occurrences, "nguyen-van-an"))

    # Foreigners pay January's premium by 25 December (rolled past Christmas).
    assert str(en["wang-fang/nhis/2026-12-25@staywatch"]["SUMMARY"]) == (
        "NHIS premium for January 2027 due"
    )
    assert str(ko["nguyen-van-an/nhis/2026-12-25@staywatch"]["SUMMARY"]) == (
        "2027년 1월분 건강보험료 납부 기한"
    )


def test_description_has_the_note_and_why_the_date_moved(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    events = _events(_feed(config, occurrences, "wang-fang", language="en"))

    visa = str(events["wang-fang/visa@staywatch"]["DESCRIPTION"])
    assert visa.splitlines()[0] == "D-2, Seoul National University"
    # The same sentences as the reminder emails (texts.closed_notice, texts.moved_notice).
    assert visa.splitlines()[-1] == (
        "Immigration offices are closed on Sunday, 14 March 2027, and HiKorea takes no online "
        "applications that day. The last working day before it is Friday, 12 March 2027: "
        "please act by then."
    )
    nhis = events["wang-fang/nhis/2026-12-25@staywatch"]
    assert nhis.decoded("DTSTART") == date(2026, 12, 28)
    assert str(nhis["DESCRIPTION"]) == (
        "Friday 25 December (Christmas Day), Saturday 26 December and Sunday 27 December are "
        "days off, so the deadline moves to Monday, 28 December 2026."
    )


def test_descriptions_are_in_the_persons_language(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    zh = _events(_feed(config, occurrences, "wang-fang"))
    ko = _events(_feed(config, occurrences, "wang-fang", language="ko"))

    assert str(zh["wang-fang/nhis/2026-12-25@staywatch"]["DESCRIPTION"]) == (
        "12月25日（周五，圣诞节）、26日（周六）和27日（周日）为休息日，"
        "期限顺延至2026年12月28日（星期一）。"
    )
    assert str(ko["wang-fang/nhis/2026-12-25@staywatch"]["DESCRIPTION"]) == (
        "12월 25일(금, 성탄절)·26일(토)·27일(일)이 휴일이어서 기한이 2026년 12월 28일(월)"
        "까지로 늦춰졌습니다."
    )
    assert (
        str(zh["wang-fang/visa/P30D@staywatch"]["DESCRIPTION"])
        == "截止日期：2027年3月14日（星期日）"
    )
    assert str(ko["wang-fang/visa/P30D@staywatch"]["DESCRIPTION"]) == "기한: 2027년 3월 14일(일)"
    assert "2027년 3월 12일(금)까지 처리하세요" in str(
        ko["wang-fang/visa@staywatch"]["DESCRIPTION"]
    )


# -- windows and stages ----------------------------------------------------------


def test_action_window_is_a_multi_day_all_day_event(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    events = _events(_feed(config, occurrences, "wang-fang", language="en"))
    window = events["wang-fang/visa/window@staywatch"]

    assert str(window["SUMMARY"]) == "Extension window open"
    assert window.decoded("DTSTART") == date(2026, 11, 14)  # four months before
    assert window.decoded("DTEND") == date(2027, 3, 15)
    assert not window.walk("VALARM")


@pytest.mark.parametrize(
    ("uid", "start", "end"),
    [
        ("nguyen-van-an/arc/window@staywatch", date(2026, 11, 20), date(2027, 2, 18)),
        ("nguyen-van-an/move/window@staywatch", date(2026, 12, 1), date(2026, 12, 16)),
    ],
)
def test_registration_and_address_windows(
    config: Config, occurrences: tuple[Occurrence, ...], uid: str, start: date, end: date
) -> None:
    window = _events(_feed(config, occurrences, "nguyen-van-an"))[uid]

    assert (window.decoded("DTSTART"), window.decoded("DTEND")) == (start, end)


def test_each_stage_is_its_own_all_day_event(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    events = _events(_feed(config, occurrences, "wang-fang", language="en"))
    stages = {uid: e for uid, e in events.items() if re.search(r"/visa/P[^/]+@", uid)}

    assert sorted(stages) == sorted(
        f"wang-fang/visa/{offset}@staywatch"
        for offset in ("P4M", "P60D", "P30D", "P14D", "P7D", "P3D", "P2D", "P1D")
    )
    thirty = stages["wang-fang/visa/P30D@staywatch"]
    assert str(thirty["SUMMARY"]) == "Visa (period of stay) expires in 30 days"
    assert thirty.decoded("DTSTART") == date(2027, 2, 12)
    assert thirty.decoded("DTEND") == date(2027, 2, 13)
    assert str(thirty["DESCRIPTION"]) == "Deadline: Sunday, 14 March 2027"
    assert str(stages["wang-fang/visa/P1D@staywatch"]["SUMMARY"]) == (
        "Visa (period of stay) expires tomorrow"
    )
    # The deadline falls on a Sunday: the extra Friday reminder says why.
    friday = stages["wang-fang/visa/P2D@staywatch"]
    assert "are closed on Sunday, 14 March 2027" in str(friday["DESCRIPTION"])
    assert "act by then" in str(friday["DESCRIPTION"])
    assert "wang-fang/visa/PT0S@staywatch" not in events
    assert not any("-P" in uid for uid in events)  # overdue repeats are not stages


def test_stage_days_follow_the_persons_time_zone(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    events = _events(_feed(config, occurrences, "maria-schmidt"))

    # 14:00 in Seoul is 06:00 in Berlin; the P1D reminder is the day before there.
    stage = events["maria-schmidt/interview/P1D@staywatch"]
    assert stage.decoded("DTSTART") == date(2027, 1, 19)
    assert str(stage["SUMMARY"]) == "Immigration interview tomorrow"
    assert "maria-schmidt/interview/PT2H@staywatch" not in events  # same day as the deadline


# -- acknowledgement -------------------------------------------------------------


def test_acknowledged_occurrence_is_marked_done(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    body = _feed(
        config, occurrences, "wang-fang", acknowledged={"wang-fang/visa/2027-03-14"}, language="en"
    )
    events = _events(body)
    visa = events["wang-fang/visa@staywatch"]

    assert str(visa["SUMMARY"]) == "✓ Visa (period of stay) expires"
    assert str(visa["X-STAYWATCH-DONE"]) == "TRUE"
    assert "Marked as done." in str(visa["DESCRIPTION"])
    assert not visa.walk("VALARM")
    assert not [uid for uid in events if uid.startswith("wang-fang/visa/")]
    # Other occurrences are untouched.
    assert "X-STAYWATCH-DONE" not in events["wang-fang/nhis/2026-12-25@staywatch"]
    assert events["wang-fang/nhis/2026-12-25@staywatch"].walk("VALARM")


# -- privacy and scope -------------------------------------------------------------


@pytest.mark.parametrize("person_id", ["jamie-private", None])
def test_hide_details_leaks_no_name_title_note_or_id(
    config: Config, occurrences: tuple[Occurrence, ...], person_id: str | None
) -> None:
    body = _feed(config, occurrences, person_id)
    jamie = [o for o in occurrences if o.person == "jamie-private"]
    hidden = _feed(config, tuple(jamie), person_id)

    for secret in ("jamie", "quartermaine", "court", "hearing", "lawyer", "f-6", "marriage"):
        assert secret.encode() not in hidden.lower()
        if person_id is None:
            assert secret.encode() not in body.lower()
    events = _events(hidden)
    summaries = sorted({str(e["SUMMARY"]) for e in events.values()})
    assert "Personal deadline" in summaries
    assert "Visa (period of stay) expires" in summaries
    assert len(events) > 5


def test_all_people_feed_prefixes_names_but_not_hidden_ones(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    events = _events(_feed(config, occurrences))
    hidden_uids = [uid for uid in events if uid.startswith("h-")]

    assert str(events["wang-fang/visa@staywatch"]["SUMMARY"]) == (
        "Wang Fang: Visa (period of stay) expires"
    )
    assert str(events["nguyen-van-an/arc/window@staywatch"]["SUMMARY"]) == (
        "Nguyễn Văn An: Registration window open"
    )
    assert hidden_uids
    for uid in hidden_uids:
        assert ":" not in str(events[uid]["SUMMARY"])


def test_a_persons_feed_holds_only_their_occurrences(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    events = _events(_feed(config, occurrences, "maria-schmidt"))

    assert events
    assert all(uid.startswith("maria-schmidt/") for uid in events)


# -- UIDs and SEQUENCE -------------------------------------------------------------


def test_recurring_uids_keep_the_nominal_date_when_a_holiday_moves_it() -> None:
    before_config = parse_config(CONFIG)
    after_config = parse_config(
        CONFIG.replace('holidays = "KR"', 'holidays = "KR"\nextra_holidays = [2027-01-25]')
    )
    before = plan(before_config, START, END, singles_unbounded=True)
    after = plan(after_config, START, END, singles_unbounded=True)
    uid = "wang-fang/nhis/2027-01-25@staywatch"

    old = _events(_feed(before_config, before, "wang-fang"))[uid]
    new = _events(_feed(after_config, after, "wang-fang"))[uid]
    assert old.decoded("DTSTART") == date(2027, 1, 25)
    assert new.decoded("DTSTART") == date(2027, 1, 26)

    prints_before = _fingerprints(before_config, before_config.people, before)
    prints_after = _fingerprints(after_config, after_config.people, after)
    assert set(prints_before) == set(prints_after)
    changed = {u for u in prints_after if prints_after[u] != prints_before[u]}
    assert uid in changed
    assert "wang-fang/nhis/2026-12-25@staywatch" not in changed


def test_one_off_uid_follows_a_changed_date() -> None:
    renewed = parse_config(CONFIG.replace("date = 2027-03-14", "date = 2029-03-14"))
    occurrences = plan(renewed, START, END, singles_unbounded=True)

    events = _events(_feed(renewed, occurrences, "wang-fang"))

    assert events["wang-fang/visa@staywatch"].decoded("DTSTART") == date(2029, 3, 14)


def test_an_old_occurrence_of_a_one_off_deadline_gives_way_to_the_current_one(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    renewed = parse_config(CONFIG.replace("date = 2027-03-14", "date = 2029-03-14"))
    current = plan(renewed, START, END, singles_unbounded=True)
    stale = [o for o in occurrences if o.key == "wang-fang/visa/2027-03-14"]

    events = _events(_feed(renewed, (*stale, *current), "wang-fang"))

    assert events["wang-fang/visa@staywatch"].decoded("DTSTART") == date(2029, 3, 14)


def test_the_readers_language_changes_neither_fingerprints_nor_structure(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    # An office reading in Korean and the person in Chinese see one event: one fingerprint.
    prints = _fingerprints(config, config.people, occurrences)
    for person in config.people:
        own = _fingerprints(config, [person], occurrences)
        assert own == {uid: prints[uid] for uid in own}

    def structure(body: bytes) -> list[bytes]:
        lines = body.replace(b"\r\n ", b"").split(b"\r\n")
        keep = (b"UID", b"DTSTART", b"DTEND", b"SEQUENCE", b"TRIGGER", b"BEGIN", b"END")
        return [line for line in lines if line.split(b":")[0].split(b";")[0] in keep]

    bodies = [_feed(config, occurrences, language=lang) for lang in ("en", "ko", "zh")]
    assert structure(bodies[0]) == structure(bodies[1]) == structure(bodies[2])
    assert len(set(bodies)) == 3


def test_new_wording_in_the_persons_language_is_a_change(
    occurrences: tuple[Occurrence, ...],
) -> None:
    # wang-fang reads Korean from now on: her events say something else, so
    # clients that sync event by event must fetch them again.
    before = parse_config(CONFIG)
    after = parse_config(CONFIG.replace('language = "zh"', 'language = "ko"'))
    old = _fingerprints(before, before.people, occurrences)
    new = _fingerprints(after, after.people, occurrences)

    changed = {uid for uid in new if new[uid] != old[uid]}
    assert changed == {uid for uid in new if uid.startswith("wang-fang/")}


def test_calendar_name_follows_the_language(config: Config) -> None:
    wang, jamie = _person(config, "wang-fang"), _person(config, "jamie-private")

    assert calendar_name(wang) == "staywatch: Wang Fang"
    assert calendar_name(wang, "zh") == "staywatch：Wang Fang"
    assert calendar_name(None) == "staywatch: everyone"
    assert calendar_name(None, "ko") == "staywatch: 전체"
    assert calendar_name(jamie, "zh") == "staywatch"


@pytest.mark.parametrize(
    ("lang", "personal"), [("en", "Personal deadline"), ("ko", "개인 기한"), ("zh", "个人事项")]
)
def test_hidden_deadlines_get_the_kind_name(
    config: Config, occurrences: tuple[Occurrence, ...], lang: str, personal: str
) -> None:
    events = _events(_feed(config, occurrences, "jamie-private", language=lang))
    hidden = [str(e["SUMMARY"]) for e in events.values() if personal in e["CATEGORIES"].cats]

    assert personal in hidden
    assert all(summary.startswith(personal) for summary in hidden)
    assert texts.window_label("stay_expiry", lang) in {str(e["SUMMARY"]) for e in events.values()}


def test_sequences_are_applied_by_uid(config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    sequences = {"wang-fang/visa@staywatch": 3, "wang-fang/visa/P30D@staywatch": 1}

    events = _events(_feed(config, occurrences, "wang-fang", sequences=sequences))

    assert int(events["wang-fang/visa@staywatch"]["SEQUENCE"]) == 3
    assert int(events["wang-fang/visa/P30D@staywatch"]["SEQUENCE"]) == 1
    assert int(events["wang-fang/visa/window@staywatch"]["SEQUENCE"]) == 0


def test_fingerprints_change_with_content_only(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    people = config.people
    first = _fingerprints(config, people, occurrences)
    again = _fingerprints(config, people, occurrences)
    acked = _fingerprints(config, people, occurrences, {"maria-schmidt/tax/2027-01-15"})

    assert first == again
    assert set(first) == set(_events(_feed(config, occurrences)))
    assert first["maria-schmidt/tax@staywatch"] != acked["maria-schmidt/tax@staywatch"]
    assert "maria-schmidt/tax/P7D@staywatch" not in acked
    unchanged = {uid for uid in acked if uid.startswith("wang-fang/")}
    assert unchanged
    assert all(first[uid] == acked[uid] for uid in unchanged)


def test_bump_sequences() -> None:
    known = {"a@staywatch": ("f1", 0), "b@staywatch": ("f2", 4), "gone@staywatch": ("f9", 2)}
    current = {"a@staywatch": "f1", "b@staywatch": "f3", "new@staywatch": "f4"}

    assert bump_sequences(known, current) == {
        "a@staywatch": ("f1", 0),
        "b@staywatch": ("f3", 5),
        "new@staywatch": ("f4", 0),
        "gone@staywatch": ("f9", 2),
    }


def test_sequence_round_trip_bumps_a_moved_occurrence() -> None:
    before_config = parse_config(CONFIG)
    after_config = parse_config(CONFIG.replace("date = 2027-01-15", "date = 2027-01-22"))
    people_before, people_after = before_config.people, after_config.people
    before = plan(before_config, START, END, singles_unbounded=True)
    after = plan(after_config, START, END, singles_unbounded=True)

    known = bump_sequences({}, _fingerprints(before_config, people_before, before))
    known = bump_sequences(known, _fingerprints(after_config, people_after, after))
    body = build_feed(
        after_config,
        [_person(after_config, "maria-schmidt")],
        after,
        acknowledged=(),
        sequences={_full(uid): seq for uid, (_, seq) in known.items()},
        stamp=STAMP,
        name="maria",
        language="en",
        installation=INSTALLATION,
    )

    events = _events(body)
    assert int(events["maria-schmidt/tax@staywatch"]["SEQUENCE"]) == 1
    assert int(events["maria-schmidt/card@staywatch"]["SEQUENCE"]) == 0


def test_empty_feed_is_still_a_calendar(config: Config) -> None:
    body = build_feed(
        config,
        [],
        (),
        acknowledged=(),
        sequences={},
        stamp=STAMP,
        name="empty",
        language="en",
        installation=INSTALLATION,
    )

    assert Calendar.from_ical(body).walk("VEVENT") == []
    assert b"X-WR-CALNAME:empty\r\n" in body


# -- golden files ------------------------------------------------------------------

GOLDEN_CASES: dict[str, dict[str, Any]] = {
    "wang-fang": {"person_id": "wang-fang"},
    "nguyen-van-an": {"person_id": "nguyen-van-an"},
    "maria-schmidt": {"person_id": "maria-schmidt"},
    "jamie-private": {"person_id": "jamie-private"},
    "everyone": {
        "person_id": None,
        "acknowledged": {"maria-schmidt/tax/2027-01-15", "wang-fang/sim/2026-12-01"},
        "sequences": {"wang-fang/visa@staywatch": 2, "maria-schmidt/interview@staywatch": 1},
        "modified": {
            "wang-fang/visa@staywatch": datetime(2026, 10, 2, 1, 2, 3, tzinfo=UTC),
            "maria-schmidt/interview@staywatch": datetime(2026, 10, 30, 23, 0, tzinfo=UTC),
        },
    },
}


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_golden_feed(config: Config, occurrences: tuple[Occurrence, ...], case: str) -> None:
    body = _feed(config, occurrences, **GOLDEN_CASES[case])
    check_golden(GOLDEN / f"{case}.ics", body)


def test_golden_files_are_not_stale() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.ics")) == sorted(GOLDEN_CASES)


def test_stage_and_alarm_count_are_bounded(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    for event in _events(_feed(config, occurrences)).values():
        assert len(event.walk("VALARM")) <= MAX_ALARMS


def test_window_end_is_exclusive_day_after_deadline(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    for event in _events(_feed(config, occurrences)).values():
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert end > start
        if not isinstance(start, datetime):
            assert end - start >= timedelta(days=1)


def test_names_are_prefixed_by_default_when_the_feed_has_several_people(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    people = [_person(config, "wang-fang"), _person(config, "maria-schmidt")]
    common: dict[str, Any] = {
        "acknowledged": (),
        "sequences": {},
        "stamp": STAMP,
        "name": "two",
        "language": "en",
        "installation": INSTALLATION,
    }

    several = _events(build_feed(config, people, occurrences, **common))
    one = _events(build_feed(config, people[:1], occurrences, **common))

    assert str(several["wang-fang/visa@staywatch"]["SUMMARY"]).startswith("Wang Fang: ")
    assert str(one["wang-fang/visa@staywatch"]["SUMMARY"]) == "Visa (period of stay) expires"
