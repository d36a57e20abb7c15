"""The production unit (systemd/staywatch.service) as systemd itself reads it.

``systemd-analyze verify`` checks every directive; it also insists that the
ExecStart binary exists, so it runs on a copy whose ExecStart points at this
checkout's ``staywatch``. The directives the deployment relies on are checked
by name, and ``systemd-analyze security --offline`` must keep its score.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service.connections import MAX_CONNECTIONS, RESERVED_FDS, server_limits

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "staywatch.service"
DOCS = REPO / "docs" / "deployment.md"
INSTALLED = "/opt/staywatch/.venv/bin/staywatch"
# `systemd-analyze security` levels: up to 2.0 is what systemd itself calls good.
MAX_EXPOSURE = 2.0

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None,
    reason="systemd-analyze is missing; install Debian's systemd package "
    "(apt-get install systemd) to check the unit",
)


def directives(text: str) -> dict[str, list[tuple[str, str]]]:
    """Section -> [(key, value)], keeping repeated keys as systemd does."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def values(key: str, section: str = "Service") -> list[str]:
    return [v for k, v in directives(UNIT.read_text(encoding="utf-8"))[section] if k == key]


def local_copy(tmp_path: Path, text: str | None = None) -> Path:
    """The unit with ExecStart pointing at an executable that exists here."""
    executable = Path(sys.executable).with_name("staywatch")
    assert executable.exists(), f"{executable} missing: install the package in the venv"
    text = UNIT.read_text(encoding="utf-8") if text is None else text
    assert INSTALLED in text
    copy = tmp_path / "staywatch.service"
    copy.write_text(text.replace(INSTALLED, str(executable)), encoding="utf-8")
    return copy


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=60, check=False)


def complaints(unit: Path) -> tuple[int, list[str]]:
    """Exit code of ``verify`` and its lines about this unit (other units are not ours)."""
    result = analyze("verify", "--man=no", str(unit))
    lines = (result.stdout + result.stderr).splitlines()
    return result.returncode, [line for line in lines if "staywatch" in line]


@needs_analyze
def test_systemd_analyze_verify_is_silent(tmp_path: Path) -> None:
    assert complaints(local_copy(tmp_path)) == (0, [])


@needs_analyze
def test_verify_would_catch_a_mistake(tmp_path: Path) -> None:
    # The check above is only worth something if verify speaks up about our unit.
    broken = UNIT.read_text(encoding="utf-8").replace("ProtectHome=yes", "ProtectHome=sometimes")
    _, lines = complaints(local_copy(tmp_path, broken))
    assert any("sometimes" in line for line in lines), lines


@needs_analyze
def test_security_exposure_stays_low(tmp_path: Path) -> None:
    unit = local_copy(tmp_path)
    result = analyze("security", "--offline=true", str(unit))
    if result.returncode != 0 and "offline" in result.stderr:
        pytest.skip(f"this systemd-analyze has no --offline (needs systemd 250+): {result.stderr}")
    found = re.search(r"Overall exposure level for staywatch\.service: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("ExecStart", f"{INSTALLED} run -c /etc/staywatch/staywatch.toml"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("Restart", "on-failure"),
        ("DynamicUser", "yes"),
        ("StateDirectory", "staywatch"),
        ("ConfigurationDirectory", "staywatch"),
        ("LoadCredential", "smtp-password:/etc/staywatch/smtp-password"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallArchitectures", "native"),
    ],
)
def test_required_directive(key: str, expected: str) -> None:
    assert values(key) == [expected]


def test_watchdog_and_timeouts() -> None:
    (watchdog,) = values("WatchdogSec")
    assert re.fullmatch(r"\d+s?", watchdog)
    assert int(watchdog.rstrip("s")) >= 10
    assert values("TimeoutStopSec")


def test_open_files_leave_room_for_connections_and_the_reserve() -> None:
    (limit,) = values("LimitNOFILE")
    limits = server_limits(int(limit), mail_concurrency=64)
    # Soft and hard alike (no "soft:hard"): the daemon cannot raise it under @resources.
    assert limit.isdigit()
    assert limits.cap == MAX_CONNECTIONS
    assert limits.cap + limits.backlog + RESERVED_FDS + 2 * 64 <= int(limit)


def test_system_call_filter_starts_from_system_service() -> None:
    filters = values("SystemCallFilter")
    assert filters[0] == "@system-service"
    assert all(f.startswith("~") for f in filters[1:])


def test_unit_is_installed_for_boot() -> None:
    assert values("WantedBy", "Install") == ["multi-user.target"]


def test_deployment_docs_match_the_unit() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for needle in (
        INSTALLED,
        "/etc/staywatch/staywatch.toml",
        "/etc/staywatch/smtp-password",
        "/var/lib/staywatch",
        'password_file = "smtp-password"',
        "systemd-analyze security --offline=true",
        "systemctl reload staywatch",
    ):
        assert needle in docs, needle
