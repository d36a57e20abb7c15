"""`make bench QUICK=1` (``python -m bench --quick``) runs every benchmark at tiny sizes.

Not a timed test: it only checks that the suite and its report still work. The
report goes to a temporary folder, never to docs/benchmarks.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)
def test_quick_bench_runs_and_writes_its_report(tmp_path: Path) -> None:
    docs = ROOT / "docs" / "benchmarks.md"
    before = docs.read_bytes() if docs.exists() else None
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    assert "| # | Benchmark |" in report
    assert "QUICK" in report
    results = json.loads((tmp_path / "results.json").read_text())
    targets = {row["target"] for row in results["rows"]}
    # Feed serving and the remind baseline need nginx, wrk and remind; without them
    # those rows are skipped with a reason in the report, the rest must be there.
    assert {"1", "2", "3", "4", "5"} <= targets
    assert (docs.read_bytes() if docs.exists() else None) == before
