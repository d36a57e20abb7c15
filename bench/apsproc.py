"""The whole-process APScheduler baseline: ``python -m bench.apsproc ROWS.json DB SAMPLE SPAWNED``.

What a scheduler built on APScheduler 3.11 does from exec to "every reminder
is scheduled": start Python, import APScheduler and SQLAlchemy, open a SQLite
job store, add one DateTrigger job per reminder. Adding a job commits it, at
about a thousand jobs a second, so the jobs are added for an evenly spread
sample and the rate is extrapolated to all of them. SPAWNED is the parent's
``time.time()`` just before it started this process: start-up counts from it.
Reading the reminder list (staywatch's plan, exported as JSON) is not counted.
Prints one JSON object.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    """Measure and print the result."""
    entered = time.time()
    rows_path, db, limit, spawned = argv[0], argv[1], int(argv[2]), float(argv[3])
    imports_started = time.perf_counter()
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.date import DateTrigger

    imported = time.perf_counter() - imports_started
    with open(rows_path, encoding="utf-8") as handle:
        rows = json.load(handle)
    soon = datetime.now(UTC) + timedelta(minutes=10)
    future = [
        (key, at)
        for key, due in rows
        if (at := datetime.fromisoformat(due).replace(tzinfo=UTC)) > soon
    ]
    step = max(1, len(future) // limit)
    sample = future[::step][:limit]
    path = Path(db)
    path.unlink(missing_ok=True)
    opened = time.perf_counter()
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{path}")}, timezone="UTC"
    )
    scheduler.start(paused=True)
    opened = time.perf_counter() - opened
    started = time.perf_counter()
    for job_id, at in sample:
        scheduler.add_job(
            "bench.workers:noop_job", DateTrigger(run_date=at), id=job_id, misfire_grace_time=None
        )
    seconds = time.perf_counter() - started
    scheduler.shutdown(wait=False)
    rate = len(sample) / seconds
    startup = (entered - spawned) + imported + opened
    print(
        json.dumps(
            {
                "startup": startup,
                "sample": len(sample),
                "rate": rate,
                "reminders": len(rows),
                "seconds": startup + len(rows) / rate,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
