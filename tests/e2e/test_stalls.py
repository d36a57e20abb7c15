"""Nothing a config or a client does stalls the daemon: the real ``staywatch run`` in real
time, a real SMTP server, real sockets.

- A reload whose plan takes long (rules that dateutil has to walk for decades)
  runs beside the event loop: ``/healthz`` answers, reminders go out on time,
  and SIGTERM stops the daemon within 10 s while the plan is still running.
- Half-open connections (200 of them, under an open-file limit of 128) use up
  neither the descriptors delivery needs nor the server: every reminder arrives
  within 2 s of its due instant and ``/healthz`` answers throughout.
"""

from __future__ import annotations

import math
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.fixtures.daemon import (
    Arrivals,
    DaemonProcess,
    at_deadline,
    daemon_config,
    free_port,
    person,
    wait_until,
)
from tests.fixtures.smtp import SmtpServer

pytestmark = pytest.mark.e2e

RunDaemon = Callable[..., DaemonProcess]
StartSmtp = Callable[..., SmtpServer]
StartArrivals = Callable[[SmtpServer], Arrivals]

#: A reminder must arrive within this many seconds after it falls due.
ON_TIME = 2.0
#: A stop must be over within this many seconds of SIGTERM.
STOP_WITHIN = 10.0
SEOUL = ZoneInfo("Asia/Seoul")


def epoch_in(seconds: float) -> float:
    return math.ceil(time.time()) + seconds


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def key(pid: str, did: str, epoch: float) -> str:
    return f"{pid}/{did}/{at(epoch).astimezone(SEOUL).date().isoformat()}/PT0S"


@dataclass
class HealthProbe:
    """Asks ``/healthz`` every half second from a thread; records each answer's status and
    how long it took (None: no answer within the timeout)."""

    port: int
    timeout: float = 3.0
    answers: list[tuple[float, int | None, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            started = time.monotonic()
            status: int | None
            try:
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=self.timeout) as reply:
                    reply.read()
                    status = reply.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = None
            self.answers.append((time.time(), status, time.monotonic() - started))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def heavy_people(count: int) -> str:
    """People whose rules dateutil walks day by day from 1900 and that rarely occur
    (Monday 29 February): each deadline costs a tenth of a second or so to plan."""
    out = ""
    for i in range(count):
        out += f'\n[[person]]\nid = "heavy-{i}"\nname = "Heavy {i}"\nemail = ["h{i}@example.org"]\n'
        for j in range(5):
            out += (
                f'\n  [[person.deadline]]\n  id = "d{j}"\n  kind = "custom"\n  title = "Leap"\n'
                '  rrule = "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"\n'
                f"  start = 1900-01-0{j + 1}\n"
            )
    return out


def test_a_long_reload_plan_stalls_neither_http_nor_sending_nor_a_stop(
    tmp_path: Path,
    smtp_server: StartSmtp,
    run_daemon: RunDaemon,
    arrivals: StartArrivals,
) -> None:
    smtp = smtp_server("none")
    port = free_port()
    config = tmp_path / "staywatch.toml"
    first = epoch_in(12)
    calls = [first + 3 * i for i in range(4)]
    light = person("ana", *(at_deadline(f"c{i}", at(e)) for i, e in enumerate(calls)))
    config.write_text(
        daemon_config(smtp, port, light).replace(
            'secret_file = "var/secret"\n', 'secret_file = "var/secret"\nhorizon_days = 3660\n'
        ),
        encoding="utf-8",
    )
    mail = arrivals(smtp)
    daemon = run_daemon(config)
    daemon.wait_ready()
    start = len(daemon.lines)
    # The reload: the same person, and 200 people whose plan takes a minute or more.
    config.write_text(config.read_text(encoding="utf-8") + heavy_people(200), encoding="utf-8")
    probe = HealthProbe(port)
    try:
        mail.wait_for([key("ana", f"c{i}", e) for i, e in enumerate(calls)], timeout=40)
    finally:
        probe.close()
    times = mail.times()
    lags = {
        k: times[k][0] - e for k, e in ((key("ana", f"c{i}", e), e) for i, e in enumerate(calls))
    }
    reloaded = [line for line in daemon.lines[start:] if "config reloaded" in line]
    assert not reloaded, "the plan ended before the test could stop the daemon during it"
    stopping = time.monotonic()
    daemon.send(signal.SIGTERM)
    code = daemon.wait(timeout=STOP_WITHIN + 20)
    took = time.monotonic() - stopping
    print(f"arrival lags {sorted(round(v, 2) for v in lags.values())} s; stop {took:.1f} s")
    print(
        f"healthz: {len(probe.answers)} answers, slowest {max(a[2] for a in probe.answers):.2f} s"
    )
    assert all(0 <= lag <= ON_TIME for lag in lags.values()), lags
    assert probe.answers
    assert all(status in (200, 503) for _, status, _ in probe.answers), probe.answers
    assert took < STOP_WITHIN, f"the stop took {took:.1f} s"
    assert code == 0
    assert "Traceback" not in daemon.stderr


@dataclass
class HalfOpen:
    """Holds ``count`` connections that never send a full request (some send nothing, some
    half a request line), opening a new one whenever the server closes one."""

    port: int
    count: int
    opened: int = 0
    closed_by_server: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _open(self) -> socket.socket | None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
        except OSError:
            return None
        self.opened += 1
        if self.opened % 2:
            sock.sendall(b"GET /calendar/")  # half a request line, then silence
        sock.setblocking(False)
        return sock

    def _run(self) -> None:
        while not self._stop.is_set():
            alive = []
            for sock in self.sockets:
                try:
                    gone = sock.recv(1024) == b""
                except BlockingIOError:
                    gone = False
                except OSError:
                    gone = True
                if gone:
                    self.closed_by_server += 1
                    sock.close()
                else:
                    alive.append(sock)
            self.sockets = alive
            while len(self.sockets) < self.count and not self._stop.is_set():
                sock = self._open()
                if sock is None:
                    break
                self.sockets.append(sock)
            self._stop.wait(0.5)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()


def test_half_open_connections_starve_neither_delivery_nor_healthz(
    tmp_path: Path,
    smtp_server: StartSmtp,
    run_daemon: RunDaemon,
    arrivals: StartArrivals,
) -> None:
    smtp = smtp_server("none")
    port = free_port()
    config = tmp_path / "staywatch.toml"
    begin = epoch_in(8)
    due = {
        key(pid, f"c{i}", begin + 4 * i): begin + 4 * i for i in range(7) for pid in ("ana", "bob")
    }
    people = "".join(
        person(pid, *(at_deadline(f"c{i}", at(begin + 4 * i)) for i in range(7)))
        for pid in ("ana", "bob")
    )
    config.write_text(daemon_config(smtp, port, people), encoding="utf-8")
    mail = arrivals(smtp)
    daemon = run_daemon(config, open_files=128)
    daemon.wait_ready()
    flood = HalfOpen(port, 200)
    probe = HealthProbe(port)
    try:
        held_until = time.time() + 30
        mail.wait_for(due, timeout=45)
        wait_until(lambda: time.time() > held_until, 40, "30 s of half-open connections")
    finally:
        probe.close()
        flood.close()
    times = mail.times()
    lags = {k: times[k][0] - when for k, when in due.items()}
    statuses = [status for _, status, _ in probe.answers]
    slowest = max(seconds for _, _, seconds in probe.answers)
    print(
        f"arrival lags: max {max(lags.values()):.2f} s, "
        f"all {sorted(round(v, 2) for v in lags.values())}; "
        f"healthz: {statuses.count(200)}/{len(statuses)} answered 200, slowest {slowest:.2f} s; "
        f"half-open: {flood.opened} opened, {flood.closed_by_server} closed by the server"
    )
    print("\n".join(line for line in daemon.lines if line.startswith(("WARNING", "ERROR"))))
    assert all(len(times[k]) == 1 for k in due), times
    assert all(0 <= lag <= ON_TIME for lag in lags.values()), lags
    assert len(statuses) >= 50
    assert all(status == 200 for status in statuses), probe.answers
    assert flood.closed_by_server > 0  # the server let go of idle connections
    assert daemon.stop() == 0
    log = daemon.stderr
    assert "Too many open files" not in log
    assert "Traceback" not in log
