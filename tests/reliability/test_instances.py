"""Scenarios 7 and 11: more than one instance.

Two daemons may share one PostgreSQL database: nothing is sent twice, a killed
one's claims are taken over when its lease ends, and a paused one's late writes
are fenced off by the claim token. Leases run on the database clock. Two
daemons on one SQLite file: the second refuses to start.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from service.clock import FixedClock, SystemClock
from service.config import load_config
from service.dispatcher import Dispatcher
from service.errors import TransientDeliveryError
from service.store import Store
from service.sync import replan
from service.transport import SendResult, envelope_of
from tests.fixtures.daemon import DaemonProcess, free_port, staywatch, wait_until
from tests.fixtures.smtp import RecordingHandler, Script, plain_server
from tests.fixtures.web import poll
from tests.reliability.helpers import (
    AcceptLog,
    at_deadlines,
    people,
    pg_rows,
    repeated_after,
    service_config,
    smtp_mail,
    time_now,
)

RunDaemon = Callable[..., DaemonProcess]


class GatedTransport:
    """Holds every send until ``gate`` is set; records what it was handed.

    With ``fail_odd`` the messages of odd-numbered people get a 451 instead.
    """

    name = "gated"

    def __init__(self, *, fail_odd: bool = False) -> None:
        self.gate = asyncio.Event()
        self.waiting = 0
        self.fail_odd = fail_odd
        self.keys: Counter[str] = Counter()

    async def send(self, message: EmailMessage) -> SendResult:
        _, recipients = envelope_of(message)
        self.waiting += 1
        await self.gate.wait()
        key = str(message["X-Staywatch-Key"])
        if self.fail_odd and int(key[1:6]) % 2:
            raise TransientDeliveryError("451 4.3.0 try later", 451)
        self.keys[key] += 1
        return SendResult(accepted=tuple(recipients))

    async def close(self) -> None:
        pass


def write_config(tmp_path: Path, database: str, body: str, name: str = "staywatch.toml") -> Any:
    path = tmp_path / name
    path.write_text(service_config(database=database, port=free_port(), body=body), "utf-8")
    return load_config(path)


# -- fencing, in one process -----------------------------------------------------------------


async def test_a_claimant_whose_lease_was_taken_over_changes_nothing(tmp_path: Path) -> None:
    """SQLite leases run on the caller's clock: move it past A's lease, let B claim and
    start sending, then let A report (sent for some, a 451 for others): nothing changes."""
    store = await Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        start = datetime(2027, 3, 2, 0, 0, tzinfo=UTC)
        config = write_config(
            tmp_path, "sqlite:///state.db", people(30, lambda i: at_deadlines(start, 1))
        )
        clock = FixedClock(start - timedelta(days=1))
        await replan(config, store, clock.now())
        clock.set(start)
        slow, fast = GatedTransport(fail_odd=True), GatedTransport()
        a = Dispatcher(store=store, transport=slow, config=lambda: config, clock=clock, owner="a")
        b = Dispatcher(store=store, transport=fast, config=lambda: config, clock=clock, owner="b")
        stalled = asyncio.create_task(a.run_once())
        # A holds all 30 and is stuck in its first sends.
        await poll(lambda: asyncio.sleep(0, slow.waiting >= 4), what="A to start sending")
        assert (await b.run_once()).sent == 0, "B took rows A still holds"

        clock.set(start + timedelta(seconds=a.lease_seconds + 1))
        taking = asyncio.create_task(b.run_once())
        await poll(lambda: asyncio.sleep(0, fast.waiting >= 4), what="B to take over")
        held_by_b = {r.key: r for r in await store.reminders()}
        assert {r.claimed_by for r in held_by_b.values()} == {"b"}
        slow.gate.set()  # A wakes up long after its lease ended and reports
        late = await stalled
        assert {r.key: r for r in await store.reminders()} == held_by_b, "A's late writes"
        for key in held_by_b:
            assert await store.deliveries(key) == [], "A's late attempt was recorded"
        fast.gate.set()
        assert (await taking).sent == 30
        for key in held_by_b:
            assert [d.result for d in await store.deliveries(key)] == ["sent"]
        print(
            f"FIGURE s7-fence: A reported {late.sent} sent and {late.retried} 451s after its "
            "lease was taken over: 0 rows and 0 delivery records changed"
        )
    finally:
        await store.close()


@pytest.mark.postgres
async def test_a_skewed_host_clock_does_not_steal_claims(tmp_path: Path, pg_database: str) -> None:
    """PostgreSQL: the lease ends on the database's clock, not on the claimant's."""
    one, two = await Store.open(pg_database), await Store.open(pg_database)
    try:
        now = SystemClock().now()
        config = write_config(
            tmp_path, pg_database, people(20, lambda i: at_deadlines(now - timedelta(minutes=1), 1))
        )
        await replan(config, one, now)
        held = await one.claim_due(SystemClock().now(), "honest", lease_seconds=2, limit=100)
        assert len(held) == 20
        # A host whose clock runs 30 minutes fast (less than an `at` deadline's hour of
        # grace, or it would rightly skip them all as over).
        skew = timedelta(minutes=30)
        assert await two.claim_due(now + skew, "skewed", lease_seconds=60, limit=100) == []
        started = time.monotonic()

        async def claimed() -> list[Any]:
            ahead = SystemClock().now() + skew
            return await two.claim_due(ahead, "skewed", lease_seconds=60, limit=100)

        taken = await poll(claimed, what="the lease to end on the database clock")
        waited = time.monotonic() - started
        assert len(taken) == 20
        assert 0.5 < waited < 10, waited  # when the database says the 2 s lease is over
        print(f"FIGURE s7-skew: a host 30 min fast waited {waited:.1f} s for a 2 s lease")
    finally:
        await one.close()
        await two.close()


# -- 11. two daemons on one SQLite file ------------------------------------------------------


def test_a_second_daemon_on_the_same_sqlite_file_refuses_to_start(
    tmp_path: Path, run_daemon: RunDaemon
) -> None:
    home = tmp_path / "a"
    home.mkdir()
    body = people(2, lambda i: at_deadlines(datetime.now(UTC) + timedelta(days=3), 1))
    first = home / "staywatch.toml"
    first.write_text(service_config(port=free_port(), body=body), "utf-8")
    database = home / "var" / "staywatch.db"
    daemon = run_daemon(first)
    daemon.wait_ready()

    ways: dict[str, str] = {"the same config": "sqlite:///var/staywatch.db"}
    (tmp_path / "b").mkdir()
    ways["an absolute path"] = f"sqlite:///{database}"
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "link").symlink_to(home / "var")
    ways["a symlinked folder"] = "sqlite:///link/staywatch.db"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "alias.db").symlink_to(database)
    ways["a symlink to the file"] = "sqlite:///alias.db"
    (tmp_path / "e").mkdir()
    ways["a path with .."] = "sqlite:///../a/var/../var/staywatch.db"

    for (way, url), folder in zip(ways.items(), ["a", "b", "c", "d", "e"], strict=True):
        config = first
        if folder != "a":
            config = tmp_path / folder / "staywatch.toml"
            config.write_text(service_config(database=url, port=free_port(), body=body), "utf-8")
        try:
            second = staywatch("run", "-c", str(config), timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{way}: a second daemon started on {database}")
        assert second.returncode == 1, (way, second.stderr)
        assert "another staywatch daemon is already using" in second.stderr, (way, second.stderr)
        assert "Traceback" not in second.stderr
    assert daemon.proc.poll() is None
    assert daemon.stop() == 0
    print(f"FIGURE s11: a second daemon refused via {len(ways)} spellings of the path")


# -- 7. two real daemons on one PostgreSQL database ----------------------------------------


class SlowHandler(RecordingHandler):
    """Records messages with their arrival time; answers DATA after ``delay`` seconds."""

    def __init__(self) -> None:
        super().__init__(Script())
        self.delay = 0.0
        self.arrived: dict[str, float] = {}

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        reply = await super().handle_DATA(server, session, envelope)
        key = str(self.messages[-1].message["X-Staywatch-Key"])
        self.arrived.setdefault(key, time.time())
        return reply


@pytest.fixture
def slow_smtp() -> Any:
    handler = SlowHandler()
    with plain_server(handler) as controller:
        yield handler, controller


def held_by(url: str, daemon: DaemonProcess, wave: str) -> dict[str, float]:
    """key -> lease end (epoch seconds) of the rows of ``wave`` the daemon holds now."""
    rows = pg_rows(
        url,
        "SELECT key, extract(epoch FROM claimed_until) FROM reminders WHERE status = 'pending' "
        f"AND claim_token IS NOT NULL AND claimed_by LIKE '%:{daemon.pid}' "
        f"AND key LIKE '%/{wave}-%'",
    )
    return {key: float(until) for key, until in rows}


def sent_by(daemon: DaemonProcess) -> set[str]:
    return set(re.findall(r"INFO service\.dispatcher: sent (\S+)", daemon.stderr))


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_two_daemons_on_one_postgresql_database(
    tmp_path: Path, pg_db: str, slow_smtp: Any, run_daemon: RunDaemon
) -> None:
    handler, controller = slow_smtp
    start = datetime.now(UTC).replace(microsecond=0)
    # Three waves of 1,000 reminders (100 people x 10), each due all at once.
    waves = {"w1": 20, "w2": 50, "w3": 120}

    def deadlines(i: int) -> str:
        out = ""
        for wave, offset in waves.items():
            out += at_deadlines(start + timedelta(seconds=offset), 10).replace(
                'id = "d', f'id = "{wave}-d'
            )
        return out

    body = people(100, deadlines)
    mail = smtp_mail("127.0.0.1", controller.port, timeout=1)
    paths = []
    for name in ("one", "two"):
        path = tmp_path / name / "staywatch.toml"
        path.parent.mkdir()
        # The same database and secret; each its own feed port.
        path.write_text(
            service_config(database=pg_db, mail=mail, port=free_port(), body=body).replace(
                'secret_file = "var/secret"', f'secret_file = "{tmp_path / "secret"}"'
            ),
            "utf-8",
        )
        paths.append(path)
    config = load_config(paths[0])
    lease = config.mail.timeout * 2 + 30

    def wave_keys(wave: str) -> set[str]:
        day = (start + timedelta(seconds=waves[wave])).astimezone(config.zone_of(config.people[0]))
        return {f"p{i:05d}/{wave}-d{j}/{day.date()}/PT0S" for i in range(100) for j in range(10)}

    def received() -> Counter[str]:
        return Counter(str(m.message["X-Staywatch-Key"]) for m in list(handler.messages))

    # 1. 1,000 due at once, two daemons: each sent exactly once.
    one, two = run_daemon(paths[0]), run_daemon(paths[1])
    one.wait_ready()
    two.wait_ready()
    assert time.time() < start.timestamp() + waves["w1"], "the daemons took too long to start"
    first = wave_keys("w1")
    wait_until(lambda: first <= set(received()), 60, lambda: f"wave 1, got {len(received())}")
    got = received()
    assert max(got.values()) == 1, "sent twice by two instances"
    split = (len(sent_by(one) & first), len(sent_by(two) & first))
    assert min(split) > 0, f"one daemon did all the work: {split}"
    print(f"FIGURE s7-pair: 1000 due at once, the two daemons sent {split}: 0 twice, 0 lost")

    # 2. Kill one while it holds claims: the other sends them once the lease is over.
    handler.delay = 0.02
    second = wave_keys("w2")
    held = wait_until(lambda: held_by(pg_db, one, "w2"), 60, "daemon one to hold claims of w2")
    one.kill()
    killed_at = time.time()
    wait_until(lambda: second <= set(received()), lease + 60, "every mail of wave 2")
    got = received()
    twice = {k for k in second if got[k] > 1}
    assert twice <= set(held), f"sent twice, not in flight at the kill: {sorted(twice)[:5]}"
    # Outcomes are committed as replies come: nothing accepted a second before the kill repeats.
    early = sorted(k for k in twice if handler.arrived[k] <= killed_at - 1)
    assert not early, f"accepted >= 1 s before the kill and sent again: {early[:5]}"
    early = [
        k
        for k, until in held.items()
        if handler.arrived[k] > killed_at and handler.arrived[k] < until - 1
    ]
    assert not early, f"taken over before the lease ended: {early[:5]}"
    took = max(handler.arrived[k] for k in second) - killed_at
    print(
        f"FIGURE s7-kill: killed holding {len(held)} claims; the survivor sent them "
        f"{took:.0f} s later (lease {lease:.0f} s); {len(twice)} sent twice (in flight)"
    )

    # 3. Pause one (SIGSTOP) past its lease: after SIGCONT its late writes change nothing.
    three = run_daemon(paths[0])
    three.wait_ready()
    assert time.time() < start.timestamp() + waves["w3"], "wave 2 took too long"
    handler.delay = 0.05
    third = wave_keys("w3")
    paused = wait_until(lambda: held_by(pg_db, three, "w3"), 60, "daemon three to hold claims")
    three.send(signal.SIGSTOP)
    paused_at = time.monotonic()
    try:
        before_pause = received()
        wait_until(
            lambda: third <= set(received()),
            lease + 90,
            "the other daemon to send the paused one's claims",
        )
        wait_until(
            lambda: (
                pg_rows(pg_db, "SELECT count(*) FROM reminders WHERE status <> 'sent'") == [(0,)]
            ),
            30,
            "every row marked sent",
        )
        rows = pg_rows(pg_db, "SELECT * FROM reminders ORDER BY key")
        deliveries = pg_rows(pg_db, "SELECT * FROM deliveries ORDER BY id")
        at_resume = received()
    finally:
        three.send(signal.SIGCONT)
    paused_for = time.monotonic() - paused_at
    # Stopping waits for the resumed daemon's batch to finish (or give up) first.
    assert three.stop(timeout=lease + 30) == 0
    assert pg_rows(pg_db, "SELECT * FROM reminders ORDER BY key") == rows, "late writes"
    assert pg_rows(pg_db, "SELECT * FROM deliveries ORDER BY id") == deliveries, "late writes"
    after = received()
    again = {k: after[k] - at_resume[k] for k in third if after[k] > at_resume[k]}
    # What was on the wire at SIGSTOP may go out again; nothing more (4 connections).
    assert sum(again.values()) <= config.mail.concurrency, f"sent again after SIGCONT: {again}"
    assert two.stop() == 0
    del before_pause
    statuses = Counter(s for (s,) in pg_rows(pg_db, "SELECT status FROM reminders"))
    assert statuses == Counter({"sent": 3000}), statuses
    print(
        f"FIGURE s7-pause: paused {paused_for:.0f} s holding {len(paused)} claims; late writes "
        f"changed 0 rows; {sum(again.values())} mails again after SIGCONT (on the wire at SIGSTOP)"
    )


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_two_daemons_one_killed_mid_burst_repeat_nothing_accepted_a_second_before(
    tmp_path: Path, pg_db: str, run_daemon: RunDaemon
) -> None:
    """60 due at once, 0.5 s per message, two daemons on PostgreSQL, the sender killed."""
    log = AcceptLog(delay=0.5)
    with plain_server(log) as controller:
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
        mail = smtp_mail("127.0.0.1", controller.port, timeout=5)
        body = people(60, lambda i: at_deadlines(due, 1))
        paths = []
        for name in ("one", "two"):
            path = tmp_path / name / "staywatch.toml"
            path.parent.mkdir()
            path.write_text(
                service_config(database=pg_db, mail=mail, port=free_port(), body=body).replace(
                    'secret_file = "var/secret"', f'secret_file = "{tmp_path / "secret"}"'
                ),
                "utf-8",
            )
            paths.append(path)
        config = load_config(paths[0])
        day = due.astimezone(config.zone_of(config.people[0])).date()
        keys = {f"p{i:05d}/d0/{day}/PT0S" for i in range(60)}
        daemons = [run_daemon(paths[0]), run_daemon(paths[1])]
        for daemon in daemons:
            daemon.wait_ready()
        assert time.time() < due.timestamp(), "the daemons took too long to start"
        wait_until(lambda: len(log.snapshot()) >= 28, 60, "the burst to be half way")
        holders = dict(
            pg_rows(
                pg_db,
                "SELECT claimed_by, count(*) FROM reminders WHERE status = 'pending' "
                "AND claim_token IS NOT NULL GROUP BY claimed_by",
            )
        )
        host = socket.gethostname()
        victim = max(daemons, key=lambda d: holders.get(f"{host}:{d.pid}", 0))
        survivor = daemons[1 - daemons.index(victim)]
        killed_at = time_now()
        victim.kill()
        before_kill = log.snapshot()

        def unsent() -> int:
            return int(
                pg_rows(pg_db, "SELECT count(*) FROM reminders WHERE status <> 'sent'")[0][0]
            )

        lease = config.mail.timeout * 2 + 30
        wait_until(lambda: unsent() == 0, lease + 90, lambda: f"every row sent ({unsent()} left)")
        assert survivor.stop() == 0
        accepted = log.snapshot()

    got = Counter(k for _, k in accepted)
    lost = keys - set(got)
    assert not lost, f"lost: {sorted(lost)[:5]}"
    early = repeated_after(accepted, killed_at, 1.0)
    assert not early, f"accepted >= 1 s before the kill and sent again: {early[:5]}"
    twice = sorted(k for k, n in got.items() if n > 1)
    print(
        f"FIGURE s7-crash-window: two daemons, 60 due at once, 0.5 s per message; the one "
        f"holding {max(holders.values(), default=0)} claims killed after {len(before_kill)} "
        f"accepted; lost {len(lost)}; repeats of messages accepted >= 1 s before the kill "
        f"{len(early)}; {len(twice)} sent twice in all (on the wire at the kill)"
    )
