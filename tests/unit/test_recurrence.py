"""Recurrence rules as dateutil runs them (service.recurrence, and ``rrule`` in the config).

Every rule text is either refused with a located error or planned in bounded
time with at most one occurrence a day, on the days dateutil gives for it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service.config import EARLIEST, parse_config
from service.errors import ConfigError
from service.plan import plan
from service.recurrence import FREQUENCIES, check_rule, occurs

PERSON = '[[person]]\nid = "kim"\nname = "Kim"\nemail = ["kim@example.org"]\n'
WINDOW = (date(2026, 1, 1), date(2027, 2, 4))


def config_text(rule: str, start: date | None = None) -> str:
    lines = ['kind = "custom"', 'title = "t"', f"rrule = {toml_string(rule)}", 'roll = "none"']
    if start is not None:
        lines.append(f"start = {start}")
    return PERSON + '\n  [[person.deadline]]\n  id = "r"\n' + "".join(f"  {x}\n" for x in lines)


def toml_string(text: str) -> str:
    escaped = "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in text)
    return f'"{escaped}"'


def refused(rule: str, start: date | None = None) -> str:
    """The one message for ``rule``, located on its line."""
    text = config_text(rule, start)
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.toml")
    (problem,) = info.value.problems
    assert problem.line == text.splitlines().index(f"  rrule = {toml_string(rule)}") + 1
    assert problem.where == "person 'kim' deadline 'r'"
    return problem.message


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=DAILY;FREQ=SECONDLY", "has FREQ twice; give each part once"),
        ("freq=daily;freq=hourly", "has FREQ twice"),
        ("FREQ=DAILY RRULE:FREQ=MINUTELY", "holds more than one rule or line"),
        ("FREQ=DAILY\nRRULE:FREQ=MINUTELY", "holds more than one rule or line"),
        ("DTSTART:20260101T000000\nRRULE:FREQ=DAILY", "holds more than one rule or line"),
        (
            "FREQ=DAILY;BYHOUR=" + ",".join(map(str, range(24))) + ";BYMINUTE=0,30",
            "sets BYHOUR; reminders go out at send_time, so a rule names days only",
        ),
        ("FREQ=DAILY;BYMINUTE=0", "sets BYMINUTE"),
        ("FREQ=WEEKLY;bysecond=5", "sets BYSECOND"),
        ("FREQ=HOURLY", "repeats more often than daily"),
        ("freq=minutely", "repeats more often than daily"),
        ("FREQ=YEARLY;INTERVAL=0", "INTERVAL=0 is not a whole number from 1 to 999"),
        ("FREQ=YEARLY;INTERVAL=-1", "INTERVAL=-1 is not a whole number"),
        ("FREQ=DAILY;BYMONTHDAY=32", "BYMONTHDAY=32 has '32'"),
        ("FREQ=DAILY;BYMONTHDAY=0", "BYMONTHDAY=0 has '0'"),
        ("FREQ=DAILY;BYYEARDAY=0", "BYYEARDAY=0 has '0'"),
        ("freq=daily;bymonth=13", "BYMONTH=13 has '13'"),
        ("FREQ=DAILY;COUNT=0", "COUNT=0 is not a whole number"),
        ("FREQ=DAILY;COUNT=3;UNTIL=20270101", "has both COUNT and UNTIL; keep one"),
        ("FREQ=YEARLY;BYEASTER=0", "has an unknown part BYEASTER"),
        ("BYDAY=MO", "has no FREQ"),
        ("FREQ=DAILY;;BYMONTH=1", "which is not NAME=VALUE"),
        ("", "is empty"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "never falls on a day"),
        ("FREQ=DAILY;BYMONTH=4,6,9,11;BYMONTHDAY=31", "never falls on a day"),
        ("FREQ=DAILY;BYSETPOS=2", "never falls on a day"),
        ("FREQ=MONTHLY;BYDAY=6MO", "never falls on a day"),
    ],
)
def test_rules_dateutil_would_not_run_as_daily_or_coarser_are_refused(
    rule: str, message: str
) -> None:
    assert message in refused(rule)


def test_a_rule_that_only_its_start_makes_impossible_is_refused() -> None:
    rule = "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29"
    assert "never falls on a day" in refused(rule, date(2001, 1, 1))
    config = parse_config(config_text(rule, date(2000, 1, 1)), "x.toml")
    dates = [o.date for o in plan(config, date(2000, 1, 1), date(2012, 12, 31))]
    assert dates == [date(2000, 2, 29), date(2004, 2, 29), date(2008, 2, 29), date(2012, 2, 29)]


@pytest.mark.parametrize(
    ("rule", "canonical"),
    [
        ("RRULE:freq=monthly;bymonthday=1", "FREQ=MONTHLY;BYMONTHDAY=1"),
        ("  FREQ=WEEKLY;BYDAY=MO,FR;  ", "FREQ=WEEKLY;BYDAY=MO,FR"),
        ("FREQ=MONTHLY;UNTIL=20271231T150000Z", "FREQ=MONTHLY;UNTIL=20271231T150000"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"),
    ],
)
def test_accepted_rules_are_kept_in_one_canonical_form(rule: str, canonical: str) -> None:
    assert check_rule(rule) == canonical
    (deadline,) = parse_config(config_text(rule), "x.toml").people[0].deadlines
    assert getattr(deadline, "rrule", None) == canonical


# -- the whole family, generated ---------------------------------------------------------

#: Values in their RFC 5545 range (mostly), and values just outside it.
IN_RANGE = {
    "INTERVAL": st.integers(1, 40),
    "COUNT": st.integers(1, 500),
    "BYMONTH": st.integers(1, 12),
    "BYMONTHDAY": st.one_of(st.integers(1, 31), st.integers(-31, -1)),
    "BYYEARDAY": st.one_of(st.integers(1, 366), st.integers(-366, -1)),
    "BYWEEKNO": st.one_of(st.integers(1, 53), st.integers(-53, -1)),
    "BYSETPOS": st.one_of(st.integers(1, 5), st.integers(-5, -1)),
}
OUT_OF_RANGE = st.sampled_from([0, -1, 13, 32, 54, 367, 1000, 2_000_000])
WEEKDAY = st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"])
BYDAY = st.lists(
    st.builds(
        lambda n, d: f"{n}{d}", st.sampled_from(["", "", "1", "-1", "2", "+3", "5"]), WEEKDAY
    ),
    min_size=1,
    max_size=3,
    unique=True,
).map(",".join)
UNTIL = st.builds(
    lambda d, t, z: f"{d:%Y%m%d}{t}{z}",
    st.dates(date(1990, 1, 1), date(2040, 12, 31)),
    st.sampled_from(["", "T000000", "T235959"]),
    st.sampled_from(["", "Z"]),
)
#: One thing wrong with an otherwise fine rule, as users write them.
DEFECTS = [
    lambda r: r + ";FREQ=SECONDLY",
    lambda r: re.sub("FREQ=[A-Z]+", "FREQ=HOURLY", r),
    lambda r: re.sub("FREQ=[A-Z]+", "FREQ=MINUTELY", r),
    lambda r: r + ";BYHOUR=0,12",
    lambda r: r + ";BYMINUTE=0;BYSECOND=0",
    lambda r: r + " RRULE:FREQ=MINUTELY",
    lambda r: r + "\nRRULE:FREQ=DAILY",
    lambda r: r + "\u2028",
    lambda r: r + ";BYEASTER=0",
    lambda r: r + ";;",
    lambda r: r.split(";", 1)[-1] if ";" in r else "BYDAY=MO",
    lambda r: r + ";COUNT=2;UNTIL=20300101",
    lambda r: r + ";INTERVAL=0",
    lambda r: re.sub("FREQ=[A-Z]+", "FREQ=FORTNIGHTLY", r),
]


@st.composite
def rule_texts(draw: st.DrawFn) -> str:
    """Daily-or-coarser rules with in-range values, some with an impossible value or one
    of the mistakes in :data:`DEFECTS`, in any letter case."""
    parts = [f"FREQ={draw(st.sampled_from(FREQUENCIES))}"]
    for name in draw(st.lists(st.sampled_from(list(IN_RANGE)), max_size=3, unique=True)):
        values = draw(st.lists(IN_RANGE[name], min_size=1, max_size=3, unique=True))
        if draw(st.integers(0, 9)) == 0:
            values[0] = draw(OUT_OF_RANGE)
        if name in ("INTERVAL", "COUNT"):
            values = values[:1]
        parts.append(f"{name}={','.join(map(str, values))}")
    if draw(st.booleans()):
        parts.append(f"BYDAY={draw(BYDAY)}")
    if draw(st.integers(0, 4)) == 0 and not any(p.startswith("COUNT") for p in parts):
        parts.append(f"UNTIL={draw(UNTIL)}")
    if draw(st.integers(0, 6)) == 0:
        parts.append(f"WKST={draw(WEEKDAY)}")
    order = draw(st.permutations(parts))
    text = ";".join(order)
    if draw(st.integers(0, 4)) == 0:
        text = draw(st.sampled_from(DEFECTS))(text)
    if draw(st.integers(0, 5)) == 0:
        text = text.lower()
    if draw(st.integers(0, 5)) == 0:
        text = (
            draw(st.sampled_from(["RRULE:", "rrule:", " "]))
            + text
            + draw(st.sampled_from(["", ";", " "]))
        )
    return text


@settings(
    max_examples=200,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(rule=rule_texts(), start=st.one_of(st.none(), st.dates(EARLIEST, date(2027, 1, 1))))
@example(rule="FREQ=DAILY;FREQ=SECONDLY", start=None)
@example(rule="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", start=None)
@example(rule="FREQ=YEARLY;INTERVAL=0", start=None)
def test_every_rule_is_refused_or_planned_as_dateutil_runs_it(
    rule: str, start: date | None
) -> None:
    text = config_text(rule, start)
    try:
        config = parse_config(text, "x.toml")
    except ConfigError as exc:
        problems = exc.problems
    else:
        problems = ()
    if problems:
        rule_line = text.splitlines().index(f"  rrule = {toml_string(rule)}") + 1
        assert [p.line for p in problems] == [rule_line]
        return
    low, high = WINDOW
    found = plan(config, low, high)
    days = [o.date for o in found]
    assert len(days) == len(set(days)) <= (high - low).days + 1
    canonical = check_rule(rule)
    anchor = datetime.combine(start or date(2000, 1, 1), time())
    expected = rrulestr(canonical, dtstart=anchor).between(
        datetime.combine(low, time()), datetime.combine(high, time()), inc=True
    )
    assert days == [d.date() for d in expected]
    assert occurs(canonical, anchor.date()) or not days


@settings(max_examples=30, deadline=None)
@given(
    rule=rule_texts().filter(lambda r: "FREQ=DAILY" not in r.upper()),
    start=st.dates(EARLIEST, date(2199, 1, 1)),
)
def test_occurs_agrees_with_looking_all_the_way(rule: str, start: date) -> None:
    try:
        canonical = check_rule(rule)
    except ValueError:
        return
    unbounded = ";".join(p for p in canonical.split(";") if not p.startswith(("COUNT=", "UNTIL=")))
    first = datetime.combine(start, time())
    anywhere = rrulestr(unbounded, dtstart=first).after(first, inc=True) is not None
    assert occurs(canonical, start) == anywhere
