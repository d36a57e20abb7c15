"""The pure plan: occurrences and reminders per kind (service.plan).

Expectations come from DOMAIN.md and DESIGN.md; public holidays from the
``holidays`` package's KR calendar, which is DOMAIN.md's reference.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
from dateutil.relativedelta import relativedelta

from service.config import Config, load_config, parse_config
from service.keys import ReminderKey
from service.plan import Occurrence, Reminder, plan, reminders_of, store_window

SEOUL = ZoneInfo("Asia/Seoul")
KR = holidays.KR(years=range(2025, 2030))
FAR_START, FAR_END = date(2025, 1, 1), date(2029, 12, 31)
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"


def is_business_day(day: date) -> bool:
    """DOMAIN.md: not a Saturday, not a Sunday, not a KR public holiday."""
    return day.weekday() < 5 and day not in KR


def following(day: date) -> date:
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def preceding(day: date) -> date:
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def last_open_before(day: date) -> date:
    return preceding(day - timedelta(days=1))


def config_of(
    *deadlines: str,
    person: str = "",
    service: str = "",
    reminders: str = "",
    pid: str = "wang-fang",
) -> Config:
    text = f"[service]\n{service}\n[reminders]\n{reminders}\n"
    text += f'[[person]]\nid = "{pid}"\nname = "Someone"\nemail = ["a@example.org"]\n{person}\n'
    for block in deadlines:
        text += f"[[person.deadline]]\n{block}\n"
    return parse_config(text, "x.toml")


def deadline(kind: str, body: str, did: str = "d") -> str:
    return f'id = "{did}"\nkind = "{kind}"\n{body}'


def occurrences(config: Config, start: date = FAR_START, end: date = FAR_END) -> list[Occurrence]:
    return list(plan(config, start, end))


def only(config: Config) -> Occurrence:
    (found,) = occurrences(config)
    return found


def at9(day: date, tz: ZoneInfo = SEOUL) -> str:
    return str(datetime.combine(day, time(9), tz))


def dues(occurrence: Occurrence) -> dict[str, str]:
    return {r.offset: str(r.due) for r in occurrence.reminders}


def days_before(day: date, *leads: int) -> dict[str, str]:
    """The expected day-based reminders: 09:00 Seoul, ``n`` days before ``day``."""
    return {(f"P{n}D" if n else "PT0S"): at9(day - timedelta(days=n)) for n in leads}


def overdue_after(day: date, *repeats: int) -> dict[str, str]:
    return {f"-P{n}D": at9(day + timedelta(days=n)) for n in repeats}


# -- per kind --------------------------------------------------------------------------


def test_stay_expiry() -> None:
    day = date(2027, 6, 30)
    assert is_business_day(day)
    found = only(config_of(deadline("stay_expiry", "date = 2027-06-30")))
    window = day - relativedelta(months=4)
    assert window == date(2027, 2, 28)  # 30 February does not exist: the month's end
    assert (found.nominal, found.date, found.window_start) == (day, day, window)
    assert (found.moved, found.closed) == ((), None)
    assert dues(found) == (
        {"P4M": at9(window)} | days_before(day, 60, 30, 14, 7, 3, 1, 0) | overdue_after(day, 1)
    )
    assert [r.overdue for r in found.reminders] == [False] * 8 + [True]


def test_arc_registration_counts_the_entry_day_as_day_one() -> None:
    entry = date(2026, 11, 20)
    found = only(config_of(deadline("arc_registration", "entry = 2026-11-20")))
    # "within 90 days of entry", the entry day being day 1: day 90 is entry + 89.
    assert (found.date - entry).days + 1 == 90
    assert found.date == date(2027, 2, 17)
    assert is_business_day(found.date)
    assert found.window_start == entry
    assert dues(found) == days_before(found.date, 89, 30, 14, 7, 3, 1, 0) | overdue_after(
        found.date, 1
    )
    assert dues(found)["P89D"] == at9(entry)  # on the entry day: book a visit now


def test_address_report_is_due_14_days_after_moving_in() -> None:
    moved = date(2026, 12, 1)
    found = only(config_of(deadline("address_report", "moved = 2026-12-01")))
    assert found.date == moved + timedelta(days=14) == date(2026, 12, 15)
    assert found.window_start == moved
    assert dues(found) == days_before(found.date, 14, 7, 3, 1, 0) | overdue_after(found.date, 1)
    assert dues(found)["P14D"] == at9(moved)


def test_arc_expiry() -> None:
    day = date(2027, 6, 30)
    found = only(config_of(deadline("arc_expiry", "date = 2027-06-30")))
    assert found.date == day
    assert dues(found) == days_before(day, 180, 90, 60, 30, 14, 7, 1, 0) | overdue_after(day, 1)


def test_passport_expiry_has_no_overdue_and_no_closed_notice() -> None:
    day = date(2028, 1, 20)
    found = only(config_of(deadline("passport_expiry", "date = 2028-01-20")))
    assert dues(found) == days_before(day, 270, 180, 120, 90, 60, 30, 0)
    assert not any(r.overdue for r in found.reminders)
    sunday = only(config_of(deadline("passport_expiry", "date = 2027-03-14")))
    assert date(2027, 3, 14).weekday() == 6
    assert sunday.closed is None  # passports are not an office-visit kind
    assert dues(sunday) == days_before(date(2027, 3, 14), 270, 180, 120, 90, 60, 30, 0)


def test_nhis_design_example() -> None:
    """DESIGN.md: 2026-10-25 is a Sunday; the premium rolls to the following business day."""
    config = config_of(deadline("nhis_premium", "start = 2026-10-01", did="nhis"))
    found = occurrences(config, date(2026, 10, 1), date(2026, 10, 31))
    assert len(found) == 1
    data = found[0].as_json()
    assert {k: data[k] for k in ("person", "deadline", "kind", "nominal", "date")} == {
        "person": "wang-fang",
        "deadline": "nhis",
        "kind": "nhis_premium",
        "nominal": "2026-10-25",
        "date": "2026-10-26",
    }
    assert {"key": "wang-fang/nhis/2026-10-26/P3D", "due": "2026-10-23T09:00:00+09:00"} in data[
        "reminders"
    ]
    assert data["moved_by"] == [{"date": "2026-10-25", "reason": "Sunday"}]
    assert data["covers"] == "2026-11"  # foreigners pay month M on the 25th of M-1
    assert dues(found[0]) == days_before(date(2026, 10, 26), 7, 3, 1, 0) | overdue_after(
        date(2026, 10, 26), 1, 3, 7
    )
    json.dumps(data)  # the object is JSON-serialisable as is


@pytest.mark.parametrize(
    ("schedule", "nominal", "covers"),
    [
        ("foreigner", date(2027, 1, 25), "2027-02"),  # month M on the 25th of M-1
        ("national", date(2027, 1, 10), "2026-12"),  # month M on the 10th of M+1
    ],
)
def test_nhis_schedules(schedule: str, nominal: date, covers: str) -> None:
    config = config_of(
        deadline("nhis_premium", f'start = 2027-01-14\nschedule = "{schedule}"', did="nhis")
    )
    first = occurrences(config)[0]
    assert (first.nominal, first.covers) == (nominal, covers)
    found = occurrences(config, date(2027, 1, 1), date(2027, 12, 31))
    assert [o.nominal for o in found] == [nominal.replace(month=m) for m in range(1, 13)]


def test_nhis_autopay_reminds_once_and_never_overdue() -> None:
    config = config_of(deadline("nhis_premium", "start = 2027-01-01\nautopay = true"))
    found = occurrences(config, date(2027, 1, 1), date(2027, 12, 31))
    assert len(found) == 12
    for occurrence in found:
        assert dues(occurrence) == days_before(occurrence.date, 3)


@pytest.mark.parametrize("until", ["2027-03-25", "2027-03-31"])
def test_nhis_until_is_the_last_month(until: str) -> None:
    config = config_of(deadline("nhis_premium", f"start = 2027-01-01\nuntil = {until}"))
    assert [o.nominal for o in occurrences(config)] == [
        date(2027, 1, 25),
        date(2027, 2, 25),
        date(2027, 3, 25),
    ]


def test_nhis_window_filters_on_the_rolled_date() -> None:
    config = config_of(deadline("nhis_premium", "start = 2026-12-01"))
    # 2026-12-25 (Christmas, a Friday) rolls to Monday 2026-12-28.
    assert [o.date for o in occurrences(config, date(2026, 12, 26), date(2026, 12, 31))] == [
        date(2026, 12, 28)
    ]
    assert occurrences(config, date(2026, 12, 1), date(2026, 12, 27)) == []


def test_custom_date_defaults() -> None:
    # New Year's Day: custom deadlines do not roll and get no closed notice.
    found = only(config_of(deadline("custom", 'title = "Tax"\ndate = 2027-01-01')))
    assert (found.date, found.closed, found.title) == (date(2027, 1, 1), None, "Tax")
    assert dues(found) == days_before(date(2027, 1, 1), 30, 7, 1, 0)


def test_custom_at_is_an_instant_to_the_second() -> None:
    found = only(
        config_of(
            deadline(
                "custom",
                'title = "Exam"\nat = 2027-01-05T10:00:30+09:00\n'
                'remind = ["PT2H", "P1D", "PT0S", "PT90S"]',
            )
        )
    )
    at = datetime(2027, 1, 5, 10, 0, 30, tzinfo=SEOUL)
    assert found.at == at
    # The occurrence stays open an hour so that the reminder due at the instant is sent.
    assert found.ends == at + timedelta(hours=1)
    assert (found.nominal, found.date) == (date(2027, 1, 5), date(2027, 1, 5))
    assert dues(found) == {
        "PT2H": "2027-01-05 08:00:30+09:00",
        "P1D": "2027-01-04 10:00:30+09:00",
        "PT0S": "2027-01-05 10:00:30+09:00",
        "PT1M30S": "2027-01-05 09:59:00+09:00",
    }
    assert found.as_json()["at"] == "2027-01-05T10:00:30+09:00"


def test_custom_at_date_is_the_local_date_of_the_instant() -> None:
    # 23:30 UTC on the 4th is 08:30 on the 5th in Seoul.
    found = only(
        config_of(deadline("custom", 'title = "Call"\nat = 2027-01-04T23:30:00Z\nremind = [0]'))
    )
    assert (found.nominal, found.date) == (date(2027, 1, 5), date(2027, 1, 5))
    assert dues(found) == {"PT0S": "2027-01-05 08:30:00+09:00"}
    assert found.reminders[0].key == "wang-fang/d/2027-01-05/PT0S"


def test_custom_rrule_monthly_keeps_its_dates_by_default() -> None:
    config = config_of(
        deadline(
            "custom",
            'title = "SIM"\nrrule = "FREQ=MONTHLY;BYMONTHDAY=1"\nstart = 2026-12-01\n'
            'remind = ["P3D", "PT0S"]',
        )
    )
    found = occurrences(config, date(2027, 1, 1), date(2027, 6, 30))
    firsts = [date(2027, m, 1) for m in range(1, 7)]
    assert [o.date for o in found] == firsts
    for occurrence in found:
        assert dues(occurrence) == days_before(occurrence.date, 3, 0)


def test_custom_rrule_with_following_roll_and_until() -> None:
    config = config_of(
        deadline(
            "custom",
            'title = "SIM"\nrrule = "FREQ=MONTHLY;BYMONTHDAY=1"\nstart = 2026-12-01\n'
            'roll = "following"\nuntil = 2027-06-30',
        )
    )
    found = occurrences(config)
    firsts = [date(2026, 12, 1)] + [date(2027, m, 1) for m in range(1, 7)]
    assert [(o.nominal, o.date) for o in found] == [(d, following(d)) for d in firsts]
    assert found[1].date == date(2027, 1, 4)  # New Year's Day (Fri) and the weekend
    assert found[5].date == date(2027, 5, 4)  # Labor Day (Sat), Sunday, its substitute Monday


def test_custom_rrule_until_stops_the_series() -> None:
    config = config_of(
        deadline(
            "custom",
            'title = "Class"\nrrule = "FREQ=WEEKLY;BYDAY=MO"\nstart = 2027-01-01\n'
            "until = 2027-01-31\nremind = [0]",
        )
    )
    assert [o.date for o in occurrences(config)] == [
        date(2027, 1, 4),
        date(2027, 1, 11),
        date(2027, 1, 18),
        date(2027, 1, 25),
    ]


# -- offices closed on the deadline day ---------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "body", "day", "reason"),
    [
        ("stay_expiry", "date = 2027-03-14", date(2027, 3, 14), "Sunday"),
        ("arc_expiry", "date = 2027-06-06", date(2027, 6, 6), "Memorial Day"),
        # moved + 14 = 2026-09-25, Chuseok (a Friday); the 24th is a holiday too.
        ("address_report", "moved = 2026-09-11", date(2026, 9, 25), "Chuseok"),
        # entry + 89 = 2027-09-15, Chuseok (a Wednesday); the 14th is a holiday too.
        ("arc_registration", "entry = 2027-06-18", date(2027, 9, 15), "Chuseok"),
    ],
)
def test_office_closed_notice_on_last_business_day(
    kind: str, body: str, day: date, reason: str
) -> None:
    found = only(config_of(deadline(kind, body)))
    assert (found.date, found.closed, found.moved) == (day, reason, ())
    last_open = last_open_before(day)
    notices = [r for r in found.reminders if r.closed_notice]
    assert len(notices) == 1
    assert str(notices[0].due) == at9(last_open)
    assert notices[0].offset == f"P{(day - last_open).days}D"
    assert notices[0].key == f"wang-fang/d/{day}/P{(day - last_open).days}D"
    # The ordinary reminders are all still there.
    ordinary = {r.offset for r in found.reminders if not r.closed_notice}
    assert "PT0S" in ordinary
    assert "-P1D" in ordinary


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        # A Saturday: the default 1-day reminder already falls on Friday.
        ("stay_expiry", "date = 2027-03-13"),
        # A Sunday, but this deadline's own 2-day reminder is on Friday.
        ("stay_expiry", "date = 2027-03-14\nremind = [2, 0]"),
    ],
)
def test_no_closed_notice_when_already_reminded_that_day(kind: str, body: str) -> None:
    found = only(config_of(deadline(kind, body)))
    assert found.closed is not None
    assert not any(r.closed_notice for r in found.reminders)
    last_open = last_open_before(found.date)
    assert sum(r.due.date() == last_open for r in found.reminders) == 1


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("passport_expiry", "date = 2027-03-14"),
        ("custom", 'title = "x"\ndate = 2027-03-14'),
        ("stay_expiry", "date = 2027-03-16"),  # a Tuesday: offices open
    ],
)
def test_no_closed_notice_for_other_kinds_or_open_days(kind: str, body: str) -> None:
    found = only(config_of(deadline(kind, body)))
    assert found.closed is None
    assert not any(r.closed_notice for r in found.reminders)


def test_rolled_office_deadline_gets_no_closed_notice() -> None:
    found = only(config_of(deadline("stay_expiry", 'date = 2027-03-14\nroll = "preceding"')))
    assert (found.nominal, found.date) == (date(2027, 3, 14), date(2027, 3, 12))
    assert [m.reason for m in found.moved] == ["Sunday", "Saturday"]
    assert found.closed is None
    assert not any(r.closed_notice for r in found.reminders)
    assert all(r.key.startswith("wang-fang/d/2027-03-12/") for r in found.reminders)


# -- overrides -------------------------------------------------------------------------------


def test_config_reminders_override_kind_defaults() -> None:
    day = date(2027, 6, 30)
    config = config_of(
        deadline("stay_expiry", "date = 2027-06-30", did="a"),
        deadline("stay_expiry", "date = 2027-06-30\nremind = [5]", did="b"),
        reminders='stay_expiry = [30, "P1W", 0]',
    )
    a, b = occurrences(config)
    assert dues(a) == days_before(day, 30, 7, 0) | overdue_after(day, 1)
    assert dues(b) == days_before(day, 5) | overdue_after(day, 1)


def test_per_deadline_overdue_and_roll_overrides() -> None:
    config = config_of(
        deadline("stay_expiry", "date = 2027-06-30\noverdue = [1, 2, 10]", did="a"),
        deadline(
            "nhis_premium", "start = 2026-10-01\nuntil = 2026-10-01\noverdue = false", did="b"
        ),
        deadline("nhis_premium", 'start = 2026-10-01\nuntil = 2026-10-01\nroll = "none"', did="c"),
        deadline(
            "nhis_premium", 'start = 2026-10-01\nuntil = 2026-10-01\nroll = "preceding"', did="d"
        ),
    )
    by_id = {o.deadline: o for o in occurrences(config)}
    a = by_id["a"]
    assert [r.offset for r in a.reminders if r.overdue] == ["-P1D", "-P2D", "-P10D"]
    assert str(a.reminders[-1].due) == at9(date(2027, 7, 10))
    assert not any(r.overdue for r in by_id["b"].reminders)
    assert by_id["c"].date == date(2026, 10, 25)  # a Sunday, kept
    assert by_id["d"].date == date(2026, 10, 23)  # the Friday before


def test_autopay_with_own_remind_uses_its_own() -> None:
    config = config_of(
        deadline(
            "nhis_premium", "start = 2027-02-01\nuntil = 2027-02-01\nautopay = true\nremind = [1]"
        )
    )
    assert dues(only(config)) == days_before(date(2027, 2, 25), 1)


# -- keys, zones, send time -------------------------------------------------------------------

KEY = re.compile(
    r"^[a-z0-9_-]+/[a-z0-9_-]+/\d{4}-\d{2}-\d{2}/-?P(\d+M)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$"
)


def test_keys_name_person_deadline_rolled_date_and_offset() -> None:
    config = load_config(EXAMPLE)
    found = plan(config, date(2026, 11, 1), date(2028, 1, 31))
    for occurrence in found:
        for reminder in occurrence.reminders:
            assert KEY.match(reminder.key), reminder.key
            key = ReminderKey.parse(reminder.key)
            assert (key.person, key.deadline, key.date, key.offset) == (
                occurrence.person,
                occurrence.deadline,
                occurrence.date,
                reminder.offset,
            )
            assert reminder.occurrence == occurrence.key
    rolled = [o for o in found if o.moved]
    assert rolled, "the example has NHIS dates on weekends and holidays"
    assert all(r.date != o.nominal for o in rolled for r in o.reminders)


def test_due_is_send_time_in_the_persons_zone() -> None:
    config = config_of(
        deadline("passport_expiry", "date = 2027-07-20"),
        person='timezone = "America/New_York"',
        service='send_time = "07:45"\ntimezone = "Europe/Berlin"',
    )
    found = only(config)
    tz = ZoneInfo("America/New_York")
    for reminder in found.reminders:
        assert reminder.due.tzinfo is not None
        local = reminder.due.astimezone(tz)
        assert (local.hour, local.minute) == (7, 45)
    assert str(found.reminders[-1].due) == "2027-07-20 07:45:00-04:00"
    assert found.ends == datetime(2027, 7, 21, tzinfo=tz)


def test_service_time_zone_is_the_default() -> None:
    found = only(
        config_of(deadline("passport_expiry", "date = 2027-01-20"), service='timezone = "UTC"')
    )
    assert str(found.reminders[-1].due) == "2027-01-20 09:00:00+00:00"


# -- THE ACCEPTANCE CHECK: NHIS 2026-2027 over Korean holidays ------------------------------


@pytest.mark.parametrize(("schedule", "due_day"), [("foreigner", 25), ("national", 10)])
def test_nhis_2026_2027_rolls_over_kr_holidays(schedule: str, due_day: int) -> None:
    config = config_of(
        deadline("nhis_premium", f'start = 2026-01-01\nschedule = "{schedule}"', did="nhis")
    )
    found = occurrences(config, date(2026, 1, 1), date(2027, 12, 31))
    nominals = [date(y, m, due_day) for y in (2026, 2027) for m in range(1, 13)]
    assert [(o.nominal, o.date) for o in found] == [(d, following(d)) for d in nominals]
    for occurrence in found:
        assert is_business_day(occurrence.date)
        skipped = [m.day for m in occurrence.moved]
        assert skipped == [
            occurrence.nominal + timedelta(days=i)
            for i in range((occurrence.date - occurrence.nominal).days)
        ]
        assert all(
            r.key.startswith(f"wang-fang/nhis/{occurrence.date}/") for r in occurrence.reminders
        )


@pytest.mark.parametrize(
    ("nominal", "rolled", "reasons"),
    [
        (date(2026, 10, 25), date(2026, 10, 26), ["Sunday"]),  # DESIGN.md's example
        (date(2026, 12, 25), date(2026, 12, 28), ["Christmas Day", "Saturday", "Sunday"]),
        (date(2027, 9, 25), date(2027, 9, 27), ["Saturday", "Sunday"]),
        # Chuseok (Friday) and its second day (Saturday), then Sunday.
        (date(2026, 9, 25), date(2026, 9, 28), ["Chuseok", "The second day of Chuseok", "Sunday"]),
        # Christmas on a Saturday, its substitute holiday on Monday.
        (
            date(2027, 12, 25),
            date(2027, 12, 28),
            ["Christmas Day", "Sunday", "Alternative holiday for Christmas Day"],
        ),
        (date(2026, 5, 25), date(2026, 5, 26), ["Alternative holiday for Buddha's Birthday"]),
        (date(2027, 1, 25), date(2027, 1, 25), []),
    ],
)
def test_nhis_spot_checks(nominal: date, rolled: date, reasons: list[str]) -> None:
    config = config_of(deadline("nhis_premium", "start = 2026-01-01", did="nhis"))
    (found,) = [o for o in occurrences(config) if o.nominal == nominal]
    assert found.date == rolled
    assert [m.reason for m in found.moved] == reasons
    assert str(next(r.due for r in found.reminders if r.offset == "PT0S")) == at9(rolled)


def test_national_nhis_rolls_over_a_sunday_and_a_substitute_holiday() -> None:
    # 2027-10-10 is a Sunday; Monday the 11th is the substitute for Hangul Day.
    config = config_of(deadline("nhis_premium", 'start = 2027-10-01\nschedule = "national"'))
    first = occurrences(config)[0]
    assert (first.nominal, first.date) == (date(2027, 10, 10), date(2027, 10, 12))
    assert [m.reason for m in first.moved] == ["Sunday", "Alternative holiday for Hangul Day"]


# -- DST: day-based reminders stay at send_time local ------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "remind", "overdue", "expected"),
    [
        (
            "Europe/Berlin",
            "2027-03-29",
            "[3, 2, 1, 0]",
            "[1]",
            [
                "2027-03-26 09:00:00+01:00",
                "2027-03-27 09:00:00+01:00",
                "2027-03-28 09:00:00+02:00",
                "2027-03-29 09:00:00+02:00",
                "2027-03-30 09:00:00+02:00",
            ],
        ),
        (
            "Europe/Berlin",
            "2026-10-26",
            "[2, 1, 0]",
            "false",
            [
                "2026-10-24 09:00:00+02:00",
                "2026-10-25 09:00:00+01:00",
                "2026-10-26 09:00:00+01:00",
            ],
        ),
        (
            "America/New_York",
            "2027-03-15",
            "[3, 2, 1, 0]",
            "[1]",
            [
                "2027-03-12 09:00:00-05:00",
                "2027-03-13 09:00:00-05:00",
                "2027-03-14 09:00:00-04:00",
                "2027-03-15 09:00:00-04:00",
                "2027-03-16 09:00:00-04:00",
            ],
        ),
        (
            "America/New_York",
            "2026-11-02",
            '["P1M", 2, 1, 0]',
            "false",
            [
                "2026-10-02 09:00:00-04:00",
                "2026-10-31 09:00:00-04:00",
                "2026-11-01 09:00:00-05:00",
                "2026-11-02 09:00:00-05:00",
            ],
        ),
    ],
)
def test_dst_reminders_stay_at_nine_local(
    zone: str, day: str, remind: str, overdue: str, expected: list[str]
) -> None:
    config = config_of(
        deadline("custom", f'title = "x"\ndate = {day}\nremind = {remind}\noverdue = {overdue}'),
        person=f'timezone = "{zone}"',
    )
    found = only(config)
    assert [str(r.due) for r in found.reminders] == expected
    # Each string is how that zone really shows the instant (no impossible local times).
    tz = ZoneInfo(zone)
    assert [str(r.due.astimezone(UTC).astimezone(tz)) for r in found.reminders] == expected


def test_dst_national_nhis_for_a_person_in_berlin() -> None:
    config = config_of(
        deadline("nhis_premium", 'schedule = "national"\nstart = 2027-03-01\nuntil = 2027-04-30'),
        person='timezone = "Europe/Berlin"',
    )
    march, april = occurrences(config)
    assert [str(r.due) for r in march.reminders if r.offset == "PT0S"] == [
        "2027-03-10 09:00:00+01:00"
    ]
    # 2027-04-10 is a Saturday: the premium rolls to Monday the 12th, after the change.
    assert april.date == date(2027, 4, 12)
    assert [str(r.due) for r in april.reminders if r.offset in {"P7D", "PT0S"}] == [
        "2027-04-05 09:00:00+02:00",
        "2027-04-12 09:00:00+02:00",
    ]


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        (
            "Europe/Berlin",
            "2027-03-28",
            ["2027-03-27 02:30:00+01:00", "2027-03-28 03:30:00+02:00", "2027-03-29 02:30:00+02:00"],
        ),
        (
            "America/New_York",
            "2027-03-14",
            ["2027-03-13 02:30:00-05:00", "2027-03-14 03:30:00-04:00", "2027-03-15 02:30:00-04:00"],
        ),
    ],
)
def test_dst_send_time_in_the_gap_resolves_once(zone: str, day: str, expected: list[str]) -> None:
    config = config_of(
        deadline("custom", f'title = "x"\ndate = {day}\nremind = [1, 0]\noverdue = [1]'),
        person=f'timezone = "{zone}"',
        service='send_time = "02:30"',
    )
    found = only(config)
    assert [str(r.due) for r in found.reminders] == expected
    gap_day = date.fromisoformat(day)
    tz = ZoneInfo(zone)
    assert sum(r.due.astimezone(tz).date() == gap_day for r in found.reminders) == 1


@pytest.mark.parametrize(
    ("zone", "day", "send_time", "expected"),
    [
        (
            "Europe/Berlin",
            "2026-10-25",
            "02:30",
            ["2026-10-24 02:30:00+02:00", "2026-10-25 02:30:00+02:00", "2026-10-26 02:30:00+01:00"],
        ),
        (
            "America/New_York",
            "2026-11-01",
            "01:30",
            ["2026-10-31 01:30:00-04:00", "2026-11-01 01:30:00-04:00", "2026-11-02 01:30:00-05:00"],
        ),
    ],
)
def test_dst_send_time_in_the_fold_is_planned_once(
    zone: str, day: str, send_time: str, expected: list[str]
) -> None:
    config = config_of(
        deadline("custom", f'title = "x"\ndate = {day}\nremind = [1, 0]\noverdue = [1]'),
        person=f'timezone = "{zone}"',
        service=f'send_time = "{send_time}"',
    )
    assert [str(r.due) for r in only(config).reminders] == expected


def test_dst_daily_series_over_the_fold_reminds_once_a_day() -> None:
    config = config_of(
        deadline(
            "custom",
            'title = "pill"\nrrule = "FREQ=DAILY"\nstart = 2026-10-22\nuntil = 2026-10-28\n'
            "remind = [0]",
        ),
        person='timezone = "Europe/Berlin"',
        service='send_time = "02:30"',
    )
    due = [r.due for r in reminders_of(plan(config, date(2026, 10, 1), date(2026, 10, 31)))]
    tz = ZoneInfo("Europe/Berlin")
    assert [d.astimezone(tz).date() for d in due] == [
        date(2026, 10, 22) + timedelta(days=i) for i in range(7)
    ]
    assert len({d.astimezone(UTC) for d in due}) == 7


def test_dst_hour_lead_before_an_instant_is_exact() -> None:
    config = config_of(
        deadline("custom", 'title = "x"\nat = 2027-03-28T04:00:00+02:00\nremind = ["PT2H"]'),
        person='timezone = "Europe/Berlin"',
    )
    (reminder,) = only(config).reminders
    assert datetime(2027, 3, 28, 2, tzinfo=UTC) - reminder.due == timedelta(hours=2)
    assert str(reminder.due) == "2027-03-28 01:00:00+01:00"


# -- the plan as a whole -----------------------------------------------------------------------


def test_rrule_rolled_onto_one_day_is_one_occurrence() -> None:
    config = config_of(
        deadline(
            "custom",
            'title = "x"\nrrule = "FREQ=DAILY"\nstart = 2027-01-01\nroll = "following"\n'
            "remind = [0]",
        )
    )
    found = occurrences(config, date(2027, 1, 1), date(2027, 1, 31))
    assert len({o.date for o in found}) == len(found)
    keys = [r.key for o in found for r in o.reminders]
    assert len(set(keys)) == len(keys)


def test_plan_is_sorted_deterministic_and_filtered() -> None:
    config = load_config(EXAMPLE)
    first = plan(config, date(2026, 11, 1), date(2027, 12, 31))
    again = plan(load_config(EXAMPLE), date(2026, 11, 1), date(2027, 12, 31))
    assert first == again
    assert json.dumps([o.as_json() for o in first]) == json.dumps([o.as_json() for o in again])
    assert [(o.date, o.person, o.deadline) for o in first] == sorted(
        (o.date, o.person, o.deadline) for o in first
    )
    for occurrence in first:
        assert [r.due for r in occurrence.reminders] == sorted(r.due for r in occurrence.reminders)
    only_maria = plan(config, date(2026, 11, 1), date(2027, 12, 31), people=["maria-schmidt"])
    assert only_maria == tuple(o for o in first if o.person == "maria-schmidt")
    flat: list[Reminder] = reminders_of(first)
    assert [r.due for r in flat] == sorted(r.due for r in flat)


def test_single_deadlines_beyond_the_window_only_when_asked() -> None:
    config = load_config(EXAMPLE)
    window = plan(config, date(2026, 11, 1), date(2027, 1, 31))
    assert not any(o.deadline == "passport" for o in window)
    unbounded = plan(config, date(2026, 11, 1), date(2027, 1, 31), singles_unbounded=True)
    assert {(o.person, o.date) for o in unbounded if o.deadline == "passport"} == {
        ("wang-fang", date(2028, 1, 20)),
        ("maria-schmidt", date(2027, 9, 30)),
    }
    # Recurring deadlines still stop at the end of the window.
    assert max(o.date for o in unbounded if o.kind == "nhis_premium") <= date(2027, 1, 31)


def test_store_window_reaches_back_past_the_longest_overdue_repeat() -> None:
    config = load_config(EXAMPLE)
    today = date(2027, 1, 10)
    start, end = store_window(config, today)
    assert start <= today - timedelta(days=7)  # NHIS repeats until 7 days after
    assert end == today + timedelta(days=config.service.horizon_days)
