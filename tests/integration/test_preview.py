"""`staywatch preview KEY` shows exactly what the daemon sends, and sends nothing.

A reminder and an office's escalation go through the real dispatcher into a
Maildir; then the real CLI previews their keys, and the bytes must be the
Maildir's bytes. The store is the same before and after a preview.
"""

from __future__ import annotations

import asyncio
import email
import subprocess
from datetime import UTC, date, datetime
from email import policy
from pathlib import Path

import pytest

from service.clock import FixedClock
from service.compose import UnknownReminder, find_reminder, parse_key
from service.config import Config, load_config
from service.dispatcher import Dispatcher
from service.store import Store
from service.sync import replan
from service.transport import MaildirTransport
from tests.fixtures.envs import env_without_settings
from tests.fixtures.web import STAYWATCH

#: When the daemon planned everything; the P30D reminder and the escalation come later.
PLANNED_AT = datetime(2027, 2, 1, 0, 0, tzinfo=UTC)
REMINDER = "tran-thi-mai/visa/2027-03-12/P30D"
ESCALATION = "tran-thi-mai/visa/2027-03-12/P10D+intl"


def write_config(path: Path, db_url: str) -> Config:
    path.write_text(
        f"""
[service]
timezone = "Asia/Seoul"
send_time = "09:00"
database = "{db_url}"
secret_file = "var/secret"

[mail]
transport = "maildir"
maildir = "var/mail"
from = "staywatch <reminders@staywatch.example.org>"

[feed]
public_url = "https://staywatch.example.org"

[[office]]
id = "intl"
name = "국제처"
email = ["intl@uni.example.ac.kr"]
language = "zh"
people = ["*"]
digest = false

[[person]]
id = "tran-thi-mai"
name = "Trần Thị Mai"
email = ["mai@example.org"]
language = "ko"

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-03-12
  escalate = "P10D"
""",
        encoding="utf-8",
    )
    return load_config(path)


def preview(config: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The real ``staywatch preview`` as a subprocess; bytes out, as a mail file is."""
    env = env_without_settings()
    return subprocess.run(
        [str(STAYWATCH), "preview", *args, "-c", str(config)],
        capture_output=True,
        timeout=60,
        env=env,
        check=False,
    )


def delivered(maildir: Path) -> dict[str, bytes]:
    """X-Staywatch-Key -> the delivered file's bytes."""
    out = {}
    for path in sorted((maildir / "new").iterdir()):
        data = path.read_bytes()
        key = email.message_from_bytes(data, policy=policy.default)["X-Staywatch-Key"]
        out[str(key)] = data
    return out


async def state(store: Store) -> list[tuple[str, str, str | None]]:
    rows = await store.reminders()
    return [(r.key, r.status, r.sent_at.isoformat() if r.sent_at else None) for r in rows]


async def test_preview_prints_the_bytes_the_daemon_sent(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "staywatch.toml"
    config = write_config(path, db_url)
    clock = FixedClock(PLANNED_AT)
    await replan(config, store, clock.now())
    dispatcher = Dispatcher(
        store=store,
        transport=MaildirTransport(config.resolve(config.mail.maildir)),
        config=lambda: config,
        clock=clock,
        owner="test",
    )
    try:
        _, occurrence, reminder = find_reminder(config, REMINDER)
        _, _, escalation = find_reminder(config, ESCALATION)
        # Each of the person's reminders in its own round, then the escalation alone:
        # an escalation lists the deliveries recorded before its round.
        for due in sorted({r.due for r in occurrence.reminders if r.due < escalation.due}):
            if due >= reminder.due:
                clock.set(due)
                assert (await dispatcher.run_once()).sent
        clock.set(escalation.due)
        assert (await dispatcher.run_once()).keys == [ESCALATION]
    finally:
        await dispatcher.close()
    sent = delivered(config.resolve(config.mail.maildir))
    assert {REMINDER, ESCALATION} <= sent.keys()
    before = await state(store)

    for key in (REMINDER, ESCALATION):
        shown = await asyncio.to_thread(preview, path, key, "--format", "eml")
        assert shown.returncode == 0, shown.stderr.decode()
        assert shown.stdout == sent[key], key

    text = await asyncio.to_thread(preview, path, REMINDER)
    assert text.returncode == 0
    body = text.stdout.decode("utf-8")
    assert body.startswith("Subject: [D-30] 체류기간 만료 3월 12일(금)\n")
    assert f"X-Staywatch-Key: {REMINDER} (sent)" in body
    message = email.message_from_bytes(sent[REMINDER], policy=policy.default)
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert body.endswith(plain.get_content())
    page = await asyncio.to_thread(preview, path, REMINDER, "--format", "html")
    assert page.stdout.decode("utf-8") == html.get_content()
    # Nothing was sent and nothing in the database changed.
    assert await state(store) == before
    assert delivered(config.resolve(config.mail.maildir)) == sent
    assert occurrence.key == REMINDER.rsplit("/", 1)[0]


async def test_preview_of_a_reminder_still_to_come(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "staywatch.toml"
    config = write_config(path, db_url)
    await replan(config, store, PLANNED_AT)
    shown = await asyncio.to_thread(preview, path, REMINDER, "--format", "eml")
    assert shown.returncode == 0, shown.stderr.decode()
    message = email.message_from_bytes(shown.stdout, policy=policy.default)
    # Rendered for its due instant, as the daemon will send it: 30 days left.
    assert message["Date"] == "Wed, 10 Feb 2027 09:00:00 +0900"
    assert str(message["Subject"]) == "[D-30] 체류기간 만료 3월 12일(금)"
    assert not (tmp_path / "var" / "mail").exists()


BAD_KEYS = {
    "nobody/visa/2027-03-12/P30D": "no person 'nobody' in the config (people: tran-thi-mai)",
    "tran-thi-mai/card/2027-03-12/P30D": "has no deadline 'card' (deadlines: visa)",
    "tran-thi-mai/visa/2027-03-13/P30D": "has no occurrence on 2027-03-13",
    "tran-thi-mai/visa/2027-03-12/P5D": "the config plans no reminder tran-thi-mai/visa/2027-03-1",
    "tran-thi-mai/visa/2027-02-30/P30D": "'2027-02-30' in 'tran-thi-mai/visa/2027-02-30/P30D' is",
    "tran-thi-mai/visa": "is not a reminder key PERSON/DEADLINE/YYYY-MM-DD/OFFSET",
    "tran-thi-mai/visa/2027-03-12/P10D+": "ends with '+' but names no office",
    "tran-thi-mai/visa/2027-03-12/P10D+hr": "the config plans no reminder",
}


@pytest.mark.parametrize(("key", "message"), sorted(BAD_KEYS.items()))
def test_bad_keys_say_what_is_wrong(key: str, message: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "staywatch.toml", f"sqlite:///{tmp_path / 'db'}")
    with pytest.raises(UnknownReminder) as caught:
        find_reminder(config, key)
    assert message in str(caught.value)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_bad_key_is_an_error_without_a_traceback(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "staywatch.toml"
    write_config(path, db_url)
    done = await asyncio.to_thread(preview, path, "nobody/visa/2027-03-12/P30D")
    stderr = done.stderr.decode("utf-8")
    assert done.returncode == 1
    assert stderr == "Error: no person 'nobody' in the config (people: tran-thi-mai)\n"
    assert done.stdout == b""


def test_keys_parse_with_and_without_an_office() -> None:
    key, office = parse_key("wang-fang/visa/2027-03-14/P14D+intl")
    assert (str(key), office) == ("wang-fang/visa/2027-03-14/P14D", "intl")
    key, office = parse_key("wang-fang/nhis/2026-12-28/-P3D")
    assert (key.date, key.offset, office) == (date(2026, 12, 28), "-P3D", None)
    with pytest.raises(UnknownReminder, match="not an ISO 8601 duration"):
        parse_key("wang-fang/visa/2027-03-14/soon")
