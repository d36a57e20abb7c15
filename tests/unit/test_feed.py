from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
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
from tests.fixtures.golden import check_golden

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "feeds"
STAMP = datetime(2026, 11, 1, 3, 4, 5, tzinfo=UTC)
START, END = date(2026, 11, 1), date(2027, 2, 28)

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
        sequences=sequences or {},
        stamp=STAMP,
        name=name,
        language=lang,
        all_people=person_id is None,
    )


def _events(body: bytes) -> dict[str, Any]:
    calendar = Calendar.from_ical(body)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert len(events) == len(calendar.walk("VEVENT")), "UIDs must be unique"
    return events


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
    assert str(calendar["METHOD"]) == "PUBLISH"
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


def test_every_event_carries_the_stamp_and_is_transparent(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    for event in _events(_feed(config, occurrences)).values():
        assert event.decoded("DTSTAMP") == STAMP
        assert event.decoded("LAST-MODIFIED") == STAMP
        assert str(event["TRANSP"]) == "TRANSPARENT"
        assert str(event["UID"]).endswith("@staywatch")
        assert int(event["SEQUENCE"]) == 0
        assert "staywatch" in event["CATEGORIES"].cats


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

    assert interview.decoded("DTSTART") == datetime(2027, 1, 20, 5, 0, tzinfo=UTC)
    assert interview.decoded("DTEND") == datetime(2027, 1, 20, 5, 30, tzinfo=UTC)
    assert b"DTSTART:20270120T050000Z\r\n" in body
    assert str(interview["SUMMARY"]) == "Immigration interview"


def test_alarms_fire_at_each_lead_time_in_utc(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    occ = next(o for o in occurrences if o.key == "wang-fang/visa/2027-03-14")
    body = _feed(config, occurrences, "wang-fang")
    visa = _events(body)["wang-fang/visa@staywatch"]

    triggers = [a.decoded("TRIGGER") for a in visa.walk("VALARM")]
    leads = [r.due.astimezone(UTC) for r in occ.reminders if not r.overdue]
    assert triggers == leads[-MAX_ALARMS:]
    assert all(str(a["ACTION"]) == "DISPLAY" for a in visa.walk("VALARM"))
    assert all(str(a["DESCRIPTION"]) for a in visa.walk("VALARM"))
    assert b"TRIGGER;VALUE=DATE-TIME:20270313T000000Z\r\n" in body  # 09:00 KST, a day before
    assert len(triggers) <= MAX_ALARMS


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

    prints_before = event_fingerprints(before_config, before_config.people, before, acknowledged=())
    prints_after = event_fingerprints(after_config, after_config.people, after, acknowledged=())
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


def test_wording_changes_neither_fingerprints_nor_structure(
    occurrences: tuple[Occurrence, ...],
) -> None:
    # Every person switched to another language: the same events, the same fingerprints.
    switched = CONFIG.replace('language = "zh"', 'language = "ko"').replace(
        'language = "en"', 'language = "zh"'
    )
    other = parse_config(switched)
    assert event_fingerprints(
        parse_config(CONFIG), parse_config(CONFIG).people, occurrences, ()
    ) == event_fingerprints(other, other.people, occurrences, ())

    def structure(body: bytes) -> list[bytes]:
        lines = body.replace(b"\r\n ", b"").split(b"\r\n")
        keep = (b"UID", b"DTSTART", b"DTEND", b"SEQUENCE", b"TRIGGER", b"BEGIN", b"END")
        return [line for line in lines if line.split(b":")[0].split(b";")[0] in keep]

    config = parse_config(CONFIG)
    bodies = [_feed(config, occurrences, language=lang) for lang in ("en", "ko", "zh")]
    assert structure(bodies[0]) == structure(bodies[1]) == structure(bodies[2])
    assert len(set(bodies)) == 3


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
    first = event_fingerprints(config, people, occurrences, acknowledged=())
    again = event_fingerprints(config, people, occurrences, acknowledged=())
    acked = event_fingerprints(
        config, people, occurrences, acknowledged={"maria-schmidt/tax/2027-01-15"}
    )

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

    known = bump_sequences({}, event_fingerprints(before_config, people_before, before, ()))
    known = bump_sequences(known, event_fingerprints(after_config, people_after, after, ()))
    body = build_feed(
        after_config,
        [_person(after_config, "maria-schmidt")],
        after,
        acknowledged=(),
        sequences={uid: seq for uid, (_, seq) in known.items()},
        stamp=STAMP,
        name="maria",
        language="en",
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
    }

    several = _events(build_feed(config, people, occurrences, **common))
    one = _events(build_feed(config, people[:1], occurrences, **common))

    assert str(several["wang-fang/visa@staywatch"]["SUMMARY"]).startswith("Wang Fang: ")
    assert str(one["wang-fang/visa@staywatch"]["SUMMARY"]) == "Visa (period of stay) expires"
