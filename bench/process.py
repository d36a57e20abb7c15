"""8. Whole-process cold start against a whole APScheduler process; 9. import time per command."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

from bench.common import (
    PYTHON,
    STAYWATCH,
    Context,
    Row,
    Stat,
    env_for_bench,
    free_port,
    process,
    run_worker,
)
from bench.restart import interpreter_startup
from bench.workload import Workload, write

#: Jobs the APScheduler process adds before its rate is extrapolated to every reminder.
APSCHEDULER_SAMPLE = 2000
#: The whole-process ratio the issue asks for at the larger size.
TARGET = 40


def sizes(ctx: Context) -> list[int]:
    """Workload sizes (people)."""
    return [10] if ctx.quick else [100, 1000]


def _counted(port: int) -> int | None:
    """Reminders /healthz counts (any status), or None while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as reply:
            body = json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        with exc:
            body = json.loads(exc.read())
    except OSError:
        return None
    return sum(int(body.get(k) or 0) for k in ("pending", "sent", "failed", "skipped"))


def staywatch_cold(config: Path, port: int, reminders: int, timeout: float) -> dict[str, float]:
    """Exec ``staywatch run`` on a config with no database; time until /healthz counts all."""
    var = config.parent / "var"
    if var.exists():
        shutil.rmtree(var)
    log = config.parent / "run.log"
    started = time.perf_counter()
    answered = None
    with process([STAYWATCH, "run", "-c", str(config)], log=log) as proc:
        deadline = started + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"staywatch run exited with {proc.returncode}; see {log}")
            counted = _counted(port)
            now = time.perf_counter()
            if counted is not None and answered is None:
                answered = now - started
            if counted is not None and counted >= reminders:
                return {"seconds": now - started, "healthz": answered or 0.0}
            if now > deadline:
                raise TimeoutError(f"/healthz counted {counted} of {reminders} after {timeout} s")
            time.sleep(0.005)


def apscheduler_process(config: Path, sample: int) -> dict[str, float]:
    """Spawn the APScheduler process; its whole time with the job adding extrapolated."""
    db = config.parent / "aps-process.db"
    rows = config.parent / "reminders.json"
    cmd = [PYTHON, "-m", "bench.apsproc", str(rows), str(db), str(sample)]
    spawned = time.time()
    done = subprocess.run(
        [*cmd, repr(spawned)],
        capture_output=True,
        text=True,
        check=False,
        env=env_for_bench(),
        cwd=Path(__file__).resolve().parent.parent,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _export_rows(db: Path, out: Path) -> int:
    """The (key, due) of every reminder staywatch planned, for the APScheduler process."""
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute('SELECT "key", due FROM reminders ORDER BY due').fetchall()
    finally:
        conn.close()
    out.write_text(json.dumps(rows), encoding="utf-8")
    return len(rows)


def cold_process(ctx: Context) -> list[Row]:
    """Whole-process cold start at each size, both sides spawned as a new user would."""
    rows: list[Row] = []
    base = ctx.folder("process")
    for n in sizes(ctx):
        folder = base / f"n{n}"
        port = free_port()
        config = write(Workload(n, date.today(), listen=f"127.0.0.1:{port}"), folder)
        # How many reminders the plan stores (a cold start in-process), and their instants.
        planned = run_worker("cold-staywatch", str(config))
        reminders = _export_rows(folder / "var" / "staywatch.db", folder / "reminders.json")
        assert reminders == planned["reminders"], (reminders, planned)
        timeout = 120 if n <= 100 else 600
        staywatch_cold(config, port, reminders, timeout)  # warm-up: page cache, .pyc files
        runs = 1 if ctx.quick else ctx.repeat
        ours = [staywatch_cold(config, port, reminders, timeout) for _ in range(runs)]
        sample = 300 if ctx.quick else APSCHEDULER_SAMPLE
        theirs = [apscheduler_process(config, sample) for _ in range(runs)]
        stay = Stat([r["seconds"] for r in ours], "s")
        aps = Stat([r["seconds"] for r in theirs], "s")
        ratio = aps.median / stay.median
        first = sorted(r["healthz"] for r in ours)[len(ours) // 2]
        startup = sorted(r["startup"] for r in theirs)[len(theirs) // 2]
        larger = n == max(sizes(ctx))
        rows.append(
            Row(
                "8",
                "Whole-process cold start vs APScheduler process",
                f"{n:,} people, {reminders:,} reminders",
                stay,
                "a Python process: APScheduler 3.11 + SQLAlchemyJobStore (SQLite), "
                "1 DateTrigger job per reminder",
                aps,
                ratio,
                f"{ratio:.0f}x faster",
                f"≥ {TARGET}x faster at {max(sizes(ctx)):,} people",
                ratio >= TARGET if larger else None,
                [
                    f"staywatch: exec of `staywatch run` (no database yet) until /healthz counts "
                    f"all {reminders:,} reminders; /healthz first answered after {first:.2f} s",
                    f"APScheduler: process start and imports {startup:.2f} s, then "
                    f"{theirs[0]['rate']:.0f} jobs/s measured on {int(theirs[0]['sample']):,} "
                    f"jobs and extrapolated to {reminders:,}",
                ],
            )
        )
        ctx.series.setdefault("staywatch whole process", []).append((n, stay.median))
        ctx.command(
            f"staywatch run -c {config}  # fresh var/, until /healthz counts every reminder"
        )
        ctx.command(f"python -m bench.apsproc {folder / 'reminders.json'} aps.db {sample} SPAWNED")
    return rows


#: The commands whose start-up is reported, with a config argument where they take one.
COMMANDS = (
    ("--help",),
    ("check",),
    ("upcoming", "--days", "30"),
    ("deadlines",),
    ("status",),
    ("feed-url", "p00001"),
)


#: What only the daemon needs: a read-only command that imports one of these fails row 9.
HEAVY = ("aiohttp", "jinja2", "apscheduler", "aiosmtplib", "prometheus_client")


def _import_seconds(cmd: list[str], seen: set[str] | None = None) -> float:
    """The sum of the top-level imports' cumulative times ``python -X importtime`` reports.

    The heavy modules among all imports are added to ``seen``.
    """
    done = subprocess.run(
        [PYTHON, "-X", "importtime", *cmd],
        capture_output=True,
        text=True,
        check=False,
        env=env_for_bench(),
        cwd=Path(__file__).resolve().parent.parent,
        timeout=300,
    )
    total = 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.split("|")
        if len(parts) == 3 and seen is not None and parts[2].strip().split(".")[0] in HEAVY:
            seen.add(parts[2].strip().split(".")[0])
        if len(parts) != 3 or parts[2].startswith("  ") or not parts[1].strip().isdigit():
            continue  # a nested import: counted in its parent's cumulative time
        total += int(parts[1])
    return total / 1e6


def imports(ctx: Context) -> list[Row]:
    """Import time of each command, with the config remembered, next to ``python -c pass``."""
    config: Path | None = ctx.shared.get("restart_config")
    if config is None:
        folder = ctx.folder("imports")
        config = write(Workload(10, date.today(), listen=f"127.0.0.1:{free_port()}"), folder)
        run_worker("cold-staywatch", str(config))
    repeat = 1 if ctx.quick else max(ctx.repeat, 5)
    python = Stat(interpreter_startup(repeat), "s")
    rows = []
    for args in COMMANDS:
        cmd = ["-m", "service", *args] + ([] if args == ("--help",) else ["-c", str(config)])
        _import_seconds(cmd)  # warm-up: the config is remembered, .pyc files written
        heavy: set[str] = set()
        stat = Stat([_import_seconds(cmd, heavy) for _ in range(repeat)], "s")
        rows.append(
            Row(
                "9",
                f"Imports of `staywatch {args[0]}`",
                "`python -X importtime`, top-level imports summed",
                stat,
                "Python start-up (`python -c pass`, wall time)",
                python,
                stat.median / python.median,
                f"{stat.median * 1000:.0f} ms of imports",
                "no aiohttp, jinja2, apscheduler, aiosmtplib, prometheus_client",
                not heavy,
                [f"imported {', '.join(sorted(heavy))}"] if heavy else [],
            )
        )
    daemon = ["-c", "import service.daemon"]
    stat = Stat([_import_seconds(daemon) for _ in range(repeat)], "s")
    rows.append(
        Row(
            "9",
            "Imports of `staywatch run` (`import service.daemon`)",
            "`python -X importtime`, top-level imports summed",
            stat,
            "Python start-up (`python -c pass`, wall time)",
            python,
            stat.median / python.median,
            f"{stat.median * 1000:.0f} ms of imports",
            "-",
            None,
        )
    )
    ctx.command("python -X importtime -m service COMMAND -c CONFIG  # summed top-level imports")
    return rows
