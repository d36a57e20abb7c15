"""Scenarios 1-4: the SMTP server misbehaves; nothing is lost, nothing is doubled.

The dispatcher runs in this process on a hand-moved clock (a simulated two-minute
outage takes seconds), against a real aiosmtpd server on 127.0.0.1, sometimes
behind a proxy that refuses, stalls or cuts connections (``FaultProxy``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from service.clock import FixedClock
from service.config import load_config
from service.dispatcher import Dispatcher
from service.publish import secret_of
from service.render import message_id_for
from service.store import Store
from service.sync import replan
from service.tokens import admin_token
from service.transport import SmtpTransport
from tests.fixtures.daemon import free_port, staywatch
from tests.fixtures.smtp import RecordingHandler, Script, SmtpServer, plain_server
from tests.fixtures.web import poll
from tests.reliability.helpers import (
    LocalDaemon,
    Mode,
    fault_proxy,
    open_fds,
    service_config,
    smtp_mail,
)

T0 = datetime(2027, 3, 2, 0, 0, tzinfo=UTC)
OUTAGE = timedelta(minutes=2)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite:///{tmp_path / 'state' / 'staywatch.db'}")
    try:
        yield opened
    finally:
        await opened.close()


def spread_people(count: int, start: datetime, span: timedelta) -> str:
    """``count`` people, each with one reminder; due instants spread over ``span``."""
    out = []
    for i in range(count):
        at = start + span * i / count
        out.append(
            f'\n[[person]]\nid = "p{i:04d}"\nname = "Person {i}"\n'
            f'email = ["p{i:04d}@example.org"]\n'
            f'  [[person.deadline]]\n  id = "call"\n  kind = "custom"\n  title = "Call {i}"\n'
            f'  at = {at.replace(microsecond=0).isoformat()}\n  remind = ["PT0S"]\n'
        )
    return "".join(out)


def make_dispatcher(
    tmp_path: Path,
    store: Store,
    port: int,
    body: str,
    clock: FixedClock,
    *,
    timeout: float = 0.5,
) -> tuple[Dispatcher, Any]:
    path = tmp_path / "staywatch.toml"
    path.write_text(
        service_config(
            mail=smtp_mail("127.0.0.1", port, timeout=timeout), port=free_port(), body=body
        ),
        encoding="utf-8",
    )
    config = load_config(path)
    transport = SmtpTransport(config.mail, None)
    dispatcher = Dispatcher(
        store=store, transport=transport, config=lambda: config, clock=clock, owner="rel"
    )
    return dispatcher, config


def received(server: SmtpServer) -> Counter[str]:
    return Counter(str(m.message["X-Staywatch-Key"]) for m in server.messages)


# -- 1. a two-minute 451 outage while 500 reminders fall due ----------------------------


async def test_451_outage_for_two_minutes_loses_nothing_and_backs_off(
    tmp_path: Path, store: Store, smtp_server: Any
) -> None:
    count = 500
    server: SmtpServer = smtp_server("none", script=Script())
    clock = FixedClock(T0 - timedelta(days=1))
    body = spread_people(count, T0, OUTAGE)
    dispatcher, config = make_dispatcher(tmp_path, store, server.port, body, clock)
    await replan(config, store, clock.now())
    keys = {r.key for r in await store.reminders()}
    assert len(keys) == count

    step = timedelta(seconds=5)
    clock.set(T0)
    try:
        while clock.now() < T0 + timedelta(minutes=10):
            down = clock.now() < T0 + OUTAGE
            server.handler.script.data_reply = "451 4.3.0 Try again later" if down else None
            await dispatcher.run_once()
            if clock.now() > T0 + OUTAGE and len(server.messages) >= count:
                break
            clock.set(clock.now() + step)
    finally:
        await dispatcher.close()

    got = received(server)
    assert set(got) == keys, f"lost: {sorted(keys - set(got))[:5]}"
    assert max(got.values()) == 1, f"sent twice: {[k for k, n in got.items() if n > 1][:5]}"
    assert {r.status for r in await store.reminders()} == {"sent"}

    # The attempt log shows the backoff: 30 s, then 60 s, then 120 s between attempts.
    attempts = Counter[int]()
    for key in sorted(keys):
        log = await store.deliveries(key)
        assert [d.result for d in log] == ["retry"] * (len(log) - 1) + ["sent"]
        assert all(d.code == 451 for d in log[:-1])
        assert log[-1].at >= T0 + OUTAGE
        assert all(d.at < T0 + OUTAGE for d in log[:-1])
        gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(log)]
        for n, gap in enumerate(gaps):
            assert 30 * 2**n <= gap < 30 * 2**n + step.total_seconds(), (key, gaps)
        attempts[len(log)] += 1
    last = max(r.sent_at for r in await store.reminders() if r.sent_at)
    print(
        f"FIGURE s1: {count} reminders, 451 for {OUTAGE}; lost 0, duplicates 0; "
        f"attempts per reminder {dict(sorted(attempts.items()))}; "
        f"server DATA commands {server.handler.data_commands}; "
        f"all sent {(last - T0 - OUTAGE).total_seconds():.0f} s after the outage ended"
    )


# -- 2. refused, silent, reset in the middle of DATA -----------------------------------


async def test_refused_silent_and_reset_connections_lose_nothing_and_leak_no_fds(
    tmp_path: Path, store: Store, smtp_server: Any
) -> None:
    count = 40
    server: SmtpServer = smtp_server("none")

    def choose(n: int) -> Mode:
        if n < 4:
            return "silent"
        if n < 10:
            return "reset_in_data"
        return "pass"

    async with fault_proxy((server.host, server.port), choose) as proxy:
        clock = FixedClock(T0 - timedelta(days=1))
        dispatcher, config = make_dispatcher(
            tmp_path, store, proxy.port, spread_people(count, T0, timedelta(seconds=0)), clock
        )
        await replan(config, store, clock.now())
        keys = {r.key for r in await store.reminders()}
        clock.set(T0)
        await proxy.refuse()
        first = await dispatcher.run_once()  # every connection refused
        assert first.retried == count
        await proxy.listen()
        baseline = open_fds()
        peak = baseline
        try:
            for _ in range(12):
                clock.set(clock.now() + timedelta(seconds=30))
                await dispatcher.run_once()
                peak = max(peak, open_fds())
                if len(server.messages) >= count:
                    break
        finally:
            await dispatcher.close()
        await poll(lambda: asyncio.sleep(0, proxy.open == 0), what="the proxy to see every close")

        async def settled() -> bool:
            return open_fds() == baseline

        await poll(settled, what=f"fds back to {baseline} (now {open_fds()})", within=10)

    got = received(server)
    assert set(got) == keys
    assert max(got.values()) == 1
    assert proxy.modes["silent"] == 4
    assert proxy.modes["reset_in_data"] == 6
    errors = Counter[str]()
    for key in keys:
        for d in await store.deliveries(key):
            if d.result == "retry":
                reply = d.reply or ""
                errors["refused" if "Connect call failed" in reply else "lost/timeout"] += 1
    assert errors["refused"] == count
    assert errors["lost/timeout"] >= 10
    print(
        f"FIGURE s2: {count} reminders through refused (x{count}), silent (x4), "
        f"reset-in-DATA (x6) connections: lost 0, duplicates 0; fds baseline {baseline}, "
        f"peak {peak}, after close {open_fds()}"
    )


# -- 3. the reply to the final dot never arrives (RFC 1047), 50 times -----------------------


async def test_lost_reply_after_the_final_dot_repeats_only_with_the_same_message_id(
    tmp_path: Path, store: Store, smtp_server: Any
) -> None:
    count = 50
    server: SmtpServer = smtp_server("none")
    dropping = True

    def choose(n: int) -> Mode:
        return "drop_reply_after_dot" if dropping else "pass"

    async with fault_proxy((server.host, server.port), choose) as proxy:
        clock = FixedClock(T0 - timedelta(days=1))
        # No server here is silent: a longer timeout keeps a busy machine from
        # turning a slow reply into a retry (and a third copy).
        dispatcher, config = make_dispatcher(
            tmp_path,
            store,
            proxy.port,
            spread_people(count, T0, timedelta(seconds=10)),
            clock,
            timeout=10.0,
        )
        await replan(config, store, clock.now())
        keys = {r.key for r in await store.reminders()}
        clock.set(T0 + timedelta(seconds=10))
        try:
            first = await dispatcher.run_once()
            assert (first.sent, first.retried) == (0, count)
            # Every message reached the server; the client never heard so.
            assert set(received(server)) == keys
            dropping = False
            clock.set(clock.now() + timedelta(seconds=30))
            second = await dispatcher.run_once()
            assert second.sent == count
        finally:
            await dispatcher.close()

    got = received(server)
    assert set(got) == keys
    by_key: dict[str, set[str]] = {}
    for m in server.messages:
        message = m.message
        by_key.setdefault(str(message["X-Staywatch-Key"]), set()).add(str(message["Message-ID"]))
    for key, ids in by_key.items():
        assert ids == {message_id_for(key, config.mail.sender)}, (key, ids)
    repeats = sum(n - 1 for n in got.values())
    assert repeats == count  # one resend each, never a third copy
    assert proxy.modes["drop_reply_after_dot"] == count
    assert {r.status for r in await store.reminders()} == {"sent"}
    print(
        f"FIGURE s3: {count} replies lost after the final dot: lost 0; {repeats} repeats, "
        "all with the original Message-ID"
    )


# -- 4. 550 and 554: one attempt, reported ---------------------------------------------------


class Refusing(RecordingHandler):
    """550 for one recipient at RCPT, 554 for another's message at DATA; counts attempts."""

    def __init__(self) -> None:
        super().__init__(Script(refuse={"ana@example.org": "550 5.1.1 No such user here"}))
        self.rcpt: Counter[str] = Counter()
        self.spam = 0

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        self.rcpt[address] += 1
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if "bob@example.org" in envelope.rcpt_tos:
            self.spam += 1
            return "554 5.7.1 Message rejected as spam"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def refusing_server() -> Any:
    handler = Refusing()
    with plain_server(handler) as controller:
        yield handler, controller


async def test_550_and_554_are_tried_once_and_reported_in_status_and_healthz(
    tmp_path: Path, refusing_server: Any
) -> None:
    handler, controller = refusing_server
    now = datetime.now(UTC).replace(microsecond=0)
    at = (now - timedelta(minutes=5)).isoformat()
    body = "".join(
        f'\n[[person]]\nid = "{who}"\nname = "{who}"\nemail = ["{who}@example.org"]\n'
        f'  [[person.deadline]]\n  id = "call"\n  kind = "custom"\n  title = "Call"\n'
        f'  at = {at}\n  remind = ["PT0S"]\n'
        for who in ("ana", "bob", "cai")
    )
    port = free_port()
    path = tmp_path / "staywatch.toml"
    path.write_text(
        service_config(mail=smtp_mail("127.0.0.1", controller.port), port=port, body=body),
        encoding="utf-8",
    )
    clock = FixedClock(now)
    local = LocalDaemon(path, port, clock)
    await local.start()
    try:
        day = now.astimezone(load_config(path).zone_of(load_config(path).people[0])).date()
        keys = {who: f"{who}/call/{day.isoformat()}/PT0S" for who in ("ana", "bob", "cai")}

        async def settled() -> dict[str, str] | None:
            statuses = await local.daemon.store.statuses(list(keys.values()))
            return statuses if "pending" not in statuses.values() else None

        statuses = await poll(settled, what="the three reminders to be decided")
        assert statuses == {keys["ana"]: "failed", keys["bob"]: "failed", keys["cai"]: "sent"}

        # A later round (half an hour on) tries nothing again.
        clock.set(now + timedelta(minutes=30))
        again = await local.daemon._dispatcher.run_once()
        assert (again.sent, again.failed, again.retried) == (0, 0, 0)
        assert handler.rcpt["ana@example.org"] == 1
        assert handler.spam == 1
        assert [str(m.message["X-Staywatch-Key"]) for m in handler.messages] == [keys["cai"]]

        status, health = await local.get_json("/healthz")
        assert status == 200
        assert health["failed"] == 2
        assert "failures" not in health  # replies name addresses: the admin token shows them
        admin = admin_token(secret_of(load_config(path)))
        status, health = await local.get_json(f"/healthz?token={admin}")
        reasons = {f["key"]: f["reason"] for f in health["failures"]}
        assert "550 5.1.1 No such user here" in reasons[keys["ana"]]
        assert "554 5.7.1 Message rejected as spam" in reasons[keys["bob"]]
    finally:
        await local.stop()

    cli = await asyncio.to_thread(staywatch, "status", "--json", "-c", str(path))
    assert cli.returncode == 0, cli.stderr
    data = json.loads(cli.stdout)
    assert (data["failed"], data["sent"]) == (2, 1)
    assert {f["key"] for f in data["failures"]} == {keys["ana"], keys["bob"]}
    print("FIGURE s4: 550 at RCPT and 554 at DATA: 1 attempt each; failed=2 in status and /healthz")
