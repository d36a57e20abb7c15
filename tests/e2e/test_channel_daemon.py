"""The real daemon and a webhook: a person with ``notify = { hook = "wang" }`` and
``email_reminders = false`` gets each reminder once at the webhook, on time (within
2 s of its due instant, never early), in their language, and never by email."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fixtures.daemon import DaemonProcess, at_deadline, free_port, reminder_statuses
from tests.fixtures.receiver import Receiver
from tests.fixtures.smtp import SmtpServer

pytestmark = pytest.mark.e2e

ON_TIME = 2.0


async def test_webhook_person_gets_each_reminder_once_on_time_in_chinese(
    tmp_path: Path,
    smtp_server: Callable[..., SmtpServer],
    run_daemon: Callable[..., DaemonProcess],
    receiver: Receiver,
) -> None:
    smtp = smtp_server("none")
    port = free_port()
    start = math.ceil(time.time())
    dues = {"first": start + 4, "second": start + 7}
    deadlines = "".join(
        at_deadline(name, datetime.fromtimestamp(at, UTC)) for name, at in dues.items()
    )
    config = tmp_path / "staywatch.toml"
    config.write_text(
        '[service]\ntimezone = "Asia/Seoul"\ndatabase = "sqlite:///var/staywatch.db"\n'
        'secret_file = "var/secret"\n'
        '\n[mail]\ntransport = "smtp"\nfrom = "staywatch <staywatch@example.org>"\n'
        f'host = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\ntimeout = 5\n'
        f'\n[feed]\nlisten = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n'
        f'\n[[channel]]\nid = "hook"\nurl = "json://127.0.0.1:{receiver.port}/hook/{{to}}"\n'
        '\n[[person]]\nid = "wang"\nname = "Wang Fang"\nemail = ["wang@example.org"]\n'
        'language = "zh"\nnotify = { hook = "wang" }\nemail_reminders = false\n' + deadlines,
        encoding="utf-8",
    )
    daemon = run_daemon(config)
    await asyncio.to_thread(daemon.wait_ready)
    await receiver.wait_for(2, seconds=30)
    arrived = [time.time() - (time.monotonic() - r.at) for r in receiver.requests]
    assert await asyncio.to_thread(daemon.stop) == 0

    assert receiver.paths() == ["/hook/wang", "/hook/wang"]
    for when, due in zip(arrived, dues.values(), strict=True):
        assert due - 0.05 <= when <= due + ON_TIME, (when, due)
    for request, name in zip(receiver.requests, dues, strict=True):
        assert f"Deadline {name}" in request.body["title"]
        assert "已经办好了吗？请在这里告诉我们：" in request.body["message"]
    assert smtp.messages == []
    statuses = reminder_statuses(tmp_path / "var" / "staywatch.db")
    assert set(statuses.values()) == {"sent"}
