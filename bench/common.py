"""What every benchmark shares: results, statistics, processes, ports and tools."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STAYWATCH = str(Path(PYTHON).with_name("staywatch"))


@dataclass
class Stat:
    """Repeated measurements of one thing, in ``unit``."""

    values: list[float]
    unit: str

    @property
    def min(self) -> float:
        """The best run."""
        return min(self.values)

    @property
    def median(self) -> float:
        """The median run."""
        return statistics.median(self.values)

    @property
    def max(self) -> float:
        """The worst run."""
        return max(self.values)

    def as_json(self) -> dict[str, Any]:
        """For results.json."""
        return {"values": self.values, "unit": self.unit, "min": self.min, "median": self.median}


@dataclass
class Row:
    """One line of the results table."""

    target: str
    name: str
    workload: str
    staywatch: Stat | None
    baseline_name: str
    baseline: Stat | None
    #: How the ratio reads, e.g. "42x faster" or "0.81x the rate".
    ratio: float | None
    ratio_text: str
    goal: str
    met: bool | None
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """For results.json."""
        out = asdict(self)
        out["staywatch"] = self.staywatch.as_json() if self.staywatch else None
        out["baseline"] = self.baseline.as_json() if self.baseline else None
        return out


@dataclass
class Context:
    """How this run was asked for."""

    quick: bool
    repeat: int
    work: Path
    out: Path
    #: Extra measurements for the plot: series name -> [(size, seconds)].
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    #: Shared between benchmarks: e.g. the databases the cold start leaves behind.
    shared: dict[str, Any] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def folder(self, name: str) -> Path:
        """A fresh working folder for one benchmark."""
        path = self.work / name
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def command(self, text: str) -> None:
        """Remember a command line for the report, with paths relative to the repository."""
        text = text.replace(STAYWATCH, "staywatch").replace(str(ROOT) + os.sep, "")
        if text not in self.commands:
            self.commands.append(text)


def fmt_seconds(value: float) -> str:
    """A duration for humans: 12 ms, 1.25 s."""
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.1f} ms" if value < 0.1 else f"{value * 1e3:.0f} ms"
    return f"{value:.2f} s"


def fmt_value(value: float, unit: str) -> str:
    """A measurement in its unit."""
    if unit == "s":
        return fmt_seconds(value)
    if unit == "MB":
        return f"{value:.0f} MB"
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.2f} {unit}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen[Any] | None = None) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.01)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One GET; (status, headers, body), also for 304 and 404."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def env_for_bench() -> dict[str, str]:
    """The environment for child processes: the project importable, quiet logs."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("STAYWATCH_LOG_LEVEL", "WARNING")
    # The CLI remembers validated configs; the benchmarks keep theirs apart from the user's.
    env.setdefault("STAYWATCH_CACHE_DIR", str(ROOT / "bench" / "out" / "cache"))
    env.pop("NOTIFY_SOCKET", None)
    env.pop("STAYWATCH_CONFIG", None)
    return env


def run_worker(name: str, *args: str, timeout: float = 900) -> dict[str, Any]:
    """Run ``python -m bench.workers NAME ARGS`` in a fresh process; return its JSON."""
    cmd = [PYTHON, "-m", "bench.workers", name, *args]
    done = subprocess.run(
        cmd,
        cwd=ROOT,
        env=env_for_bench(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    last = done.stdout.strip().splitlines()[-1]
    result: dict[str, Any] = json.loads(last)
    return result


@contextlib.contextmanager
def process(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a process; on exit stop exactly that process (SIGTERM, then SIGKILL)."""
    out = log.open("ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        list(cmd),
        env=env or env_for_bench(),
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=cwd or ROOT,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        stop(proc)
        if log:
            out.close()  # type: ignore[union-attr]


def stop(proc: subprocess.Popen[Any], timeout: float = 20.0) -> int | None:
    """SIGTERM the process (its own group), wait, SIGKILL if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


class NotifySocket:
    """A datagram socket to pass as NOTIFY_SOCKET; records when each message arrived."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="sw-notify-")
        self.path = os.path.join(self._dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def wait_for(self, text: str, timeout: float) -> float:
        """Block until a datagram containing ``text`` arrives; its perf_counter time."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {text} on NOTIFY_SOCKET within {timeout} s")
            self.sock.settimeout(left)
            data = self.sock.recv(4096)
            if text.encode() in data:
                return time.perf_counter()

    def close(self) -> None:
        """Remove the socket."""
        self.sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in {"VmRSS", "VmHWM"}:
                values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def tool(name: str) -> str | None:
    """The path of a command-line tool, also in sbin folders."""
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return None


def versions() -> dict[str, str]:
    """Versions of what was measured."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for package in (
        "staywatch",
        "apscheduler",
        "sqlalchemy",
        "aiosqlite",
        "aiohttp",
        "aiosmtplib",
        "aiosmtpd",
        "icalendar",
        "pydantic",
    ):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    for name, cmd in (
        ("sqlite", [PYTHON, "-c", "import sqlite3; print(sqlite3.sqlite_version)"]),
        ("nginx", ["nginx", "-v"]),
        ("wrk", ["wrk", "-v"]),
        ("remind", ["remind", "-h"]),
    ):
        exe = tool(cmd[0]) if cmd[0] != PYTHON else PYTHON
        if exe is None:
            out[name] = "not installed"
            continue
        try:
            done = subprocess.run(
                [exe, *cmd[1:]], capture_output=True, text=True, timeout=10, check=False
            )
        except OSError:
            out[name] = "not runnable"
            continue
        text = (done.stdout + done.stderr).strip().splitlines()
        out[name] = _version_line(name, text)
    return out


def _version_line(name: str, lines: list[str]) -> str:
    for line in lines:
        if name == "nginx" and "nginx/" in line:
            return line.split("nginx/")[1].split()[0]
        if name == "wrk" and line.startswith("wrk "):
            return line.split()[1]
        if name == "remind" and "REMIND" in line.upper() and any(c.isdigit() for c in line):
            return line.strip()
        if name == "sqlite":
            return line.strip()
    return lines[0] if lines else "?"


def machine() -> dict[str, str]:
    """What the benchmarks ran on."""
    import platform

    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
                break
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "kernel": platform.release(),
        "os": _os_name(),
    }


def _os_name() -> str:
    with contextlib.suppress(OSError), open("/etc/os-release", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    return "?"
