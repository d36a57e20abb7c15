from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.smtp",
    "tests.fixtures.web",
    "tests.fixtures.daemon",
    "tests.fixtures.receiver",
]
