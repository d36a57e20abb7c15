"""What the real daemon logs about requests its HTTP parser refuses: a URL over 8,190
bytes that carries a valid signed link, a bad request line, binary noise.

Each gets a 400; together they make at most one WARNING line a minute, without the
path and without a traceback; the link never reaches the log.
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service.config import load_config
from service.publish import secret_of
from service.tokens import sign_action
from tests.fixtures.daemon import DaemonProcess, daemon_config, free_port, person, staywatch
from tests.fixtures.smtp import SmtpServer

pytestmark = pytest.mark.e2e


def raw_request(port: int, data: bytes) -> bytes:
    """Send ``data`` and read the answer until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_malformed_requests_are_logged_once_without_path_or_traceback(
    tmp_path: Path, smtp_server: Callable[..., SmtpServer], run_daemon: Callable[..., DaemonProcess]
) -> None:
    port = free_port()
    config = tmp_path / "staywatch.toml"
    config.write_text(daemon_config(smtp_server("none"), port, person("ana")), encoding="utf-8")
    feed = staywatch("feed-url", "ana", "-c", str(config)).stdout.strip()
    token = feed.rsplit("/", 1)[1].removesuffix(".ics")
    signed = sign_action(
        secret_of(load_config(config)),
        occurrence="ana/call/2027-01-01",
        expires=datetime.now(UTC) + timedelta(days=30),
    )
    daemon = run_daemon(config)
    daemon.wait_ready()
    start = len(daemon.lines)

    long_url = f"/calendar/{token}.ics?" + "x" * 9000
    requests = [
        f"GET {long_url} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        f"GET /act/{signed}?{'x' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        f"GET /calendar/{token}.ics HTTP/1.1\r\nX-Long: {'y' * 9000}\r\n\r\n".encode(),
        f"G\x00T /calendar/{token}.ics HTTP/1.1\r\n\r\n".encode("latin-1"),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),
        f"GET /calendar/{token}.ics HTTP/9.9\r\n\r\n".encode(),
    ] * 20
    answers = [raw_request(port, data) for data in requests]
    assert all(a.startswith(b"HTTP/1.") and b" 400 " in a.split(b"\r\n")[0] for a in answers if a)
    # The daemon goes on answering (the feed itself, and health).
    with urllib.request.urlopen(feed, timeout=5) as reply:
        assert reply.status == 200
    assert daemon.stop() == 0
    logged = daemon.lines[start:]
    text = "\n".join(logged)
    assert token not in text
    assert signed not in text
    assert "Traceback" not in text
    assert not [line for line in logged if line.startswith("ERROR")]
    warned = [line for line in logged if "malformed request" in line]
    assert len(warned) == 1, logged
    assert warned[0].startswith("WARNING aiohttp.server: HTTP: 1 malformed request(s)")
