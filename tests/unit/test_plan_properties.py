"""Properties of the plan over generated configs (hypothesis).

Configs are generated as TOML text and go through ``parse_config``, exactly as a
user's file would.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.config import Config, parse_config
from service.kinds import KINDS
from service.plan import Occurrence, plan
from service.rules import BusinessCalendar, roll_of

START, END = date(2025, 1, 1), date(2029, 12, 31)
ZONES = ["Asia/Seoul", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]
SEND_TIMES = ["09:00", "00:00", "02:15", "02:30", "23:30", "07:45"]
# At most one occurrence a week: a roll can never push two onto the same day
# (a daily rule with a roll does; see test_plan.py::test_rrule_rolled_onto_one_day_...).
RRULES = [
    "FREQ=MONTHLY;BYMONTHDAY=1",
    "FREQ=MONTHLY;BYMONTHDAY=25",
    "FREQ=WEEKLY;BYDAY=SA",
    "FREQ=YEARLY",
    "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=10",
]
OFFSETS = ["+09:00", "Z", "-05:00", "+05:30", "+10:30"]

dates = st.dates(START, END)
lead = st.one_of(
    st.integers(0, 400), st.sampled_from(["P4M", "PT2H", "P1DT2H", "PT0S", "P1W", "P89D"])
)
# Overdue repeats in whole days (a sub-day repeat of a date deadline would fall on
# the deadline day itself).
after = st.one_of(st.integers(1, 30), st.sampled_from(["-P1D", "P3D", "-P1W"]))


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, date)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


@st.composite
def deadlines(draw: st.DrawFn, did: str) -> str:
    kind = draw(st.sampled_from(KINDS))
    fields: dict[str, Any] = {"id": did, "kind": kind}
    if kind in {"stay_expiry", "arc_expiry", "passport_expiry"}:
        fields["date"] = draw(dates)
    elif kind == "arc_registration":
        fields["entry"] = draw(dates)
    elif kind == "address_report":
        fields["moved"] = draw(dates)
    elif kind == "nhis_premium":
        fields["start"] = draw(dates)
        if draw(st.booleans()):
            fields["until"] = fields["start"] + timedelta(days=draw(st.integers(0, 900)))
        fields["schedule"] = draw(st.sampled_from(["foreigner", "national"]))
        fields["autopay"] = draw(st.booleans())
    elif kind == "reentry":
        fields["departed"] = draw(dates)
        fields["permanent"] = draw(st.booleans())
        if draw(st.booleans()):
            fields["until"] = fields["departed"] + timedelta(days=draw(st.integers(0, 900)))
    elif kind == "registration_change":
        fields["changed"] = draw(dates)
        fields["what"] = draw(
            st.sampled_from(["passport", "name", "nationality", "workplace", "school", "other"])
        )
    elif kind == "newborn_status":
        fields["born"] = draw(dates)
    elif kind == "arc_at_17":
        # Born 17 years before the window, 29 February included.
        fields["born"] = draw(st.dates(date(2007, 1, 1), date(2012, 12, 31)))
    elif kind == "workplace_change":
        fields["ended"] = draw(dates)
        if draw(st.booleans()):
            fields["applied"] = fields["ended"] + timedelta(days=draw(st.integers(0, 60)))
    elif kind == "nhis_enrolment":
        fields["entry"] = draw(dates)
        status = draw(st.sampled_from([None, "D-2", "D-4-3", "E-9", "F-6"]))
        if status is not None:
            fields["status"] = status
        if status in {"D-2", "D-4-3"}:
            fields["registered"] = fields["entry"] + timedelta(days=draw(st.integers(0, 89)))
    else:
        fields["title"] = "Something"
        form = draw(st.sampled_from(["date", "at", "rrule"]))
        if form == "date":
            fields["date"] = draw(dates)
        elif form == "rrule":
            fields["rrule"] = draw(st.sampled_from(RRULES))
            fields["start"] = draw(dates)
    if draw(st.booleans()):
        fields["remind"] = draw(st.lists(lead, max_size=5))
    if draw(st.integers(0, 3)) == 0:
        fields["overdue"] = draw(st.one_of(st.just(False), st.lists(after, max_size=3)))
    roll = draw(st.sampled_from([None, "none", "following", "preceding"]))
    if roll:
        fields["roll"] = roll
    lines = [f"{key} = {toml_value(value)}" for key, value in fields.items()]
    if kind == "custom" and "date" not in fields and "rrule" not in fields:
        moment = draw(st.datetimes(datetime(2025, 1, 1), datetime(2029, 12, 31)))
        lines.append(f"at = {moment:%Y-%m-%dT%H:%M:%S}{draw(st.sampled_from(OFFSETS))}")
    return "[[person.deadline]]\n" + "\n".join(lines) + "\n"


@st.composite
def configs(draw: st.DrawFn) -> str:
    text = "[service]\n"
    text += f'timezone = "{draw(st.sampled_from(ZONES))}"\n'
    text += f'send_time = "{draw(st.sampled_from(SEND_TIMES))}"\n'
    text += f"extra_holidays = {toml_value(draw(st.lists(dates, max_size=3)))}\n"
    text += f"not_holidays = {toml_value(draw(st.lists(dates, max_size=2)))}\n"
    if draw(st.booleans()):
        text += f"[reminders]\nstay_expiry = {toml_value(draw(st.lists(lead, max_size=4)))}\n"
    for i in range(draw(st.integers(1, 3))):
        text += f'\n[[person]]\nid = "p{i}"\nname = "Person {i}"\nemail = ["p{i}@example.org"]\n'
        if draw(st.booleans()):
            text += f'timezone = "{draw(st.sampled_from(ZONES))}"\n'
        for j in range(draw(st.integers(1, 4))):
            text += draw(deadlines(f"d{j}"))
    return text


PROPERTY = settings(
    max_examples=int(os.environ.get("STAYWATCH_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def planned(text: str) -> tuple[Config, tuple[Occurrence, ...]]:
    config = parse_config(text, "generated.toml")
    return config, plan(config, START, END)


@PROPERTY
@given(configs())
def test_same_input_same_output(text: str) -> None:
    config, first = planned(text)
    again = plan(parse_config(text, "generated.toml"), START, END)
    assert first == again
    assert plan(config, START, END) == first
    as_json = json.dumps([o.as_json() for o in first])
    assert as_json == json.dumps([o.as_json() for o in again])


@PROPERTY
@given(configs())
def test_reminders_before_the_end_and_overdue_after(text: str) -> None:
    _, found = planned(text)
    for occurrence in found:
        for reminder in occurrence.reminders:
            assert reminder.due.utcoffset() is not None
            if reminder.overdue:
                assert reminder.offset.startswith("-")
                assert reminder.due >= occurrence.ends, reminder.key
            else:
                assert reminder.due <= occurrence.ends, reminder.key


@PROPERTY
@given(configs())
def test_rolls_land_on_business_days(text: str) -> None:
    config, found = planned(text)
    calendar = BusinessCalendar.for_config(config)
    deadlines = {(p.id, d.id): d for p in config.people for d in p.deadlines}
    for occurrence in found:
        rule = roll_of(deadlines[occurrence.person, occurrence.deadline])
        if rule == "none":
            assert occurrence.moved == ()
            if occurrence.at is None:
                assert occurrence.date == occurrence.nominal
        else:
            assert calendar.is_business_day(occurrence.date), occurrence.key
            assert [m.day for m in occurrence.moved] == [
                occurrence.nominal + timedelta(days=i if rule == "following" else -i)
                for i in range(abs((occurrence.date - occurrence.nominal).days))
            ]
            assert all(not calendar.is_business_day(m.day) for m in occurrence.moved)


@PROPERTY
@given(configs())
def test_keys_unique_and_output_sorted(text: str) -> None:
    _, found = planned(text)
    keys = [r.key for o in found for r in o.reminders]
    assert len(keys) == len(set(keys))
    order = [(o.date, o.person, o.deadline) for o in found]
    assert order == sorted(order)
    for occurrence in found:
        assert all(r.key.startswith(occurrence.key + "/") for r in occurrence.reminders)
        assert START <= occurrence.date <= END


@PROPERTY
@given(configs())
def test_closed_notice_on_a_business_day_of_its_own(text: str) -> None:
    config, found = planned(text)
    calendar = BusinessCalendar.for_config(config)
    for occurrence in found:
        notices = [r for r in occurrence.reminders if r.closed_notice]
        if not notices:
            continue
        (notice,) = notices
        assert occurrence.closed is not None
        assert notice.key.startswith(occurrence.key + "/")
        day = occurrence.date - timedelta(days=int(notice.offset[1:-1]))
        assert day == calendar.last_business_day_before(occurrence.date)
        assert calendar.is_business_day(day)
