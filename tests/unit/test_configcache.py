"""Remembered configs: kept only for the same files, day and code, and only the user's own."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from service import configcache
from service.config import load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example.toml"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    target = tmp_path / "staywatch.toml"
    shutil.copy(EXAMPLE, target)
    return target


def test_a_remembered_config_equals_a_validated_one(example: Path) -> None:
    first = configcache.load_config_cached(example)
    again = configcache.load_config_cached(example)
    assert again is not first  # unpickled from the entry
    assert again == load_config(example) == first
    assert again.path == example.absolute()
    configcache.keep(again, "facts-test", "x", {"answer": 42})
    assert configcache.lookup("facts-test", example, "x") == {"answer": 42}
    assert configcache.lookup("facts-test", example, "y") is None


def test_other_code_another_day_or_an_edit_is_not_served(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = configcache.load_config_cached(example)
    configcache.keep(config, "facts-test", "", "kept")
    assert configcache.lookup("facts-test", example, "") == "kept"
    monkeypatch.setattr(configcache, "code_version", lambda: "another version")
    assert configcache.lookup("facts-test", example, "") is None
    monkeypatch.undo()
    example.write_text(example.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert configcache.lookup("facts-test", example, "") is None


def test_nothing_is_kept_when_turned_off_and_foreign_entries_are_ignored(
    example: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STAYWATCH_CACHE", "0")
    config = configcache.load_config_cached(example)
    configcache.keep(config, "facts-test", "", "kept")
    assert configcache.lookup("facts-test", example, "") is None
    monkeypatch.delenv("STAYWATCH_CACHE")
    folder = tmp_path / "shared-cache"
    monkeypatch.setenv("STAYWATCH_CACHE_DIR", str(folder))
    config = configcache.load_config_cached(example)
    configcache.keep(config, "facts-test", "", "kept")
    assert configcache.lookup("facts-test", example, "") == "kept"
    os.chmod(folder, 0o777)  # anyone could have written it: not read
    assert configcache.lookup("facts-test", example, "") is None
