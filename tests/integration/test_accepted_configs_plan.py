"""Whatever ``staywatch check`` accepts can be planned: dates, instants and durations
at and beyond the edges.

Configs are generated as TOML text with values from the whole range TOML can
write (year 1 to 9999, lead times of 10**20 days): either the config is refused
with located errors, or ``staywatch check``, ``staywatch deadlines`` (its default
window and explicit ones) and one planning round of the daemon (``sync.replan``
into a SQLite store) all succeed.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.cli import main
from service.config import EARLIEST, LATEST, Config, latest_today, parse_config
from service.errors import ConfigError
from service.kinds import KINDS
from service.plan import plan, store_window
from service.store import Store
from service.sync import replan

ZONES = ["Asia/Seoul", "Pacific/Kiritimati", "Etc/GMT+12", "America/St_Johns", "UTC"]
OFFSETS = ["+14:00", "-12:00", "Z", "+09:00", "+05:45"]
#: Daily or coarser rules that occur, rarely or often.
RRULES = [
    "FREQ=DAILY",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,FR",
    "FREQ=MONTHLY;BYDAY=-1FR;COUNT=12",
    "FREQ=YEARLY;UNTIL=21991231",
]


def mostly(valid: st.SearchStrategy[Any], wild: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``valid`` 19 times in 20, else ``wild``: most configs pass, every edge is tried."""
    # (Hypothesis tries small numbers first: 0 must be the common case.)
    return st.integers(0, 19).flatmap(lambda n: wild if n == 19 else valid)


#: Dates anywhere TOML can write them, crowded at the edges of what staywatch plans.
DATES = mostly(
    st.one_of(
        st.dates(EARLIEST, EARLIEST + timedelta(days=40)),
        st.dates(LATEST - timedelta(days=40), LATEST),
        st.dates(date(2020, 1, 1), date(2035, 12, 31)),
        st.dates(EARLIEST, LATEST),
    ),
    st.one_of(
        st.dates(),
        st.dates(EARLIEST - timedelta(days=40), EARLIEST),
        st.dates(LATEST, LATEST + timedelta(days=40)),
        st.sampled_from([date(1, 1, 1), date(9999, 12, 31)]),
    ),
)
AMOUNTS = mostly(
    st.one_of(st.integers(0, 40), st.integers(0, 3653), st.sampled_from([3652, 3653, 87672])),
    st.one_of(st.integers(0, 10**21), st.sampled_from([3654, 87673, 10**17, 10**20])),
)
#: ISO 8601 duration units and how many of each make ten years.
ISO_UNITS = {"Y": 10, "M": 120, "W": 521, "D": 3653, "TH": 87672, "TM": 5260320, "TS": 10**8}


@st.composite
def durations(draw: st.DrawFn) -> str:
    """An ISO 8601 duration with one or two parts, mostly within ten years."""
    units = list(ISO_UNITS)
    parts = sorted(
        draw(st.lists(st.sampled_from(units), min_size=1, max_size=2, unique=True)),
        key=units.index,
    )
    text, in_time = "P", False
    for unit in parts:
        if unit.startswith("T") and not in_time:
            text, in_time = text + "T", True
        most = ISO_UNITS[unit]
        amount = draw(mostly(st.integers(0, most // len(parts)), st.integers(0, 10**21)))
        text += f"{amount}{unit[-1]}"
    return text


LEADS = st.one_of(AMOUNTS, durations())
AFTERS = st.one_of(AMOUNTS.map(lambda n: -n), AMOUNTS, durations().map(lambda d: "-" + d))


def toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return json.dumps(value)


@st.composite
def deadline_toml(draw: st.DrawFn, did: str) -> str:
    kind = draw(st.sampled_from(KINDS))
    fields: dict[str, Any] = {"id": did, "kind": kind}
    if kind == "arc_registration":
        fields["entry"] = draw(DATES)
    elif kind == "address_report":
        fields["moved"] = draw(DATES)
    elif kind == "nhis_premium":
        fields["start"] = draw(DATES)
        if draw(st.booleans()):
            fields["until"] = draw(DATES)
        fields["autopay"] = draw(st.booleans())
    elif kind == "custom":
        fields["title"] = "Something"
        form = draw(st.sampled_from(["date", "at", "rrule"]))
        if form == "date":
            fields["date"] = draw(DATES)
        elif form == "at":
            day = draw(DATES)
            moment = datetime.combine(day, draw(st.times()))
            fields["at"] = f"{moment.isoformat(timespec='seconds')}{draw(st.sampled_from(OFFSETS))}"
        else:
            fields["rrule"] = draw(st.sampled_from(RRULES))
            if draw(st.booleans()):
                fields["start"] = draw(DATES)
    elif kind == "reentry":
        fields["departed"] = draw(DATES)
        fields["permanent"] = draw(st.booleans())
        if draw(st.booleans()):
            fields["until"] = draw(DATES)
    elif kind == "registration_change":
        fields["changed"] = draw(DATES)
        fields["what"] = draw(st.sampled_from(["passport", "name", "workplace", "other"]))
    elif kind in ("newborn_status", "arc_at_17"):
        fields["born"] = draw(DATES)
    elif kind == "workplace_change":
        fields["ended"] = draw(DATES)
        if draw(st.booleans()):
            fields["applied"] = draw(DATES)
    elif kind == "nhis_enrolment":
        fields["entry"] = draw(DATES)
        status = draw(st.sampled_from([None, "D-2", "E-9"]))
        if status is not None:
            fields["status"] = status
        if status == "D-2":
            fields["registered"] = draw(DATES)
    else:
        fields["date"] = draw(DATES)
    if draw(st.booleans()):
        fields["remind"] = draw(st.lists(LEADS, max_size=4))
    if draw(st.booleans()):
        fields["overdue"] = draw(
            st.lists(AFTERS.filter(lambda v: v not in (0, "-PT0S")), max_size=3)
        )
    if draw(st.integers(0, 3)) == 0:
        fields["escalate"] = draw(st.one_of(st.just(False), LEADS))
    if draw(st.booleans()):
        fields["roll"] = draw(st.sampled_from(["none", "following", "preceding"]))
    lines = [f"{key} = {value if key == 'at' else toml(value)}" for key, value in fields.items()]
    return "\n  [[person.deadline]]\n  " + "\n  ".join(lines) + "\n"


@st.composite
def configs(draw: st.DrawFn) -> str:
    text = "[service]\n"
    text += f'timezone = "{draw(st.sampled_from(ZONES))}"\n'
    text += f"horizon_days = {draw(st.sampled_from([1, 30, 400, 3660]))}\n"
    text += f"extra_holidays = {toml(draw(st.lists(DATES, max_size=3)))}\n"
    if draw(st.booleans()):
        text += f"[reminders]\nstay_expiry = {toml(draw(st.lists(LEADS, max_size=3)))}\n"
    if draw(st.booleans()):
        text += '\n[[office]]\nid = "hr"\nname = "HR"\nemail = ["hr@example.org"]\npeople = ["*"]\n'
    for i in range(draw(st.integers(1, 2))):
        text += f'\n[[person]]\nid = "p{i}"\nname = "Person {i}"\nemail = ["p{i}@example.org"]\n'
        if draw(st.booleans()):
            text += f'timezone = "{draw(st.sampled_from(ZONES))}"\n'
        for j in range(draw(st.integers(1, 3))):
            text += draw(deadline_toml(f"d{j}"))
    return text


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planner]:
    folder = tmp_path_factory.mktemp("bounds")
    with asyncio.Runner() as runner:
        store = runner.run(Store.open(f"sqlite:///{folder / 'staywatch.db'}"))
        try:
            yield Planner(folder, runner, store)
        finally:
            runner.run(store.close())


class Planner:
    """One SQLite store and one event loop for every generated config."""

    def __init__(self, folder: Path, runner: asyncio.Runner, store: Store) -> None:
        self.folder = folder
        self.runner = runner
        self.store = store

    def replan(self, config: Config, today: date) -> None:
        now = datetime.combine(today, time(12), ZoneInfo(config.service.timezone))
        self.runner.run(replan(config, self.store, now.astimezone(UTC)))

    def cli(self, text: str, *args: str) -> Any:
        path = self.folder / "staywatch.toml"
        path.write_text(text, encoding="utf-8")
        result = CliRunner().invoke(main, [*args, "-c", str(path)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout


def windows(today: date, horizon: int) -> list[tuple[date, date]]:
    """The windows ``deadlines`` and the daemon plan: today's, and the edges of the range."""
    return [
        (today, today + timedelta(days=horizon)),
        (EARLIEST, EARLIEST + timedelta(days=30)),
        (LATEST - timedelta(days=30), LATEST),
    ]


EXAMPLES = settings(
    max_examples=int(os.environ.get("STAYWATCH_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@EXAMPLES
@given(
    text=configs(),
    today=st.one_of(st.dates(EARLIEST, LATEST), st.sampled_from([EARLIEST, LATEST])),
)
def test_what_check_accepts_plans_without_an_error(
    planner: Planner, text: str, today: date
) -> None:
    config = accepted(text)
    if config is None:
        return
    for start, end in [store_window(config, today), *windows(today, config.service.horizon_days)]:
        for occurrence in plan(config, start, end, singles_unbounded=True):
            assert all(r.due.utcoffset() is not None for r in occurrence.reminders)
    planner.replan(config, today)


def accepted(text: str, today: date | None = None) -> Config | None:
    """The config, or None when it is refused (every problem with its line). With
    ``today`` births after it are refused too, as ``staywatch check`` refuses them."""
    try:
        return parse_config(text, "generated.toml", today=today)
    except ConfigError as exc:
        problems = exc.problems
    assert all(p.line is not None for p in problems), [str(p) for p in problems]
    return None


# The CLI plans from the real today; fewer examples, as each one starts the commands.
@settings(EXAMPLES, max_examples=max(10, EXAMPLES.max_examples // 5))
@given(text=configs())
def test_what_check_accepts_the_cli_plans(planner: Planner, text: str) -> None:
    if accepted(text, latest_today(datetime.now(UTC))) is None:
        return
    planner.cli(text, "check")
    json.loads(planner.cli(text, "deadlines", "--json"))
    for start, end in windows(date(2026, 1, 1), 30)[1:]:
        json.loads(
            planner.cli(text, "deadlines", "--json", "--from", str(start), "--until", str(end))
        )


EDGES = f"""\
[service]
timezone = "Pacific/Kiritimati"
horizon_days = 3660
extra_holidays = [{EARLIEST}, {LATEST}]

[reminders]
stay_expiry = ["P10Y", 3653, "PT87672H"]

[[office]]
id = "hr"
name = "HR"
email = ["hr@example.org"]
people = ["*"]

[[person]]
id = "edge"
name = "Edge"
email = ["edge@example.org"]
timezone = "Etc/GMT+12"

  [[person.deadline]]
  id = "first"
  kind = "stay_expiry"
  date = {EARLIEST}
  overdue = ["P10Y", 3653]
  escalate = "P10Y"

  [[person.deadline]]
  id = "last"
  kind = "stay_expiry"
  date = {LATEST}
  overdue = ["P10Y"]

  [[person.deadline]]
  id = "entry"
  kind = "arc_registration"
  entry = {LATEST}

  [[person.deadline]]
  id = "nhis"
  kind = "nhis_premium"
  start = {LATEST}
  overdue = [3653]

  [[person.deadline]]
  id = "early"
  kind = "custom"
  title = "Early"
  at = {EARLIEST}T00:00:00+14:00
  remind = ["P10Y"]

  [[person.deadline]]
  id = "late"
  kind = "custom"
  title = "Late"
  at = {LATEST}T23:59:59-12:00
  overdue = ["P10Y"]
  roll = "following"
"""


@pytest.mark.parametrize("today", [EARLIEST, date(2026, 6, 1), LATEST])
def test_the_edges_of_the_range_are_accepted_and_planned(planner: Planner, today: date) -> None:
    config = parse_config(EDGES, "edges.toml")
    found = [
        o
        for start, end in [store_window(config, today), *windows(today, 3660)]
        for o in plan(config, start, end, singles_unbounded=True)
    ]
    # ("early" falls on 1899-12-30 in its own zone, before every window.)
    assert {o.deadline for o in found} >= {"first", "last", "entry", "late"}
    planner.replan(config, today)
    planner.cli(EDGES, "check")
    planner.cli(EDGES, "deadlines", "--from", str(EARLIEST), "--until", str(LATEST), "--json")
