"""The real daemon in real time: ``staywatch run`` as a subprocess, a real SMTP server.

Reminders are custom ``at`` deadlines a few seconds ahead; each test checks
when mail arrives (within 2 s of its due instant, never early, exactly once),
and what the daemon does on SIGTERM, kill -9, config edits, SIGHUP, a second
instance and under a service manager (sd_notify).
"""

from __future__ import annotations

import email
import itertools
import json
import math
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from service.config import Config, load_config
from service.plan import plan, store_window
from tests.fixtures.daemon import (
    Arrivals,
    DaemonProcess,
    at_deadline,
    daemon_config,
    free_port,
    person,
    port_open,
    query,
    reminder_statuses,
    status_json,
    staywatch,
    wait_until,
)
from tests.fixtures.smtp import SmtpServer

pytestmark = pytest.mark.e2e

RunDaemon = Callable[..., DaemonProcess]
StartSmtp = Callable[..., SmtpServer]
StartArrivals = Callable[[SmtpServer], Arrivals]

#: A reminder must arrive within this many seconds after it falls due.
ON_TIME = 2.0
SEOUL = ZoneInfo("Asia/Seoul")


class Timeline:
    """Instants relative to a whole second shortly after the test started."""

    def __init__(self) -> None:
        self.base = math.ceil(time.time())

    def at(self, seconds: float) -> datetime:
        return datetime.fromtimestamp(self.base + seconds, UTC)

    def epoch(self, seconds: float) -> float:
        return self.base + seconds

    def key(self, pid: str, did: str, at_seconds: float, offset: str = "PT0S") -> str:
        day = self.at(at_seconds).astimezone(SEOUL).date()
        return f"{pid}/{did}/{day.isoformat()}/{offset}"

    def wait_past(self, seconds: float) -> None:
        """Until the wall clock is past ``base + seconds`` (a due instant, not an event)."""
        wait_until(lambda: time.time() > self.epoch(seconds), seconds + 30, "the clock")


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def assert_on_time(mail: Arrivals, due: dict[str, float]) -> None:
    """Each key arrived exactly once, not before and at most ON_TIME s after it was due."""
    times = mail.times()
    assert sorted(times) == sorted(due), f"got {mail.keys()}"
    for key, when in due.items():
        [seen] = times[key]
        assert when <= seen <= when + ON_TIME, f"{key}: due {when}, arrived {seen}"
    for _, received in mail.seen:
        message = received.message
        key = str(message["X-Staywatch-Key"])
        assert message["Message-ID"] == f"<{key}@example.org>"
        sent = parsedate_to_datetime(str(message["Date"])).timestamp()
        assert sent >= math.floor(due[key])


def http_get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    """GET a JSON endpoint; (status, body) also for error statuses."""
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def smtp(smtp_server: StartSmtp) -> SmtpServer:
    return smtp_server("none")


# -- on time, once, and a clean stop -----------------------------------------------------


def test_reminders_arrive_on_time_exactly_once_and_sigterm_stops_cleanly(
    tmp_path: Path,
    smtp: SmtpServer,
    port: int,
    run_daemon: RunDaemon,
    arrivals: StartArrivals,
) -> None:
    t = Timeline()
    people = person(
        "ana",
        at_deadline("call", t.at(3)),
        at_deadline("exam", t.at(5), remind=("PT2S", "PT0S")),
    ) + person("bob", at_deadline("call", t.at(3)))
    config = tmp_path / "staywatch.toml"
    write(config, daemon_config(smtp, port, people))
    due = {
        t.key("ana", "call", 3): t.epoch(3),
        t.key("bob", "call", 3): t.epoch(3),
        t.key("ana", "exam", 5, "PT2S"): t.epoch(3),
        t.key("ana", "exam", 5): t.epoch(5),
    }
    mail = arrivals(smtp)
    daemon = run_daemon(config)
    daemon.wait_ready()
    assert time.time() < t.epoch(3), "the daemon took too long to start for this test"

    # A second daemon on the same SQLite file refuses to start, saying why.
    second = staywatch("run", "-c", str(config))
    assert second.returncode == 1
    assert "another staywatch daemon is already using" in second.stderr
    assert str(tmp_path / "var" / "staywatch.db") in second.stderr
    assert "Traceback" not in second.stderr

    mail.wait_for(due, timeout=15)
    t.wait_past(5 + ON_TIME)
    assert_on_time(mail, due)
    assert {r.rcpt_tos for _, r in mail.seen} == {("ana@example.org",), ("bob@example.org",)}
    statuses = reminder_statuses(tmp_path / "var" / "staywatch.db")
    assert {statuses[k] for k in due} == {"sent"}

    assert daemon.stop() == 0
    assert "stopped" in daemon.stderr.splitlines()[-1]
    assert "Traceback" not in daemon.stderr
    assert len(mail.keys()) == len(due)


# -- kill -9 and restart ---------------------------------------------------------------


def test_kill_9_and_restart_loses_nothing_and_repeats_nothing(
    tmp_path: Path,
    smtp: SmtpServer,
    port: int,
    run_daemon: RunDaemon,
    arrivals: StartArrivals,
) -> None:
    t = Timeline()
    people = person(
        "ana",
        at_deadline("first", t.at(3)),
        # Falls due while the daemon is dead: sent as soon as it is back.
        at_deadline("during", t.at(5)),
        at_deadline("after", t.at(8)),
    )
    config = tmp_path / "staywatch.toml"
    database = tmp_path / "var" / "staywatch.db"
    write(config, daemon_config(smtp, port, people))
    first, during, after = (
        t.key("ana", "first", 3),
        t.key("ana", "during", 5),
        t.key("ana", "after", 8),
    )
    mail = arrivals(smtp)
    daemon = run_daemon(config)
    daemon.wait_ready()

    mail.wait_for([first], timeout=10)
    wait_until(lambda: reminder_statuses(database).get(first) == "sent", 5, "first marked sent")
    daemon.kill()
    assert daemon.proc.returncode == -signal.SIGKILL

    t.wait_past(5.5)
    again = run_daemon(config)
    again.wait_ready()
    restarted = time.time()
    mail.wait_for([during], timeout=5)
    assert mail.times()[during][0] - restarted < ON_TIME
    mail.wait_for([after], timeout=10)
    assert t.epoch(8) <= mail.times()[after][0] <= t.epoch(8) + ON_TIME
    assert again.stop() == 0

    keys = mail.keys()
    assert sorted(keys) == sorted([first, during, after]), keys
    assert reminder_statuses(database) == {first: "sent", during: "sent", after: "sent"}


def test_kill_9_during_a_send_and_restart_sends_it_at_once(
    tmp_path: Path,
    smtp: SmtpServer,
    port: int,
    run_daemon: RunDaemon,
    arrivals: StartArrivals,
) -> None:
    t = Timeline()
    config = tmp_path / "staywatch.toml"
    database = tmp_path / "var" / "staywatch.db"
    text = daemon_config(smtp, port, person("ana", at_deadline("call", t.at(2))))
    key = t.key("ana", "call", 2)
    # First run: the server accepts the connection and never answers, so the send hangs.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        write(config, text.replace(f"port = {smtp.port}", f"port = {silent.getsockname()[1]}"))
        mail = arrivals(smtp)
        daemon = run_daemon(config)
        daemon.wait_ready()
        claimed = "SELECT key FROM reminders WHERE claimed_until IS NOT NULL AND status = 'pending'"
        wait_until(lambda: query(database, claimed), 10, "the reminder to be claimed")
        daemon.kill()

    write(config, text)
    again = run_daemon(config)
    again.wait_ready()
    restarted = time.time()
    mail.wait_for([key], timeout=ON_TIME + 1)
    assert mail.times()[key][0] - restarted < ON_TIME
    assert again.stop() == 0


# -- config edits while running ----------------------------------------------------------


def test_hot_reload_bad_config_and_sighup(
    tmp_path: Path,
    smtp: SmtpServer,
    port: int,
    run_daemon: RunDaemon,
    arrivals: StartArrivals,
) -> None:
    t = Timeline()
    ana = person("ana", at_deadline("call", t.at(9)))
    config = tmp_path / "staywatch.toml"
    good = daemon_config(smtp, port, ana)
    write(config, good)
    mail = arrivals(smtp)
    daemon = run_daemon(config)
    daemon.wait_ready()
    status, health = http_get(port, "/healthz")
    assert (status, health["config_ok"], health["db"]) == (200, True, True)
    admin = staywatch("feed-url", "--all", "-c", str(config)).stdout.strip()
    admin_token = admin.rsplit("/", 1)[1].removesuffix(".ics")

    # 1. A new person appended (the file rewritten in place) is planned without a restart.
    with_bob = good + person("bob", at_deadline("call", t.at(3)))
    write(config, with_bob)
    daemon.wait_for_line(r"config reloaded \(file changed\): people added: bob")
    bob_key = t.key("bob", "call", 3)
    mail.wait_for([bob_key], timeout=10)
    assert t.epoch(3) <= mail.times()[bob_key][0] <= t.epoch(3) + ON_TIME

    # 2. A broken edit: reported by `status`, /healthz and the log; the daemon goes on.
    broken = with_bob.replace(t.at(9).isoformat(timespec="seconds"), "2027-02-30T09:00:00+09:00")
    write(config, broken)
    bad_line = next(
        number for number, line in enumerate(broken.splitlines(), 1) if "2027-02-30" in line
    )
    located = f"{config}:{bad_line}: person 'ana' deadline 'call':"
    daemon.wait_for_line(r"config reload \(file changed\) failed")
    daemon.wait_for_line(rf"{bad_line}: person 'ana' deadline 'call'")
    cli = status_json(config)
    assert cli["config_ok"] is False
    assert any(e.startswith(located) and "2027-02-30" in e for e in cli["config_errors"])
    status, health = http_get(port, "/healthz")
    assert (status, health["config_ok"]) == (503, False)
    assert "config_errors" not in health  # error texts name paths: the admin token shows them
    status, health = http_get(port, f"/healthz?token={admin_token}")
    assert any(e.startswith(located) for e in health["config_errors"])

    # ... and an already-planned reminder still goes out on time.
    ana_key = t.key("ana", "call", 9)
    mail.wait_for([ana_key], timeout=15)
    assert t.epoch(9) <= mail.times()[ana_key][0] <= t.epoch(9) + ON_TIME

    # 3. Fixed: healthy again.
    write(config, with_bob)
    daemon.wait_for_line(r"config reloaded \(file changed\)", start=len(daemon.lines) - 1)
    wait_until(lambda: http_get(port, "/healthz")[0] == 200, 10, "/healthz 200 after the fix")
    cli = status_json(config)
    assert (cli["config_ok"], cli["config_errors"]) == (True, [])
    assert cli["last_reload"] is not None

    # 4. SIGHUP reloads on demand (twice: the handler is reusable).
    for _ in range(2):
        mark = len(daemon.lines)
        daemon.send(signal.SIGHUP)
        daemon.wait_for_line(r"config reloaded \(SIGHUP\): no change", start=mark)

    assert daemon.stop() == 0
    assert sorted(mail.keys()) == sorted([bob_key, ana_key])


# -- under a service manager ----------------------------------------------------------------


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    path = tmp_path / "notify.sock"
    if len(str(path)) >= 100:  # sun_path is 108 bytes
        path = Path(f"/tmp/staywatch-notify-{os.getpid()}.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.2)
    try:
        yield sock
    finally:
        sock.close()
        path.unlink(missing_ok=True)


class Notifications:
    """The datagrams a daemon sent to NOTIFY_SOCKET, one line each, with arrival times."""

    def __init__(self, sock: socket.socket, port: int) -> None:
        self.sock = sock
        self.port = port
        self.lines: list[tuple[float, str]] = []
        #: Whether the HTTP port accepted a connection when READY=1 came in.
        self.port_open_at_ready: bool | None = None

    def receive(self) -> bool:
        try:
            data = self.sock.recv(4096)
        except TimeoutError:
            return False
        now = time.monotonic()
        for line in data.decode().splitlines():
            if line == "READY=1" and self.port_open_at_ready is None:
                self.port_open_at_ready = port_open(self.port)
            self.lines.append((now, line))
        return True

    def wait_for(self, line: str, timeout: float, count: int = 1) -> None:
        def seen() -> bool:
            while self.receive():
                pass
            return sum(1 for _, text in self.lines if text == line) >= count

        wait_until(seen, timeout, lambda: f"{count} x {line!r}; got {self.texts()}")

    def texts(self) -> list[str]:
        return [text for _, text in self.lines]


def test_sd_notify_ready_status_watchdog_and_stopping(
    tmp_path: Path,
    smtp: SmtpServer,
    port: int,
    run_daemon: RunDaemon,
    notify_socket: socket.socket,
) -> None:
    config = tmp_path / "staywatch.toml"
    t = Timeline()
    write(config, daemon_config(smtp, port, person("ana", at_deadline("call", t.at(3600)))))
    notes = Notifications(notify_socket, port)
    daemon = run_daemon(
        config,
        env={"NOTIFY_SOCKET": str(notify_socket.getsockname()), "WATCHDOG_USEC": "2000000"},
    )
    notes.wait_for("READY=1", timeout=20)
    assert notes.port_open_at_ready is True, "READY=1 before the HTTP port accepted connections"
    ready_at = next(at for at, text in notes.lines if text == "READY=1")
    statuses = [text for text in notes.texts() if text.startswith("STATUS=")]
    assert statuses == ["STATUS=1 people; config ok"]

    # Pings every second (half of WatchdogSec=2 s) for as long as it runs.
    notes.wait_for("WATCHDOG=1", timeout=5, count=4)
    pings = [at for at, text in notes.lines if text == "WATCHDOG=1" and at > ready_at]
    assert len(pings) >= 2
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert all(0.5 < gap < 1.8 for gap in gaps), gaps

    daemon.send(signal.SIGTERM)
    notes.wait_for("STOPPING=1", timeout=10)
    assert daemon.wait() == 0
    assert "READY=1" not in notes.texts()[notes.texts().index("STOPPING=1") :]


# -- `make run` ------------------------------------------------------------------------------


def catch_up_keys(config: Config, now: datetime) -> set[str]:
    """What a daemon starting at ``now`` sends at once: per occurrence still open (or with
    an overdue repeat due), the latest reminder already due."""
    today = now.astimezone(ZoneInfo(config.service.timezone)).date()
    start, end = store_window(config, today)
    keys = set()
    for occurrence in plan(config, start, end, singles_unbounded=True):
        due = [
            r for r in occurrence.reminders if r.due <= now and (r.overdue or occurrence.ends > now)
        ]
        if due:
            keys.add(max(due, key=lambda r: (r.due, r.key)).key)
    return keys


def test_the_example_config_runs_and_catches_up(
    tmp_path: Path, port: int, run_daemon: RunDaemon
) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "example.toml"
    text = example.read_text(encoding="utf-8")
    assert 'listen = "127.0.0.1:8780"' in text
    assert 'public_url = "http://127.0.0.1:8780"' in text
    config_path = tmp_path / "example.toml"
    write(config_path, text.replace("127.0.0.1:8780", f"127.0.0.1:{port}"))
    config = load_config(config_path)
    expected_before = catch_up_keys(config, datetime.now(UTC))
    assert expected_before, "the example config should have reminders that fell due recently"

    daemon = run_daemon(config_path)
    daemon.wait_ready()
    maildir = tmp_path / "var" / "mail" / "new"

    def person_reminder(key: str) -> bool:
        """A person's own reminder (not an office's digest or escalation)."""
        parts = key.split("/")
        return len(parts) == 4 and config.person(parts[0]) is not None and "+" not in parts[3]

    def mails() -> dict[str, list[EmailMessage]]:
        found: dict[str, list[EmailMessage]] = {}
        for path in sorted(maildir.iterdir()) if maildir.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(message, EmailMessage)
            found.setdefault(str(message["X-Staywatch-Key"]), []).append(message)
        return found

    wait_until(
        lambda: expected_before <= set(mails()),
        15,
        lambda: f"{sorted(expected_before)} in {maildir}; got {sorted(mails())}",
    )
    assert daemon.stop() == 0
    expected_after = catch_up_keys(config, datetime.now(UTC))

    received = mails()
    for key, messages in received.items():
        # The deadline's recipients get their own copies (Message-ID KEY+cc-HASH).
        own = [m for m in messages if "+cc-" not in str(m["Message-ID"])]
        copies = [m for m in messages if "+cc-" in str(m["Message-ID"])]
        assert len(own) == 1, f"{key} delivered {len(own)} times"
        [message] = own
        if copies:
            parts = key.split("/")
            entry = config.person(parts[0])
            assert entry is not None
            [deadline] = [d for d in entry.deadlines if d.id == parts[1]]
            assert sorted(a for m in copies for _, a in getaddresses([str(m["To"])])) == sorted(
                deadline.recipients
            )
            assert len({str(m["Message-ID"]) for m in copies}) == len(copies)
        assert message["Message-ID"] == f"<{key.replace(':', '-')}@localhost>"
        assert getaddresses([str(message["To"])])
        assert message.get_body(("plain",)) is not None
        assert message.get_body(("html",)) is not None
        if person_reminder(key):
            entry = config.person(key.split("/")[0])
            assert entry is not None
            assert {a for _, a in getaddresses([str(message["To"])])} == set(entry.email)
    reminders = {key for key in received if person_reminder(key)}
    # Everything that was due went out, and nothing that was not (a reminder may fall
    # due while the test runs: hence the two bounds).
    assert expected_before <= reminders <= expected_before | expected_after
    statuses = reminder_statuses(tmp_path / "var" / "staywatch.db")
    assert {k for k, s in statuses.items() if s == "sent" and person_reminder(k)} == reminders
    assert (tmp_path / "var" / "secret").stat().st_mode & 0o777 == 0o600
