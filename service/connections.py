"""Limits on the HTTP server's connections, so that idle clients cannot starve delivery.

A client that connects and sends nothing (or half a request) holds a file
descriptor. Enough of them use up the process's open-file limit, and then the
database, the mail server and the Maildir cannot be opened either. So:

- a connection must send its first request's headers within
  :data:`HEADER_TIMEOUT` seconds, or it is closed (later requests on the same
  connection are bounded by aiohttp's keep-alive timeout);
- at most :func:`server_limits` connections are open at once, which keeps
  a reserve of descriptors below the open-file limit; at the cap, a new
  connection closes the oldest one that has not sent a request yet (so an
  answer to a real request, ``/healthz`` or a calendar, still gets through),
  or is closed itself when every connection is busy.

:class:`ConnectionGuard` wraps the aiohttp protocol of each connection; it
forwards everything and only watches for the end of the first request's headers.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: Seconds a new connection has to send its first request's headers.
HEADER_TIMEOUT = 10.0
#: Seconds an idle keep-alive connection stays open between requests.
KEEPALIVE_TIMEOUT = 15.0
#: File descriptors kept free for the database, the mail server, the Maildir,
#: the config watcher and the log, besides two per parallel SMTP connection.
RESERVED_FDS = 64
#: The most connections served at once, however high the open-file limit.
MAX_CONNECTIONS = 1024
#: The fewest, however low the limit (then the reserve shrinks).
MIN_CONNECTIONS = 8
#: How often an ongoing problem (refused connections, accept errors) is logged at most.
LOG_EVERY_SECONDS = 60.0


def open_file_limit() -> int:
    """The soft open-file limit, raised to the hard limit (up to 65536) where it is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return soft if soft != resource.RLIM_INFINITY else 65536


@dataclass(frozen=True)
class ServerLimits:
    """How many connections the server holds, and how many it accepts in one go."""

    #: Connections open at once.
    cap: int
    #: The listen backlog, which is also how many connections asyncio accepts at once
    #: (each holds a descriptor before the cap can act on it).
    backlog: int
    #: The open-file limit these were worked out for.
    limit: int


def server_limits(limit: int, mail_concurrency: int) -> ServerLimits:
    """Connections that fit under ``limit`` open files, the reserve kept."""
    room = limit - RESERVED_FDS - 2 * mail_concurrency
    backlog = max(4, min(128, room // 4))
    cap = max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, room - backlog))
    return ServerLimits(cap, backlog, limit)


@dataclass
class RateLimitedLog:
    """Logs one line for a repeated event at most every :data:`LOG_EVERY_SECONDS`,
    saying how often it happened meanwhile."""

    logger: logging.Logger
    level: int
    every: float = LOG_EVERY_SECONDS
    clock: Callable[[], float] = time.monotonic
    _last: float = field(default=float("-inf"), repr=False)
    _count: int = field(default=0, repr=False)

    def __call__(self, message: str, *args: object) -> None:
        """Count one event; log ``message % args`` (with the count) when it is time."""
        self._count += 1
        now = self.clock()
        if now - self._last < self.every:
            return
        times = self._count
        self._last, self._count = now, 0
        self.logger.log(
            self.level, "%s (%d time(s) since the last such line)", message % args, times
        )


class ConnectionGuard:
    """Counts the open connections and enforces the header timeout and the cap."""

    def __init__(self, cap: int, *, header_timeout: float = HEADER_TIMEOUT) -> None:
        self.cap = cap
        self.header_timeout = header_timeout
        #: Connections that have not finished their first request's headers, oldest first.
        self._waiting: dict[_Guarded, None] = {}
        self._open: set[_Guarded] = set()
        self.timed_out = 0
        self.evicted = 0
        self.refused = 0
        self._log_refused = RateLimitedLog(log, logging.WARNING)
        self._log_evicted = RateLimitedLog(log, logging.WARNING)

    @property
    def open(self) -> int:
        """Connections open now."""
        return len(self._open)

    def wrap(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for ``loop.create_server`` around aiohttp's ``factory``."""
        return lambda: _Guarded(factory, self)

    def _admit(self, connection: _Guarded) -> bool:
        if len(self._open) >= self.cap:
            if not self._waiting:
                self.refused += 1
                self._log_refused(
                    "HTTP: %d connections open, all busy; refusing a new one", len(self._open)
                )
                return False
            self.evicted += 1
            self._log_evicted(
                "HTTP: %d connections open, the most allowed; closing the oldest one that "
                "sent no request",
                len(self._open),
            )
            oldest = next(iter(self._waiting))
            # Forgotten now: its descriptor is only closed on the loop's next round.
            self._gone(oldest)
            oldest.abort()
        self._open.add(connection)
        self._waiting[connection] = None
        return True

    def _started(self, connection: _Guarded) -> None:
        self._waiting.pop(connection, None)

    def _gone(self, connection: _Guarded) -> None:
        self._waiting.pop(connection, None)
        self._open.discard(connection)


class _Guarded(asyncio.Protocol):
    """One connection: forwards to aiohttp's protocol, watches the first request's headers."""

    def __init__(self, factory: Callable[[], asyncio.Protocol], guard: ConnectionGuard) -> None:
        self._factory = factory
        self._guard = guard
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tail = b""
        self._waiting = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Admit the connection (or close it at once) and hand it to aiohttp."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if not self._guard._admit(self):
            transport.abort()
            return
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._guard.header_timeout, self._expire)
        self._inner = self._factory()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        """Pass the bytes on; note when the first request's headers are complete."""
        if self._waiting:
            seen = self._tail + data
            if b"\r\n\r\n" in seen or b"\n\n" in seen:
                self._request_started()
            else:
                self._tail = seen[-3:]
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        """As aiohttp says."""
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection and tell aiohttp."""
        self._request_started()
        self._guard._gone(self)
        if self._inner is not None:
            self._inner.connection_lost(exc)
            self._inner = None

    def pause_writing(self) -> None:
        """As aiohttp says."""
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        """As aiohttp says."""
        if self._inner is not None:
            self._inner.resume_writing()

    def abort(self) -> None:
        """Close at once (no request was sent, so there is nothing to finish)."""
        if self._transport is not None:
            self._transport.abort()

    def _request_started(self) -> None:
        if self._waiting:
            self._waiting = False
            self._tail = b""
            self._guard._started(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        if self._waiting:
            self._guard.timed_out += 1
            self._guard._gone(self)
            self.abort()


def accept_error_handler(
    previous: Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object] | None,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[asyncio.AbstractEventLoop, dict[str, Any]], None]:
    """A loop exception handler that logs failed accepts (out of file descriptors)
    once a minute without a traceback, and passes everything else on."""
    logged = RateLimitedLog(log, logging.ERROR, clock=clock)

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message", ""))
        if message.startswith("socket.accept() out of system resource"):
            error = context.get("exception")
            reason = getattr(error, "strerror", None) or type(error).__name__
            logged(
                "HTTP: cannot accept connections: %s; answering again once files free up", reason
            )
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    return handle
