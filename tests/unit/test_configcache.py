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


def test_a_channel_secret_never_reaches_the_cache_and_a_new_one_is_seen(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "123456789:AAHsecretBotTokenNeverOnDisk"
    url_file = example.parent / "telegram.url"
    url_file.write_text(f"tgram://{token}/{{to}}\n", encoding="utf-8")
    example.write_text(
        example.read_text(encoding="utf-8")
        + '\n[[channel]]\nid = "telegram"\nurl_file = "telegram.url"\n',
        encoding="utf-8",
    )
    config = configcache.load_config_cached(example)
    assert token in config.channel_url("telegram")
    configcache.keep(config, "facts-test", "", "kept")
    folder = configcache.cache_dir()
    assert folder is not None
    stored = [p for p in folder.rglob("*") if p.is_file()]
    assert all(token.encode() not in p.read_bytes() for p in stored)
    assert configcache.lookup("facts-test", example, "") is None
    # A rotated token is read on the next run, though no config file changed.
    rotated = "123456789:AAHrotatedTokenAfterALeak"
    url_file.write_text(f"tgram://{rotated}/{{to}}\n", encoding="utf-8")
    assert rotated in configcache.load_config_cached(example).channel_url("telegram")


def test_the_units_cache_directory_is_used(
    example: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("STAYWATCH_CACHE_DIR", raising=False)
    monkeypatch.setenv("CACHE_DIRECTORY", str(tmp_path / "unit-cache"))
    assert configcache.cache_dir() == tmp_path / "unit-cache"
