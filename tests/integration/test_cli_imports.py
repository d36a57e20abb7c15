"""The read-only commands start quickly: they never import the daemon's libraries.

Each command runs in a fresh interpreter (first with nothing remembered, then
with the config's facts cached) and reports which modules it loaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example.toml"

#: What only the daemon, mail delivery and the web pages need.
HEAVY = ("aiohttp", "jinja2", "apscheduler", "aiosmtplib", "prometheus_client")

#: Runs the CLI like the console script, then prints the heavy modules it loaded.
WRAPPER = """
import json, sys
from service.cli import main
try:
    main(sys.argv[1:], prog_name="staywatch")
except SystemExit:
    pass
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))
print("\\nloaded:" + json.dumps(heavy))
"""

COMMANDS = [
    ["--help"],
    ["check"],
    ["upcoming", "--days", "30"],
    ["deadlines"],
    ["status"],
    ["feed-url", "wang-fang"],
]


def _loaded(args: list[str], config: Path, cache: Path) -> list[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["STAYWATCH_CACHE_DIR"] = str(cache)
    code = f"HEAVY = {HEAVY!r}\n{WRAPPER}"
    done = subprocess.run(
        [sys.executable, "-c", code, *args, "-c", str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=config.parent,
        timeout=120,
        check=False,
    )
    marker = done.stdout.rfind("\nloaded:")
    assert marker >= 0, done.stderr
    loaded: list[str] = json.loads(done.stdout[marker + len("\nloaded:") :])
    return loaded


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_read_only_commands_do_not_import_the_daemons_libraries(
    args: list[str], tmp_path: Path
) -> None:
    config = tmp_path / "staywatch.toml"
    shutil.copy(EXAMPLE, config)
    cache = tmp_path / "cache"
    # Before a daemon ran (no database), with a database, and again with the facts cached.
    assert _loaded(args, config, cache) == [], "before any database"
    subprocess.run(
        [sys.executable, "-c", WRAPPER_CREATE, str(config)],
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert _loaded(args, config, cache) == [], "first run over the store"
    assert _loaded(args, config, cache) == [], "with the config remembered"


#: Plans the config into its store as a daemon start does.
WRAPPER_CREATE = """
import asyncio, sys
from datetime import UTC, datetime
from service.config import load_config
from service.store import Store
from service.sync import replan

async def main():
    config = load_config(sys.argv[1])
    store = await Store.open(config.database_url)
    try:
        await replan(config, store, datetime.now(UTC))
    finally:
        await store.close()

asyncio.run(main())
"""


#: What the daemon needs only once asked for: a calendar, a QR code, a CSV import,
#: an address to check (a config read from the cache checks none).
LATER = ("icalendar", "segno", "tomlkit", "email_validator", "service.importer")


def test_the_daemon_leaves_what_it_needs_later_until_then() -> None:
    # Every one of these is time before /healthz answers and before READY=1.
    code = (
        "import sys, json; import service.daemon; "
        f"print(json.dumps(sorted(set(sys.modules) & set({LATER!r}))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout) == []
