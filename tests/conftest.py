from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.smtp",
    "tests.fixtures.web",
    "tests.fixtures.daemon",
    "tests.fixtures.receiver",
]


@pytest.fixture(autouse=True)
def _private_cli_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test remembers configs in its own folder (see service.configcache)."""
    monkeypatch.setenv("STAYWATCH_CACHE_DIR", str(tmp_path_factory.mktemp("cli-cache")))
