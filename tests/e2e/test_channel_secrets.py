"""Channel secrets stay secret: the real daemon with a Telegram bot token and a webhook
password, logging at DEBUG, while sends fail.

The token and the password must not appear in the daemon's log, in
``status --json``, in ``/healthz`` (public and admin), in what the store keeps of
each attempt, or in any error the CLI prints (``check`` with the token written
inline, ``send-test`` refused).
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.fixtures.daemon import (
    STAYWATCH,
    DaemonProcess,
    at_deadline,
    env_for_daemon,
    free_port,
    query,
)
from tests.fixtures.receiver import Receiver
from tests.fixtures.smtp import SmtpServer

pytestmark = pytest.mark.e2e

BOT = "7781234567:AAFsEcReT-b0t-t0ken_forTests"
SECRETS = (BOT, "AAFsEcReT-b0t-t0ken_forTests", "hunter2-webhook-pw")


def get(port: int, path: str) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            return str(reply.read().decode())
    except urllib.error.HTTPError as exc:
        with exc:
            return str(exc.read().decode())


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """A one-shot command with the daemon's environment (the hook's URL variable)."""
    return subprocess.run(
        [str(STAYWATCH), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_for_daemon(env),
        check=False,
    )


def assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{where} shows a secret: {text[:2000]}"


async def test_tokens_never_show(
    tmp_path: Path,
    smtp_server: Callable[..., SmtpServer],
    run_daemon: Callable[..., DaemonProcess],
    receiver: Receiver,
) -> None:
    smtp = smtp_server("none")
    port = free_port()
    (tmp_path / "telegram.url").write_text(f"tgram://{BOT}/{{to}}\n", encoding="utf-8")
    hook_url = f"json://staywatch:hunter2-webhook-pw@127.0.0.1:{receiver.port}/hook/{{to}}"
    receiver.script("/hook/wang", 401)
    due = datetime.fromtimestamp(math.ceil(time.time()) + 3, UTC)
    config = tmp_path / "staywatch.toml"
    config.write_text(
        '[service]\ntimezone = "Asia/Seoul"\ndatabase = "sqlite:///var/staywatch.db"\n'
        'secret_file = "var/secret"\n'
        '\n[mail]\ntransport = "smtp"\nfrom = "staywatch <staywatch@example.org>"\n'
        f'host = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\ntimeout = 5\n'
        f'\n[feed]\nlisten = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n'
        '\n[[channel]]\nid = "telegram"\nurl_file = "telegram.url"\ntimeout = 3\n'
        '\n[[channel]]\nid = "hook"\nurl_env = "HOOK_URL"\n'
        '\n[[person]]\nid = "wang"\nname = "Wang"\nemail = ["wang@example.org"]\n'
        'notify = { telegram = "123456789", hook = "wang" }\n' + at_deadline("visa", due),
        encoding="utf-8",
    )
    env = {"HOOK_URL": hook_url, "STAYWATCH_LOG_LEVEL": "DEBUG"}
    daemon = run_daemon(config, env=env)
    await asyncio.to_thread(daemon.wait_ready)
    try:
        await receiver.wait_for(1, seconds=30)
    except TimeoutError:
        raise AssertionError(f"no request came; the daemon logged:\n{daemon.stderr}") from None

    # Telegram cannot be reached from here (or refuses the made-up token): a failure.
    await asyncio.to_thread(daemon.wait_for_line, r"\(channel telegram\)", 30)

    status = await asyncio.to_thread(cli, env, "status", "--json", "-c", str(config))
    assert status.returncode == 0, status.stderr
    assert_clean(status.stdout, "status --json")
    json.loads(status.stdout)
    assert_clean(await asyncio.to_thread(get, port, "/healthz"), "/healthz")
    feed = await asyncio.to_thread(cli, env, "feed-url", "--all", "-c", str(config))
    token = urlsplit(feed.stdout.strip()).path.rsplit("/", 1)[1].removesuffix(".ics")
    admin = await asyncio.to_thread(get, port, f"/healthz?token={token}")
    assert "hook" in admin or "failures" in admin
    assert_clean(admin, "/healthz with the admin token")

    # Errors the CLI prints.
    refused = await asyncio.to_thread(
        cli, env, "send-test", "-c", str(config), "--channel", "telegram", "42"
    )
    assert refused.returncode == 1
    assert_clean(refused.stderr + refused.stdout, "send-test")
    inline = tmp_path / "inline.toml"
    inline.write_text(
        f'[[channel]]\nid = "telegram"\nurl = "tgram://{BOT}/{{to}}"\n', encoding="utf-8"
    )
    check = await asyncio.to_thread(cli, env, "check", "-c", str(inline))
    assert check.returncode == 1
    assert "holds a secret" in check.stderr
    assert_clean(check.stderr + check.stdout, "check")

    # What the store keeps of each attempt: the service's reply, redacted.
    database = tmp_path / "var" / "staywatch.db"
    stored = repr(query(database, "SELECT * FROM targets")) + repr(
        query(database, "SELECT * FROM deliveries")
    )
    assert "error=401" in stored
    assert "tgram://" in stored
    assert_clean(stored, "the store")

    daemon.stop()
    log = daemon.stderr
    assert "hook" in log  # the daemon did log about the channels
    assert_clean(log, "the daemon's log")
