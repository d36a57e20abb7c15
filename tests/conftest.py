from __future__ import annotations

import os
import shutil
import tempfile

import pytest

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.smtp",
    "tests.fixtures.web",
    "tests.fixtures.daemon",
    "tests.fixtures.receiver",
]


_SESSION_CACHE = tempfile.mkdtemp(prefix="staywatch-test-cache-")


def pytest_configure(config: pytest.Config) -> None:
    """Fixtures wider than a test (a module's daemon) remember configs apart from the user's."""
    os.environ["STAYWATCH_CACHE_DIR"] = _SESSION_CACHE


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


@pytest.fixture(autouse=True)
def _private_cli_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test remembers configs in its own folder (see service.configcache)."""
    monkeypatch.setenv("STAYWATCH_CACHE_DIR", str(tmp_path_factory.mktemp("cli-cache")))
