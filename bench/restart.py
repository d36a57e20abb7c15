"""3. Daemon restart with 100k stored reminders: time to ready, and memory."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from datetime import date
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
    http_get,
    process,
    rss_mb,
)
from bench.workload import Workload, write

#: People for about 100,000 stored reminders (the mix averages about 113 each).
PEOPLE = 900


def stored(db: Path) -> int:
    """How many reminder rows the database holds."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM reminders").fetchone()[0])
    finally:
        conn.close()


def start_daemon(config: Path, log: Path, timeout: float = 120) -> dict[str, float]:
    """Start ``staywatch run``, wait for READY=1; time it, check HTTP, read RSS, stop."""
    notify = NotifySocket()
    env = env_for_bench()
    env["NOTIFY_SOCKET"] = notify.path
    port = int(config.read_text().split('listen = "127.0.0.1:')[1].split('"')[0])
    try:
        started = time.perf_counter()
        with process([STAYWATCH, "run", "-c", str(config)], env=env, log=log) as proc:
            ready = notify.wait_for("READY=1", timeout) - started
            status, _, _ = http_get(f"http://127.0.0.1:{port}/healthz")
            http = time.perf_counter() - started
            rss_ready, _ = rss_mb(proc.pid)
            time.sleep(2.0)  # the first dispatch round and housekeeping
            rss_later, peak = rss_mb(proc.pid)
    finally:
        notify.close()
    return {
        "ready": ready,
        "http": http,
        "status": status,
        "rss_ready": rss_ready,
        "rss": rss_later,
        "peak": peak,
    }


def interpreter_startup(repeat: int) -> list[float]:
    """``python -c pass`` wall time: the start-up every Python program pays."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([PYTHON, "-c", "pass"], check=True, env=env_for_bench())
        times.append(time.perf_counter() - started)
    return times


def restart(ctx: Context) -> list[Row]:
    """Restart the daemon over a store of ~100k reminders."""
    people = 30 if ctx.quick else PEOPLE
    folder = ctx.folder("restart")
    config = write(Workload(people, date.today(), listen=f"127.0.0.1:{free_port()}"), folder)
    first = start_daemon(config, folder / "first.log", timeout=300)
    rows_stored = stored(folder / "var" / "staywatch.db")
    ctx.shared["restart_config"] = config
    ctx.command(f"NOTIFY_SOCKET=... staywatch run -c {config}  # until READY=1, then SIGTERM")
    runs = [start_daemon(config, folder / f"run{i}.log") for i in range(ctx.repeat)]
    python = interpreter_startup(max(ctx.repeat, 5))
    ready = Stat([r["ready"] for r in runs], "s")
    base = Stat(python, "s")
    over = ready.median - base.median
    rss = Stat([r["rss"] for r in runs], "MB")
    peak = max(r["peak"] for r in runs)
    workload = f"{people:,} people, {rows_stored:,} stored reminders"
    return [
        Row(
            "3",
            "Daemon restart: READY=1 (HTTP up, next wake armed)",
            workload,
            ready,
            "Python start-up (`python -c pass`)",
            base,
            over,
            f"{over:.2f} s more than start-up",
            "< 1 s + interpreter start-up",
            over < 1.0 and all(r["status"] == 200 for r in runs),
            [
                f"first start (plans and stores everything): {first['ready']:.2f} s, "
                f"peak RSS {first['peak']:.0f} MB",
                "restarts skip the full re-plan when config, day and code are unchanged "
                "(plan basis in the store)",
            ],
        ),
        Row(
            "3",
            "Daemon RSS after restart",
            workload,
            rss,
            "-",
            None,
            rss.median / 120,
            f"{rss.median / 120:.2f}x the budget",
            "< 120 MB",
            rss.max < 120,
            [f"peak (VmHWM) {peak:.0f} MB; RSS right at READY {runs[0]['rss_ready']:.0f} MB"],
        ),
    ]
