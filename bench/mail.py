"""4. Email burst and 5. dispatch latency, against an aiosmtpd sink in another process."""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.common import (
    PYTHON,
    STAYWATCH,
    Context,
    NotifySocket,
    Row,
    Stat,
    env_for_bench,
    free_port,
    process,
    run_worker,
    wait_port,
)
from bench.workload import Mail, Workload, write

#: Connections of the bare client, and staywatch's ``mail.concurrency``.
CONNECTIONS = 8


@contextmanager
def sink(folder: Path, name: str) -> Iterator[tuple[int, Path]]:
    """An aiosmtpd sink in its own process; yields (port, file of accepted messages)."""
    port = free_port()
    out = folder / f"{name}.sink"
    out.write_text("")
    with process(
        [PYTHON, "-m", "bench.sink", str(port), str(out)], log=folder / f"{name}.sink.log"
    ) as proc:
        wait_port(port, 30, proc)
        yield port, out


def accepted(path: Path) -> list[tuple[float, str]]:
    """(time, key) of every message the sink accepted so far."""
    out = []
    for line in path.read_text().splitlines():
        stamp, _, key = line.partition(" ")
        if key:
            out.append((float(stamp), key))
    return out


def wait_lines(path: Path, count: int, timeout: float, prefix: str = "") -> list[tuple[float, str]]:
    """Wait until the sink has ``count`` messages whose key starts with ``prefix``."""
    deadline = time.monotonic() + timeout
    while True:
        got = [a for a in accepted(path) if a[1].startswith(prefix)]
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def sent_count(db: Path) -> int:
    """Reminders marked sent, read from the daemon's SQLite file (read-only)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute("SELECT count(*) FROM reminders WHERE status='sent'").fetchone()[0])
    finally:
        conn.close()


def _daemon_env(notify: NotifySocket) -> dict[str, str]:
    env = env_for_bench()
    env["NOTIFY_SOCKET"] = notify.path
    env["STAYWATCH_LOG_LEVEL"] = "WARNING"
    return env


def burst(ctx: Context) -> list[Row]:
    """2,000 reminders due in the same second; staywatch vs a bare aiosmtplib client."""
    n = 100 if ctx.quick else 2000
    lead = 6.0 if ctx.quick else 8.0
    base = ctx.folder("burst")
    ours: list[float] = []
    by_data: list[float] = []
    theirs: list[float] = []
    notes: list[str] = []
    all_committed = True
    for rep in range(ctx.repeat):
        folder = base / f"run{rep}"
        folder.mkdir(parents=True)
        with sink(folder, "staywatch") as (port, out):
            due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lead)
            work = Workload(
                n,
                date.today(),
                listen=f"127.0.0.1:{free_port()}",
                mail=Mail("smtp", port=port, concurrency=CONNECTIONS),
                at_instants=[due],
            )
            config = write(work, folder)
            ctx.command(f"staywatch run -c {config}  # {n} reminders due at one instant")
            notify = NotifySocket()
            try:
                with process(
                    [STAYWATCH, "run", "-c", str(config)],
                    env=_daemon_env(notify),
                    log=folder / "daemon.log",
                ):
                    notify.wait_for("READY=1", lead + 30)
                    ready_at = time.time()
                    if ready_at > due.timestamp():
                        notes.append(
                            f"run {rep}: daemon was ready {ready_at - due.timestamp():.1f} s late"
                        )
                    got = wait_lines(out, n, 120 + lead)
                    db = folder / "var" / "staywatch.db"
                    deadline = time.monotonic() + 60
                    while sent_count(db) < n and time.monotonic() < deadline:
                        time.sleep(0.02)
                    committed_at = time.time()
                    committed = sent_count(db)
            finally:
                notify.close()
            if len(got) < n or committed < n:
                all_committed = False
                notes.append(f"run {rep}: {len(got)} accepted, {committed} committed of {n}")
            start = due.timestamp()
            by_data.append(n / (max(t for t, _ in got) - start))
            ours.append(n / (committed_at - start))
        with sink(folder, "baseline") as (port, out):
            result = run_worker(
                "smtp-burst-baseline", str(config), str(port), str(n), str(CONNECTIONS)
            )
            got = wait_lines(out, n, 60)
            theirs.append(n / (max(t for t, _ in got) - result["started"]))
    ctx.command(f"python -m bench.workers smtp-burst-baseline CONFIG PORT {n} {CONNECTIONS}")
    stat = Stat(ours, "msg/s")
    base_stat = Stat(theirs, "msg/s")
    ratio = stat.median / base_stat.median
    return [
        Row(
            "4",
            "Email burst (rate)",
            f"{n:,} reminders due in one second, aiosmtpd sink",
            stat,
            f"bare aiosmtplib, {CONNECTIONS} reused connections, messages rendered beforehand",
            base_stat,
            ratio,
            f"{ratio:.2f}x the rate",
            "≥ 0.75x, every status committed",
            ratio >= 0.75 and all_committed,
            [
                "staywatch rate counted from the due instant to the commit of the last "
                f"'sent' row; to the last DATA accepted: {statistics.median(by_data):,.0f} msg/s",
                *notes,
            ],
        )
    ]


def latency(ctx: Context) -> list[Row]:
    """1,000 reminders spread over a minute: due instant -> SMTP DATA accepted."""
    n = 50 if ctx.quick else 1000
    spread = 5.0 if ctx.quick else 60.0
    lead = 7.0 if ctx.quick else 10.0
    base = ctx.folder("latency")
    p50s: list[float] = []
    p99s: list[float] = []
    b50s: list[float] = []
    b99s: list[float] = []
    worst = 0.0
    missing = 0
    for rep in range(ctx.repeat):
        folder = base / f"run{rep}"
        folder.mkdir(parents=True)
        rng = random.Random(rep)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=lead)
        instants = sorted(
            start + timedelta(milliseconds=rng.randrange(int(spread * 1000))) for _ in range(n)
        )
        theirs = sorted(
            start + timedelta(milliseconds=rng.randrange(int(spread * 1000))) for _ in range(n)
        )
        (folder / "baseline.json").write_text(json.dumps([t.timestamp() for t in theirs]))
        with sink(folder, "sink") as (port, out):
            work = Workload(
                n,
                date.today(),
                listen=f"127.0.0.1:{free_port()}",
                mail=Mail("smtp", port=port, concurrency=CONNECTIONS),
                at_instants=instants,
            )
            config = write(work, folder)
            notify = NotifySocket()
            try:
                with (
                    process(
                        [STAYWATCH, "run", "-c", str(config)],
                        env=_daemon_env(notify),
                        log=folder / "daemon.log",
                    ),
                    process(
                        [
                            PYTHON,
                            "-m",
                            "bench.workers",
                            "latency-baseline",
                            str(config),
                            str(port),
                            str(folder / "baseline.json"),
                            str(CONNECTIONS),
                        ],
                        log=folder / "baseline.log",
                    ) as baseline,
                ):
                    notify.wait_for("READY=1", lead + 30)
                    wait_lines(out, n, spread + lead + 60, prefix="p")
                    baseline.wait(spread + lead + 60)
            finally:
                notify.close()
            got = accepted(out)
        due = {f"p{i:05d}": instants[i].timestamp() for i in range(n)}
        delays = [t - due[key.split("/")[0]] for t, key in got if key.startswith("p")]
        missing += n - len(delays)
        base_delays = [
            t - theirs[int(key.split("/")[1])].timestamp()
            for t, key in got
            if key.startswith("baseline/")
        ]
        p50s.append(_percentile(delays, 50))
        p99s.append(_percentile(delays, 99))
        b50s.append(_percentile(base_delays, 50))
        b99s.append(_percentile(base_delays, 99))
        worst = max(worst, max(delays))
    ctx.command(f"staywatch run -c CONFIG  # {n} reminders spread over {spread:.0f} s")
    ctx.command("python -m bench.workers latency-baseline CONFIG PORT INSTANTS.json 8")
    p50, p99 = Stat(p50s, "s"), Stat(p99s, "s")
    base50, base99 = Stat(b50s, "s"), Stat(b99s, "s")
    baseline_name = "APScheduler AsyncIOScheduler, 1 DateTrigger job per reminder, aiosmtplib"
    notes = [f"worst single delay {worst * 1000:.0f} ms"]
    if missing:
        notes.append(f"{missing} reminders never arrived")
    return [
        Row(
            "5",
            "Dispatch latency p50",
            f"{n:,} reminders over {spread:.0f} s, due -> DATA accepted",
            p50,
            baseline_name,
            base50,
            p50.median / base50.median if base50.median else None,
            f"{p50.median / base50.median:.1f}x the baseline's" if base50.median else "-",
            "p50 < 100 ms",
            p50.median < 0.1 and not missing,
        ),
        Row(
            "5",
            "Dispatch latency p99",
            f"{n:,} reminders over {spread:.0f} s, due -> DATA accepted",
            p99,
            baseline_name,
            base99,
            p99.median / base99.median if base99.median else None,
            f"{p99.median / base99.median:.1f}x the baseline's" if base99.median else "-",
            "p99 < 1 s",
            p99.median < 1.0 and not missing,
            notes,
        ),
    ]


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]
