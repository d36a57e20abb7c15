"""A starting daemon answers /healthz before its catch-up round sends anything.

The store already holds many reminders that fell due while the daemon was
down, and the SMTP server holds every message until the test lets it go: the
health endpoint must answer (with the pending counts as they are) while the
first message is still unaccepted. And on a first start, with nothing stored
yet, the port answers while the plan is still being written.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from service.config import load_config
from service.planahead import MIN_PEOPLE
from service.store import ReconcileStats, Store
from service.sync import replan
from tests.fixtures.daemon import (
    DaemonProcess,
    at_deadline,
    free_port,
    person,
    wait_until,
)
from tests.fixtures.smtp import RecordingHandler, Script, plain_server

pytestmark = pytest.mark.e2e

#: People with one reminder each that fell due ten minutes before the start.
PEOPLE = 40
#: People with a daily deadline over the horizon: a first plan that takes a while.
PLANNED = 60


class HeldHandler(RecordingHandler):
    """Records messages like the test server, but only once ``release`` is set."""

    def __init__(self) -> None:
        super().__init__(Script())
        self.release = threading.Event()
        self.holding = threading.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.holding.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def held() -> Iterator[tuple[HeldHandler, int]]:
    handler = HeldHandler()
    with plain_server(handler) as controller:
        try:
            yield handler, int(controller.port)
        finally:
            handler.release.set()


def healthz(port: int) -> dict[str, Any] | None:
    """The public health object, or None while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as reply:
            found: dict[str, Any] = json.loads(reply.read())
            return found
    except urllib.error.HTTPError as exc:
        with exc:
            found = json.loads(exc.read())
            return found
    except OSError:
        return None


async def _plan(path: Path) -> ReconcileStats:
    config = load_config(path)
    store = await Store.open(config.database_url)
    try:
        return await replan(config, store, datetime.now(UTC))
    finally:
        await store.close()


def test_healthz_answers_before_the_catch_up_round_delivers(
    tmp_path: Path,
    held: tuple[HeldHandler, int],
    run_daemon: Callable[..., DaemonProcess],
) -> None:
    handler, smtp_port = held
    port = free_port()
    due = datetime.now(UTC) + timedelta(minutes=20)
    people = "".join(
        person(f"p{n:03d}", at_deadline("call", due, remind=("PT30M",))) for n in range(PEOPLE)
    )
    config = tmp_path / "staywatch.toml"
    config.write_text(
        '[service]\ntimezone = "Asia/Seoul"\ndatabase = "sqlite:///var/staywatch.db"\n'
        'secret_file = "var/secret"\n'
        '\n[mail]\ntransport = "smtp"\nfrom = "staywatch <staywatch@example.org>"\n'
        f'host = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\ntimeout = 60\n'
        f'\n[feed]\nlisten = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n' + people,
        encoding="utf-8",
    )
    # The plan is stored as by an earlier run: every reminder is already due.
    asyncio.run(_plan(config))

    daemon = run_daemon(config)
    first = wait_until(lambda: healthz(port), 20, "/healthz to answer")
    assert handler.messages == [], "a message was accepted before /healthz answered"
    assert first["pending"] == PEOPLE
    assert first["sent"] == 0

    # The catch-up round is under way and held at the server; /healthz still answers.
    assert handler.holding.wait(20), "the catch-up round never reached the SMTP server"
    assert healthz(port) is not None
    assert handler.messages == []

    handler.release.set()
    wait_until(lambda: len(handler.messages) == PEOPLE, 30, "every catch-up message")
    wait_until(lambda: (healthz(port) or {}).get("sent") == PEOPLE, 30, "sent counts")
    daemon.wait_ready()
    assert daemon.stop() == 0
    assert "Traceback" not in daemon.stderr


def daily(did: str, start: str) -> str:
    """A custom deadline every day of the horizon, one reminder each (TOML)."""
    return (
        f'\n  [[person.deadline]]\n  id = "{did}"\n  kind = "custom"\n  title = "Daily {did}"\n'
        f'  rrule = "FREQ=DAILY"\n  start = {start}\n  remind = ["PT0S"]\n  roll = "none"\n'
    )


def daily_config(folder: Path, smtp_port: int, port: int, count: int, days: int) -> Path:
    """A SQLite config of ``count`` people with a daily deadline from ``days`` ahead."""
    start = (datetime.now(UTC) + timedelta(days=days)).date().isoformat()
    people = "".join(person(f"p{n:03d}", daily("check-in", start)) for n in range(count))
    config = folder / "staywatch.toml"
    config.write_text(
        '[service]\ntimezone = "Asia/Seoul"\ndatabase = "sqlite:///var/staywatch.db"\n'
        'secret_file = "var/secret"\n'
        '\n[mail]\ntransport = "smtp"\nfrom = "staywatch <staywatch@example.org>"\n'
        f'host = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\ntimeout = 60\n'
        f'\n[feed]\nlisten = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n' + people,
        encoding="utf-8",
    )
    return config


def test_a_first_start_answers_healthz_while_it_plans(
    tmp_path: Path,
    held: tuple[HeldHandler, int],
    run_daemon: Callable[..., DaemonProcess],
) -> None:
    _, smtp_port = held
    port = free_port()
    config = daily_config(tmp_path, smtp_port, port, PLANNED, 2)
    daemon = run_daemon(config)
    first = wait_until(lambda: healthz(port), 30, "/healthz to answer")
    daemon.wait_ready()
    final = wait_until(lambda: healthz(port), 10, "/healthz after READY")
    assert final["pending"] > 10_000
    # The port answered before the plan was stored: fewer reminders than in the end.
    assert first["pending"] < final["pending"]
    assert daemon.stop() == 0


def test_a_first_start_of_many_people_uses_the_plan_made_ahead(
    tmp_path: Path,
    held: tuple[HeldHandler, int],
    run_daemon: Callable[..., DaemonProcess],
) -> None:
    _, smtp_port = held
    port = free_port()
    config = daily_config(tmp_path, smtp_port, port, MIN_PEOPLE + 50, 30)
    daemon = run_daemon(config)
    daemon.wait_ready()
    planned = wait_until(lambda: healthz(port), 10, "/healthz after READY")
    assert daemon.stop() == 0
    assert any("using the plan made ahead by a second process" in line for line in daemon.lines)
    assert not any("planning ahead failed" in line for line in daemon.lines)

    # A plan made in this process finds every person's reminders as it would store them.
    stats = asyncio.run(_plan(config))
    assert (stats.unchanged, stats.changed) == (MIN_PEOPLE + 50, 0)
    # And a restart has nothing to plan.
    again = run_daemon(config)
    again.wait_ready()
    assert healthz(port) == {**planned, "last_plan": healthz(port)["last_plan"]}
    assert again.stop() == 0
    assert not any("plan made ahead" in line for line in again.lines)
