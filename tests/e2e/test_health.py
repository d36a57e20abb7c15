"""What ``GET /healthz`` tells whom: the real daemon, a real SMTP server that refuses a
recipient with its address in the reply, and a broken config edit.

Anyone who can reach the port gets counts, booleans and instants only; the admin
feed token (``staywatch feed-url --all``) gets the whole ``status --json`` object.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from service.status import PUBLIC_HEALTH
from tests.fixtures.daemon import (
    DaemonProcess,
    at_deadline,
    daemon_config,
    free_port,
    person,
    staywatch,
    wait_until,
)
from tests.fixtures.smtp import Script, SmtpServer

pytestmark = pytest.mark.e2e

PRIVATE = "wang.fang@private-mail.example"
REPLY = f"550 5.1.1 <{PRIVATE}>: Recipient address rejected: User unknown"


def get(port: int, path: str) -> tuple[int, dict[str, Any], str]:
    """(status, JSON body, raw body) of a GET, error statuses included."""
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            raw = reply.read().decode()
            return reply.status, json.loads(raw), raw
    except urllib.error.HTTPError as exc:
        with exc:
            raw = exc.read().decode()
            return exc.code, json.loads(raw), raw


def token_of(config: Path, *args: str) -> str:
    result = staywatch("feed-url", *args, "-c", str(config))
    assert result.returncode == 0, result.stderr
    return urlsplit(result.stdout.strip()).path.rsplit("/", 1)[1].removesuffix(".ics")


def test_healthz_shows_details_only_with_the_admin_token(
    tmp_path: Path, smtp_server: Callable[..., SmtpServer], run_daemon: Callable[..., DaemonProcess]
) -> None:
    smtp = smtp_server("none", script=Script(refuse={PRIVATE: REPLY}))
    port = free_port()
    due = datetime.fromtimestamp(math.ceil(time.time()) + 3, UTC)
    people = person("wang-fang", at_deadline("visa", due)).replace(
        '"wang-fang@example.org"', f'"{PRIVATE}"'
    )
    config = tmp_path / "staywatch.toml"
    good = daemon_config(smtp, port, people)
    config.write_text(good, encoding="utf-8")
    daemon = run_daemon(config)
    daemon.wait_ready()
    wait_until(lambda: get(port, "/healthz")[1]["failed"] == 1, 20, "the refused reminder")
    admin_token, person_token = token_of(config, "--all"), token_of(config, "wang-fang")
    # A broken edit: the errors name the file and its line.
    config.write_text(good.replace('name = "Person wang-fang"', 'nmae = "x"'), encoding="utf-8")
    wait_until(lambda: get(port, "/healthz")[0] == 503, 20, "the broken config to show")

    status, public, raw = get(port, "/healthz")
    assert status == 503
    assert set(public) == set(PUBLIC_HEALTH)
    assert (public["config_ok"], public["db"], public["failed"]) == (False, True, 1)
    for secret in ("wang", PRIVATE, "private-mail", "550", str(tmp_path), "staywatch.toml", "@"):
        assert secret not in raw, secret
    # Another person's or a wrong token changes nothing; the admin token shows everything.
    assert get(port, f"/healthz?token={person_token}")[2] == raw
    assert get(port, "/healthz?token=nope")[2] == raw
    status, admin, _ = get(port, f"/healthz?token={admin_token}")
    assert status == 503
    assert set(PUBLIC_HEALTH) < set(admin)
    (failure,) = admin["failures"]
    assert failure["key"].startswith("wang-fang/visa/")
    assert PRIVATE in failure["reason"]
    assert any("unknown key 'nmae'" in e and str(config) in e for e in admin["config_errors"])
    assert daemon.stop() == 0
