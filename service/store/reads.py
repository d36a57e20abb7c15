"""Read-only queries for the CLI, the feed and the status page."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from service.clock import to_utc
from service.store.models import EMAIL, OWN, STATUSES, deliveries, reminders
from service.store.records import DeliveryRow, ReminderRow
from service.store.statements import chunks

R = reminders.c


async def reminder_rows(
    conn: AsyncConnection,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    person: str | None = None,
) -> list[ReminderRow]:
    """Reminders due in ``[start, end)`` (either bound optional), ordered by due then key."""
    stmt = select(reminders)
    if start is not None:
        stmt = stmt.where(R.due >= to_utc(start))
    if end is not None:
        stmt = stmt.where(R.due < to_utc(end))
    if person is not None:
        stmt = stmt.where(R.person == person)
    result = await conn.execute(stmt.order_by(R.due, R.key))
    return [ReminderRow.from_mapping(row) for row in result.mappings()]


async def statuses(conn: AsyncConnection, keys: Collection[str]) -> dict[str, str]:
    """key -> status for the keys that have a row."""
    out: dict[str, str] = {}
    for batch in chunks(sorted(set(keys))):
        result = await conn.execute(select(R.key, R.status).where(R.key.in_(batch)))
        out.update(dict(result.all()))
    return out


async def counts(conn: AsyncConnection) -> dict[str, int]:
    """How many reminders are in each status; every status is present."""
    result = await conn.execute(select(R.status, func.count()).group_by(R.status))
    out = dict.fromkeys(STATUSES, 0)
    out.update(dict(result.all()))
    return out


async def failures(conn: AsyncConnection, limit: int = 20) -> list[ReminderRow]:
    """The most recently failed reminders, newest first; ``reason`` says why."""
    result = await conn.execute(
        select(reminders)
        .where(R.status == "failed")
        .order_by(R.updated_at.desc(), R.key)
        .limit(limit)
    )
    return [ReminderRow.from_mapping(row) for row in result.mappings()]


async def delivery_rows(conn: AsyncConnection, key: str) -> list[DeliveryRow]:
    """Every delivery attempt of one reminder, oldest first."""
    result = await conn.execute(
        select(deliveries).where(deliveries.c.key == key).order_by(deliveries.c.at, deliveries.c.id)
    )
    return [DeliveryRow(**row) for row in result.mappings()]


async def occurrence_statuses(
    conn: AsyncConnection, people: Collection[str] | None = None
) -> dict[str, dict[str, int]]:
    """occurrence -> status -> number of reminders, for offices' overviews."""
    stmt = select(R.occurrence, R.status, func.count()).group_by(R.occurrence, R.status)
    out: dict[str, dict[str, int]] = {}
    if people is None:
        batches: list[list[str] | None] = [None]
    else:
        batches = list(chunks(sorted(people)))
    for batch in batches:
        query = stmt if batch is None else stmt.where(R.person.in_(batch))
        for occurrence, status, count in await conn.execute(query):
            out.setdefault(occurrence, {})[status] = count
    return out


async def deliveries_of_occurrence(conn: AsyncConnection, occurrence: str) -> list[DeliveryRow]:
    """Every delivery attempt of the person's reminders of one occurrence, oldest first.

    The person's own deliveries only: the copies sent to ``recipients`` are left out.
    """
    keys = select(R.key).where(R.occurrence == occurrence)
    d = deliveries.c
    result = await conn.execute(
        select(deliveries)
        .where(d.key.in_(keys), or_(d.channel != EMAIL, d.target == OWN))
        .order_by(d.at)
    )
    return [DeliveryRow(**row) for row in result.mappings()]
