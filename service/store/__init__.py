"""The database: reminders as a queue, acknowledgements, deliveries, feed sequences.

:class:`Store` is the one door to it. Every method is a named operation; all
SQL lives in this package (``reconcile``, ``queue``, ``acks``, ``reads``,
``meta``), each call runs in its own transaction, and every instant in or out
is timezone-aware.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.clock import to_utc
from service.plan import Occurrence
from service.planrows import FreshRows, PlannedRows, fresh_for, fresh_supported, planned_for
from service.store import acks, deliveries, meta, queue, reads
from service.store import reconcile as _reconcile
from service.store.db import (
    Database,
    check_connection,
    create_engine_for,
    mask_url,
    schema_is_current,
)
from service.store.db import migrate as migrate_schema
from service.store.deliveries import Outcome, Settled, TargetRow
from service.store.meta import Revision
from service.store.records import Claim, DeliveryRow, ReconcileStats, ReminderRow, SentInfo

__all__ = [
    "Claim",
    "DeliveryRow",
    "FreshRows",
    "Outcome",
    "PlannedRows",
    "ReconcileStats",
    "ReminderRow",
    "Revision",
    "SentInfo",
    "Settled",
    "Store",
    "TargetRow",
    "fresh_for",
    "fresh_supported",
    "planned_for",
]


class Store:
    """Named async operations on the staywatch database (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._db = Database(engine)

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect to the database at a config URL and, by default, migrate it to head.

        Raises StoreError saying what to check when the database cannot be used.
        """
        engine = create_engine_for(url)
        try:
            await check_connection(engine)
            if migrate:
                await migrate_schema(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._db.engine.dispose()

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine (for health checks and tests)."""
        return self._db.engine

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    @property
    def commits(self) -> int:
        """How many write transactions this process has ended (committed or not)."""
        return self._db.commits

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return mask_url(self._db.url)

    async def ping(self) -> bool:
        """True when the database answers."""
        try:
            async with self._db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (DBAPIError, OSError, TimeoutError):
            return False
        return True

    async def clock_skew(self, now: datetime) -> timedelta | None:
        """``now`` minus the database server's clock (PostgreSQL), or None (SQLite)."""
        if self.dialect != "postgresql":
            return None
        async with self._db.read() as conn:
            server = (await conn.execute(text("SELECT now()"))).scalar_one()
        return to_utc(now) - to_utc(server)

    async def schema_is_current(self) -> bool:
        """True when the schema is at the newest shipped migration."""
        return await schema_is_current(self._db.engine)

    # -- plan -> rows -----------------------------------------------------------

    async def reconcile(
        self,
        occurrences: Sequence[Occurrence] | PlannedRows,
        *,
        people: Collection[str],
        window_start: date,
        now: datetime,
    ) -> ReconcileStats:
        """Bring the stored reminders of ``people`` in line with the plan.

        ``occurrences`` may come as :class:`PlannedRows` already (built off the
        event loop with :func:`planned_for`); ``people`` is then theirs.

        Unchanged people (same plan fingerprint) are not touched; new reminders are
        inserted (acknowledged if their occurrence is), changed pending ones updated,
        pending ones no longer planned (occurrence on or after ``window_start``)
        skipped, and such skips undone when they come back and are not yet due.
        Sent, failed and acknowledged rows are never changed; nothing is deleted.
        """
        now = to_utc(now)
        plan = (
            occurrences
            if isinstance(occurrences, PlannedRows)
            else planned_for(occurrences, people)
        )
        async with self._db.write() as conn:
            return await _reconcile.reconcile(
                conn, self.dialect, plan, window_start=window_start, now=now
            )

    async def insert_fresh(self, rows: FreshRows, *, now: datetime) -> ReconcileStats | None:
        """Store new people's reminders in one statement; None if this store cannot.

        None (nothing written) when the store is not SQLite with JSON support, or
        when one of the people has anything stored: :meth:`reconcile` them instead.
        """
        if self.dialect != "sqlite" or not fresh_supported():
            return None
        async with self._db.write() as conn:
            if not await _reconcile.insert_fresh(conn, rows, now=to_utc(now)):
                return None
        people = len(rows.prints)
        return ReconcileStats(inserted=rows.count, changed=people, rows_written=rows.count + people)

    async def forget_people(self, keep: Collection[str], now: datetime) -> int:
        """Skip the pending reminders of people not in ``keep``; return how many."""
        now = to_utc(now)
        async with self._db.write() as conn:
            return await _reconcile.forget_people(conn, keep, now)

    # -- the queue --------------------------------------------------------------

    async def claim_due(
        self,
        now: datetime,
        owner: str,
        *,
        lease_seconds: float = 60,
        limit: int = 100,
    ) -> list[Claim]:
        """Coalesce missed reminders, then lease up to ``limit`` due ones to ``owner``.

        Ordered by due instant. See :mod:`service.store.queue` for the rules.
        """
        now = to_utc(now)
        async with self._db.write() as conn:
            await queue.coalesce(conn, self.dialect, now)
        async with self._db.write() as conn:
            return await queue.claim(
                conn, self.dialect, now, owner, lease_seconds=lease_seconds, limit=limit
            )

    # -- per-target deliveries (see service.store.deliveries) ---------------------

    async def open_targets(
        self,
        claims: Sequence[Claim],
        wanted: Mapping[str, Sequence[tuple[str, str]]],
        now: datetime,
        owner: str,
    ) -> dict[str, list[TargetRow]]:
        """Create the claimed reminders' (channel, target) rows and take them over.

        Returns every target row of each claim still held; those ready to send
        now are pending with ``next_attempt`` None.
        """
        if not claims:
            return {}
        async with self._db.write() as conn:
            return await deliveries.open_targets(conn, claims, wanted, to_utc(now), owner)

    async def record_outcomes(
        self,
        outcomes: Sequence[Outcome],
        close: Sequence[tuple[Claim, bool]] = (),
        *,
        now: datetime,
        known: Mapping[str, Sequence[TargetRow]] | None = None,
    ) -> tuple[int, list[Settled]]:
        """Record target outcomes and close claims, in one transaction (a group commit).

        ``close`` pairs each claim to close with whether it attempted anything;
        ``known`` may give closed claims' targets as they will stand (no read back).
        Returns how many outcomes were still ours and what the closed reminders became.
        """
        if not outcomes and not close:
            return 0, []
        async with self._db.write() as conn:
            ours = await deliveries.held(conn, [o.claim for o in outcomes] + [c for c, _ in close])
            recorded = await deliveries.record(conn, outcomes, ours)
            settled = (
                await deliveries.settle(conn, close, to_utc(now), ours, known) if close else []
            )
        return recorded, settled

    async def warm_up_deliveries(self) -> None:
        """Compile the group commit's statements ahead of the first burst (changes nothing)."""
        async with self._db.write() as conn:
            await deliveries.warm_up(conn)

    async def channels(self, keys: Collection[str]) -> dict[str, list[dict[str, str]]]:
        """key -> ``[{"channel": "email", "status": "sent"}, ...]`` for the keys given."""
        async with self._db.read() as conn:
            return await deliveries.channels_of(conn, sorted(set(keys)))

    async def failed_channels(
        self, since: datetime | None = None, limit: int = 500
    ) -> list[tuple[ReminderRow, TargetRow]]:
        """Channel targets failed for good of reminders that did not fail as a whole."""
        async with self._db.read() as conn:
            return await deliveries.failed_channels(conn, since, limit)

    async def targets(self, key: str) -> list[TargetRow]:
        """Every (channel, target) delivery of one reminder."""
        async with self._db.read() as conn:
            return await deliveries.target_rows(conn, key)

    async def mark_sent(self, results: Sequence[tuple[Claim, SentInfo]]) -> int:
        """Mark the reminders sent and log their deliveries, all in one transaction.

        Reminder-level (no targets are touched): the dispatcher records per-target
        outcomes with :meth:`open_targets` and :meth:`record_outcomes` instead.

        Fenced by claim token: rows whose claim was taken over are left alone.
        Returns how many were marked.
        """
        if not results:
            return 0
        async with self._db.write() as conn:
            return await queue.mark_sent(conn, results)

    async def mark_retry(
        self,
        claim: Claim,
        *,
        at: datetime,
        next_attempt: datetime,
        error: str,
        code: int | None = None,
        transport: str,
    ) -> bool:
        """Record a temporary failure and when to try again; False if the claim was lost."""
        async with self._db.write() as conn:
            return await queue.mark_retry(
                conn,
                claim,
                at=at,
                next_attempt=next_attempt,
                error=error,
                code=code,
                transport=transport,
            )

    async def mark_failed(
        self,
        claim: Claim,
        *,
        at: datetime,
        error: str,
        code: int | None = None,
        transport: str,
    ) -> bool:
        """Record a permanent failure (status failed, ``reason`` = the reply); False if lost."""
        async with self._db.write() as conn:
            return await queue.mark_failed(
                conn, claim, at=at, error=error, code=code, transport=transport
            )

    async def release(self, claims: Sequence[Claim]) -> int:
        """Give claims back unsent (e.g. on shutdown); the rows stay pending."""
        if not claims:
            return 0
        async with self._db.write() as conn:
            return await queue.release(conn, claims)

    async def skip(self, claims: Sequence[Claim], reason: str, now: datetime) -> int:
        """Skip claimed rows with a reason instead of sending them."""
        if not claims:
            return 0
        async with self._db.write() as conn:
            return await queue.skip(conn, claims, reason, now)

    async def release_all_claims(self) -> int:
        """Drop every claim on pending rows: for a single writer starting up after a crash."""
        async with self._db.write() as conn:
            return await queue.release_all(conn)

    async def next_due_at(self) -> datetime | None:
        """When the next pending reminder can be claimed (may be in the past), or None."""
        async with self._db.read() as conn:
            return await queue.next_due_at(conn, self.dialect)

    # -- acknowledgements -------------------------------------------------------

    async def acknowledge(
        self,
        occurrence: str,
        *,
        person: str,
        deadline: str,
        occurrence_date: date,
        by: str,
        at: datetime,
        who: str | None = None,
    ) -> int:
        """Mark an occurrence done; returns how many pending reminders were stopped.

        ``who``: the recipient whose copy's link was used (with ``by="recipient"``).
        """
        async with self._db.write() as conn:
            return await acks.acknowledge(
                conn,
                self.dialect,
                occurrence,
                person=person,
                deadline=deadline,
                occurrence_date=occurrence_date,
                by=by,
                at=at,
                who=who,
            )

    async def acknowledgers(self, occurrences: Collection[str]) -> dict[str, str]:
        """occurrence -> the recipient whose copy's link acknowledged it (only those)."""
        async with self._db.read() as conn:
            return await acks.acknowledgers(conn, list(occurrences))

    async def is_acknowledged(self, occurrence: str) -> bool:
        """True when the occurrence ``PERSON/DEADLINE/YYYY-MM-DD`` was acknowledged."""
        async with self._db.read() as conn:
            return await acks.is_acknowledged(conn, occurrence)

    async def acknowledged(self, person: str | None = None) -> set[str]:
        """The acknowledged occurrences, of one person or everyone."""
        async with self._db.read() as conn:
            return await acks.acknowledged(conn, person)

    # -- reading ----------------------------------------------------------------

    async def reminders(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        person: str | None = None,
    ) -> list[ReminderRow]:
        """Reminders due in ``[start, end)``, optionally of one person, by due then key."""
        async with self._db.read() as conn:
            return await reads.reminder_rows(conn, start=start, end=end, person=person)

    async def statuses(self, keys: Collection[str]) -> dict[str, str]:
        """key -> status, for the keys that are stored."""
        async with self._db.read() as conn:
            return await reads.statuses(conn, keys)

    async def counts(self) -> dict[str, int]:
        """Reminders per status; all five statuses are present."""
        async with self._db.read() as conn:
            return await reads.counts(conn)

    async def occurrence_statuses(
        self, people: Collection[str] | None = None
    ) -> dict[str, dict[str, int]]:
        """occurrence -> status -> count of its reminders (escalations under ``OCC+OFFICE``)."""
        async with self._db.read() as conn:
            return await reads.occurrence_statuses(conn, people)

    async def deliveries_of_occurrence(self, occurrence: str) -> list[DeliveryRow]:
        """What was sent (or tried) for the person's reminders of ``occurrence``."""
        async with self._db.read() as conn:
            return await reads.deliveries_of_occurrence(conn, occurrence)

    async def acknowledged_since(self, since: datetime | None) -> list[tuple[str, datetime, str]]:
        """Acknowledgements recorded after ``since``: (occurrence, when, by)."""
        async with self._db.read() as conn:
            return await acks.acknowledged_since(conn, since)

    async def failures(self, limit: int = 20) -> list[ReminderRow]:
        """The latest failed reminders, newest first, with their ``reason``."""
        async with self._db.read() as conn:
            return await reads.failures(conn, limit)

    async def deliveries(self, key: str) -> list[DeliveryRow]:
        """Every delivery attempt of one reminder, oldest first."""
        async with self._db.read() as conn:
            return await reads.delivery_rows(conn, key)

    # -- feed and bookkeeping ---------------------------------------------------

    async def feed_revisions(
        self, fingerprints: Mapping[str, str], now: datetime
    ) -> dict[str, Revision]:
        """uid -> SEQUENCE and last change; a uid whose fingerprint changed moves to ``now``."""
        if not fingerprints:
            return {}
        async with self._db.write() as conn:
            return await meta.feed_revisions(conn, self.dialect, fingerprints, now)

    async def get_meta(self, key: str) -> str | None:
        """A stored fact (``last_plan``, ``last_reload``, ...), or None."""
        async with self._db.read() as conn:
            return await meta.get_meta(conn, key)

    async def meta_with_prefix(self, prefix: str) -> dict[str, str]:
        """Every stored fact whose key starts with ``prefix`` (token generations)."""
        async with self._db.read() as conn:
            return await meta.meta_with_prefix(conn, prefix)

    async def digest_state(self, office: str) -> dict[str, str]:
        """An office's digest bookkeeping: ``period``, ``state``, ``last_sent``."""
        async with self._db.read() as conn:
            return await meta.digest_state(conn, office)

    async def claim_digest(
        self, office: str, *, period: str, owner: str, now: datetime, lease_until: datetime
    ) -> bool:
        """Take one office digest period for sending (False: sent or being sent)."""
        async with self._db.write() as conn:
            return await meta.claim_digest(
                conn,
                self.dialect,
                office,
                period=period,
                owner=owner,
                now=now,
                lease_until=lease_until,
            )

    async def finish_digest(self, office: str, *, period: str, state: str, at: datetime) -> None:
        """Record a digest period as ``sent`` or ``skipped``."""
        async with self._db.write() as conn:
            await meta.finish_digest(conn, self.dialect, office, period=period, state=state, at=at)

    async def set_meta(self, key: str, value: str) -> None:
        """Store a fact under ``key``."""
        async with self._db.write() as conn:
            await meta.set_meta(conn, self.dialect, key, value)
