"""Scenario 13: five simulated days with 2,000 people; memory and descriptors stay flat.

The whole daemon runs in this process on a hand-moved clock: every fifteen simulated
minutes the dispatcher is woken (as the timer would), every simulated hour the
health, metrics and a few calendar feeds are fetched over HTTP, and at each
local midnight the daily re-plan runs. Mail goes to a real SMTP server that
only counts. The resident set size and the open descriptors are sampled at the
end of every simulated day.
"""

from __future__ import annotations

import asyncio
import gc
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from service.clock import FixedClock
from service.publish import secret_of
from service.tokens import feed_token
from tests.fixtures.daemon import free_port
from tests.fixtures.smtp import RecordingHandler, Script, plain_server
from tests.reliability.helpers import (
    LocalDaemon,
    open_fds,
    rss_bytes,
    seeded,
    service_config,
    smtp_mail,
)

PEOPLE = 2000
DAYS = 5
STEP = timedelta(minutes=15)
PER_HOUR = timedelta(hours=1) // STEP
PER_DAY = timedelta(days=1) // STEP
KEY = re.compile(rb"^X-Staywatch-Key: (\S+)", re.MULTILINE)


class CountingHandler(RecordingHandler):
    """Counts the keys it receives and keeps nothing else (the test's memory stays flat)."""

    def __init__(self) -> None:
        super().__init__(Script())
        self.keys: Counter[bytes] = Counter()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        found = KEY.search(bytes(envelope.original_content or b""))
        self.keys[found.group(1) if found else b"?"] += 1
        return "250 2.0.0 Ok"


def soak_people(start: datetime) -> str:
    rng = seeded("soak")
    out = []
    for i in range(PEOPLE):
        ats = []
        for n in range(2):
            at = start + timedelta(minutes=rng.randrange(10, DAYS * 24 * 60 - 120))
            ats.append(
                f'\n  [[person.deadline]]\n  id = "at{n}"\n  kind = "custom"\n  title = "T{n}"\n'
                f'  at = {at.isoformat()}\n  remind = ["PT1H", "PT0S"]\n'
            )
        out.append(
            f'\n[[person]]\nid = "p{i:05d}"\nname = "Person {i}"\n'
            f'email = ["p{i:05d}@example.org"]\n'
            f'timezone = "{rng.choice(["Asia/Seoul", "Europe/Berlin", "America/New_York"])}"\n'
            '  [[person.deadline]]\n  id = "daily"\n  kind = "custom"\n  title = "Daily"\n'
            f'  rrule = "FREQ=DAILY"\n  start = {start.date()}\n  remind = ["PT0S"]\n'
            + "".join(ats)
        )
    return "".join(out)


@pytest.fixture
def counting_smtp() -> Any:
    handler = CountingHandler()
    with plain_server(handler) as controller:
        yield handler, controller


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_five_days_with_2000_people_keep_memory_and_fds_flat(
    tmp_path: Path, counting_smtp: Any
) -> None:
    handler, controller = counting_smtp
    start = datetime(2027, 4, 5, 15, 0, tzinfo=UTC)  # midnight in Seoul
    port = free_port()
    path = tmp_path / "staywatch.toml"
    path.write_text(
        service_config(
            mail=smtp_mail("127.0.0.1", controller.port, timeout=5),
            port=port,
            body=soak_people(start),
        ).replace('send_time = "09:00"\n', 'send_time = "09:00"\nhorizon_days = 7\n'),
        "utf-8",
    )
    clock = FixedClock(start)
    local = LocalDaemon(path, port, clock)
    await local.start()
    rng = seeded("soak-web")
    samples: list[tuple[int, int, int]] = []
    try:
        daemon = local.daemon
        secret = secret_of(daemon.config)
        zone = daemon.config.service.timezone
        day = clock.now().astimezone(ZoneInfo(zone)).date()
        steps = int(timedelta(days=DAYS) / STEP)
        for step in range(1, steps + 1):
            clock.set(start + step * STEP)
            today = clock.now().astimezone(ZoneInfo(zone)).date()
            if today != day:  # the daily re-plan at local midnight
                day = today
                await daemon._daily_replan()
            daemon._waker.kick()
            await settled(local, clock)
            if step % PER_HOUR == 0:  # hourly: what monitoring and calendar apps fetch
                await daemon._tick()
                for path_ in ("/healthz", "/metrics"):
                    assert (await local.get(path_))[0] == 200
                for _ in range(3):
                    who = f"p{rng.randrange(PEOPLE):05d}"
                    status, _ = await local.get(f"/calendar/{feed_token(secret, who, 0)}.ics")
                    assert status == 200
            if step % PER_DAY == 0:
                gc.collect()
                samples.append((step // PER_DAY, rss_bytes(), open_fds()))
    finally:
        await local.stop()

    sent = sum(handler.keys.values())
    assert max(handler.keys.values()) == 1, "a reminder sent twice"
    rss = [r for _, r, _ in samples]
    fds = [f for _, _, f in samples]
    mib = [round(r / 2**20, 1) for r in rss]
    # Day 1 warms every cache up; from then on nothing may grow.
    assert rss[-1] - rss[1] < 16 * 2**20, f"RSS grew: {mib} MiB"
    assert max(fds[1:]) - min(fds[1:]) <= 4, f"descriptors moved: {fds}"
    print(
        f"FIGURE s13: {PEOPLE} people, {DAYS} simulated days, {sent} mails; RSS per day "
        f"{mib} MiB; open fds per day {fds}"
    )


async def settled(local: LocalDaemon, clock: FixedClock) -> None:
    """Until the dispatcher has sent everything due now (polled, 5 ms apart)."""
    store = local.daemon.store
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        due = await store.next_due_at()
        if (due is None or due > clock.now()) and not local.daemon._waker.event.is_set():
            rows = await store.reminders(
                start=clock.now() - STEP, end=clock.now() + timedelta(microseconds=1)
            )
            if all(r.status != "pending" or r.due > clock.now() for r in rows):
                return
        if loop.time() > deadline:
            raise AssertionError("the dispatcher did not settle within 60 s")
        await asyncio.sleep(0.005)
