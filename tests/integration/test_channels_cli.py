"""The channel commands against a real HTTP receiver.

``staywatch send-test --channel ID TARGET``, ``staywatch doctor [--send]`` with
channels, and ``staywatch preview KEY --format short``; the CLI runs as a
subprocess (it calls asyncio.run), the receiver in the test's loop.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from service.doctor import run_checks
from tests.fixtures.receiver import Receiver

REPO = Path(__file__).resolve().parents[2]
BOT = "7781234567:AAF-cli-secret-token_99"


def write_config(tmp_path: Path, port: int) -> Path:
    (tmp_path / "telegram.url").write_text(f"tgram://{BOT}/{{to}}\n", encoding="utf-8")
    path = tmp_path / "staywatch.toml"
    path.write_text(
        f"""\
[service]
database = "sqlite:///var/db.sqlite"

[mail]
maildir = "var/mail"

[feed]
listen = "127.0.0.1:9"
public_url = "https://staywatch.example.org"

[[channel]]
id = "hook"
url = "json://127.0.0.1:{port}/hook/{{to}}"

[[channel]]
id = "hr"
url = "json://127.0.0.1:{port}/hr"
format = "full"

[[channel]]
id = "telegram"
url_file = "telegram.url"

[[person]]
id = "wang-fang"
name = "Wang Fang"
email = ["wang.fang@example.org"]
language = "zh"
notify = {{ hook = "wang" }}
email_reminders = false

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-03-12

[[office]]
id = "intl"
name = "International Office"
email = ["intl@example.org"]
people = ["*"]
notify = {{ hr = "" }}
""",
        encoding="utf-8",
    )
    return path


async def cli(*args: str) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("CREDENTIALS_DIRECTORY", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_send_test_through_a_channel(tmp_path: Path, receiver: Receiver) -> None:
    path = write_config(tmp_path, receiver.port)
    code, out, err = await cli("send-test", "-c", str(path), "--channel", "hook", "wang")
    assert code == 0, err
    assert out == ("Sent a test message through channel hook to wang via json://127.0.0.1.\n")
    assert receiver.paths() == ["/hook/wang"]
    assert "staywatch" in receiver.requests[0].body["title"]


async def test_send_test_refused_says_why(tmp_path: Path, receiver: Receiver) -> None:
    path = write_config(tmp_path, receiver.port)
    receiver.script("/hook/gone", 404)
    code, _, err = await cli("send-test", "-c", str(path), "--channel", "hook", "gone")
    assert code == 1
    assert err.startswith("Error: test message to hook refused for good: json://127.0.0.1: ")
    assert "error=404" in err


async def test_send_test_checks_the_target(tmp_path: Path, receiver: Receiver) -> None:
    path = write_config(tmp_path, receiver.port)
    code, _, err = await cli("send-test", "-c", str(path), "--channel", "hook")
    assert (code, err) == (
        1,
        "Error: channel 'hook' needs a TARGET (its URL has {to}), e.g. a chat id\n",
    )
    code, _, err = await cli("send-test", "-c", str(path), "--channel", "hr", "x")
    assert code == 1
    assert "takes no TARGET" in err
    code, _, err = await cli("send-test", "-c", str(path), "--channel", "nope", "x")
    assert err == "Error: no channel 'nope' in the config (channels: hook, hr, telegram)\n"
    assert receiver.requests == []


async def test_doctor_parses_channels_and_sends_only_when_asked(
    tmp_path: Path, receiver: Receiver
) -> None:
    path = write_config(tmp_path, receiver.port)
    checks = {c.name: c for c in await run_checks(path)}
    assert checks["channel hook"].ok
    assert checks["channel hook"].detail.startswith("json://127.0.0.1: JSON, used by 1")
    assert checks["channel telegram"].warning  # nobody uses it
    assert BOT not in checks["channel telegram"].line()
    assert receiver.requests == []

    checks = {c.name: c for c in await run_checks(path, send=True)}
    assert checks["channel hook"].ok, checks["channel hook"].line()
    assert checks["channel hr"].ok, checks["channel hr"].line()
    assert sorted(receiver.paths()) == ["/hook/wang", "/hr"]


async def test_doctor_send_reports_a_refusal(tmp_path: Path, receiver: Receiver) -> None:
    path = write_config(tmp_path, receiver.port)
    receiver.script("/hook/wang", 403)
    checks = {c.name: c for c in await run_checks(path, send=True)}
    hook = checks["channel hook"]
    assert not hook.ok
    assert "error=403" in hook.detail
    assert "started a chat with the bot" in hook.fix


async def test_preview_short(tmp_path: Path, receiver: Receiver) -> None:
    path = write_config(tmp_path, receiver.port)
    code, out, err = await cli(
        "preview", "-c", str(path), "wang-fang/visa/2027-03-12/P30D", "--format", "short"
    )
    assert code == 0, err
    title, key, blank, first, link = out.rstrip("\n").split("\n")
    assert title.startswith("Title: ")
    assert key == "X-Staywatch-Key: wang-fang/visa/2027-03-12/P30D (not stored)"
    assert blank == ""
    assert "滞留期间" in first
    assert link.startswith("已经办好了吗？请在这里告诉我们：https://staywatch.example.org/act/")
    assert receiver.requests == []
