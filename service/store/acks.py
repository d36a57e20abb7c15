"""Acknowledgements: an occurrence somebody marked as done gets no more reminders."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.clock import to_utc
from service.store.models import ACK_SOURCES, acknowledgements, reminders
from service.store.statements import chunks, insert_ignore


async def acknowledge(
    conn: AsyncConnection,
    dialect: str,
    occurrence: str,
    *,
    person: str,
    deadline: str,
    occurrence_date: date,
    by: str,
    at: datetime,
    who: str | None = None,
) -> int:
    """Record the acknowledgement (once) and stop the occurrence's pending reminders.

    ``who`` names the recipient whose copy's link was used (``by="recipient"``).
    Returns how many pending reminders were stopped.
    """
    if by not in ACK_SOURCES:
        raise ValueError(f"unknown acknowledgement source '{by}'; use one of {ACK_SOURCES}")
    at = to_utc(at)
    await conn.execute(
        insert_ignore(dialect, acknowledgements).values(
            occurrence=occurrence,
            person=person,
            deadline=deadline,
            occurrence_date=occurrence_date,
            at=at,
            by=by,
            who=who,
        )
    )
    result = await conn.execute(
        update(reminders)
        .where(
            or_(
                reminders.c.occurrence == occurrence,
                # An office's escalation of this occurrence stops with it.
                reminders.c.occurrence.like(_escaped(occurrence) + "+%", escape="\\"),
            ),
            reminders.c.status == "pending",
        )
        .values(status="acknowledged", updated_at=at)
    )
    return result.rowcount


async def is_acknowledged(conn: AsyncConnection, occurrence: str) -> bool:
    """True when the occurrence was acknowledged."""
    result = await conn.execute(
        select(acknowledgements.c.occurrence).where(acknowledgements.c.occurrence == occurrence)
    )
    return result.first() is not None


async def acknowledged(conn: AsyncConnection, person: str | None = None) -> set[str]:
    """The acknowledged occurrences (``PERSON/DEADLINE/YYYY-MM-DD``), of one person or all."""
    stmt = select(acknowledgements.c.occurrence)
    if person is not None:
        stmt = stmt.where(acknowledgements.c.person == person)
    result = await conn.execute(stmt)
    return {occ for (occ,) in result}


def _escaped(text: str) -> str:
    """``text`` as a literal LIKE prefix (ids may contain ``_``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def acknowledged_since(
    conn: AsyncConnection, since: datetime | None
) -> list[tuple[str, datetime, str]]:
    """(occurrence, when, by) of acknowledgements after ``since`` (all when None).

    ``by`` is the recipient's address when a recipient's copy was used, else the
    source (``link``, ``cli``, ``config``).
    """
    c = acknowledgements.c
    stmt = select(c.occurrence, c.at, c.by, c.who)
    if since is not None:
        stmt = stmt.where(c.at > to_utc(since))
    result = await conn.execute(stmt.order_by(c.at))
    return [(occ, at, who or by) for occ, at, by, who in result]


async def acknowledgers(conn: AsyncConnection, occurrences: list[str]) -> dict[str, str]:
    """occurrence -> the recipient whose copy's link acknowledged it (only those)."""
    c = acknowledgements.c
    out: dict[str, str] = {}
    for batch in chunks(sorted(set(occurrences))):
        result = await conn.execute(
            select(c.occurrence, c.who).where(c.occurrence.in_(batch), c.who.is_not(None))
        )
        out.update({str(occ): str(who) for occ, who in result.all()})
    return out
