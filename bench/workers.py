"""Measurements that run in a fresh process each: ``python -m bench.workers NAME ARGS``.

Each prints one JSON object on its last line. Only the part named in the
result is timed; preparing inputs (planning reminders for a baseline, rendering
messages for the bare SMTP client) is not.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

WORKERS: dict[str, Callable[[list[str]], dict[str, Any]]] = {}


def worker(func: Callable[[list[str]], dict[str, Any]]) -> Callable[[list[str]], dict[str, Any]]:
    """Register a worker under its name with dashes."""
    WORKERS[func.__name__.replace("_", "-")] = func
    return func


def _sqlite_file(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


def _fresh(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal", ".lock"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            candidate.unlink()


def _planned_reminders(config_path: str) -> tuple[Any, list[Any], Any]:
    """The config, the reminders the daemon would store, and their occurrences."""
    from service.config import load_config
    from service.plan import plan, store_window

    config = load_config(config_path)
    today = datetime.now(UTC).astimezone().date()
    start, end = store_window(config, today)
    occurrences = plan(config, start, end, singles_unbounded=True)
    return config, [r for o in occurrences for r in o.reminders], occurrences


# -- 1. cold start -----------------------------------------------------------------


@worker
def cold_staywatch(args: list[str]) -> dict[str, Any]:
    """Parse the config, plan, store every reminder in a new SQLite file."""
    config_path = args[0]
    from service.config import load_config
    from service.store import Store
    from service.sync import replan

    async def main() -> dict[str, Any]:
        started = time.perf_counter()
        config = load_config(config_path)
        parsed = time.perf_counter()
        _fresh(_sqlite_file(config.database_url))
        store = await Store.open(config.database_url)
        opened = time.perf_counter()
        stats = await replan(config, store, datetime.now(UTC))
        done = time.perf_counter()
        await store.close()
        return {
            "seconds": done - started,
            "parse": parsed - started,
            "open": opened - parsed,
            "plan_store": done - opened,
            "reminders": stats.inserted,
            "rows_written": stats.rows_written,
            "people": len(config.people),
        }

    return asyncio.run(main())


def _stored_rows(source: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Every reminder row staywatch stored, exactly as SQLite holds it (not timed)."""
    import sqlite3

    conn = sqlite3.connect(source)
    cursor = conn.execute("SELECT * FROM reminders")
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    conn.close()
    return names, rows


@worker
def cold_floor(args: list[str]) -> dict[str, Any]:
    """The floor: a bare SQLAlchemy Core bulk insert of the same rows, one transaction.

    The rows are read from the database staywatch just wrote; the table has the
    same columns and indexes, plain column types and the values already in their
    SQLite form, so SQLAlchemy does no per-value processing: as cheap as an
    insert through SQLAlchemy gets.
    """
    source, db = args
    from sqlalchemy import Column, Index, Integer, MetaData, Table, Text, create_engine

    from service.store.models import reminders

    names, stored = _stored_rows(source)
    plain = [dict(zip(names, row, strict=True)) for row in stored]
    metadata = MetaData()
    table = Table(
        "reminders",
        metadata,
        *(
            Column(c.name, Integer if c.name == "attempts" else Text, primary_key=c.primary_key)
            for c in reminders.columns
        ),
    )
    for index in reminders.indexes:
        Index(index.name, *(table.c[c.name] for c in index.columns))
    path = Path(db)
    _fresh(path)
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(table.insert(), plain)
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "rows": len(plain)}


def noop_job() -> None:
    """What the APScheduler baseline's jobs would run."""


@worker
def cold_apscheduler(args: list[str]) -> dict[str, Any]:
    """APScheduler 3.11 alone: one DateTrigger job per reminder in SQLAlchemyJobStore.

    Adds an evenly spread sample of the reminders (at most ``limit``) and
    extrapolates to all of them from the measured rate.
    """
    source, db, limit = args[0], args[1], int(args[2])
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.date import DateTrigger

    names, stored = _stored_rows(source)
    key, due = names.index("key"), names.index("due")
    # Jobs due in the past would run at once; the sample keeps to future ones.
    soon = datetime.now(UTC) + timedelta(minutes=10)
    future = [
        (row[key], at)
        for row in stored
        if (at := datetime.fromisoformat(row[due]).replace(tzinfo=UTC)) > soon
    ]
    step = max(1, len(future) // limit)
    sample = future[::step][:limit]
    path = Path(db)
    _fresh(path)
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{path}")}, timezone="UTC"
    )
    scheduler.start(paused=True)
    started = time.perf_counter()
    for job_id, at in sample:
        scheduler.add_job(
            "bench.workers:noop_job", DateTrigger(run_date=at), id=job_id, misfire_grace_time=None
        )
    seconds = time.perf_counter() - started
    scheduler.shutdown(wait=False)
    rate = len(sample) / seconds
    return {
        "sample": len(sample),
        "sample_seconds": seconds,
        "rate": rate,
        "reminders": len(stored),
        "seconds": len(stored) / rate,
    }


# -- 2. re-plan one person -----------------------------------------------------------


@worker
def replan_one(args: list[str]) -> dict[str, Any]:
    """Edit one person's period of stay, re-plan them; time it and count rows written."""
    config_path, repeat = args[0], int(args[1])
    from sqlalchemy import text

    from service.config import load_config
    from service.store import Store
    from service.sync import replan

    config = load_config(config_path)
    # Someone in the middle; alternate edits so every round changes something.
    victim = config.people[len(config.people) // 2]
    visa = next(d for d in victim.deadlines if d.kind == "stay_expiry")

    def edited(days: int) -> Any:
        deadline = visa.model_copy(update={"date": visa.date + timedelta(days=days)})
        deadlines = tuple(deadline if d is visa else d for d in victim.deadlines)
        person = victim.model_copy(update={"deadlines": deadlines})
        people = tuple(person if p is victim else p for p in config.people)
        new = config.model_copy(update={"people": people})
        new.__dict__.pop("_people_index", None)
        return new

    async def main() -> dict[str, Any]:
        store = await Store.open(config.database_url)
        rounds: list[dict[str, Any]] = []
        for i in range(repeat):
            new = edited(7 * (i % 2 + 1))
            now = datetime.now(UTC) + timedelta(microseconds=i)
            started = time.perf_counter()
            stats = await replan(new, store, now, people=[victim.id])
            seconds = time.perf_counter() - started
            async with store.engine.connect() as conn:
                stamp = now.replace(tzinfo=None).isoformat(" ", "microseconds")
                result = await conn.execute(
                    text(
                        "SELECT person, count(*) FROM reminders WHERE updated_at = :t "
                        "GROUP BY person"
                    ),
                    {"t": stamp},
                )
                touched: dict[str, int] = dict(result.tuples().all())
                total = await conn.execute(text("SELECT count(*) FROM reminders"))
                rows = total.scalar_one()
            rounds.append(
                {
                    "seconds": seconds,
                    "rows_written": stats.rows_written,
                    "reminder_rows_changed": sum(touched.values()),
                    "people_touched": sorted(touched),
                    "stored_reminders": rows,
                }
            )
        await store.close()
        return {"person": victim.id, "rounds": rounds, "people": len(config.people)}

    return asyncio.run(main())


@worker
def replan_apscheduler(args: list[str]) -> dict[str, Any]:
    """APScheduler: replace one person's jobs (remove_job + add_job) in SQLAlchemyJobStore."""
    config_path, db, repeat, background = args[0], args[1], int(args[2]), int(args[3])
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.date import DateTrigger

    config, reminders, _ = _planned_reminders(config_path)
    victim = config.people[len(config.people) // 2].id
    mine = [r for r in reminders if r.person == victim]
    others = [r for r in reminders if r.person != victim]
    step = max(1, len(others) // background)
    path = Path(db)
    _fresh(path)
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{path}")}, timezone="UTC"
    )
    scheduler.start(paused=True)
    for r in [*others[::step][:background], *mine]:
        scheduler.add_job(
            "bench.workers:noop_job", DateTrigger(run_date=r.due), id=r.key, misfire_grace_time=None
        )
    times = []
    for i in range(repeat):
        shift = timedelta(days=7 * (i % 2 + 1))
        started = time.perf_counter()
        for r in mine:
            scheduler.remove_job(r.key)
        for r in mine:
            scheduler.add_job(
                "bench.workers:noop_job",
                DateTrigger(run_date=r.due + shift),
                id=r.key,
                misfire_grace_time=None,
            )
        times.append(time.perf_counter() - started)
    scheduler.shutdown(wait=False)
    return {"times": times, "jobs": len(mine), "stored_jobs": len(scheduler.get_jobs())}


# -- 4./5. SMTP baselines ----------------------------------------------------------


def _messages(config_path: str, limit: int) -> list[Any]:
    """The same reminder emails staywatch would send, rendered ahead of time."""
    from service.publish import ack_url
    from service.render import render_reminder

    config, _, occurrences = _planned_reminders(config_path)
    now = datetime.now(UTC)
    out = []
    for occ in occurrences:
        person = config.person(occ.person)
        for r in occ.reminders:
            out.append(
                render_reminder(
                    config,
                    person,
                    occ,
                    r,
                    now=now,
                    ack_url=ack_url(config, b"k" * 32, occ, now),
                    feed_url=f"{config.feed.public_url}/calendar/x.ics",
                )
            )
            if len(out) >= limit:
                return out
    return out


@worker
def smtp_burst_baseline(args: list[str]) -> dict[str, Any]:
    """A bare aiosmtplib client: N prepared messages over C reused connections."""
    config_path, port, count, connections = args[0], int(args[1]), int(args[2]), int(args[3])
    import aiosmtplib

    messages = _messages(config_path, count)

    async def main() -> dict[str, Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        for message in messages:
            queue.put_nowait(message)
        started = time.time()

        async def sender() -> None:
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
            await client.connect()
            while not queue.empty():
                await client.send_message(queue.get_nowait())
            await client.quit()

        await asyncio.gather(*(sender() for _ in range(connections)))
        return {"started": started, "ended": time.time(), "sent": len(messages)}

    return asyncio.run(main())


@worker
def latency_baseline(args: list[str]) -> dict[str, Any]:
    """APScheduler (AsyncIOScheduler, one DateTrigger job per reminder) + aiosmtplib.

    The jobs are due at the instants in the JSON file; each sends its message
    over a small pool of reused connections.
    """
    config_path, port, instants_file, connections = (
        args[0],
        int(args[1]),
        args[2],
        int(args[3]),
    )
    import aiosmtplib
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.date import DateTrigger

    instants = [datetime.fromtimestamp(t, UTC) for t in json.loads(Path(instants_file).read_text())]
    template = _messages(config_path, 1)[0]

    async def main() -> dict[str, Any]:
        pool: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(connections):
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
            await client.connect()
            pool.put_nowait(client)
        done = asyncio.Event()
        left = len(instants)

        async def send(i: int) -> None:
            nonlocal left
            message = template
            del message["X-Staywatch-Key"]
            message["X-Staywatch-Key"] = f"baseline/{i}"
            data = message.as_bytes()
            client = await pool.get()
            try:
                await client.sendmail("staywatch@localhost", [f"b{i}@example.org"], data)
            finally:
                pool.put_nowait(client)
            left -= 1
            if left == 0:
                done.set()

        scheduler = AsyncIOScheduler(timezone="UTC")
        for i, at in enumerate(instants):
            scheduler.add_job(
                send, DateTrigger(run_date=at), args=[i], id=str(i), misfire_grace_time=None
            )
        scheduler.start()
        last = max(instants)
        wait = (last - datetime.now(UTC)).total_seconds() + 30
        await asyncio.wait_for(done.wait(), timeout=max(wait, 5))
        scheduler.shutdown(wait=False)
        while not pool.empty():
            await pool.get_nowait().quit()
        return {"sent": len(instants)}

    return asyncio.run(main())


# -- 6. feed building ----------------------------------------------------------------


@worker
def feed_build(args: list[str]) -> dict[str, Any]:
    """staywatch's feed builder against icalendar serializing the same calendar."""
    config_path, repeat = args[0], int(args[1])
    import icalendar

    from service.config import load_config
    from service.feed import build_feed, event_fingerprints
    from service.plan import plan
    from service.publish import feed_window
    from service.tokens import installation_id

    config = load_config(config_path)
    today = datetime.now(UTC).date()
    start, end = feed_window(config, today)
    people = list(config.people)
    stamp = datetime.now(UTC).replace(microsecond=0)
    installation = installation_id(b"bench installation secret")
    build, fingerprints, serialize, plans = [], [], [], []
    body = b""
    for _ in range(repeat):
        t0 = time.perf_counter()
        occurrences = plan(config, start, end, singles_unbounded=True)
        t1 = time.perf_counter()
        prints = event_fingerprints(config, people, occurrences, set(), installation=installation)
        t2 = time.perf_counter()
        body = build_feed(
            config,
            people,
            occurrences,
            acknowledged=set(),
            sequences={},
            stamp=stamp,
            name="staywatch: everyone",
            language="en",
            installation=installation,
        )
        t3 = time.perf_counter()
        plans.append(t1 - t0)
        fingerprints.append(t2 - t1)
        build.append(t3 - t2)
    calendar = icalendar.Calendar.from_ical(body)
    for _ in range(repeat):
        t0 = time.perf_counter()
        again = calendar.to_ical()
        serialize.append(time.perf_counter() - t0)
    events = len(calendar.walk("VEVENT"))
    return {
        "build": build,
        "fingerprints": fingerprints,
        "plan": plans,
        "icalendar": serialize,
        "events": events,
        "bytes": len(body),
        "same_bytes": again == body,
        "prints": len(prints),
    }


def main(argv: list[str]) -> int:
    """Run one worker and print its JSON."""
    name, args = argv[0], argv[1:]
    result = WORKERS[name](args)
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip slow interpreter teardown of big heaps


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
