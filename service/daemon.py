"""The composition root of ``staywatch run``.

Owns the event loop's parts: store, transport, dispatcher, APScheduler waker,
config watcher, aiohttp server, signal handlers and sd_notify. Nothing imports
this module but the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import signal
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from aiohttp import web

from service.clock import Clock, SystemClock
from service.config import Config
from service.configcache import load_config_cached
from service.connections import (
    KEEPALIVE_TIMEOUT,
    ConnectionGuard,
    accept_error_handler,
    open_file_limit,
    server_limits,
)
from service.dispatcher import Dispatcher
from service.errors import StaywatchError
from service.metrics import CONFIG_OK
from service.offices import OfficeRow, office_zone, record_config_change
from service.offices import office_rows as rows_of_office
from service.plan import Occurrence, plan
from service.planahead import PlanAhead
from service.publish import (
    ADMIN_SCOPE,
    build_document,
    build_office_document,
    generation_key,
    office_scope,
    secret_of,
)
from service.reload import ConfigChange, Reloader
from service.scheduler import Waker
from service.status import ACKS_CHANGED, RELOAD_ERRORS, sqlite_path, status_snapshot
from service.store import Store
from service.sync import replan
from service.systemd import Notifier
from service.tokens import TokenIndex
from service.transport import Transport, make_transport
from service.web import CachedFeed, make_app
from service.worker import off_loop

log = logging.getLogger("staywatch")

#: The longest a /healthz answer is reused while this process writes nothing (seconds).
SNAPSHOT_MAX_AGE = 1.0

#: How often a running daemon re-reads token generations (``feed-url --rotate``).
TOKEN_RECHECK_SECONDS = 1.0
#: How soon a dispatch round that failed (database unreachable) is tried again.
DISPATCH_RETRY_SECONDS = 5


#: How long a stop waits for the dispatch round in progress, and for connections to close.
STOP_DISPATCH_SECONDS = 5.0
STOP_CLOSE_SECONDS = 2.0
WEB_SHUTDOWN_SECONDS = 1.0


@dataclass
class _WebServer:
    """The listening socket, its connection guard and aiohttp's runner."""

    runner: web.AppRunner
    listener: asyncio.Server
    guard: ConnectionGuard

    async def close(self) -> None:
        """Stop listening, then close the connections (in-flight answers get a second)."""
        self.listener.close()
        with contextlib.suppress(Exception, asyncio.TimeoutError):
            await asyncio.wait_for(self.runner.cleanup(), STOP_CLOSE_SECONDS)


def run_daemon(path: Path, *, ahead: PlanAhead | None = None) -> int:
    """Run until SIGTERM/SIGINT; return the exit status.

    ``ahead`` is a child process already planning ``path`` (see :mod:`service.planahead`).
    """
    try:
        return asyncio.run(Daemon(path, ahead=ahead).run())
    finally:
        if ahead is not None:
            ahead.close()


class Daemon:
    """One running staywatch instance."""

    def __init__(
        self, path: Path, *, clock: Clock | None = None, ahead: PlanAhead | None = None
    ) -> None:
        self.path = path
        self._ahead = ahead
        self.clock: Clock = clock or SystemClock()
        self.config_errors: list[str] = []
        self._config: Config | None = None
        self._store: Store | None = None
        self._secret: bytes | None = None
        self._transport: Transport | None = None
        self._feeds: dict[str | None, CachedFeed] = {}
        #: Bumped by every invalidation: a calendar built across one is not kept.
        self._feeds_epoch = 0
        self._feed_locks: dict[str | None, asyncio.Lock] = {}
        self._tokens: TokenIndex | None = None
        self._tokens_seen: str | None = None
        self._tokens_checked = 0.0
        self._acks_seen: str | None = None
        self._stop = asyncio.Event()
        self._lock_file: IO[str] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._snapshot: tuple[tuple[object, ...], float, dict[str, Any]] | None = None
        self._snapshot_reading: tuple[tuple[object, ...], asyncio.Future[dict[str, Any]]] | None = (
            None
        )
        self.notifier = Notifier()

    # -- what the web server borrows -------------------------------------------

    @property
    def config(self) -> Config:
        """The config in force (the last one that validated)."""
        assert self._config is not None
        return self._config

    @property
    def store(self) -> Store:
        """The open store."""
        assert self._store is not None
        return self._store

    @property
    def secret(self) -> bytes:
        """The HMAC key of feed tokens and action links."""
        assert self._secret is not None
        return self._secret

    async def lookup_token(self, token: str) -> tuple[str, str | None] | None:
        """Resolve a feed token against the current generations."""
        if time.monotonic() - self._tokens_checked > TOKEN_RECHECK_SECONDS:
            self._tokens_checked = time.monotonic()
            changed = await self.store.get_meta("tokens_changed")
            if changed != self._tokens_seen or self._tokens is None:
                await self._rebuild_tokens()
                self._tokens_seen = changed
            # `staywatch done` writes to the store directly: drop the cached calendars.
            acks = await self.store.get_meta(ACKS_CHANGED)
            if acks != self._acks_seen:
                self._acks_seen = acks
                self._invalidate_feeds(None)
        assert self._tokens is not None
        return self._tokens.lookup(token)

    def cached_feed_for(self, token: str) -> CachedFeed | None:
        """The cached calendar of a live person/admin token; None: take the full path."""
        tokens = self._tokens
        if tokens is None or time.monotonic() - self._tokens_checked > TOKEN_RECHECK_SECONDS:
            return None  # generations and acknowledgements are due a recheck
        found = tokens.lookup(token)
        if found is None or found[0] == "office":
            return None
        return self._feeds.get(found[1] if found[0] == "person" else None)

    async def feed(self, person: str | None) -> CachedFeed:
        """The cached calendar, built once per state change."""
        cached = self._feeds.get(person)
        if cached is not None:
            return cached
        lock = self._feed_locks.setdefault(person, asyncio.Lock())
        async with lock:
            cached = self._feeds.get(person)
            if cached is None:
                epoch = self._feeds_epoch
                document = await build_document(self.config, self.store, person, clock=self.clock)
                cached = CachedFeed.of(document)
                if epoch == self._feeds_epoch:
                    self._feeds[person] = cached
        return cached

    async def office_document(self, office_id: str) -> CachedFeed | None:
        """The cached combined calendar of an office's people (None: no such office)."""
        office = self.config.office(office_id)
        if office is None:
            return None
        key = office_scope(office_id)  # never a person id: those have no ':'
        cached = self._feeds.get(key)
        if cached is not None:
            return cached
        async with self._feed_locks.setdefault(key, asyncio.Lock()):
            cached = self._feeds.get(key)
            if cached is None:
                epoch = self._feeds_epoch
                document = await build_office_document(
                    self.config, self.store, office, clock=self.clock
                )
                cached = CachedFeed.of(document)
                if epoch == self._feeds_epoch:
                    self._feeds[key] = cached
        return cached

    async def office_rows(self, office_id: str) -> list[OfficeRow] | None:
        """The dashboard rows of an office as of its local today (None: no such office)."""
        office = self.config.office(office_id)
        if office is None:
            return None
        today = self.clock.now().astimezone(office_zone(self.config, office)).date()
        return await rows_of_office(self.config, self.store, office, today)

    async def occurrence(self, key: str) -> Occurrence | None:
        """The planned occurrence for a key, if the config still has it."""
        parts = key.split("/")
        if len(parts) != 3:
            return None
        person, deadline, day = parts
        try:
            when = date.fromisoformat(day)
        except ValueError:
            return None
        if self.config.person(person) is None:
            return None
        planned = await off_loop(
            plan, self.config, when, when, people=[person], singles_unbounded=True
        )
        for occurrence in planned:
            if occurrence.deadline == deadline and occurrence.date == when:
                return occurrence
        return None

    async def acknowledge(self, occurrence: Occurrence, by: str, who: str | None = None) -> int:
        """Record an acknowledgement from a link and refresh that person's calendar.

        ``who``: the recipient whose copy's link was used (logged only as ``recipient``).
        """
        stopped = await self.store.acknowledge(
            occurrence.key,
            person=occurrence.person,
            deadline=occurrence.deadline,
            occurrence_date=occurrence.date,
            by=by,
            at=self.clock.now(),
            who=who,
        )
        log.info("acknowledged %s by %s", occurrence.key, by, extra={"action": "ack"})
        self._invalidate_feeds([occurrence.person])
        return stopped

    async def snapshot(self) -> dict[str, Any]:
        """The health object of /healthz.

        Read once for any number of requests in flight, and kept while this
        process has written nothing, the config is the same and it is younger
        than :data:`SNAPSHOT_MAX_AGE` (what other processes write shows within
        that): a monitor polling hard, or a flood of requests, costs the store
        one read at a time, not one per request.
        """
        state = (self.store.commits, id(self._config), tuple(self.config_errors))
        kept = self._snapshot
        if kept is not None and kept[0] == state and time.monotonic() - kept[1] < SNAPSHOT_MAX_AGE:
            return dict(kept[2])
        # A read in flight serves this request only if it began after the last write.
        reading = self._snapshot_reading
        if reading is None or reading[1].done() or reading[0] != state:
            future = asyncio.ensure_future(self._read_snapshot(state))
            reading = self._snapshot_reading = (state, future)
        return dict(await asyncio.shield(reading[1]))

    async def _read_snapshot(self, state: tuple[object, ...]) -> dict[str, Any]:
        started = time.monotonic()
        snapshot = await status_snapshot(
            self.path,
            config=self.config,
            store=self.store,
            config_errors=self.config_errors,
            clock=self.clock,
        )
        snapshot["db"] = snapshot["db_ok"]
        snapshot["daemon"] = "running"
        # Kept as of before the reads: a write that ended meanwhile makes it stale.
        self._snapshot = (state, started, snapshot)
        return snapshot

    # -- life cycle ---------------------------------------------------------------

    async def run(self) -> int:
        """Start everything, wait for a stop signal, stop cleanly."""
        # Unchanged files (and code) since the last validation: the remembered result.
        self._config = load_config_cached(self.path)
        single_writer = self._lock_sqlite(self.config)
        self._store = await Store.open(self.config.database_url)
        if single_writer:
            # The lock proves no other instance runs: claims left by a crash are stale,
            # and what was in flight goes out now instead of when its lease ends.
            await self._store.release_all_claims()
        try:
            return await self._serve()
        finally:
            await self._store.close()
            if self._lock_file is not None:
                self._lock_file.close()

    async def _serve(self) -> int:
        self._secret = secret_of(self.config)
        self._transport = make_transport(self.config)
        await self._rebuild_tokens()
        dispatcher = Dispatcher(
            store=self.store,
            transport=self._transport,
            config=lambda: self.config,
            clock=self.clock,
        )
        waker = Waker(
            timezone=self.config.service.timezone,
            on_tick=self._tick,
            on_replan=self._daily_replan,
            clock=self.clock,
        )
        self._dispatcher, self._waker = dispatcher, waker
        # The port answers first: /healthz reports the store as it is while the plan is
        # brought up to date, and nothing is sent before the plan is stored.
        web_server = await self._start_web()
        try:
            await replan(
                self.config, self.store, self.clock.now(), skip_unchanged=True, ahead=self._ahead
            )
        except BaseException:
            await web_server.close()
            raise
        CONFIG_OK.set(1)
        await self._record_config_errors([])  # a failed reload of an earlier run is past
        self._invalidate_feeds(None)  # calendars asked for during the re-plan
        reloader = Reloader(self.path, lambda: self.config, self._apply, self._reject)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(reloader.reload("SIGHUP")))

        waker.start()
        waker.arm(await self.store.next_due_at())  # armed before READY=1
        waker.kick()  # anything that fell due while we were down goes out now
        dispatch_task = asyncio.create_task(self._dispatch_loop(dispatcher, waker))
        watch_task = asyncio.create_task(reloader.watch(self._stop))
        watchdog_task = asyncio.create_task(self._watchdog())
        await self._tick()
        self.notifier.notify("READY=1", f"STATUS={self._status_line()}")
        log.info(
            "staywatch is running: %d people, feed on %s (get URLs with `staywatch feed-url`)",
            len(self.config.people),
            self.config.feed.listen,
        )

        await self._stop.wait()
        log.info("stopping")
        self.notifier.notify("STOPPING=1")
        dispatcher.stopping = True
        waker.stop()
        waker.kick()
        # The current batch finishes (or its claims are released); nothing new is claimed.
        # A stop never waits long (systemd, and people, expect it within seconds): a send
        # cut short is repeated after the restart, with the same Message-ID.
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(
                dispatch_task, timeout=min(dispatcher.lease_seconds, STOP_DISPATCH_SECONDS)
            )
        # A plan still running in its thread is abandoned with the tasks awaiting it.
        for task in (watch_task, watchdog_task, *self._background):
            task.cancel()
        await asyncio.gather(watch_task, watchdog_task, *self._background, return_exceptions=True)
        await web_server.close()
        with contextlib.suppress(Exception, asyncio.TimeoutError):
            await asyncio.wait_for(dispatcher.close(), STOP_CLOSE_SECONDS)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        log.info("stopped")
        return 0

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _start_web(self) -> _WebServer:
        # Idle and half-open clients are bounded (see service.connections): they must
        # never use up the descriptors that delivery and the database need.
        limits = server_limits(open_file_limit(), self.config.mail.concurrency)
        runner = web.AppRunner(
            make_app(self),
            access_log=None,
            handle_signals=False,
            keepalive_timeout=KEEPALIVE_TIMEOUT,
            shutdown_timeout=WEB_SHUTDOWN_SECONDS,
        )
        await runner.setup()
        guard = ConnectionGuard(limits.cap)
        server = runner.server
        assert server is not None
        host, _, port = self.config.feed.listen.rpartition(":")
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(accept_error_handler(loop.get_exception_handler()))
        try:
            listener = await loop.create_server(
                guard.wrap(server),
                host.strip("[]"),
                int(port),
                backlog=limits.backlog,
                reuse_address=True,
            )
        except OSError as exc:
            await runner.cleanup()
            raise StaywatchError(
                f"cannot listen on {self.config.feed.listen}: {exc.strerror}; stop the other "
                "process or change [feed] listen"
            ) from None
        log.info(
            "HTTP: at most %d connections (open-file limit %d); %.0f s for a request's headers",
            limits.cap,
            limits.limit,
            guard.header_timeout,
        )
        return _WebServer(runner, listener, guard)

    async def _dispatch_loop(self, dispatcher: Dispatcher, waker: Waker) -> None:
        while not dispatcher.stopping:
            await waker.event.wait()
            waker.event.clear()
            if dispatcher.stopping:
                break
            try:
                stats = await dispatcher.run_once()
                if stats.sent or stats.failed:
                    self._invalidate_feeds(None)
                next_due = await self.store.next_due_at()
                waker.arm(next_due)
                dispatcher.prepare_soon(next_due)
            except (StaywatchError, OSError) as exc:
                log.error("dispatch failed: %s; trying again in %d s", exc, DISPATCH_RETRY_SECONDS)
                self._retry_dispatch(waker)
            except Exception:
                # Never stop dispatching for good: log it and look again soon.
                log.exception("dispatch failed unexpectedly; trying again soon")
                self._retry_dispatch(waker)

    def _retry_dispatch(self, waker: Waker) -> None:
        # The database (or the disk) may be back any moment: look again soon rather
        # than at the next safety tick, which can be a minute away.
        with contextlib.suppress(Exception):
            waker.arm(self.clock.now() + timedelta(seconds=DISPATCH_RETRY_SECONDS))

    async def _tick(self) -> None:
        await self._heartbeat()
        if self.config.offices:
            try:
                await self._dispatcher.send_digests()
            except StaywatchError as exc:
                log.error("digests failed: %s; trying again at the next tick", exc)

    async def _heartbeat(self) -> None:
        try:
            await self.store.set_meta("heartbeat", self.clock.now().isoformat())
        except StaywatchError as exc:
            log.error("database unreachable: %s", exc)

    async def _daily_replan(self) -> None:
        try:
            await replan(self.config, self.store, self.clock.now())
        except StaywatchError as exc:
            log.error("daily re-plan failed: %s", exc)
            return
        self._invalidate_feeds(None)
        self._waker.kick()

    async def _apply(self, config: Config, change: ConfigChange) -> None:
        # Re-plan first: if the database fails, the old config stays in force and the
        # next reload tries again.
        old = self._config
        if not change.empty:
            try:
                await replan(config, self.store, self.clock.now(), people=change.people(config))
            except Exception:
                # Part of the new plan may be stored: plan those people as the config
                # in force says, so that only what it plans goes out.
                if old is not None:
                    with contextlib.suppress(Exception):
                        await replan(
                            old, self.store, self.clock.now(), people=change.people(config)
                        )
                raise
        self._config = config
        self.config_errors = []
        CONFIG_OK.set(1)
        await self._record_config_errors([])
        if old is not None and old.mail != config.mail:
            previous, self._transport = self._transport, make_transport(config)
            self._dispatcher.transport = self._transport
            if previous is not None:
                await previous.close()
        if not change.empty:
            await record_config_change(self.store, self.clock.now(), change)
        await self.store.set_meta("last_reload", self.clock.now().isoformat())
        await self._rebuild_tokens()
        self._invalidate_feeds(None)
        self._waker.kick()
        self.notifier.notify(f"STATUS={self._status_line()}")

    async def _reject(self, problems: list[str]) -> None:
        self.config_errors = problems
        CONFIG_OK.set(0)
        self.notifier.notify(
            f"STATUS=config has {len(problems)} error(s); running on the last good config"
        )
        await self._record_config_errors(problems)

    async def _record_config_errors(self, problems: list[str]) -> None:
        """Keep the reload's problems in the store, where ``staywatch status`` reads them."""
        try:
            await self.store.set_meta(RELOAD_ERRORS, json.dumps(problems) if problems else "")
        except StaywatchError as exc:
            log.error("could not record the config errors: %s", exc)

    async def _rebuild_tokens(self) -> None:
        prefix = generation_key("")
        stored = await self.store.meta_with_prefix(prefix)
        generations = {p.id: int(stored.get(generation_key(p.id), "0")) for p in self.config.people}
        admin = int(stored.get(generation_key(ADMIN_SCOPE), "0"))
        offices = {
            o.id: int(stored.get(generation_key(office_scope(o.id)), "0"))
            for o in self.config.offices
        }
        self._tokens = TokenIndex(self.secret, generations, admin, offices)

    def _invalidate_feeds(self, people: list[str] | None) -> None:
        self._feeds_epoch += 1
        if people is None:
            self._feeds.clear()
            return
        for person in people:
            self._feeds.pop(person, None)
        self._feeds.pop(None, None)
        for key in [k for k in self._feeds if k and k.startswith(office_scope(""))]:
            self._feeds.pop(key, None)  # office calendars combine people

    async def _watchdog(self) -> None:
        interval = self.notifier.watchdog_interval()
        if interval is None:
            return
        # Pinging from the loop itself: a wedged loop stops pinging and systemd restarts us.
        while True:
            self.notifier.notify("WATCHDOG=1")
            await asyncio.sleep(interval)

    def _status_line(self) -> str:
        people = len(self.config.people)
        state = "ok" if not self.config_errors else f"{len(self.config_errors)} config error(s)"
        return f"{people} people; config {state}"

    def _lock_sqlite(self, config: Config) -> bool:
        """Refuse a second daemon on the same SQLite file; True when the lock is ours."""
        path = sqlite_path(config.database_url)
        if path is None:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        # The lock sits beside the real file: a symlink or another spelling of the
        # path must find the same lock.
        real = path.resolve()
        lock_path = real.with_name(real.name + ".lock")
        handle = lock_path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StaywatchError(
                f"another staywatch daemon is already using {path} (lock {lock_path}); stop it "
                "first, or use PostgreSQL to run several instances"
            ) from None
        self._lock_file = handle
        return True
