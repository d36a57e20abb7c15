"""The reminders table as a queue: coalesce, claim with a lease, mark, release.

PostgreSQL: several instances may share the table. Rows are claimed with
``FOR UPDATE SKIP LOCKED`` and a lease that ends at the database's ``now() +
lease``, so a host with a skewed clock cannot take rows another host still
holds. SQLite: one writer at a time (BEGIN IMMEDIATE), the lease on the host
clock. Every write about a claimed row is fenced by its ``claim_token``: a
claimant whose lease was taken over changes nothing when it finally reports.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Interval,
    and_,
    bindparam,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from service.clock import to_utc
from service.store.models import UTCDateTime, deliveries, reminders
from service.store.records import CLAIM_FIELDS, Claim, SentInfo
from service.store.statements import chunks

SUPERSEDED: Final = "superseded by a later reminder (missed while down)"
DEADLINE_PASSED: Final = "deadline already passed"

R: Final = reminders.c
_CLAIM_COLUMNS: Final = [R[name] for name in CLAIM_FIELDS if name != "claim_token"]


def _lease_free(dialect: str, now: datetime, table: Any = reminders) -> ColumnElement[bool]:
    """Nobody holds the row: no lease, or the lease is over (database clock on PostgreSQL)."""
    clock: Any = func.now() if dialect == "postgresql" else literal(now, UTCDateTime())
    return or_(table.c.claimed_until.is_(None), table.c.claimed_until < clock)


async def coalesce(conn: AsyncConnection, dialect: str, now: datetime) -> tuple[int, int]:
    """Skip what must not go out any more; return (deadline passed, superseded) counts.

    Reminders before a deadline that is already over are pointless; of several
    reminders of one occurrence missed while the daemon was down, only the
    latest goes out. Rows leased to a sender are left to it.
    """
    now = to_utc(now)
    # The candidates are selected from an alias so that nothing is correlated with the
    # UPDATE's own table by accident; SKIP LOCKED leaves rows another instance is
    # working on to that instance instead of waiting (or deadlocking) on them.
    cand = reminders.alias("cand")
    passed_keys = (
        select(cand.c.key)
        .where(
            cand.c.status == "pending",
            cand.c.due <= now,
            cand.c.overdue.is_(False),
            cand.c.ends <= now,
            _lease_free(dialect, now, cand),
        )
        .with_for_update(skip_locked=True)
    )
    passed = await conn.execute(
        update(reminders)
        .where(R.key.in_(passed_keys))
        .values(status="skipped", reason=DEADLINE_PASSED, updated_at=now)
    )
    later = reminders.alias("later")
    has_later = exists().where(
        later.c.occurrence == cand.c.occurrence,
        later.c.status == "pending",
        later.c.due <= now,
        or_(later.c.due > cand.c.due, and_(later.c.due == cand.c.due, later.c.key > cand.c.key)),
    )
    superseded_keys = (
        select(cand.c.key)
        .where(
            cand.c.status == "pending",
            cand.c.due <= now,
            _lease_free(dialect, now, cand),
            has_later,
        )
        .with_for_update(skip_locked=True)
    )
    superseded = await conn.execute(
        update(reminders)
        .where(R.key.in_(superseded_keys))
        .values(status="skipped", reason=SUPERSEDED, updated_at=now)
    )
    return passed.rowcount, superseded.rowcount


def _claimable(dialect: str, now: datetime) -> list[ColumnElement[bool]]:
    return [
        R.status == "pending",
        R.due <= now,
        or_(R.next_attempt.is_(None), R.next_attempt <= now),
        _lease_free(dialect, now),
    ]


async def claim(
    conn: AsyncConnection,
    dialect: str,
    now: datetime,
    owner: str,
    *,
    lease_seconds: float,
    limit: int,
) -> list[Claim]:
    """Claim up to ``limit`` due rows for ``owner``; ordered by due instant."""
    now = to_utc(now)
    token = uuid.uuid4().hex
    if dialect == "postgresql":
        due_rows = (
            select(R.key)
            .where(*_claimable(dialect, now))
            .order_by(R.due, R.key)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due_rows")
        )
        until: Any = func.now() + literal(timedelta(seconds=lease_seconds), Interval())
        result = await conn.execute(
            update(reminders)
            .where(R.key == due_rows.c.key)
            .values(claimed_by=owner, claim_token=token, claimed_until=until)
            .returning(*_CLAIM_COLUMNS)
        )
        rows = list(result.mappings())
    else:
        # The caller holds SQLite's write lock (BEGIN IMMEDIATE): select-then-update is atomic.
        result = await conn.execute(
            select(*_CLAIM_COLUMNS)
            .where(*_claimable(dialect, now))
            .order_by(R.due, R.key)
            .limit(limit)
        )
        rows = list(result.mappings())
        until_local = now + timedelta(seconds=lease_seconds)
        for batch in chunks([row["key"] for row in rows]):
            await conn.execute(
                update(reminders)
                .where(R.key.in_(batch))
                .values(claimed_by=owner, claim_token=token, claimed_until=until_local)
            )
    claims = [Claim.from_mapping({**row, "claim_token": token}) for row in rows]
    claims.sort(key=lambda c: (c.due, c.key))
    return claims


async def _still_ours(conn: AsyncConnection, claims: Sequence[Claim]) -> set[str]:
    """The keys whose pending row still carries the claim's token, locked for this update."""
    tokens = {c.key: c.claim_token for c in claims}
    ours: set[str] = set()
    for batch in chunks(list(tokens)):
        result = await conn.execute(
            select(R.key, R.claim_token)
            .where(R.key.in_(batch), R.status == "pending")
            .with_for_update()
        )
        ours.update(key for key, token in result if token == tokens[key])
    return ours


_FENCE: Final = and_(
    R.key == bindparam("b_key"),
    R.claim_token == bindparam("b_token"),
    R.status == "pending",
)
_RELEASED: Final = {"claimed_by": None, "claimed_until": None, "claim_token": None}

_MARK_SENT: Final = (
    update(reminders)
    .where(_FENCE)
    .values(
        status="sent",
        sent_at=bindparam("b_at", type_=UTCDateTime()),
        updated_at=bindparam("b_at", type_=UTCDateTime()),
        attempts=R.attempts + 1,
        next_attempt=null(),
        last_error=null(),
        reason=null(),
        **_RELEASED,
    )
)


async def mark_sent(conn: AsyncConnection, results: Sequence[tuple[Claim, SentInfo]]) -> int:
    """Mark claimed reminders sent and record the deliveries; return how many were still ours."""
    ours = await _still_ours(conn, [c for c, _ in results])
    mine = [(c, info) for c, info in results if c.key in ours]
    if not mine:
        return 0
    await conn.execute(
        _MARK_SENT,
        [{"b_key": c.key, "b_token": c.claim_token, "b_at": to_utc(info.at)} for c, info in mine],
    )
    await conn.execute(
        deliveries.insert(),
        [
            {
                "key": c.key,
                "at": to_utc(info.at),
                "transport": info.transport,
                "result": "sent",
                "code": info.code,
                "reply": info.reply,
                "message_id": info.message_id,
            }
            for c, info in mine
        ],
    )
    return len(mine)


async def mark_retry(
    conn: AsyncConnection,
    claim: Claim,
    *,
    at: datetime,
    next_attempt: datetime,
    error: str,
    code: int | None,
    transport: str,
) -> bool:
    """Keep the reminder pending until ``next_attempt``; False if the claim was lost."""
    return await _end_attempt(
        conn, claim, at, transport, "retry", code, error, next_attempt=to_utc(next_attempt)
    )


async def mark_failed(
    conn: AsyncConnection,
    claim: Claim,
    *,
    at: datetime,
    error: str,
    code: int | None,
    transport: str,
) -> bool:
    """Give up on the reminder (the server refused it for good); False if the claim was lost."""
    return await _end_attempt(
        conn,
        claim,
        at,
        transport,
        "failed",
        code,
        error,
        status="failed",
        reason=error,
        next_attempt=None,
    )


async def _end_attempt(
    conn: AsyncConnection,
    claim: Claim,
    at: datetime,
    transport: str,
    result: str,
    code: int | None,
    error: str,
    **values: Any,
) -> bool:
    """Count an unsuccessful attempt on a row still claimed by ``claim`` and log it."""
    at = to_utc(at)
    updated = await conn.execute(
        update(reminders)
        .where(R.key == claim.key, R.claim_token == claim.claim_token, R.status == "pending")
        .values(attempts=R.attempts + 1, last_error=error, updated_at=at, **_RELEASED, **values)
    )
    if updated.rowcount == 0:
        return False
    await _delivery(conn, claim.key, at, transport, result, code, error)
    return True


async def release(conn: AsyncConnection, claims: Sequence[Claim]) -> int:
    """Drop the claims (the rows stay pending, due again at once); return how many were ours."""
    ours = await _still_ours(conn, claims)
    for batch in chunks(sorted(ours)):
        await conn.execute(update(reminders).where(R.key.in_(batch)).values(**_RELEASED))
    return len(ours)


async def skip(conn: AsyncConnection, claims: Sequence[Claim], reason: str, now: datetime) -> int:
    """Skip claimed rows that must not be sent; return how many were still ours."""
    ours = await _still_ours(conn, claims)
    for batch in chunks(sorted(ours)):
        await conn.execute(
            update(reminders)
            .where(R.key.in_(batch), R.status == "pending")
            .values(status="skipped", reason=reason, updated_at=to_utc(now), **_RELEASED)
        )
    return len(ours)


async def release_all(conn: AsyncConnection) -> int:
    """Drop every claim on pending rows (only safe when no other instance can hold one)."""
    result = await conn.execute(
        update(reminders)
        # A claim sets token and lease end together; the lease end is indexed.
        .where(R.status == "pending", R.claimed_until.is_not(None), R.claim_token.is_not(None))
        .values(**_RELEASED)
    )
    return result.rowcount


async def _delivery(
    conn: AsyncConnection,
    key: str,
    at: datetime,
    transport: str,
    result: str,
    code: int | None,
    reply: str | None,
    message_id: str | None = None,
) -> None:
    await conn.execute(
        deliveries.insert().values(
            key=key,
            at=at,
            transport=transport,
            result=result,
            code=code,
            reply=reply,
            message_id=message_id,
        )
    )


async def next_due_at(conn: AsyncConnection, dialect: str) -> datetime | None:
    """The earliest instant a pending reminder can be claimed, or None when there is none.

    A row waits for the later of its due instant, its next retry and the end of
    its lease.
    """
    plain = await conn.execute(
        select(func.min(R.due)).where(
            R.status == "pending", R.next_attempt.is_(None), R.claimed_until.is_(None)
        )
    )
    first = plain.scalar_one_or_none()
    # GREATEST ignores NULLs on PostgreSQL; SQLite's scalar MAX() returns NULL, hence COALESCE.
    latest = func.greatest if dialect == "postgresql" else func.max
    waiting_at = latest(
        R.due, func.coalesce(R.next_attempt, R.due), func.coalesce(R.claimed_until, R.due)
    )
    candidates = [to_utc(first)] if first is not None else []
    # Rows waiting for a retry, then rows under a lease: one indexed query each
    # (an OR of the two would scan every pending row).
    for column in (R.next_attempt, R.claimed_until):
        held = await conn.execute(
            select(func.min(waiting_at, type_=UTCDateTime())).where(
                R.status == "pending", column.is_not(None)
            )
        )
        second = held.scalar_one_or_none()
        if second is not None:
            candidates.append(to_utc(second))
    return min(candidates) if candidates else None
