"""Scenarios 8 and 9: time jumps, DST transitions, and ten days of downtime.

Planning across DST is checked as a hypothesis property over zones and dates;
sending across DST, wall-clock jumps back and a ten-day outage run the real
dispatcher (or the whole daemon) in this process on an injected clock. The
suspend/resume case moves the wall clock of this process with time-machine
(the monotonic clock, like a real resume, does not move) and is ``slow``: the
daemon's promise is "within 60 s".
"""

from __future__ import annotations

import time as walltime
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.clock import FixedClock
from service.config import Config, load_config, parse_config
from service.dispatcher import Dispatcher
from service.plan import plan, store_window
from service.store import Store
from service.store.queue import SUPERSEDED
from service.sync import replan
from service.transport import SendResult, envelope_of
from tests.fixtures.daemon import free_port
from tests.fixtures.web import poll
from tests.reliability.helpers import LocalDaemon, scan_maildir, seeded, service_config

DST_ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute DST
    "America/Santiago",  # changes at midnight
    "America/Havana",  # changes at midnight
    "Pacific/Auckland",
    "Pacific/Chatham",  # +12:45 / +13:45
    "Africa/Casablanca",  # goes back an hour for Ramadan
    "Asia/Seoul",  # no DST: the control
]
SEND_TIMES = ["00:00", "00:30", "01:30", "02:00", "02:30", "03:00", "09:00", "23:30"]
LEADS = ["PT0S", "P1D", "P2D", "PT1H", "PT2H", "PT3H", "PT30M", "PT25H", "P1DT1H", "PT24H"]


@cache
def transitions(zone: str, year: int) -> tuple[date, ...]:
    """The days of ``year`` on which ``zone``'s UTC offset changes (noon to noon)."""
    tz = ZoneInfo(zone)
    out = []
    previous = datetime(year, 1, 1, 12, tzinfo=tz).utcoffset()
    for n in range(1, 366):
        day = date(year, 1, 1) + timedelta(days=n)
        offset = datetime.combine(day, time(12), tz).utcoffset()
        if offset != previous:
            out.append(day)
        previous = offset
    return tuple(out)


def near_transition(zone: str, year: int, index: int, shift: int) -> date:
    found = transitions(zone, year)
    if not found:  # no DST: any day is as good
        return date(year, 3, 28) + timedelta(days=shift)
    return found[index % len(found)] + timedelta(days=shift)


def wall_exists(wall: datetime, tz: ZoneInfo) -> bool:
    """False when ``wall`` falls in a DST gap (the clock jumps over it)."""
    there = wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return there == wall


def config_text(zone: str, send_time: str, deadlines: str) -> str:
    return (
        f'[service]\ntimezone = "{zone}"\nsend_time = "{send_time}"\n'
        f'\n[[person]]\nid = "ana"\nname = "Ana"\nemail = ["ana@example.org"]\n'
        f'timezone = "{zone}"\n' + deadlines
    )


@st.composite
def dst_cases(draw: st.DrawFn) -> tuple[str, str, date, list[str], list[str], str]:
    zone = draw(st.sampled_from(DST_ZONES))
    year = draw(st.integers(2026, 2030))
    day = near_transition(zone, year, draw(st.integers(0, 3)), draw(st.integers(-3, 3)))
    send_time = draw(st.sampled_from(SEND_TIMES))
    leads = draw(st.lists(st.sampled_from(LEADS), min_size=1, max_size=6, unique=True))
    overdue = draw(st.lists(st.sampled_from(["P1D", "P2D", "PT12H"]), max_size=2, unique=True))
    form = draw(st.sampled_from(["date", "rrule"]))
    return zone, send_time, day, leads, overdue, form


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dst_cases())
def test_dst_transitions_plan_every_reminder_exactly_once(
    case: tuple[str, str, date, list[str], list[str], str],
) -> None:
    zone, send_time, day, leads, overdue, form = case
    tz = ZoneInfo(zone)
    remind = ", ".join(f'"{lead}"' for lead in leads)
    after = "[" + ", ".join(f'"{o}"' for o in overdue) + "]" if overdue else "false"
    if form == "date":
        when = f"date = {day.isoformat()}"
        days = [day]
    else:
        start, until = day - timedelta(days=3), day + timedelta(days=3)
        when = f'rrule = "FREQ=DAILY"\n  start = {start.isoformat()}\n  until = {until.isoformat()}'
        days = [start + timedelta(days=n) for n in range(7)]
    config = parse_config(
        config_text(
            zone,
            send_time,
            f'\n  [[person.deadline]]\n  id = "x"\n  kind = "custom"\n  title = "X"\n  {when}\n'
            f'  remind = [{remind}]\n  overdue = {after}\n  roll = "none"\n',
        )
    )
    low, high = day - timedelta(days=10), day + timedelta(days=10)
    occurrences = plan(config, low, high)
    assert [o.date for o in occurrences] == days
    expected_offsets = {config.people[0].deadlines[0].remind[i].iso() for i in range(len(leads))}
    expected_offsets |= {f"-{o}" if not o.startswith("-") else o for o in overdue}
    keys = [r.key for o in occurrences for r in o.reminders]
    assert len(keys) == len(set(keys)), "a key planned twice"
    hh, mm = (int(x) for x in send_time.split(":"))
    for occurrence in occurrences:
        # Every lead time and overdue repeat exactly once.
        offsets = Counter(r.offset for r in occurrence.reminders)
        assert set(offsets) == expected_offsets
        assert max(offsets.values()) == 1
        anchor_wall = datetime.combine(occurrence.date, time(hh, mm))
        for reminder in occurrence.reminders:
            assert reminder.due.utcoffset() is not None
            lead = next(
                d
                for d in (*config.people[0].deadlines[0].remind, *_overdue(config))
                if d.iso() == reminder.offset
            )
            wall = anchor_wall - timedelta(days=lead.days)
            if lead.seconds == 0:
                # Whole days keep the wall-clock send time; a time in a DST gap moves
                # just past the gap, never onto another day or before it.
                local = reminder.due.astimezone(tz).replace(tzinfo=None)
                if wall_exists(wall, tz):
                    assert local == wall, (reminder.key, reminder.due)
                    # In a fold (the repeated hour) the first of the two instants.
                    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
                    assert reminder.due.astimezone(UTC) == first, reminder.key
                else:
                    assert wall < local <= wall + timedelta(hours=1), (reminder.key, local)
            else:
                # Hours are elapsed time, counted from the day-resolved wall time.
                base = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
                expected = base - timedelta(seconds=lead.seconds)
                assert reminder.due.astimezone(UTC) == expected, reminder.key

    # The daemon keeps a sliding window: planning it in two halves gives the same
    # reminders, none twice (a re-plan on the transition day adds or drops nothing).
    whole = {r.key for o in occurrences for r in o.reminders}
    for split in range(-4, 5):
        middle = day + timedelta(days=split)
        first = {r.key for o in plan(config, low, middle) for r in o.reminders}
        second = {
            r.key for o in plan(config, middle + timedelta(days=1), high) for r in o.reminders
        }
        assert not first & second, middle
        assert first | second == whole, middle


def _overdue(config: Config) -> tuple[object, ...]:
    from service.rules import overdue_times

    return tuple(overdue_times(config.people[0].deadlines[0]))


# -- sending across DST -----------------------------------------------------------------


class MemoryTransport:
    """Records the key of every message it is handed."""

    name = "memory"

    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()

    async def send(self, message: EmailMessage) -> SendResult:
        _, recipients = envelope_of(message)
        self.keys[str(message["X-Staywatch-Key"])] += 1
        return SendResult(accepted=tuple(recipients))

    async def close(self) -> None:
        pass


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite:///{tmp_path / 'state' / 'staywatch.db'}")
    try:
        yield opened
    finally:
        await opened.close()


def write(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "staywatch.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


@pytest.mark.parametrize(
    "send_time",
    [
        "02:30",
        pytest.param("01:30", marks=pytest.mark.slow),
        pytest.param("00:30", marks=pytest.mark.slow),
    ],
)
async def test_sending_across_dst_in_many_zones_sends_each_reminder_once(
    tmp_path: Path, store: Store, send_time: str
) -> None:
    year = 2027
    body = ""
    for n, zone in enumerate(DST_ZONES):
        body += (
            f'\n[[person]]\nid = "z{n}"\nname = "Z{n}"\nemail = ["z{n}@example.org"]\n'
            f'timezone = "{zone}"\n'
        )
        for index in range(2):
            day = near_transition(zone, year, index, 0)
            body += (
                f'\n  [[person.deadline]]\n  id = "t{index}"\n  kind = "custom"\n'
                f'  title = "T"\n  rrule = "FREQ=DAILY"\n'
                f"  start = {day - timedelta(days=2)}\n  until = {day + timedelta(days=2)}\n"
                f'  remind = ["P1D", "PT0S", "PT1H", "PT2H", "PT3H"]\n  overdue = ["PT1H"]\n'
                f'  roll = "none"\n'
            )
    config = write(
        tmp_path,
        service_config(port=free_port(), body=body).replace(
            'send_time = "09:00"', f'send_time = "{send_time}"'
        ),
    )
    transport = MemoryTransport()
    clock = FixedClock(datetime(year, 1, 1, tzinfo=UTC))
    dispatcher = Dispatcher(
        store=store, transport=transport, config=lambda: config, clock=clock, owner="dst"
    )
    planned: dict[str, datetime] = {}
    for occurrence in plan(config, date(year, 1, 1), date(year, 12, 31)):
        for reminder in occurrence.reminders:
            planned[reminder.key] = reminder.due.astimezone(UTC)
    dues = sorted(set(planned.values()))
    today = None
    for due in dues:
        clock.set(due)
        local_day = due.astimezone(ZoneInfo(config.service.timezone)).date()
        if local_day != today:  # the daily re-plan, as the daemon does it
            await replan(config, store, due)
            today = local_day
        await dispatcher.run_once()
    clock.set(dues[-1] + timedelta(days=1))
    await dispatcher.run_once()

    rows = {r.key: r for r in await store.reminders()}
    assert set(planned) <= set(rows)
    assert max(transport.keys.values()) == 1, "a reminder sent twice"
    for key, due in planned.items():
        row = rows[key]
        if row.status == "sent":
            assert transport.keys[key] == 1
            continue
        # Only a reminder due at the very instant of another one of its occurrence
        # may be folded into it; nothing else is skipped across a DST change.
        assert (row.status, row.reason) == ("skipped", SUPERSEDED), (key, row.status)
        twins = [k for k, d in planned.items() if d == due and k != key]
        assert any(k.rsplit("/", 1)[0] == key.rsplit("/", 1)[0] for k in twins), key
    sent = sum(transport.keys.values())
    print(
        f"FIGURE s8-dst send_time={send_time}: {len(DST_ZONES)} zones, {len(planned)} reminders "
        f"across {2 * len(DST_ZONES)} transitions: sent {sent}, each once; "
        f"{len(planned) - sent} folded into a twin due at the same instant"
    )


# -- wall clock jumps at the dispatcher ------------------------------------------------


async def test_a_wall_clock_jump_back_sends_nothing_twice(tmp_path: Path, store: Store) -> None:
    start = datetime(2027, 3, 2, 14, 0, tzinfo=UTC)  # 23:00 in Seoul: the day changes soon

    def body(extra: int) -> str:
        """Five people, 18 deadlines each (and ``extra`` more, far ahead)."""
        out = ""
        for i in range(5):
            out += f'\n[[person]]\nid = "p{i}"\nname = "P{i}"\nemail = ["p{i}@example.org"]\n'
            for j in range(18):
                at = (start + timedelta(minutes=10 * j + i)).isoformat()
                out += (
                    f'\n  [[person.deadline]]\n  id = "d{j}"\n  kind = "custom"\n  title = "D"\n'
                    f'  at = {at}\n  remind = ["PT0S", "PT5M"]\n'
                )
            for n in range(extra):
                out += (
                    f'\n  [[person.deadline]]\n  id = "later{n}"\n  kind = "custom"\n'
                    f'  title = "L"\n  date = 2027-12-0{n + 1}\n  remind = ["PT0S"]\n'
                )
        return out

    configs = [write(tmp_path, service_config(port=free_port(), body=body(0)))]
    transport = MemoryTransport()
    clock = FixedClock(start - timedelta(hours=1))
    dispatcher = Dispatcher(
        store=store, transport=transport, config=lambda: configs[-1], clock=clock, owner="jump"
    )
    await replan(configs[-1], store, clock.now())

    async def walk(until: datetime, step: timedelta = timedelta(minutes=1)) -> None:
        while clock.now() < until:
            clock.set(min(until, clock.now() + step))
            await dispatcher.run_once()

    await walk(start + timedelta(minutes=90))
    before = Counter(transport.keys)
    assert before
    assert max(before.values()) == 1
    for n, back in enumerate((timedelta(hours=1), timedelta(hours=26))):  # 26 h: a day back
        clock.set(clock.now() - back)
        # A re-plan at the earlier time, after a config edit that touches everyone.
        configs.append(write(tmp_path, service_config(port=free_port(), body=body(n + 1))))
        assert (await replan(configs[-1], store, clock.now())).changed == 5
        assert (await dispatcher.run_once()).sent == 0
        await walk(clock.now() + back, step=timedelta(minutes=10))
        assert transport.keys == before, "sent again after the clock went back"
    await walk(start + timedelta(hours=4))
    planned = {
        r.key for o in plan(configs[0], date(2027, 3, 1), date(2027, 3, 4)) for r in o.reminders
    }
    assert set(transport.keys) == planned
    assert max(transport.keys.values()) == 1
    print(
        f"FIGURE s8-back: {len(planned)} reminders, clock back 1 h and 26 h (each time with a "
        "re-plan after a config edit): each sent once"
    )


# -- 9. ten days down --------------------------------------------------------------------


def downtime_config(rng_name: str) -> str:
    rng = seeded(rng_name)
    kinds = []
    base = date(2027, 3, 10)
    for i in range(40):
        day = base + timedelta(days=rng.randint(-12, 25))
        zone = rng.choice(["Asia/Seoul", "Europe/Berlin", "America/New_York"])
        choice = i % 6
        if choice == 0:
            deadline = f'kind = "stay_expiry"\n  date = {day}'
        elif choice == 1:
            deadline = f'kind = "arc_registration"\n  entry = {day - timedelta(days=80)}'
        elif choice == 2:
            deadline = f'kind = "nhis_premium"\n  start = {date(2027, 1, 1)}'
        elif choice == 3:
            deadline = f'kind = "address_report"\n  moved = {day - timedelta(days=14)}'
        elif choice == 4:
            deadline = (
                'kind = "custom"\n  title = "Weekly"\n  rrule = "FREQ=WEEKLY;BYDAY=MO"\n'
                '  remind = ["P3D", "P1D", "PT0S"]\n  overdue = ["P1D", "P2D"]'
            )
        else:
            deadline = (
                f'kind = "custom"\n  title = "Daily"\n  date = {day}\n'
                f'  remind = ["P9D", "P7D", "P5D", "P3D", "P1D", "PT0S"]\n  overdue = ["P1D"]'
            )
        kinds.append(
            f'\n[[person]]\nid = "p{i:02d}"\nname = "P{i}"\nemail = ["p{i}@example.org"]\n'
            f'timezone = "{zone}"\n  [[person.deadline]]\n  id = "d"\n  {deadline}\n'
        )
    return "".join(kinds)


async def test_ten_days_down_sends_one_catch_up_mail_per_occurrence(tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "staywatch.toml"
    path.write_text(service_config(port=port, body=downtime_config("downtime")), encoding="utf-8")
    config = load_config(path)
    stop = datetime(2027, 3, 9, 3, 17, tzinfo=UTC)
    back = stop + timedelta(days=10)
    clock = FixedClock(stop)
    local = LocalDaemon(path, port, clock)

    async def settled() -> bool:
        rows = await local.daemon.store.reminders(end=clock.now() + timedelta(microseconds=1))
        return not any(r.status == "pending" for r in rows)

    await local.start()
    await poll(settled, what="the first run to send what was due", within=30)
    before = {k for k, n in scan_maildir(tmp_path / "var" / "mail").counts.items() if n}
    await local.stop()

    clock.set(back)
    await local.start()
    await poll(settled, what="the catch-up round", within=30)
    await local.stop()

    scan = scan_maildir(tmp_path / "var" / "mail")
    assert not scan.partial
    assert max(scan.counts.values()) == 1
    catch_up = set(scan.counts) - before
    per_occurrence = Counter(k.rsplit("/", 1)[0] for k in catch_up)
    assert max(per_occurrence.values()) == 1, "two catch-up mails for one occurrence"

    # Expected: per occurrence, the latest reminder that fell due while down, unless
    # the deadline is over and it is not an overdue repeat.
    today = back.astimezone(ZoneInfo(config.service.timezone)).date()
    low, _ = store_window(config, stop.astimezone(ZoneInfo(config.service.timezone)).date())
    _, high = store_window(config, today)
    expected = set()
    for occurrence in plan(config, low, high, singles_unbounded=True):
        missed = [
            r
            for r in occurrence.reminders
            if stop < r.due <= back and (r.overdue or occurrence.ends > back)
        ]
        if missed:
            expected.add(max(missed, key=lambda r: (r.due, r.key)).key)
    assert catch_up == expected, (sorted(catch_up - expected), sorted(expected - catch_up))
    print(
        f"FIGURE s9: 40 people, down 10 days: {len(catch_up)} catch-up mails for "
        f"{len(per_occurrence)} occurrences (max 1 each); {len(before)} sent before"
    )


# -- 8. suspend/resume: the wall clock leaps, the monotonic clock does not ------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_wall_clock_jumps_forward_and_back_in_the_running_daemon(tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "staywatch.toml"
    real = datetime.now(UTC).replace(microsecond=0)
    # d0 soon; d1..d3 fall due inside the hour that a "suspend" skips; d4 after it.
    offsets = {"d0": 4, "d1": 600, "d2": 1800, "d3": 3000, "d4": 3600 + 1800}
    body = "".join(
        f'\n[[person]]\nid = "{d}"\nname = "{d}"\nemail = ["{d}@example.org"]\n'
        f'  [[person.deadline]]\n  id = "x"\n  kind = "custom"\n  title = "X"\n'
        f'  at = {(real + timedelta(seconds=s)).isoformat()}\n  remind = ["PT0S"]\n'
        for d, s in offsets.items()
    )
    path.write_text(service_config(port=port, body=body), encoding="utf-8")
    maildir = tmp_path / "var" / "mail"
    with time_machine.travel(real, tick=True) as traveller:
        local = LocalDaemon(path, port)
        await local.start()
        try:

            async def arrived(count: int) -> bool:
                return sum(scan_maildir(maildir).counts.values()) >= count

            await poll(lambda: arrived(1), what="d0", within=15)
            # The clock goes back an hour (a bad RTC corrected) ...
            traveller.shift(timedelta(hours=-1))
            # ... and then a suspend of two hours: d1..d3 (and, later, d4) go out.
            traveller.shift(timedelta(hours=2))
            resumed = walltime.monotonic()
            await poll(lambda: arrived(4), what="d1..d3 after the resume", within=75)
            latency = walltime.monotonic() - resumed
            counts = scan_maildir(maildir).counts
            assert max(counts.values()) == 1
            assert {k.split("/")[0] for k in counts} == {"d0", "d1", "d2", "d3"}
            assert latency <= 62, latency
        finally:
            await local.stop()
    print(
        f"FIGURE s8-jump: after a 2 h wall-clock leap the due reminders went out in {latency:.1f} s"
    )
