"""The read-only commands' quick path gives what the full path gives, and sees every edit.

The full path validates the config and reads through the store; the quick path
(service.configcache, service.quickread) reads remembered facts and the SQLite
file. Both run here over the same store, in states a running daemon leaves
behind: sent, failed, retried, leased, skipped and acknowledged reminders.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import service.config
from service.cli import main
from service.config import load_config
from service.store import Store
from service.sync import replan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example.toml"

EXTRA_PERSON = """
[[person]]
id = "included-person"
name = "Included Person"
email = ["included@example.org"]

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = {day}
"""

SECOND_DEADLINE = """
  [[person.deadline]]
  id = "visa2"
  kind = "stay_expiry"
  date = {day}
"""

COMMANDS = [
    ("upcoming", "--days", "60"),
    ("upcoming", "--days", "400", "--json"),
    ("upcoming", "--days", "30", "--person", "wang-fang"),
    ("upcoming", "--days", "30", "--json"),
    ("upcoming", "--days", "30", "--from", "2020-01-01"),
    ("status",),
    ("status", "--json"),
    ("feed-url", "wang-fang"),
    ("feed-url", "--all"),
    ("check",),
    ("deadlines",),
    ("deadlines", "--json", "--person", "included-person"),
]


@pytest.fixture
def deployed(tmp_path: Path) -> Path:
    """The example config with an included people file, planned into its store like a daemon."""
    folder = tmp_path / "deploy"
    folder.mkdir()
    config_path = folder / "staywatch.toml"
    config_path.write_text(
        'include = ["people/*.toml"]\n' + EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8"
    )
    (folder / "people").mkdir()
    visa = (datetime.now(UTC) + timedelta(days=40)).date()
    (folder / "people" / "extra.toml").write_text(EXTRA_PERSON.format(day=visa))
    asyncio.run(_plan(config_path))
    _vary(folder / "var" / "staywatch.db")
    return config_path


async def _plan(path: Path) -> None:
    config = load_config(path)
    store = await Store.open(config.database_url)
    try:
        await replan(config, store, datetime.now(UTC))
    finally:
        await store.close()


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _vary(db: Path) -> None:
    """Give rows of the plan the states a daemon leaves behind."""
    now = datetime.now(UTC)
    conn = sqlite3.connect(db)
    try:
        keys = [k for (k,) in conn.execute('SELECT "key" FROM reminders ORDER BY due, "key"')]
        assert len(keys) > 40
        updates = [
            ("status = 'sent', sent_at = ?", [_stamp(now)]),
            ("status = 'failed', reason = 'smtp 550 mailbox unavailable'", []),
            ("next_attempt = ?, attempts = 2", [_stamp(now + timedelta(days=3))]),
            ("claimed_until = ?, claimed_by = 'other'", [_stamp(now + timedelta(minutes=5))]),
            ("status = 'skipped', reason = 'removed from config'", []),
        ]
        for index, key in enumerate(keys[:40]):
            sql, args = updates[index % len(updates)]
            conn.execute(
                f'UPDATE reminders SET {sql}, updated_at = ? WHERE "key" = ?',
                [*args, _stamp(now - timedelta(seconds=index)), key],
            )
        # Targets as the dispatcher stores them: the person's own email and a Cc copy
        # of a sent reminder, and a failed one with its chat channel.
        for key, channel, target, status in (
            (keys[0], "email", "", "sent"),
            (keys[0], "email", "office@example.org", "failed"),
            (keys[1], "email", "", "failed"),
            (keys[1], "hook", "wang", "failed"),
        ):
            conn.execute(
                'INSERT INTO targets ("key", channel, target, status, attempts, created_at, '
                "updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
                (key, channel, target, status, _stamp(now), _stamp(now)),
            )
        conn.execute(
            "INSERT OR REPLACE INTO meta (\"key\", value) VALUES ('heartbeat', ?)",
            (now.isoformat(),),
        )
        conn.commit()
    finally:
        conn.close()


def _run(config: Path, args: tuple[str, ...], cache: str | None) -> str:
    env = {"STAYWATCH_CACHE": "0"} if cache is None else {"STAYWATCH_CACHE_DIR": cache}
    result = CliRunner().invoke(main, [*args, "-c", str(config)], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def _refuse(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the config was validated")


def test_done_then_every_read_matches_the_full_path(
    deployed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = str(tmp_path / "cache")
    assert _run(deployed, ("done", "wang-fang/nhis"), None).startswith("Acknowledged")
    full = {args: _run(deployed, args, None) for args in COMMANDS}
    for args in COMMANDS:
        assert _run(deployed, args, cache) == full[args], args  # fills the cache
    # Now nothing needs validating, except a window beyond the stored plan.
    monkeypatch.setattr(service.config, "load_config", _refuse)
    for args in COMMANDS:
        if args[2:3] == ("400",) or "--from" in args:
            continue
        assert _run(deployed, args, cache) == full[args], args


@pytest.mark.parametrize("edited", ["main", "included", "added", "removed"])
def test_an_edit_to_any_config_file_is_seen(deployed: Path, tmp_path: Path, edited: str) -> None:
    cache = str(tmp_path / "cache")
    reads = [("deadlines",), ("check",), ("upcoming", "--days", "60"), ("status", "--json")]
    before = {args: _run(deployed, args, cache) for args in reads}
    people = deployed.parent / "people"
    if edited == "main":
        day = (datetime.now(UTC) + timedelta(days=30)).date()
        with deployed.open("a", encoding="utf-8") as handle:  # one more for the last person
            handle.write(SECOND_DEADLINE.format(day=day))
    elif edited == "included":
        extra = people / "extra.toml"
        day = (datetime.now(UTC) + timedelta(days=20)).date()
        extra.write_text(EXTRA_PERSON.format(day=day) + SECOND_DEADLINE.format(day=day))
    elif edited == "added":
        day = (datetime.now(UTC) + timedelta(days=25)).date()
        (people / "more.toml").write_text(
            EXTRA_PERSON.format(day=day).replace("included-person", "second-person")
        )
    else:
        (people / "extra.toml").unlink()
    for args in reads:
        after = _run(deployed, args, cache)
        assert after == _run(deployed, args, None), (edited, args)
        if args != ("status", "--json"):
            assert after != before[args], (edited, args)


def test_a_broken_edit_is_reported_not_served_from_the_cache(
    deployed: Path, tmp_path: Path
) -> None:
    cache = str(tmp_path / "cache")
    _run(deployed, ("check",), cache)
    _run(deployed, ("upcoming",), cache)
    extra = deployed.parent / "people" / "extra.toml"
    extra.write_text(extra.read_text().replace("stay_expiry", "no_such_kind"))
    for args in (("check",), ("upcoming",), ("deadlines",)):
        result = CliRunner().invoke(
            main, [*args, "-c", str(deployed)], env={"STAYWATCH_CACHE_DIR": cache}
        )
        assert result.exit_code == 1, args
        assert "extra.toml" in result.output, args
    status = _run(deployed, ("status",), cache)
    assert "config:      INVALID" in status


def test_a_newer_schema_or_a_missing_database_takes_the_full_path(
    deployed: Path, tmp_path: Path
) -> None:
    cache = str(tmp_path / "cache")
    status = _run(deployed, ("status", "--json"), None)
    assert _run(deployed, ("status", "--json"), cache) == status
    db = deployed.parent / "var" / "staywatch.db"
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = 'from_the_future'")
    conn.commit()
    conn.close()
    for args in (("upcoming",), ("status",), ("feed-url", "wang-fang")):
        quick = CliRunner().invoke(
            main, [*args, "-c", str(deployed)], env={"STAYWATCH_CACHE_DIR": cache}
        )
        full = CliRunner().invoke(main, [*args, "-c", str(deployed)], env={"STAYWATCH_CACHE": "0"})
        assert (quick.exit_code, quick.output) == (full.exit_code, full.output), args
    shutil.rmtree(deployed.parent / "var")
    assert _run(deployed, ("status", "--json"), cache) == _run(deployed, ("status", "--json"), None)
