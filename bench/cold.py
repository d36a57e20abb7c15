"""1. Cold start and 2. re-plan after editing one person."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bench.common import Context, Row, Stat, run_worker
from bench.workload import Workload, write

#: APScheduler adds ~800 jobs a second: a sample this big gives its rate.
APSCHEDULER_SAMPLE = 2000


def sizes(ctx: Context) -> list[int]:
    """The workload sizes (people)."""
    return [10, 40] if ctx.quick else [100, 2000, 10000]


def cold_start(ctx: Context) -> list[Row]:
    """Config parse + plan + store of every reminder into a new SQLite file."""
    rows: list[Row] = []
    base = ctx.folder("cold")
    configs: dict[int, Path] = {}
    for n in sizes(ctx):
        folder = base / f"n{n}"
        config = write(Workload(n, date.today()), folder)
        configs[n] = config
        ctx.command(f"python -m bench.workers cold-staywatch {config}")
        ours = [run_worker("cold-staywatch", str(config)) for _ in range(ctx.repeat)]
        stored = str(folder / "var" / "staywatch.db")
        floor = [
            run_worker("cold-floor", stored, str(folder / "floor.db")) for _ in range(ctx.repeat)
        ]
        sample = min(APSCHEDULER_SAMPLE, 300 if ctx.quick else APSCHEDULER_SAMPLE)
        aps = [
            run_worker("cold-apscheduler", stored, str(folder / "aps.db"), str(sample))
            for _ in range(ctx.repeat)
        ]
        reminders = ours[0]["reminders"]
        stay = Stat([r["seconds"] for r in ours], "s")
        floor_stat = Stat([r["seconds"] for r in floor], "s")
        aps_stat = Stat([r["seconds"] for r in aps], "s")
        faster = aps_stat.median / stay.median
        parse = sorted(r["parse"] for r in ours)[len(ours) // 2]
        workload = f"{n:,} people, {reminders:,} reminders"
        rate = reminders / stay.median
        rows.append(
            Row(
                "1",
                "Cold start vs APScheduler",
                workload,
                stay,
                "APScheduler 3.11, SQLAlchemyJobStore (SQLite), 1 DateTrigger job per reminder",
                aps_stat,
                faster,
                f"{faster:.0f}x faster",
                "≥ 25x faster",
                faster >= 25,
                [
                    f"staywatch {rate:,.0f} reminders/s (config parse {parse:.2f} s of it)",
                    f"APScheduler {aps[0]['rate']:.0f} jobs/s, measured on "
                    f"{aps[0]['sample']:,} jobs and extrapolated to {reminders:,}",
                ],
            )
        )
        within = stay.median / floor_stat.median
        rows.append(
            Row(
                "1",
                "Cold start vs floor",
                workload,
                stay,
                "bare SQLAlchemy Core bulk insert of the same rows",
                floor_stat,
                within,
                f"{within:.1f}x the floor",
                "≤ 10x the floor",
                within <= 10,
            )
        )
        ctx.series.setdefault("staywatch cold start", []).append((n, stay.median))
        ctx.series.setdefault("SQLAlchemy bulk insert (floor)", []).append((n, floor_stat.median))
        ctx.series.setdefault("APScheduler jobs (extrapolated)", []).append((n, aps_stat.median))
    ctx.shared["cold_configs"] = configs
    return rows


def replan_one(ctx: Context) -> list[Row]:
    """Edit one person among N, re-plan: time and rows written."""
    configs: dict[int, Path] = ctx.shared.get("cold_configs") or {}
    if not configs:
        cold_start_only_staywatch(ctx)
        configs = ctx.shared["cold_configs"]
    rows: list[Row] = []
    repeat = max(ctx.repeat, 5)
    for n, config in sorted(configs.items()):
        ctx.command(f"python -m bench.workers replan-one {config} {repeat}")
        result = run_worker("replan-one", str(config), str(repeat))
        rounds = result["rounds"]
        stat = Stat([r["seconds"] for r in rounds], "s")
        ctx.series.setdefault("re-plan one person", []).append((n, stat.median))
        if n != max(configs):
            continue
        aps = run_worker(
            "replan-apscheduler",
            str(config),
            str(config.parent / "aps-replan.db"),
            str(repeat),
            "2000",
        )
        aps_stat = Stat(aps["times"], "s")
        touched = {p for r in rounds for p in r["people_touched"]}
        changed = max(r["reminder_rows_changed"] for r in rounds)
        only_one = touched <= {result["person"]}
        ok = stat.median < 0.1 and only_one
        rows.append(
            Row(
                "2",
                "Re-plan after editing one person",
                f"{n:,} people, {rounds[0]['stored_reminders']:,} stored reminders",
                stat,
                f"APScheduler: remove + re-add that person's {aps['jobs']} jobs",
                aps_stat,
                aps_stat.median / stat.median,
                f"{aps_stat.median / stat.median:.1f}x faster",
                "< 100 ms, only that person's rows",
                ok,
                [
                    f"rows written per edit: {changed} reminder rows, all of "
                    f"{result['person']}"
                    + ("" if only_one else f" (ALSO: {sorted(touched - {result['person']})})")
                    + f"; {rounds[0]['rows_written']} including the plan fingerprint",
                ],
            )
        )
    return rows


def cold_start_only_staywatch(ctx: Context) -> None:
    """Build the stores re-plan needs when the cold-start benchmark was not run."""
    base = ctx.folder("cold")
    configs: dict[int, Path] = {}
    for n in sizes(ctx):
        config = write(Workload(n, date.today()), base / f"n{n}")
        run_worker("cold-staywatch", str(config))
        configs[n] = config
    ctx.shared["cold_configs"] = configs
