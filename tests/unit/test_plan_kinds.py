"""The plan of the newer kinds, table by table from DOMAIN.md's rules (service.plan).

Closed days come from DOMAIN.md's fixed list of 2025-2027 holidays, written out
here, so that a holidays release that gets them wrong fails these tests.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from service.config import Config, load_config, parse_config
from service.plan import Occurrence, birthday, period_end, plan

SEOUL = ZoneInfo("Asia/Seoul")
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"
OFFICE = """
[[office]]
id = "hr"
name = "HR"
email = ["hr@example.org"]
people = ["*"]
"""


def config_of(*bodies: str, offices: str = "", reminders: str = "") -> Config:
    text = f"[reminders]\n{reminders}\n{offices}\n"
    text += '[[person]]\nid = "p"\nname = "P"\nemail = ["p@example.org"]\n'
    for i, body in enumerate(bodies):
        text += f'[[person.deadline]]\nid = "d{i}"\n{body}\n'
    return parse_config(text, "x.toml")


def only(body: str, **kwargs: str) -> Occurrence:
    (found,) = plan(config_of(body, **kwargs), date(2000, 1, 1), date(2060, 12, 31))
    return found


def at9(day: date) -> str:
    return str(datetime.combine(day, time(9), SEOUL))


def dues(occurrence: Occurrence) -> dict[str, str]:
    return {r.offset: str(r.due) for r in occurrence.reminders}


def days_before(day: date, *leads: int) -> dict[str, str]:
    return {(f"P{n}D" if n else "PT0S"): at9(day - timedelta(days=n)) for n in leads}


def day_after(day: date) -> dict[str, str]:
    return {"-P1D": at9(day + timedelta(days=1))}


# -- date arithmetic -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "years", "months", "end"),
    [
        (date(2027, 1, 15), 0, 1, date(2027, 2, 14)),
        # Month ends: the month's last day when it has no such day, then one day off.
        (date(2027, 1, 31), 0, 1, date(2027, 2, 27)),
        (date(2027, 1, 29), 0, 1, date(2027, 2, 27)),
        (date(2028, 1, 31), 0, 1, date(2028, 2, 28)),  # a leap year: 29 February - 1
        (date(2027, 3, 31), 0, 1, date(2027, 4, 29)),
        (date(2026, 12, 31), 0, 1, date(2027, 1, 30)),
        (date(2027, 11, 30), 0, 3, date(2028, 2, 28)),
        (date(2027, 2, 10), 0, 3, date(2027, 5, 9)),
        (date(2027, 3, 10), 1, 0, date(2028, 3, 9)),
        (date(2028, 2, 29), 1, 0, date(2029, 2, 27)),
        (date(2028, 2, 29), 4, 0, date(2032, 2, 28)),  # 29 February exists again
    ],
)
def test_period_end(start: date, years: int, months: int, end: date) -> None:
    assert period_end(start, years=years, months=months) == end


@pytest.mark.parametrize(
    ("born", "turns_17"),
    [
        (date(2010, 3, 15), date(2027, 3, 15)),
        (date(2028, 2, 29), date(2045, 3, 1)),  # Civil Act: 17 years end with 28 February
        (date(2008, 2, 29), date(2025, 3, 1)),
        (date(2011, 2, 28), date(2028, 2, 28)),
        (date(2012, 2, 29), date(2029, 3, 1)),
        (date(2027, 2, 28), date(2044, 2, 28)),
    ],
)
def test_seventeenth_birthday(born: date, turns_17: date) -> None:
    assert birthday(born, 17) == turns_17


# -- per kind ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "deadline", "limit"),
    [
        ("departed = 2026-03-10", date(2027, 3, 9), "exemption"),
        ("departed = 2026-03-10\npermanent = true", date(2028, 3, 9), "exemption"),
        ("departed = 2028-02-29", date(2029, 2, 27), "exemption"),
        ("departed = 2027-01-31\npermanent = true", date(2029, 1, 30), "exemption"),
        # Capped by the period of stay: the earlier date applies and says so.
        ("departed = 2027-03-10\nuntil = 2027-12-31", date(2027, 12, 31), "stay"),
        ("departed = 2027-03-10\nuntil = 2028-03-09", date(2028, 3, 9), "stay"),
        ("departed = 2027-03-10\nuntil = 2028-03-10", date(2028, 3, 9), "exemption"),
        ("departed = 2027-03-10\nuntil = 2027-03-10", date(2027, 3, 10), "stay"),
        ("departed = 2027-03-10\npermanent = true\nuntil = 2028-06-30", date(2028, 6, 30), "stay"),
    ],
)
def test_reentry(inputs: str, deadline: date, limit: str) -> None:
    found = only(f'kind = "reentry"\n{inputs}', offices=OFFICE)
    assert (found.nominal, found.date, found.limit) == (deadline, deadline, limit)
    assert found.as_json()["limit"] == limit
    # With both ends known the texts say which one applies; without `until`, that the
    # period of stay may end sooner.
    assert found.texts_key == (f"reentry:{limit}" if "until" in inputs else "reentry")
    given = dict(line.split(" = ") for line in inputs.splitlines())
    assert found.as_json()["inputs"] == {
        "departed": given["departed"],
        "permanent": given.get("permanent") == "true",
        "until": given.get("until"),
    }
    assert dues(found) == days_before(deadline, 60, 30, 14, 7, 0)  # and no overdue repeat
    assert [str(e.due) for e in found.escalations] == [at9(deadline - timedelta(days=30))]
    assert found.window_start is None


def test_reentry_is_not_an_office_visit() -> None:
    # 2027-03-13 is a Saturday: the airport is open, no "offices are closed" reminder.
    found = only('kind = "reentry"\ndeparted = 2026-03-14')
    assert found.date == date(2027, 3, 13)
    assert found.closed is None
    assert not any(r.closed_notice for r in found.reminders)


@pytest.mark.parametrize(
    ("what", "texts_key"),
    [
        (None, "registration_change:passport"),
        ("passport", "registration_change:passport"),
        ("name", "registration_change"),
        ("workplace", "registration_change"),
    ],
)
def test_registration_change(what: str | None, texts_key: str) -> None:
    body = 'kind = "registration_change"\nchanged = 2027-01-04'
    if what:
        body += f'\nwhat = "{what}"'
    found = only(body, offices=OFFICE)
    day = date(2027, 1, 18)
    assert (found.nominal, found.date, found.window_start) == (day, day, date(2027, 1, 4))
    assert dues(found) == days_before(day, 14, 7, 3, 1, 0) | day_after(day)
    assert found.reminders[0].due.date() == date(2027, 1, 4)  # on the day of the change
    assert [str(e.due) for e in found.escalations] == [at9(day - timedelta(days=3))]
    assert (found.what, found.texts_key) == (what or "passport", texts_key)
    assert found.as_json()["what"] == (what or "passport")


@pytest.mark.parametrize(
    ("born", "deadline"),
    [
        (date(2026, 11, 10), date(2027, 2, 7)),
        (date(2028, 2, 29), date(2028, 5, 28)),
        (date(2027, 12, 31), date(2028, 3, 29)),
    ],
)
def test_newborn_status(born: date, deadline: date) -> None:
    found = only(f'kind = "newborn_status"\nborn = {born}', offices=OFFICE)
    assert (found.nominal, found.window_start) == (deadline, born)
    assert (deadline - born).days == 89  # within 90 days, the birth day being day 1
    planned = {k: v for k, v in dues(found).items() if k != "P2D"}  # see the closed-day test
    assert planned == days_before(deadline, 89, 30, 14, 7, 1, 0) | day_after(deadline)
    assert found.reminders[0].due.date() == born
    assert [str(e.due) for e in found.escalations] == [at9(deadline - timedelta(days=14))]


@pytest.mark.parametrize(
    ("born", "turns_17", "deadline"),
    [
        (date(2010, 3, 15), date(2027, 3, 15), date(2027, 6, 12)),
        (date(2028, 2, 29), date(2045, 3, 1), date(2045, 5, 29)),
        (date(2011, 12, 31), date(2028, 12, 31), date(2029, 3, 30)),
    ],
)
def test_arc_at_17(born: date, turns_17: date, deadline: date) -> None:
    found = only(f'kind = "arc_at_17"\nborn = {born}', offices=OFFICE)
    assert (found.nominal, found.window_start) == (deadline, turns_17)
    assert (deadline - turns_17).days == 89
    reminders = dues(found)
    # 30 days before the 17th birthday and on the birthday, then before the deadline.
    assert reminders["P119D"] == at9(turns_17 - timedelta(days=30))
    assert reminders["P89D"] == at9(turns_17)
    assert {k: v for k, v in reminders.items() if k not in {"P119D", "P89D"}} == days_before(
        deadline, 30, 14, 7, 1, 0
    ) | day_after(deadline)
    assert [str(e.due) for e in found.escalations] == [at9(deadline - timedelta(days=14))]


@pytest.mark.parametrize(
    ("ended", "deadline"),
    [
        (date(2027, 1, 31), date(2027, 2, 27)),  # the month-end case README names
        (date(2027, 1, 15), date(2027, 2, 14)),
        (date(2026, 12, 31), date(2027, 1, 30)),
        (date(2028, 1, 31), date(2028, 2, 28)),
        (date(2027, 3, 31), date(2027, 4, 29)),
    ],
)
def test_workplace_change_application(ended: date, deadline: date) -> None:
    found = only(f'kind = "workplace_change"\nended = {ended}', offices=OFFICE)
    assert (found.nominal, found.step, found.window_start) == (deadline, "apply", ended)
    assert found.as_json()["step"] == "apply"
    assert found.texts_key == "workplace_change"
    reminders = {r.offset: str(r.due) for r in found.reminders if not r.closed_notice}
    gap = (deadline - ended).days
    # On the day the contract ended ("apply within a month"), then 14, 7, 3, 1, 0.
    assert reminders == days_before(deadline, gap, 14, 7, 3, 1, 0) | day_after(deadline)
    assert reminders[f"P{gap}D"] == at9(ended)
    assert [str(e.due) for e in found.escalations] == [at9(deadline - timedelta(days=7))]


@pytest.mark.parametrize(
    ("ended", "applied", "deadline"),
    [
        (date(2027, 1, 31), date(2027, 2, 10), date(2027, 5, 9)),
        (date(2027, 11, 20), date(2027, 11, 30), date(2028, 2, 28)),
        (date(2027, 1, 31), date(2027, 1, 31), date(2027, 4, 29)),
    ],
)
def test_workplace_change_permission_replaces_the_application(
    ended: date, applied: date, deadline: date
) -> None:
    found = only(f'kind = "workplace_change"\nended = {ended}\napplied = {applied}', offices=OFFICE)
    assert (found.nominal, found.step, found.window_start) == (deadline, "permit", applied)
    assert found.texts_key == "workplace_change:permit"
    assert found.key == f"p/d0/{deadline}"
    reminders = {r.offset: str(r.due) for r in found.reminders if not r.closed_notice}
    assert reminders == days_before(deadline, 30, 14, 7, 3, 1, 0) | day_after(deadline)
    assert [str(e.due) for e in found.escalations] == [at9(deadline - timedelta(days=7))]


def test_the_two_workplace_occurrences_are_keyed_by_their_dates() -> None:
    apply = only('kind = "workplace_change"\nended = 2027-01-31')
    permit = only('kind = "workplace_change"\nended = 2027-01-31\napplied = 2027-02-10')
    assert apply.key == "p/d0/2027-02-27"
    assert permit.key == "p/d0/2027-05-09"
    assert not {r.key for r in apply.reminders} & {r.key for r in permit.reminders}
    # The permission comes at least two months after the application deadline.
    assert permit.date - apply.date > timedelta(days=59)


def test_own_lead_times_replace_the_reminder_on_the_contracts_end() -> None:
    found = only('kind = "workplace_change"\nended = 2027-01-12\nremind = [7, 0]')
    assert sorted(dues(found)) == ["-P1D", "P7D", "PT0S"]
    found = only(
        'kind = "workplace_change"\nended = 2027-01-12', reminders="workplace_change = [3]"
    )
    assert sorted(dues(found)) == ["-P1D", "P3D"]


@pytest.mark.parametrize(
    ("inputs", "deadline"),
    [
        ("entry = 2026-08-31", date(2027, 2, 28)),  # six months, no day off
        ("entry = 2026-03-03", date(2026, 9, 3)),
        ('entry = 2026-03-03\nstatus = "E-9"', date(2026, 9, 3)),
        ('entry = 2026-03-03\nstatus = "D-2"\nregistered = 2026-03-20', date(2026, 3, 20)),
        ('entry = 2026-03-03\nstatus = "D-4-3"\nregistered = 2026-04-01', date(2026, 4, 1)),
    ],
)
def test_nhis_enrolment(inputs: str, deadline: date) -> None:
    found = only(f'kind = "nhis_enrolment"\n{inputs}', offices=OFFICE)
    assert found.date == deadline
    assert dues(found) == days_before(deadline, 14, 0)  # a heads-up: no overdue
    assert found.escalations == ()  # never escalated
    assert found.closed is None


# -- offices closed on the deadline day: DOMAIN.md's fixed holidays ------------------------

# (kind, inputs, deadline, why it is closed, last business day before it, notice offset)
CLOSED = [
    # 2027-07-19: substitute holiday for Constitution Day (a Saturday in 2027).
    (
        "newborn_status",
        "born = 2027-04-21",
        date(2027, 7, 19),
        "Alternative holiday for Constitution Day",
        date(2027, 7, 16),
        "P3D",
    ),
    (
        "arc_at_17",
        "born = 2010-04-21",
        date(2027, 7, 19),
        "Alternative holiday for Constitution Day",
        date(2027, 7, 16),
        "P3D",
    ),
    # 2027-07-19 again, but its 3-day reminder already falls on Friday the 16th.
    (
        "registration_change",
        "changed = 2027-07-05",
        date(2027, 7, 19),
        "Alternative holiday for Constitution Day",
        date(2027, 7, 16),
        None,
    ),
    # 2027-05-03: substitute holiday for Labor Day (a Saturday in 2027).
    (
        "newborn_status",
        "born = 2027-02-03",
        date(2027, 5, 3),
        "Alternative holiday for Labor Day",
        date(2027, 4, 30),
        "P3D",
    ),
    # 2026-05-01: Labor Day, a public holiday from 2026; Thursday's 1-day reminder serves.
    (
        "workplace_change",
        "ended = 2026-04-02",
        date(2026, 5, 1),
        "Labor Day",
        date(2026, 4, 30),
        None,
    ),
    # 2026-07-17: Constitution Day, a holiday again from 2026.
    (
        "arc_at_17",
        "born = 2009-04-19",
        date(2026, 7, 17),
        "Constitution Day",
        date(2026, 7, 16),
        None,
    ),
    # 2026-06-03: local election day, a Wednesday.
    (
        "registration_change",
        "changed = 2026-05-20",
        date(2026, 6, 3),
        "Local Election Day",
        date(2026, 6, 2),
        None,
    ),
    # 2025-01-27: a temporary holiday before Korean New Year; Friday the 24th is open.
    (
        "newborn_status",
        "born = 2024-10-30",
        date(2025, 1, 27),
        "Temporary Public Holiday",
        date(2025, 1, 24),
        "P3D",
    ),
    # The permission: 2027-05-03 again; its 3-day reminder is on Friday the 30th.
    (
        "workplace_change",
        "ended = 2027-01-20\napplied = 2027-02-04",
        date(2027, 5, 3),
        "Alternative holiday for Labor Day",
        date(2027, 4, 30),
        None,
    ),
]


@pytest.mark.parametrize(
    ("kind", "inputs", "deadline", "reason", "last_open", "notice"),
    CLOSED,
    ids=[f"{c[0]}-{c[2]}" for c in CLOSED],
)
def test_an_office_visit_on_a_closed_day_reminds_on_the_last_business_day(
    kind: str, inputs: str, deadline: date, reason: str, last_open: date, notice: str | None
) -> None:
    found = only(f'kind = "{kind}"\n{inputs}')
    assert (found.date, found.closed, found.moved) == (deadline, reason, ())
    on_last_open = [r for r in found.reminders if r.due.date() == last_open]
    assert len(on_last_open) == 1  # exactly one reminder on the last day offices are open
    assert str(on_last_open[0].due) == at9(last_open)
    notices = [r.offset for r in found.reminders if r.closed_notice]
    assert notices == ([notice] if notice else [])
    if notice:
        assert on_last_open[0].closed_notice
        assert on_last_open[0].key == f"p/d0/{deadline}/{notice}"


def test_2027_03_03_is_an_ordinary_working_day() -> None:
    # Older holidays releases still had the 2027 presidential election on this day.
    found = only('kind = "registration_change"\nchanged = 2027-02-17')
    assert found.date == date(2027, 3, 3)
    assert found.closed is None
    assert not any(r.closed_notice for r in found.reminders)


# -- the example config --------------------------------------------------------------------


def test_the_example_plans_each_new_kind() -> None:
    config = load_config(EXAMPLE)
    found = plan(config, date(2026, 11, 1), date(2028, 12, 31))
    rows = {
        (o.person, o.deadline): {
            k: o.as_json()[k] for k in ("kind", "date", "window_start", "step", "limit", "what")
        }
        for o in found
        if o.kind
        in {
            "reentry",
            "registration_change",
            "newborn_status",
            "arc_at_17",
            "workplace_change",
            "nhis_enrolment",
        }
    }
    assert rows == {
        ("wang-fang", "trip"): {
            "kind": "reentry",
            "date": "2027-03-14",
            "window_start": None,
            "step": None,
            "limit": "stay",
            "what": None,
        },
        ("pham-thi-lan", "baby"): {
            "kind": "newborn_status",
            "date": "2027-02-07",
            "window_start": "2026-11-10",
            "step": None,
            "limit": None,
            "what": None,
        },
        ("pham-thi-lan", "son-arc"): {
            "kind": "arc_at_17",
            "date": "2027-06-12",
            "window_start": "2027-03-15",
            "step": None,
            "limit": None,
            "what": None,
        },
        ("pham-thi-lan", "new-passport"): {
            "kind": "registration_change",
            "date": "2026-12-10",
            "window_start": "2026-11-26",
            "step": None,
            "limit": None,
            "what": "passport",
        },
        ("bishnu-tamang", "job"): {
            "kind": "workplace_change",
            "date": "2026-12-29",
            "window_start": "2026-11-30",
            "step": "apply",
            "limit": None,
            "what": None,
        },
        ("sita-gurung", "job"): {
            "kind": "workplace_change",
            "date": "2027-01-19",
            "window_start": "2026-10-20",
            "step": "permit",
            "limit": None,
            "what": None,
        },
        ("aziz-karimov", "nhis-join"): {
            "kind": "nhis_enrolment",
            "date": "2026-12-04",
            "window_start": None,
            "step": None,
            "limit": None,
            "what": None,
        },
    }
    # The newborn's deadline is Korean New Year: Friday 5 February is the last open day.
    (baby,) = (o for o in found if o.deadline == "baby")
    assert baby.closed == "Korean New Year"
    assert [r.due.date() for r in baby.reminders if r.closed_notice] == [date(2027, 2, 5)]
    json.dumps([o.as_json() for o in found])  # serialisable as deadlines --json prints it


def test_deadlines_json_gives_each_new_kinds_inputs() -> None:
    # What an office's script needs to check the dates: the inputs as the config has them.
    found = plan(load_config(EXAMPLE), date(2026, 11, 1), date(2028, 12, 31))
    inputs = {(o.person, o.deadline): o.as_json()["inputs"] for o in found}
    assert inputs[("wang-fang", "trip")] == {
        "departed": "2027-01-28",
        "permanent": False,
        "until": "2027-03-14",
    }
    assert inputs[("pham-thi-lan", "baby")] == {"born": "2026-11-10"}
    assert inputs[("pham-thi-lan", "son-arc")] == {"born": "2010-03-15"}
    assert inputs[("pham-thi-lan", "new-passport")] == {"changed": "2026-11-26", "what": "passport"}
    assert inputs[("bishnu-tamang", "job")] == {"ended": "2026-11-30", "applied": None}
    assert inputs[("sita-gurung", "job")] == {"ended": "2026-10-12", "applied": "2026-10-20"}
    assert inputs[("aziz-karimov", "nhis-join")] == {
        "entry": "2026-11-16",
        "status": "D-2",
        "registered": "2026-12-04",
    }
    # Every kind has them, an older kind too.
    assert all(o.as_json()["inputs"] for o in found)
