"""Korean business days, roll rules and the per-kind defaults (service.rules).

The reference for public holidays is the ``holidays`` package's KR calendar
(DOMAIN.md, "Business days"); expectations are derived from it, not copied.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, timedelta
from pathlib import Path

import holidays
import pytest

from service.config import Config, Deadline, parse_config
from service.kinds import KINDS
from service.rules import (
    HOLIDAYS_FLOOR,
    KIND_RULES,
    OFFICE_VISIT_KINDS,
    BusinessCalendar,
    Roll,
    escalation_of,
    lead_times,
    roll_of,
)

KR = holidays.KR(years=range(2025, 2029), language="en_US")
ROOT = Path(__file__).resolve().parents[2]


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _reference_closed(day: date) -> str | None:
    """DOMAIN.md: not a Saturday, not a Sunday, not a KR public holiday."""
    if day in KR:
        return KR[day]
    if day.weekday() >= 5:
        return day.strftime("%A")
    return None


def test_every_day_2025_2028_matches_weekends_and_kr_holidays() -> None:
    calendar = BusinessCalendar()
    for day in _days(date(2025, 1, 1), date(2028, 12, 31)):
        assert calendar.closed_reason(day) == _reference_closed(day), day
        assert calendar.is_business_day(day) == (_reference_closed(day) is None), day


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2027, 1, 2), "Saturday"),
        (date(2027, 1, 3), "Sunday"),
        (date(2026, 9, 25), "Chuseok"),  # lunar holiday on a Friday
        (date(2026, 9, 26), "The second day of Chuseok"),  # holiday name wins over Saturday
        (date(2027, 2, 9), "Alternative holiday for Korean New Year"),  # substitute
        (date(2026, 6, 3), "Local Election Day"),  # election day
        (date(2026, 12, 25), "Christmas Day"),
        (date(2027, 12, 27), "Alternative holiday for Christmas Day"),
    ],
)
def test_closed_reason_names_the_weekday_or_the_holiday(day: date, reason: str) -> None:
    assert BusinessCalendar().closed_reason(day) == reason


@pytest.mark.parametrize("day", [date(2027, 1, 4), date(2026, 9, 23), date(2026, 10, 26)])
def test_ordinary_weekdays_are_business_days(day: date) -> None:
    assert BusinessCalendar().is_business_day(day)
    assert BusinessCalendar().closed_reason(day) is None


def test_extra_holidays_and_not_holidays_correct_the_calendar() -> None:
    calendar = BusinessCalendar(
        extra=[date(2027, 5, 4)],  # a Tuesday declared a temporary holiday
        not_holidays=[date(2026, 5, 1), date(2027, 5, 1)],  # Labor Day Fri / Sat
    )
    assert calendar.closed_reason(date(2027, 5, 4)) == "extra holiday"
    assert calendar.is_business_day(date(2026, 5, 1))  # a Friday, no longer a holiday
    assert calendar.closed_reason(date(2027, 5, 1)) == "Saturday"  # still a weekend
    assert BusinessCalendar().closed_reason(date(2026, 5, 1)) == "Labor Day"


# DOMAIN.md "Business days": dates the calendar must have right, written out here so
# that a wrong holidays release fails (the tests above compare with the package).
DOMAIN_CLOSED = {
    date(2025, 1, 27): "Temporary Public Holiday",
    date(2025, 6, 3): "Presidential Election Day",
    date(2026, 5, 1): "Labor Day",
    date(2026, 6, 3): "Local Election Day",
    date(2026, 7, 17): "Constitution Day",
    date(2027, 5, 3): "Alternative holiday for Labor Day",
    date(2027, 7, 19): "Alternative holiday for Constitution Day",
}
DOMAIN_OPEN = [date(2027, 3, 3)]  # the election day of older releases, a Wednesday
# The last business day before each (weekends, and no other holiday in between).
DOMAIN_LAST_OPEN = {
    date(2025, 1, 27): date(2025, 1, 24),
    date(2025, 6, 3): date(2025, 6, 2),
    date(2026, 5, 1): date(2026, 4, 30),
    date(2026, 6, 3): date(2026, 6, 2),
    date(2026, 7, 17): date(2026, 7, 16),
    date(2027, 5, 3): date(2027, 4, 30),
    date(2027, 7, 19): date(2027, 7, 16),
}
# ... and the next one (2025-01-28 to 30 is Korean New Year).
DOMAIN_NEXT_OPEN = {
    date(2025, 1, 27): date(2025, 1, 31),
    date(2025, 6, 3): date(2025, 6, 4),
    date(2026, 5, 1): date(2026, 5, 4),
    date(2026, 6, 3): date(2026, 6, 4),
    date(2026, 7, 17): date(2026, 7, 20),
    date(2027, 5, 3): date(2027, 5, 4),
    date(2027, 7, 19): date(2027, 7, 20),
}


@pytest.mark.parametrize(("day", "name"), sorted(DOMAIN_CLOSED.items()))
def test_domain_holidays_are_closed(day: date, name: str) -> None:
    calendar = BusinessCalendar()
    assert day.weekday() < 5  # each is a weekday: only the holiday closes it
    assert not calendar.is_business_day(day)
    assert calendar.closed_reason(day) == name
    assert calendar.last_business_day_before(day) == DOMAIN_LAST_OPEN[day]
    assert calendar.roll(day, "following")[0] == DOMAIN_NEXT_OPEN[day]
    assert calendar.roll(day, "preceding")[0] == DOMAIN_LAST_OPEN[day]


@pytest.mark.parametrize("day", DOMAIN_OPEN)
def test_domain_working_days_are_open(day: date) -> None:
    assert BusinessCalendar().is_business_day(day)
    assert BusinessCalendar().closed_reason(day) is None


def test_the_holidays_floor_is_pyprojects_lower_bound() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    bounds = [d for d in pyproject["project"]["dependencies"] if d.startswith("holidays")]
    assert bounds == [f"holidays>={HOLIDAYS_FLOOR}"]


def test_the_example_configs_holiday_corrections_change_something() -> None:
    """config/example.toml's commented examples name days the package really lacks / has."""
    text = (ROOT / "config" / "example.toml").read_text(encoding="utf-8")
    extra = re.search(r"^# extra_holidays = (\[.*\])$", text, re.MULTILINE)
    removed = re.search(r"^# not_holidays = (\[.*\])$", text, re.MULTILINE)
    assert extra is not None
    assert removed is not None
    calendar = BusinessCalendar()
    for day in tomllib.loads(f"v = {extra.group(1)}")["v"]:
        assert calendar.is_business_day(day), day  # a working day the decree would close
    for day in tomllib.loads(f"v = {removed.group(1)}")["v"]:
        assert day.weekday() < 5, day
        assert not calendar.is_business_day(day), day
    config = parse_config(
        f"[service]\nextra_holidays = {extra.group(1)}\nnot_holidays = {removed.group(1)}\n",
        "x.toml",
    )
    corrected = BusinessCalendar.for_config(config)
    assert all(not corrected.is_business_day(d) for d in config.service.extra_holidays)
    assert all(corrected.is_business_day(d) for d in config.service.not_holidays)


def test_for_config_uses_the_service_section() -> None:
    config = parse_config(
        "[service]\nextra_holidays = [2027-05-04]\nnot_holidays = [2026-05-01]\n", "x.toml"
    )
    calendar = BusinessCalendar.for_config(config)
    assert not calendar.is_business_day(date(2027, 5, 4))
    assert calendar.is_business_day(date(2026, 5, 1))


def _reference_roll(day: date, step: int) -> date:
    while _reference_closed(day) is not None:
        day += timedelta(days=step)
    return day


@pytest.mark.parametrize(
    ("day", "rule", "expected", "skipped"),
    [
        (date(2026, 10, 25), "following", date(2026, 10, 26), ["Sunday"]),
        (
            date(2026, 12, 25),
            "following",
            date(2026, 12, 28),
            ["Christmas Day", "Saturday", "Sunday"],
        ),
        (
            date(2026, 9, 24),
            "following",
            date(2026, 9, 28),
            ["The day preceding Chuseok", "Chuseok", "The second day of Chuseok", "Sunday"],
        ),
        (
            date(2026, 10, 5),
            "preceding",
            date(2026, 10, 2),
            [
                "Alternative holiday for National Foundation Day",
                "Sunday",
                "National Foundation Day",
            ],
        ),
        (date(2027, 1, 1), "preceding", date(2026, 12, 31), ["New Year's Day"]),
        (date(2026, 12, 25), "none", date(2026, 12, 25), []),
        (date(2027, 1, 5), "following", date(2027, 1, 5), []),
        (date(2027, 1, 5), "preceding", date(2027, 1, 5), []),
    ],
)
def test_roll_moves_to_a_business_day_and_records_why(
    day: date, rule: Roll, expected: date, skipped: list[str]
) -> None:
    rolled, moves = BusinessCalendar().roll(day, rule)
    assert rolled == expected
    assert [m.reason for m in moves] == skipped
    step = 1 if rule == "following" else -1
    assert [m.day for m in moves] == [day + timedelta(days=step * i) for i in range(len(skipped))]
    assert [m.as_json() for m in moves] == [
        {"date": m.day.isoformat(), "reason": m.reason} for m in moves
    ]


def test_roll_agrees_with_the_reference_every_day() -> None:
    calendar = BusinessCalendar()
    for day in _days(date(2025, 1, 1), date(2028, 11, 30)):
        assert calendar.roll(day, "following")[0] == _reference_roll(day, 1), day
        assert calendar.roll(day, "preceding")[0] == _reference_roll(day, -1), day
        assert calendar.roll(day, "none") == (day, ())


def test_roll_honours_extra_holidays() -> None:
    calendar = BusinessCalendar(extra=[date(2027, 1, 4)])
    rolled, moves = calendar.roll(date(2027, 1, 2), "following")
    assert rolled == date(2027, 1, 5)
    assert [m.reason for m in moves] == ["Saturday", "Sunday", "extra holiday"]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2027, 1, 6), date(2027, 1, 5)),  # Wed -> Tue
        (date(2027, 1, 4), date(2026, 12, 31)),  # Mon -> over New Year's Day and weekend
        (date(2026, 9, 28), date(2026, 9, 23)),  # over Chuseok and the weekend
        (date(2027, 3, 14), date(2027, 3, 12)),  # Sunday -> Friday
        (date(2027, 6, 6), date(2027, 6, 4)),  # Memorial Day on a Sunday
    ],
)
def test_last_business_day_before_is_strictly_before(day: date, expected: date) -> None:
    assert BusinessCalendar().last_business_day_before(day) == expected
    # and nothing between it and ``day`` is a business day
    between = _days(expected + timedelta(days=1), day - timedelta(days=1))
    assert all(_reference_closed(d) is not None for d in between)


# -- per-kind defaults straight from DOMAIN.md ------------------------------------

DOMAIN_REMIND = {
    "stay_expiry": ["P4M", "P60D", "P30D", "P14D", "P7D", "P3D", "P1D", "PT0S"],
    "arc_registration": ["P89D", "P30D", "P14D", "P7D", "P3D", "P1D", "PT0S"],
    "arc_expiry": ["P180D", "P90D", "P60D", "P30D", "P14D", "P7D", "P1D", "PT0S"],
    "address_report": ["P14D", "P7D", "P3D", "P1D", "PT0S"],
    "nhis_premium": ["P7D", "P3D", "P1D", "PT0S"],
    "passport_expiry": ["P270D", "P180D", "P120D", "P90D", "P60D", "P30D", "PT0S"],
    "reentry": ["P60D", "P30D", "P14D", "P7D", "PT0S"],
    "registration_change": ["P14D", "P7D", "P3D", "P1D", "PT0S"],
    "newborn_status": ["P89D", "P30D", "P14D", "P7D", "P1D", "PT0S"],
    # 30 days before the 17th birthday and the birthday itself, then before the deadline.
    "arc_at_17": ["P119D", "P89D", "P30D", "P14D", "P7D", "P1D", "PT0S"],
    # The application; the day the contract ended is added by the plan.
    "workplace_change": ["P14D", "P7D", "P3D", "P1D", "PT0S"],
    "nhis_enrolment": ["P14D", "PT0S"],
    "custom": ["P30D", "P7D", "P1D", "PT0S"],
}
DOMAIN_OVERDUE = {
    "stay_expiry": ["-P1D"],
    "arc_registration": ["-P1D"],
    "arc_expiry": ["-P1D"],
    "address_report": ["-P1D"],
    "nhis_premium": ["-P1D", "-P3D", "-P7D"],
    "passport_expiry": [],
    "reentry": [],
    "registration_change": ["-P1D"],
    "newborn_status": ["-P1D"],
    "arc_at_17": ["-P1D"],
    "workplace_change": ["-P1D"],
    "nhis_enrolment": [],
    "custom": [],
}
DOMAIN_ROLL = dict.fromkeys(DOMAIN_REMIND, "none") | {"nhis_premium": "following"}
DOMAIN_ESCALATE = {
    "stay_expiry": "P14D",
    "arc_registration": "P14D",
    "arc_expiry": "P14D",
    "address_report": "P3D",
    "passport_expiry": "P90D",
    "nhis_premium": "-P1D",
    "reentry": "P30D",
    "registration_change": "P3D",
    "newborn_status": "P14D",
    "arc_at_17": "P14D",  # DOMAIN.md gives none: as arc_registration
    "workplace_change": "P7D",
    "nhis_enrolment": None,
    "custom": None,
}
DOMAIN_OFFICE = {
    "stay_expiry",
    "arc_registration",
    "arc_expiry",
    "address_report",
    "registration_change",
    "newborn_status",
    "arc_at_17",
    "workplace_change",  # at the Employment Center; re-entry happens at the airport
}
DOMAIN_CONTACT = dict.fromkeys(DOMAIN_REMIND, "immigration") | {
    "nhis_premium": "nhis",
    "nhis_enrolment": "nhis",
    "workplace_change": "eps",
    "custom": None,
}


@pytest.mark.parametrize("kind", sorted(DOMAIN_REMIND))
def test_kind_defaults_follow_domain(kind: str) -> None:
    rule = KIND_RULES[kind]
    assert [d.iso() for d in rule.remind] == DOMAIN_REMIND[kind]
    assert [d.iso() for d in rule.overdue] == DOMAIN_OVERDUE[kind]
    assert rule.roll == DOMAIN_ROLL[kind]
    assert rule.office_visit == (kind in DOMAIN_OFFICE)
    assert (kind in OFFICE_VISIT_KINDS) == (kind in DOMAIN_OFFICE)
    assert (rule.escalate.iso() if rule.escalate else None) == DOMAIN_ESCALATE[kind]
    assert rule.contact == DOMAIN_CONTACT[kind]


def test_every_kind_has_its_rule() -> None:
    assert set(KIND_RULES) == set(KINDS) == set(DOMAIN_REMIND)


def test_a_workplace_permission_has_its_own_lead_times_unless_set() -> None:
    config, deadline = _one_deadline("workplace_change", "applied = 2027-01-10")
    assert [d.iso() for d in lead_times(config, deadline, "permit")] == [
        "P30D",
        "P14D",
        "P7D",
        "P3D",
        "P1D",
        "PT0S",
    ]
    assert [d.iso() for d in lead_times(config, deadline, "apply")] == DOMAIN_REMIND[
        "workplace_change"
    ]
    config, deadline = _one_deadline("workplace_change", reminders="workplace_change = [5]")
    assert [d.iso() for d in lead_times(config, deadline, "permit")] == ["P5D"]


_INPUT = {
    "stay_expiry": "date = 2027-06-30",
    "arc_registration": "entry = 2027-01-04",
    "arc_expiry": "date = 2027-06-30",
    "address_report": "moved = 2027-01-04",
    "nhis_premium": "start = 2027-01-01",
    "passport_expiry": "date = 2027-06-30",
    "reentry": "departed = 2027-01-04",
    "registration_change": "changed = 2027-01-04",
    "newborn_status": "born = 2027-01-04",
    "arc_at_17": "born = 2010-01-04",
    "workplace_change": "ended = 2027-01-04",
    "nhis_enrolment": "entry = 2027-01-04",
    "custom": 'date = 2027-06-30\ntitle = "x"',
}


def _one_deadline(kind: str, extra: str = "", reminders: str = "") -> tuple[Config, Deadline]:
    config = parse_config(
        f"[reminders]\n{reminders}\n"
        '[[person]]\nid = "p"\nname = "P"\nemail = ["p@example.org"]\n'
        f'[[person.deadline]]\nid = "d"\nkind = "{kind}"\n{_INPUT[kind]}\n{extra}\n',
        "x.toml",
    )
    return config, config.people[0].deadlines[0]


@pytest.mark.parametrize("kind", sorted(DOMAIN_REMIND))
def test_lead_times_prefer_deadline_then_config_then_kind(kind: str) -> None:
    config, deadline = _one_deadline(kind)
    assert [d.iso() for d in lead_times(config, deadline)] == DOMAIN_REMIND[kind]
    config, deadline = _one_deadline(kind, reminders=f'{kind} = [10, "PT1H"]')
    assert [d.iso() for d in lead_times(config, deadline)] == ["P10D", "PT1H"]
    config, deadline = _one_deadline(kind, 'remind = [2]\nroll = "preceding"', f"{kind} = [10]")
    assert [d.iso() for d in lead_times(config, deadline)] == ["P2D"]
    assert roll_of(deadline) == "preceding"


def test_escalation_can_be_set_or_switched_off() -> None:
    _, deadline = _one_deadline("custom", 'escalate = "P7D"')
    escalate = escalation_of(deadline)
    assert escalate is not None
    assert escalate.iso() == "P7D"
    _, deadline = _one_deadline("stay_expiry", "escalate = false")
    assert escalation_of(deadline) is None
