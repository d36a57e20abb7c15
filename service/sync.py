"""Bring the store in line with the config: plan the store window, then reconcile."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from datetime import datetime
from zoneinfo import ZoneInfo

from service.config import Config
from service.metrics import PLAN_SECONDS
from service.plan import plan, store_window
from service.rules import BusinessCalendar
from service.store import ReconcileStats, Store

log = logging.getLogger(__name__)


async def replan(
    config: Config,
    store: Store,
    now: datetime,
    *,
    people: Collection[str] | None = None,
) -> ReconcileStats:
    """Plan ``people`` (default: everyone) and reconcile their reminders into the store.

    People in the store but no longer in the config have their pending
    reminders skipped when the whole config is re-planned.
    """
    started = time.perf_counter()
    today = now.astimezone(ZoneInfo(config.service.timezone)).date()
    start, end = store_window(config, today)
    ids = [p.id for p in config.people] if people is None else list(people)
    occurrences = plan(
        config,
        start,
        end,
        people=ids,
        singles_unbounded=True,
        calendar=BusinessCalendar.for_config(config),
    )
    present = {p.id for p in config.people}
    stats = await store.reconcile(
        occurrences, people=[i for i in ids if i in present], window_start=start, now=now
    )
    if people is None:
        await store.forget_people(present, now)
    else:
        gone = [i for i in ids if i not in present]
        if gone:
            await store.forget_people(present, now)
    await store.set_meta("last_plan", now.isoformat())
    PLAN_SECONDS.observe(time.perf_counter() - started)
    log.info(
        "planned %d people: %s",
        len(ids),
        stats,
        extra={"action": "plan"},
    )
    return stats
