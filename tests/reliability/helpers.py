"""Shared tools of the reliability suite: configs at scale, a fault-injecting SMTP proxy,
file-descriptor and memory probes, Maildir readers and PostgreSQL databases for
subprocess daemons.

Everything listens on and connects to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import os
import random
import socket
import struct
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.fixtures.db import _admin, _run_apart

# -- configs -------------------------------------------------------------------------


def at_deadlines(at: datetime, count: int, remind: str = "PT0S") -> str:
    """``count`` custom deadlines ``d0``... at one instant (TOML)."""
    stamp = at.isoformat(timespec="seconds")
    return "".join(
        f'\n  [[person.deadline]]\n  id = "d{i}"\n  kind = "custom"\n  title = "Task {i}"\n'
        f'  at = {stamp}\n  remind = ["{remind}"]\n'
        for i in range(count)
    )


def people(count: int, deadlines: Callable[[int], str], prefix: str = "p") -> str:
    """``count`` people ``p00000``... each with the deadlines ``deadlines(i)`` gives (TOML)."""
    return "".join(
        f'\n[[person]]\nid = "{prefix}{i:05d}"\nname = "Person {i}"\n'
        f'email = ["{prefix}{i:05d}@example.org"]\n' + deadlines(i)
        for i in range(count)
    )


def service_config(
    *,
    database: str = "sqlite:///var/staywatch.db",
    mail: str = 'transport = "maildir"\nmaildir = "var/mail"\ntimeout = 1\n',
    port: int,
    body: str,
    timezone: str = "Asia/Seoul",
) -> str:
    """A whole config; ``mail`` is the body of the ``[mail]`` table."""
    return (
        f'[service]\ntimezone = "{timezone}"\nsend_time = "09:00"\n'
        f'database = "{database}"\nsecret_file = "var/secret"\n'
        f'\n[mail]\nfrom = "staywatch <staywatch@example.org>"\n{mail}'
        f'\n[feed]\nlisten = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n' + body
    )


def smtp_mail(host: str, port: int, timeout: float = 1, concurrency: int = 4) -> str:
    """The body of a ``[mail]`` table for a plain SMTP server."""
    return (
        f'transport = "smtp"\nhost = "{host}"\nport = {port}\nsecurity = "none"\n'
        f"timeout = {timeout}\nconcurrency = {concurrency}\n"
    )


# -- processes ---------------------------------------------------------------------


def open_fds(pid: int | None = None) -> int:
    """How many file descriptors the process has open."""
    return len(os.listdir(f"/proc/{pid or 'self'}/fd"))


def rss_bytes(pid: int | None = None) -> int:
    """The resident set size of the process."""
    for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


# -- mail ----------------------------------------------------------------------------


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


@dataclass
class MaildirScan:
    """What a Maildir's ``new/`` holds: keys delivered, how often, and broken files."""

    counts: Counter[str] = field(default_factory=Counter)
    message_ids: dict[str, set[str]] = field(default_factory=dict)
    partial: list[str] = field(default_factory=list)
    files: int = 0
    #: key -> when each copy was delivered (the file's mtime: Maildir delivery ends
    #: with the rename into new/, which keeps the time the file was written).
    delivered: dict[str, list[float]] = field(default_factory=dict)


def scan_maildir(maildir: Path) -> MaildirScan:
    """Read every file in ``new/``; a file that is not a whole message counts as partial."""
    scan = MaildirScan()
    folder = maildir / "new"
    if not folder.is_dir():
        return scan
    for path in folder.iterdir():
        scan.files += 1
        data = path.read_bytes()
        message = parse(data)
        key = message["X-Staywatch-Key"]
        boundary = message.get_boundary()
        # A whole message ends with the closing boundary of its multipart body.
        if key is None or boundary is None or f"--{boundary}--".encode() not in data[-200:]:
            scan.partial.append(path.name)
            continue
        scan.counts[str(key)] += 1
        scan.message_ids.setdefault(str(key), set()).add(str(message["Message-ID"]))
        scan.delivered.setdefault(str(key), []).append(path.stat().st_mtime)
    return scan


def count_maildir(maildir: Path) -> int:
    """How many files are in ``new/`` (cheap: no parsing)."""
    try:
        return len(os.listdir(maildir / "new"))
    except FileNotFoundError:
        return 0


# -- a fault-injecting SMTP proxy ------------------------------------------------------

Mode = Literal["pass", "silent", "reset_in_data", "drop_reply_after_dot"]


class FaultProxy:
    """A TCP proxy on 127.0.0.1 in front of an SMTP server that breaks connections on cue.

    ``choose(n)`` picks the mode of the n-th connection (from 0):

    - ``pass``: forward both ways;
    - ``silent``: accept and never answer (no greeting);
    - ``reset_in_data``: forward until the client has sent part of the message
      after DATA, then reset both sides (RST);
    - ``drop_reply_after_dot``: forward the whole message including the final
      ``.``, then reset the client instead of passing on the server's reply
      (the RFC 1047 window: the server has the message, the client does not know).

    ``refuse()`` stops listening (connections are refused) and ``listen()``
    starts again on the same port.
    """

    def __init__(self, upstream: tuple[str, int], choose: Callable[[int], Mode]) -> None:
        self.upstream = upstream
        self.choose = choose
        self.port = 0
        self.connections = 0
        self.modes: Counter[str] = Counter()
        self.open = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def refuse(self) -> None:
        """Close the listening socket: new connections are refused by the kernel."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def close(self) -> None:
        await self.refuse()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.open += 1
        mode = self.choose(self.connections)
        self.connections += 1
        self.modes[mode] += 1
        try:
            if mode == "silent":
                await reader.read()  # until the client gives up and closes
                return
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            try:
                await self._pipe(mode, reader, writer, up_reader, up_writer)
            finally:
                up_writer.close()
                with contextlib.suppress(OSError):
                    await up_writer.wait_closed()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self.open -= 1
            _reset(writer)
            self._tasks.discard(task)

    async def _pipe(
        self,
        mode: Mode,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        state = {"data": False, "body": 0, "dot": False}
        done = asyncio.Event()

        async def client_to_server() -> None:
            seen = b""
            while chunk := await reader.read(65536):
                if mode == "reset_in_data" and state["data"]:
                    # Part of the message reaches the server, then the line dies.
                    up_writer.write(chunk[: max(1, len(chunk) // 2)])
                    await up_writer.drain()
                    done.set()
                    return
                up_writer.write(chunk)
                await up_writer.drain()
                seen = (seen + chunk)[-16:]
                if not state["data"] and seen.upper().endswith(b"DATA\r\n"):
                    state["data"] = True
                    seen = b""
                elif state["data"] and seen.endswith(b"\r\n.\r\n"):
                    state["dot"] = True
            done.set()

        async def server_to_client() -> None:
            while chunk := await up_reader.read(65536):
                if mode == "drop_reply_after_dot" and state["dot"]:
                    done.set()  # the reply to the final dot never arrives
                    return
                writer.write(chunk)
                await writer.drain()
            done.set()

        tasks = [asyncio.create_task(client_to_server()), asyncio.create_task(server_to_client())]
        try:
            await done.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashing peer or middlebox would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@contextlib.asynccontextmanager
async def fault_proxy(
    upstream: tuple[str, int], choose: Callable[[int], Mode]
) -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy(upstream, choose)
    await proxy.listen()
    try:
        yield proxy
    finally:
        await proxy.close()


# -- PostgreSQL for subprocess daemons ------------------------------------------------


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (the daemon migrates it); dropped afterwards."""
    name = f"staywatch_rel_{uuid.uuid4().hex[:12]}"
    _run_apart(lambda: _admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{pg_url}/{name}"
    finally:
        _run_apart(lambda: _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pg_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query on a PostgreSQL database, run with psql-free asyncpg."""
    import asyncpg

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return _run_apart(run)


def pg_cluster() -> tuple[str, str]:
    """(version, name) of the local PostgreSQL cluster, e.g. ("15", "main")."""
    versions = sorted(os.listdir("/etc/postgresql"))
    version = versions[-1]
    names = sorted(os.listdir(f"/etc/postgresql/{version}"))
    return version, names[0]


def pg_ctl(action: Literal["start", "stop"]) -> None:
    version, name = pg_cluster()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action],
        check=True,
        capture_output=True,
        timeout=120,
    )


def seeded(name: str) -> random.Random:
    """A random generator seeded from ``STAYWATCH_SEED`` (default 2027) and ``name``."""
    return random.Random(f"{os.environ.get('STAYWATCH_SEED', '2027')}:{name}")


# -- the daemon in this test's event loop ------------------------------------------------


@dataclass
class LocalDaemon:
    """:class:`service.daemon.Daemon` running as a task in the test's loop."""

    path: Path
    port: int
    clock: Any = None
    daemon: Any = None
    task: asyncio.Task[int] | None = None

    async def start(self) -> None:
        from service.daemon import Daemon
        from tests.fixtures.web import poll

        self.daemon = Daemon(self.path, clock=self.clock)
        # Started means READY=1, as systemd sees it: the plan stored and the next
        # wake-up armed (/healthz answers earlier, while the plan is being stored).
        ready = asyncio.Event()
        self.daemon.notifier = _ReadyNotifier(ready)
        self.task = asyncio.create_task(self.daemon.run())
        await poll(self._answers, what="the daemon to answer /healthz", within=30)
        await poll(_is_set(ready, self.task), what="the daemon to send READY=1", within=30)

    async def _answers(self) -> bool:
        assert self.task is not None
        if self.task.done():
            raise AssertionError(f"the daemon stopped: {self.task.result()}")
        try:
            status, _ = await self.get_json("/healthz")
        except OSError:
            return False
        return status in (200, 503)

    async def get(self, path: str, method: str = "GET") -> tuple[int, bytes]:
        import aiohttp

        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"http://127.0.0.1:{self.port}{path}") as response,
        ):
            return response.status, await response.read()

    async def get_json(self, path: str) -> tuple[int, dict[str, Any]]:
        import json

        status, body = await self.get(path)
        return status, json.loads(body)

    async def stop(self) -> None:
        if self.daemon is None or self.task is None:
            return
        self.daemon._stop.set()
        assert await asyncio.wait_for(self.task, timeout=60) == 0
        self.daemon = self.task = None


def pause(seconds: float) -> None:
    """Let ``seconds`` of real time pass: for random moments and fixed outages, not events."""
    import time

    from tests.fixtures.daemon import wait_until

    until = time.monotonic() + seconds
    wait_until(lambda: time.monotonic() >= until, seconds + 5, "the moment", interval=0.05)


# -- what a crash may repeat -------------------------------------------------------------


class AcceptLog:
    """An aiosmtpd handler that takes ``delay`` seconds per message and logs each acceptance.

    ``accepted`` holds (epoch seconds, X-Staywatch-Key) for every message answered 250,
    in order, repeats included: the instant is taken just before the 250 goes out.
    """

    def __init__(self, delay: float = 0.5) -> None:
        import threading

        self.delay = delay
        self.accepted: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        with self._lock:
            self.accepted.append((time_now(), str(message["X-Staywatch-Key"])))
        return "250 2.0.0 Ok: queued"

    def snapshot(self) -> list[tuple[float, str]]:
        """A copy of ``accepted`` so far."""
        with self._lock:
            return list(self.accepted)


def time_now() -> float:
    """The wall clock, epoch seconds (comparable across processes)."""
    import time

    return time.time()


def repeated_after(
    accepted: list[tuple[float, str]], killed_at: float, margin: float = 1.0
) -> list[str]:
    """Keys first accepted ``margin`` seconds or more before ``killed_at`` and sent again after."""
    first: dict[str, float] = {}
    for at, key in accepted:
        first.setdefault(key, at)
    again = {key for at, key in accepted if at > killed_at}
    return sorted(k for k in again if first[k] <= killed_at - margin)


class CommitWatch:
    """Polls the database every ``every`` seconds and notes when each key was first ``sent``.

    The person's own delivery (``targets``, channel email, target ""): the instant a
    reader could first see its outcome committed, at most ``every`` late.
    """

    SQL = "SELECT key FROM targets WHERE status = 'sent' AND channel = 'email' AND target = ''"

    def __init__(self, url: str | Path, every: float = 0.02) -> None:
        import threading

        self.url = url
        self.every = every
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        if isinstance(self.url, Path):
            self._run_sqlite(self.url)
        else:
            asyncio.run(self._run_pg(self.url))

    def _note(self, keys: list[str]) -> None:
        now = time_now()
        for key in keys:
            self.seen.setdefault(key, now)

    def _run_sqlite(self, database: Path) -> None:
        import sqlite3

        conn: sqlite3.Connection | None = None
        while not self._stop.wait(self.every):
            if conn is None:
                if not database.exists():
                    continue
                conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)
            try:
                self._note([k for (k,) in conn.execute(self.SQL)])
            except sqlite3.OperationalError:
                continue  # not migrated yet, or busy
        if conn is not None:
            conn.close()

    async def _run_pg(self, url: str) -> None:
        import asyncpg

        conn = None
        while not self._stop.is_set():
            await asyncio.sleep(self.every)
            try:
                if conn is None:
                    conn = await asyncpg.connect(url, timeout=5)
                self._note([r[0] for r in await conn.fetch(self.SQL)])
            except (OSError, asyncpg.PostgresError):
                continue  # not migrated yet
        if conn is not None:
            await conn.close()

    def close(self) -> None:
        """Stop polling."""
        self._stop.set()
        self._thread.join()

    def gaps(self, accepted: list[tuple[float, str]]) -> list[float]:
        """Per committed key, the time from its acceptance to its commit being visible.

        From the last acceptance before its commit was first seen (a message on the
        wire at a kill is committed after its resend, not before). Sorted.
        """
        gaps = []
        for key, seen in self.seen.items():
            before = [at for at, k in accepted if k == key and at <= seen]
            if before:
                gaps.append(seen - max(before))
        return sorted(gaps)

    def largest_gap(self, accepted: list[tuple[float, str]]) -> float:
        """The longest of :meth:`gaps` (0 when nothing was committed)."""
        return max(self.gaps(accepted), default=0.0)


class _ReadyNotifier:
    """Stands in for systemd's notify socket: sets ``ready`` on READY=1."""

    enabled = False  # as outside systemd: no watchdog pings

    def __init__(self, ready: asyncio.Event) -> None:
        self._ready = ready

    def notify(self, *lines: str) -> None:
        if "READY=1" in lines:
            self._ready.set()


def _is_set(event: asyncio.Event, task: asyncio.Task[int]) -> Any:
    async def check() -> bool:
        if task.done():
            raise AssertionError(f"the daemon stopped: {task.result()}")
        return event.is_set()

    return check
