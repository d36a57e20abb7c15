"""``python -m bench [--quick] [--only NAME] [--out DIR]``: run the benchmarks, write the report."""

from __future__ import annotations

import argparse
import compileall
import json
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import cli, cold, feeds, mail, process, restart
from bench.common import ROOT, Context, Row

CASES: dict[str, Callable[[Context], list[Row]]] = {
    "cold": cold.cold_start,
    "replan": cold.replan_one,
    "restart": restart.restart,
    "cli": cli.upcoming,
    "process": process.cold_process,
    "imports": process.imports,
    "burst": mail.burst,
    "latency": mail.latency,
    "feed": feeds.serve,
    "feedbuild": feeds.build,
}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks and write results.json, benchmarks.md and the plot."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke mode: tiny sizes, short runs")
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help=f"one of {', '.join(CASES)}"
    )
    parser.add_argument("--out", type=Path, help="where to write the report")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (>= 3)")
    args = parser.parse_args(argv)
    names = [n for part in args.only for n in part.split(",") if n] or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(CASES)}")
    full = not args.quick and not args.only
    out = args.out or (ROOT / "docs" if full else ROOT / "bench" / "out" / "report")
    out.mkdir(parents=True, exist_ok=True)
    work = ROOT / "bench" / "out" / ("quick" if args.quick else "work")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ctx = Context(quick=args.quick, repeat=max(args.repeat, 1), work=work, out=out)
    # Bytecode as `pip install` leaves it: with PYTHONDONTWRITEBYTECODE set (as in the
    # shipped unit) a checkout's modules would otherwise be compiled at every start,
    # while the baselines' packages were compiled when they were installed.
    compileall.compile_dir(ROOT / "service", quiet=1)
    started = time.monotonic()
    rows: list[Row] = []
    failures: list[str] = []
    for name in names:
        t0 = time.monotonic()
        print(f"== {name}", flush=True)
        try:
            got = CASES[name](ctx)
        except Exception as exc:
            traceback.print_exc()
            failures.append(f"{name}: {exc}")
            continue
        rows.extend(got)
        for row in got:
            print(f"   {row.name} [{row.workload}]: {row.ratio_text}; met={row.met}", flush=True)
        print(f"   ({time.monotonic() - t0:.0f} s)", flush=True)
    elapsed = time.monotonic() - started
    from bench import report

    report.write(ctx, rows, out, elapsed=elapsed, failures=failures, when=datetime.now(UTC))
    results = json.dumps({"rows": [r.as_json() for r in rows], "series": ctx.series}, indent=1)
    (work / "results.json").write_text(results + "\n")
    if out.resolve() != (ROOT / "docs").resolve():
        (out / "results.json").write_text(results + "\n")
    print(f"wrote {out} in {elapsed:.0f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
