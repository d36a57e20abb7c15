"""The inputs of the newer kinds (DOMAIN.md): re-entry, changes of registration,
newborns, age 17, E-9 workplace change, NHIS enrolment (service.config).

Each mistake gets one message naming the file, the line and what to do; lines are
found in the input text.
"""

from __future__ import annotations

from datetime import date

import pytest

from service.config import (
    ArcAt17,
    NewbornStatus,
    NhisEnrolment,
    Reentry,
    RegistrationChange,
    WorkplaceChange,
    latest_today,
    parse_config,
)
from service.errors import ConfigError, ConfigProblem

PERSON = """\
[[person]]
id = "bishnu"
name = "Bishnu Tamang"
email = ["bishnu@example.org"]
"""
TODAY = date(2026, 12, 1)


def deadline(body: str) -> str:
    return f'{PERSON}\n  [[person.deadline]]\n  id = "d"\n{body}\n'


def only_problem(text: str, today: date | None = None) -> ConfigProblem:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.toml", today=today)
    found = info.value.problems
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


CASES = [
    # (id, body, needle for the line, message)
    (
        "reentry-without-departed",
        '  kind = "reentry"',
        "[[person.deadline]]",
        "departed is required for kind reentry; add departed = YYYY-MM-DD (the day you left Korea)",
    ),
    (
        "reentry-until-before-departed",
        '  kind = "reentry"\n  departed = 2027-01-20\n  until = 2027-01-10',
        "until =",
        "until 2027-01-10 is before departed 2027-01-20; until is the last day of the period "
        "of stay (the date on the residence card)",
    ),
    (
        "reentry-permanent-not-a-bool",
        '  kind = "reentry"\n  departed = 2027-01-20\n  permanent = "yes"',
        "permanent =",
        "permanent 'yes' should be true or false",
    ),
    (
        "change-without-changed",
        '  kind = "registration_change"\n  what = "name"',
        "[[person.deadline]]",
        "changed is required for kind registration_change; add changed = YYYY-MM-DD (the day "
        "of the change, e.g. the new passport's date)",
    ),
    (
        "change-unknown-what",
        '  kind = "registration_change"\n  changed = 2027-01-04\n  what = "address"',
        "what =",
        "what 'address' is not allowed; use 'passport', 'name', 'nationality', 'workplace', "
        "'school' or 'other'",
    ),
    (
        "newborn-without-born",
        '  kind = "newborn_status"',
        "[[person.deadline]]",
        "born is required for kind newborn_status; add born = YYYY-MM-DD (the child's date of "
        "birth)",
    ),
    (
        "arc-at-17-impossible-date",
        '  kind = "arc_at_17"\n  born = 2010-02-30',
        "born =",
        "born 2010-02-30 is not a date; write a real calendar date as YYYY-MM-DD",
    ),
    (
        "workplace-without-ended",
        '  kind = "workplace_change"\n  applied = 2027-02-01',
        "[[person.deadline]]",
        "ended is required for kind workplace_change; add ended = YYYY-MM-DD (the last day of "
        "the employment contract)",
    ),
    (
        "workplace-applied-before-ended",
        '  kind = "workplace_change"\n  ended = 2027-01-31\n  applied = 2027-01-30',
        "applied =",
        "applied 2027-01-30 is before ended 2027-01-31; applied is the day the change of "
        "workplace was requested at the Employment Center, after the contract ended",
    ),
    (
        "workplace-typo",
        '  kind = "workplace_change"\n  ended = 2027-01-31\n  aplied = 2027-02-01',
        "aplied =",
        "unknown key 'aplied'; did you mean 'applied'?",
    ),
    (
        "enrolment-without-entry",
        '  kind = "nhis_enrolment"',
        "[[person.deadline]]",
        "entry is required for kind nhis_enrolment; add entry = YYYY-MM-DD (the date you "
        "entered Korea)",
    ),
    (
        "enrolment-student-without-registered",
        '  kind = "nhis_enrolment"\n  entry = 2026-09-01\n  status = "D-4-3"',
        "[[person.deadline]]",
        "registered is required for status D-4-3 (enrolled from the day of foreigner "
        "registration); add registered = YYYY-MM-DD",
    ),
    (
        "enrolment-registered-without-student-status",
        '  kind = "nhis_enrolment"\n  entry = 2026-09-01\n  status = "E-9"\n'
        "  registered = 2026-09-20",
        "registered =",
        'registered 2026-09-20 only counts for status D-2 or D-4-3; add status = "D-2" (or '
        "D-4-3), or remove registered",
    ),
    (
        "enrolment-registered-before-entry",
        '  kind = "nhis_enrolment"\n  entry = 2026-09-01\n  status = "D-2"\n'
        "  registered = 2026-08-20",
        "registered =",
        "registered 2026-08-20 is before entry 2026-09-01; registration follows entry",
    ),
    (
        "enrolment-status-not-a-code",
        '  kind = "nhis_enrolment"\n  entry = 2026-09-01\n  status = "student"',
        "status =",
        "status 'student' is not a status of stay; write the code on the residence card, "
        'e.g. "D-2", "D-4-3" or "E-9"',
    ),
]


@pytest.mark.parametrize(
    ("body", "needle", "message"), [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_each_mistake_gets_one_located_message(body: str, needle: str, message: str) -> None:
    text = deadline(body)
    problem = only_problem(text)
    assert (problem.path, problem.line) == ("x.toml", line_of(text, needle))
    assert str(problem) == f"x.toml:{problem.line}: person 'bishnu' deadline 'd': {message}"


@pytest.mark.parametrize("kind", ["newborn_status", "arc_at_17"])
def test_a_birth_after_today_is_refused_when_today_is_known(kind: str) -> None:
    text = deadline(f'  kind = "{kind}"\n  born = 2026-12-02')
    problem = only_problem(text, today=TODAY)
    assert str(problem) == (
        f"x.toml:{line_of(text, 'born =')}: person 'bishnu' deadline 'd': born 2026-12-02 is "
        "in the future; give the day the child was born (add this deadline after the birth)"
    )
    # Validation alone is a pure function of the text: without a day, nothing to compare.
    parse_config(text, "x.toml")
    # Born today is fine.
    parse_config(deadline(f'  kind = "{kind}"\n  born = 2026-12-01'), "x.toml", today=TODAY)


def test_latest_today_is_the_date_somewhere_on_earth() -> None:
    from datetime import UTC, datetime

    # 10:00 UTC is already the next day in UTC+14.
    assert latest_today(datetime(2026, 12, 1, 9, 59, tzinfo=UTC)) == date(2026, 12, 1)
    assert latest_today(datetime(2026, 12, 1, 10, 0, tzinfo=UTC)) == date(2026, 12, 2)


def test_the_inputs_are_read_with_their_defaults() -> None:
    text = PERSON + "".join(
        f'\n  [[person.deadline]]\n  id = "d{i}"\n{body}\n'
        for i, body in enumerate(
            [
                '  kind = "reentry"\n  departed = 2027-01-20',
                '  kind = "reentry"\n  departed = 2027-01-20\n  permanent = true\n'
                "  until = 2027-06-30",
                '  kind = "registration_change"\n  changed = 2027-01-04',
                '  kind = "newborn_status"\n  born = 2026-11-10',
                '  kind = "arc_at_17"\n  born = 2010-03-15',
                '  kind = "workplace_change"\n  ended = 2027-01-31',
                '  kind = "workplace_change"\n  ended = 2027-01-31\n  applied = 2027-01-31',
                '  kind = "nhis_enrolment"\n  entry = 2026-09-01',
                '  kind = "nhis_enrolment"\n  entry = 2026-09-01\n  status = "d-4-3"\n'
                "  registered = 2026-09-10",
            ]
        )
    )
    found = parse_config(text, "x.toml", today=TODAY).people[0].deadlines
    assert found[0] == Reentry(id="d0", kind="reentry", departed=date(2027, 1, 20))
    assert isinstance(found[0], Reentry)
    assert (found[0].permanent, found[0].until) == (False, None)
    assert isinstance(found[1], Reentry)
    assert (found[1].permanent, found[1].until) == (True, date(2027, 6, 30))
    assert isinstance(found[2], RegistrationChange)
    assert found[2].what == "passport"
    assert isinstance(found[3], NewbornStatus)
    assert isinstance(found[4], ArcAt17)
    assert isinstance(found[5], WorkplaceChange)
    assert found[5].applied is None
    assert isinstance(found[6], WorkplaceChange)
    assert found[6].applied == date(2027, 1, 31)  # the same day as the contract's end is fine
    assert isinstance(found[7], NhisEnrolment)
    assert (found[7].status, found[7].registered) == (None, None)
    assert isinstance(found[8], NhisEnrolment)
    assert found[8].status == "D-4-3"  # written as on the card


def test_config_reminders_accept_the_new_kinds() -> None:
    config = parse_config(
        "[reminders]\nworkplace_change = [21, 7, 0]\nreentry = [90]\n" + PERSON, "x.toml"
    )
    assert [d.iso() for d in config.reminders["workplace_change"]] == ["P21D", "P7D", "PT0S"]
