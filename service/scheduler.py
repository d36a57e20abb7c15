"""APScheduler wiring: wake the dispatcher at the next due instant, re-plan daily.

APScheduler only decides *when to look*; the reminders table decides what is
due and what was sent. There is one date job (re-armed after every round), a
daily re-plan and a safety tick, never one job per reminder. Jobs never drop a
late run (``misfire_grace_time=None``): a late look is still a look.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from service.clock import Clock, SystemClock

log = logging.getLogger(__name__)

#: The longest the daemon goes without looking at the table, whatever the timers say
#: (covers suspend/resume and wall-clock jumps, which timers cannot see).
SAFETY_TICK = timedelta(seconds=60)


class Waker:
    """Sets an event whenever the dispatcher should look for due reminders."""

    def __init__(
        self,
        *,
        timezone: str,
        on_tick: Callable[[], Awaitable[None]],
        on_replan: Callable[[], Awaitable[None]],
        clock: Clock | None = None,
        tick: timedelta = SAFETY_TICK,
    ) -> None:
        self.event = asyncio.Event()
        self.clock = clock or SystemClock()
        self.scheduler = AsyncIOScheduler(
            timezone=ZoneInfo(timezone),
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._on_tick = on_tick
        self._on_replan = on_replan
        self._tick = tick
        self._timezone = timezone

    def start(self) -> None:
        """Start APScheduler inside the running event loop."""
        self.scheduler.add_job(
            self._safety_tick, IntervalTrigger(seconds=self._tick.total_seconds()), id="tick"
        )
        self.scheduler.add_job(
            self._on_replan,
            CronTrigger(hour=0, minute=1, timezone=ZoneInfo(self._timezone)),
            id="replan",
        )
        self.scheduler.start()

    def arm(self, at: datetime | None) -> None:
        """Wake at ``at`` (an aware instant), replacing the previous wake-up."""
        if at is None:
            if self.scheduler.get_job("wake"):
                self.scheduler.remove_job("wake")
            return
        at = max(at, self.clock.now())
        self.scheduler.add_job(
            self.kick, DateTrigger(run_date=at), id="wake", replace_existing=True
        )

    def kick(self) -> None:
        """Wake the dispatcher now."""
        self.event.set()

    async def _safety_tick(self) -> None:
        self.kick()
        await self._on_tick()

    def stop(self) -> None:
        """Stop all timers; running callbacks are not waited for."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
