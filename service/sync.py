"""Bring the store in line with the config: plan the store window, then reconcile."""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import AsyncIterator, Collection
from datetime import datetime
from zoneinfo import ZoneInfo

from service.basis import PLAN_BASIS, plan_basis
from service.config import Config
from service.metrics import PLAN_SECONDS
from service.plan import plan, store_window
from service.planahead import PlanAhead, PlanAheadError
from service.rules import BusinessCalendar
from service.store import FreshRows, PlannedRows, ReconcileStats, Store, planned_for
from service.worker import off_loop

log = logging.getLogger(__name__)

__all__ = ["PLAN_BATCH", "replan"]

#: People planned and reconciled together when this process plans a full re-plan.
PLAN_BATCH = 200


async def replan(
    config: Config,
    store: Store,
    now: datetime,
    *,
    people: Collection[str] | None = None,
    skip_unchanged: bool = False,
    ahead: PlanAhead | None = None,
) -> ReconcileStats:
    """Plan ``people`` (default: everyone) and reconcile their reminders into the store.

    People in the store but no longer in the config have their pending
    reminders skipped when the whole config is re-planned. With
    ``skip_unchanged`` (a daemon start) a full re-plan is skipped when the
    config, the day and the code are those of the last full re-plan. ``ahead``
    is a child process planning the same full re-plan (see
    :mod:`service.planahead`): its batches are used when it planned from this
    basis, planning goes on here if it fails part-way, and it is stopped
    before this returns.
    """
    try:
        return await _replan(config, store, now, people, skip_unchanged, ahead)
    finally:
        if ahead is not None:
            await off_loop(ahead.close)


async def _replan(
    config: Config,
    store: Store,
    now: datetime,
    people: Collection[str] | None,
    skip_unchanged: bool,
    ahead: PlanAhead | None,
) -> ReconcileStats:
    started = time.perf_counter()
    today = now.astimezone(ZoneInfo(config.service.timezone)).date()
    basis = await off_loop(plan_basis, config, today) if people is None else ""
    if skip_unchanged and basis and await store.get_meta(PLAN_BASIS) == basis:
        log.info("config and day as at the last plan: nothing to re-plan")
        return ReconcileStats(unchanged=len(config.people))
    start, end = store_window(config, today)
    ids = [p.id for p in config.people] if people is None else list(people)
    present = {p.id for p in config.people}
    calendar = BusinessCalendar.for_config(config)
    stats = ReconcileStats()

    def rows_of(batch: list[str]) -> PlannedRows:
        occurrences = plan(
            config, start, end, people=batch, singles_unbounded=True, calendar=calendar
        )
        return planned_for(occurrences, [i for i in batch if i in present])

    # In parts: a whole plan held at once costs about 1.5 KB per reminder, and
    # memory the daemon took once it keeps for good. Planned and fingerprinted
    # off the event loop: an odd config must not stall sending, HTTP or a stop.
    done = 0  # people stored from the child's batches, in the config's order
    if ahead is not None and people is None:
        async for batch in _planned_ahead(ahead, basis, ids):
            stored = None
            if isinstance(batch, FreshRows):
                stored = await store.insert_fresh(batch, now=now)
            if stored is None:
                # Someone's rows are there after all (or a plain batch): compare them.
                rows = (
                    batch
                    if isinstance(batch, PlannedRows)
                    else await off_loop(rows_of, list(batch.prints))
                )
                stored = await store.reconcile(
                    rows, people=rows.prints, window_start=start, now=now
                )
            stats += stored
            done += len(batch.prints)
    for first in range(done, len(ids), PLAN_BATCH):
        rows = await off_loop(rows_of, ids[first : first + PLAN_BATCH])
        stats += await store.reconcile(rows, people=rows.prints, window_start=start, now=now)
    gone: list[str] = []
    if people is None:
        await store.forget_people(present, now)
    else:
        gone = [i for i in ids if i not in present]
        if gone:
            await store.forget_people(present, now)
    await store.set_meta("last_plan", now.isoformat())
    if people is None:
        await store.set_meta(PLAN_BASIS, basis)
    elif stats.rows_written or gone:
        # Rows changed for part of a (new) config: the store now matches no full basis.
        await store.set_meta(PLAN_BASIS, "")
    PLAN_SECONDS.observe(time.perf_counter() - started)
    log.info(
        "planned %d people: %s",
        len(ids),
        stats,
        extra={"action": "plan"},
    )
    return stats


async def _planned_ahead(
    ahead: PlanAhead, basis: str, ids: list[str]
) -> AsyncIterator[PlannedRows | FreshRows]:
    """The child's batches, in order, as long as they follow ``ids`` from the first."""
    try:
        theirs = await off_loop(ahead.read_basis)
        if theirs is None:
            log.debug("not planned ahead: %s", ahead.declined)
            return
        if theirs != basis:
            log.info("the plan made ahead is of another config or day: planning here")
            return
        log.info("using the plan made ahead by a second process")
        done = 0
        while (rows := await off_loop(ahead.read_batch)) is not None:
            batch = list(rows.prints)
            if not batch or batch != ids[done : done + len(batch)]:
                raise PlanAheadError("its batches are not this config's people")
            done += len(batch)
            yield rows
        if done != len(ids):
            raise PlanAheadError("it ended before planning everyone")
    except (PlanAheadError, OSError, pickle.UnpicklingError, EOFError) as exc:
        log.warning("planning ahead failed (%s): planning here instead", exc)
