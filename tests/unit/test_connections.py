"""The HTTP server's connection limits (service.connections): how many connections fit
under an open-file limit, and accept errors logged once a minute."""

from __future__ import annotations

import asyncio
import errno
import logging
from typing import Any

import pytest

from service.connections import (
    MAX_CONNECTIONS,
    MIN_CONNECTIONS,
    RESERVED_FDS,
    accept_error_handler,
    server_limits,
)


@pytest.mark.parametrize("limit", [64, 128, 256, 1024, 4096, 8192, 65536])
@pytest.mark.parametrize("concurrency", [1, 4, 64])
def test_connections_and_the_accept_burst_leave_the_reserve_free(
    limit: int, concurrency: int
) -> None:
    limits = server_limits(limit, concurrency)
    assert MIN_CONNECTIONS <= limits.cap <= MAX_CONNECTIONS
    assert limits.backlog >= 4
    reserve = RESERVED_FDS + 2 * concurrency
    if limit - reserve >= MIN_CONNECTIONS + 4 * 4:  # room enough for the rules to hold
        assert limits.cap + limits.backlog + reserve <= limit


def test_accept_errors_are_logged_once_a_minute_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    passed: list[dict[str, Any]] = []
    handler = accept_error_handler(
        lambda loop, context: passed.append(context), clock=lambda: now[0]
    )
    loop = asyncio.new_event_loop()
    try:
        error = OSError(errno.EMFILE, "Too many open files")
        context = {"message": "socket.accept() out of system resource", "exception": error}
        with caplog.at_level(logging.INFO, logger="service.connections"):
            for _ in range(1000):
                handler(loop, context)
            now[0] += 61
            handler(loop, context)
            handler(loop, {"message": "something else", "exception": ValueError("x")})
    finally:
        loop.close()
    lines = [r for r in caplog.records if r.name == "service.connections"]
    assert [r.getMessage() for r in lines] == [
        "HTTP: cannot accept connections: Too many open files; answering again once files "
        "free up (1 time(s) since the last such line)",
        "HTTP: cannot accept connections: Too many open files; answering again once files "
        "free up (1000 time(s) since the last such line)",
    ]
    assert all(r.exc_info is None and r.levelno == logging.ERROR for r in lines)
    assert [c["message"] for c in passed] == ["something else"]
