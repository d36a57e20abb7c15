"""7. The read-only commands over 100k stored reminders; ``upcoming`` against ``remind -n``."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime
from pathlib import Path

from bench.common import STAYWATCH, Context, Row, Stat, env_for_bench, tool
from bench.restart import PEOPLE, start_daemon, stored
from bench.workload import Workload, write

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _timed(cmd: list[str], repeat: int, out: Path) -> list[float]:
    times = []
    env = env_for_bench()
    for _ in range(repeat + 1):  # the first run warms the page cache and is dropped
        with out.open("wb") as sink:
            started = time.perf_counter()
            subprocess.run(cmd, stdout=sink, stderr=subprocess.PIPE, check=True, env=env)
            times.append(time.perf_counter() - started)
    return times[1:]


def remind_file(rows: list[dict[str, str]], path: Path) -> None:
    """The same reminders as ``REM`` lines, one per reminder, at their local due time."""
    lines = []
    for row in rows:
        due = datetime.fromisoformat(row["due"])
        lines.append(
            f"REM {due.day} {MONTHS[due.month - 1]} {due.year} AT {due:%H:%M} "
            f"MSG {row['person']} {row['deadline']} {row['date']} ({row['key']})"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def upcoming(ctx: Context) -> list[Row]:
    """Wall time of the CLI over the restart benchmark's store."""
    config: Path | None = ctx.shared.get("restart_config")
    folder = ctx.work / "cli"
    folder.mkdir(parents=True, exist_ok=True)
    if config is None:
        people = 30 if ctx.quick else PEOPLE
        config = write(Workload(people, datetime.now().date()), ctx.folder("cli-store"))
        start_daemon(config, config.parent / "first.log", timeout=300)
    rows_stored = stored(config.parent / "var" / "staywatch.db")
    repeat = max(ctx.repeat, 5)
    cmd = [STAYWATCH, "upcoming", "--days", "30", "-c", str(config)]
    ours = Stat(_timed(cmd, repeat, folder / "upcoming.txt"), "s")
    printed = len((folder / "upcoming.txt").read_text().splitlines()) - 1
    ctx.command(f"staywatch upcoming --days 30 -c {config} > upcoming.txt")
    remind = tool("remind")
    notes = [f"{printed:,} reminders printed (rich-compatible plain table when not a terminal)"]
    if remind is None:
        ctx.skipped.append("7. remind baseline: remind is not installed")
        theirs = None
        ratio = None
    else:
        listed = subprocess.run(
            [*cmd, "--json"], capture_output=True, text=True, check=True, env=env_for_bench()
        ).stdout
        rem = folder / "reminders.rem"
        remind_file(json.loads(listed), rem)
        theirs = Stat(_timed([remind, "-n", str(rem)], repeat, folder / "remind.txt"), "s")
        ratio = ours.median / theirs.median
        ctx.command(f"remind -n {rem}  # the same {printed:,} reminders as REM lines")
    met = ours.median < 0.4 and (ratio is None or ratio <= 15)
    others = [_other(ctx, config, args, repeat, folder, rows_stored) for args in OTHERS]
    return [
        Row(
            "7",
            "CLI `upcoming --days 30`",
            f"{rows_stored:,} stored reminders",
            ours,
            "`remind -n` over the same reminders",
            theirs,
            ratio,
            f"{ratio:.1f}x remind" if ratio is not None else "-",
            "< 0.4 s and ≤ 15x remind",
            met,
            notes,
        ),
        *others,
    ]


#: The other read-only commands, each under 0.4 s over the same store.
OTHERS = (("deadlines",), ("status",), ("feed-url", "p00001"), ("check",))


def _other(
    ctx: Context, config: Path, args: tuple[str, ...], repeat: int, folder: Path, stored: int
) -> Row:
    cmd = [STAYWATCH, *args, "-c", str(config)]
    ours = Stat(_timed(cmd, repeat, folder / f"{args[0]}.txt"), "s")
    ctx.command(f"staywatch {' '.join(args)} -c {config} > {args[0]}.txt")
    return Row(
        "7",
        f"CLI `{' '.join(args)}`",
        f"{stored:,} stored reminders",
        ours,
        "-",
        None,
        None,
        "-",
        "< 0.4 s",
        ours.median < 0.4,
        ["config files unchanged since the last command (remembered facts, see README)"],
    )
