"""Group commit of delivery outcomes: each reaches the database soon after the reply.

A crash repeats only what was not committed, so outcomes must not wait for the
rest of their batch (a burst of 200 messages at 0.5 s each would otherwise
repeat every delivered one after a kill -9). Each outcome handed to
:class:`OutcomeWriter` is committed within ``window`` plus one commit; those that
arrive while a commit runs go together in the next one, so a burst costs a few
commits per second rather than one per message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Final

from service.clock import Clock
from service.store import Claim, Outcome, Settled, Store

log = logging.getLogger(__name__)

#: How long the first outcome waits for others to share its commit.
WINDOW: Final = 0.025
#: A sender about to render waits for the commit once an outcome is this old.
DRAIN_AFTER: Final = 0.04


class OutcomeWriter:
    """Collects outcomes and claim closings and commits them in small groups."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        on_settled: Callable[[list[Settled]], None] | None = None,
        window: float = WINDOW,
    ) -> None:
        self._store = store
        self._clock = clock
        self._on_settled = on_settled
        self._window = window
        self._outcomes: list[tuple[Outcome, float]] = []
        #: When the oldest outcome not committed yet was handed in (monotonic), if any.
        self._oldest: float | None = None
        self._closing: list[tuple[Claim, bool]] = []
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        #: The longest time (seconds) an outcome waited between hand-in and commit.
        self.max_lag = 0.0
        self.commits = 0

    def put(self, outcome: Outcome) -> None:
        """Hand in one target's outcome; it is committed within the window."""
        now = time.monotonic()
        self._outcomes.append((outcome, now))
        if self._oldest is None:
            self._oldest = now
        self._schedule()

    def close(self, claim: Claim, tried: bool) -> None:
        """Close a claim once all its targets were handed in (see ``Store.record_outcomes``)."""
        self._closing.append((claim, tried))
        self._schedule()

    def _schedule(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._commit_soon())

    async def _commit_soon(self) -> None:
        await asyncio.sleep(self._window)
        while self._outcomes or self._closing:
            batch, self._outcomes = self._outcomes, []
            closing, self._closing = self._closing, []
            try:
                _, settled = await self._store.record_outcomes(
                    [o for o, _ in batch], closing, now=self._clock.now()
                )
            except Exception as exc:  # reported by flush(); the rows stay claimed
                # Uncommitted outcomes are sent again once their lease ends: at least once.
                log.error("could not record %d delivery outcomes: %s", len(batch), exc)
                self._error = exc
                continue
            done = time.monotonic()
            self._oldest = self._outcomes[0][1] if self._outcomes else None
            self.commits += 1
            if batch:
                self.max_lag = max(self.max_lag, max(done - t for _, t in batch))
            if settled and self._on_settled is not None:
                self._on_settled(settled)

    async def drain(self, after: float = DRAIN_AFTER) -> None:
        """Wait for the commit if an outcome has waited ``after`` seconds (errors: see flush()).

        Rendering runs on the event loop; a sender calls this before rendering its
        next message so that replies already in are not held up behind a row of
        renders, while a fresh outcome (that its group commit will take in a few
        milliseconds) costs the sender nothing.
        """
        oldest = self._oldest
        if oldest is None or time.monotonic() - oldest < after:
            return
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def flush(self) -> None:
        """Wait until everything handed in is committed; raise the first commit error."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        if self._outcomes or self._closing:
            self._schedule()
            await self.flush()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
