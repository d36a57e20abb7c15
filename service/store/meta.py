"""Small key/value facts and the revisions (SEQUENCE, last change) of calendar events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from service.clock import to_utc
from service.store.models import feed_sequences, meta
from service.store.statements import chunks, insert_for, upsert


async def get_meta(conn: AsyncConnection, key: str) -> str | None:
    """The stored value, or None."""
    result = await conn.execute(select(meta.c.value).where(meta.c.key == key))
    value: str | None = result.scalar_one_or_none()
    return value


async def meta_with_prefix(conn: AsyncConnection, prefix: str) -> dict[str, str]:
    """Every stored fact whose key starts with ``prefix``."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    result = await conn.execute(
        select(meta.c.key, meta.c.value).where(meta.c.key.like(escaped + "%", escape="\\"))
    )
    return {row.key: row.value for row in result}


async def set_meta(conn: AsyncConnection, dialect: str, key: str, value: str) -> None:
    """Store ``value`` under ``key``, replacing what was there."""
    await conn.execute(upsert(dialect, meta, ["key"], ["value"]), {"key": key, "value": value})


@dataclass(frozen=True, slots=True)
class Revision:
    """A calendar event's SEQUENCE and the instant its content last changed."""

    sequence: int
    changed_at: datetime


async def feed_revisions(
    conn: AsyncConnection, dialect: str, fingerprints: Mapping[str, str], now: datetime
) -> dict[str, Revision]:
    """uid -> revision: a new uid is 0 at ``now``; a changed fingerprint is one more, at ``now``.

    An unchanged fingerprint keeps its SEQUENCE and instant, and writes nothing.
    """
    stored: dict[str, tuple[str, Revision]] = {}
    for batch in chunks(sorted(fingerprints)):
        result = await conn.execute(
            select(
                feed_sequences.c.uid,
                feed_sequences.c.fingerprint,
                feed_sequences.c.sequence,
                feed_sequences.c.changed_at,
            ).where(feed_sequences.c.uid.in_(batch))
        )
        stored.update({uid: (print_, Revision(seq, at)) for uid, print_, seq, at in result})
    at = to_utc(now).replace(microsecond=0)
    out: dict[str, Revision] = {}
    writes: list[dict[str, object]] = []
    for uid, print_ in fingerprints.items():
        old = stored.get(uid)
        if old is not None and old[0] == print_:
            out[uid] = old[1]
            continue
        out[uid] = Revision(0 if old is None else old[1].sequence + 1, at)
        writes.append(
            {"uid": uid, "fingerprint": print_, "sequence": out[uid].sequence, "changed_at": at}
        )
    if writes:
        insert = insert_for(dialect, feed_sequences)
        new = insert.excluded
        # Two calendars built at once (a person's and an office's) may both see the
        # old row: the first to write wins, the second writes nothing and reads
        # back what the first stored, so both serve the same revision.
        stmt = insert.on_conflict_do_update(
            index_elements=["uid"],
            set_={
                "fingerprint": new.fingerprint,
                "sequence": feed_sequences.c.sequence + 1,
                "changed_at": new.changed_at,
            },
            where=feed_sequences.c.fingerprint != new.fingerprint,
        )
        # In one order of UIDs everywhere, so two writers never wait on each other in a circle.
        writes.sort(key=lambda w: str(w["uid"]))
        await conn.execute(stmt, writes)
        written = [str(w["uid"]) for w in writes]
        for batch in chunks(written):
            back = await conn.execute(
                select(
                    feed_sequences.c.uid, feed_sequences.c.sequence, feed_sequences.c.changed_at
                ).where(feed_sequences.c.uid.in_(batch))
            )
            out.update({uid: Revision(seq, changed) for uid, seq, changed in back})
    return out


def _digest_key(office: str) -> str:
    return f"digest:{office}"


async def digest_state(conn: AsyncConnection, office: str) -> dict[str, str]:
    """What is known of an office's digests: period, state, last_sent, owner, until."""
    raw = await get_meta(conn, _digest_key(office))
    state: dict[str, str] = json.loads(raw) if raw else {}
    return state


async def claim_digest(
    conn: AsyncConnection,
    dialect: str,
    office: str,
    *,
    period: str,
    owner: str,
    now: datetime,
    lease_until: datetime,
) -> bool:
    """Take the digest of ``period`` for sending; False if it was sent or is being sent.

    The row is locked for the decision (SQLite has one writer anyway), so two
    instances cannot both send one digest; a claim left by a killed instance
    is taken over when its lease is over.
    """
    key = _digest_key(office)
    stmt = select(meta.c.value).where(meta.c.key == key)
    if dialect == "postgresql":
        stmt = stmt.with_for_update()
    raw = (await conn.execute(stmt)).scalar_one_or_none()
    state: dict[str, str] = json.loads(raw) if raw else {}
    if state.get("period", "") > period:
        return False
    if state.get("period") == period:
        if state.get("state") in ("sent", "skipped"):
            return False
        if state.get("state") == "claimed" and state.get("until", "") > to_utc(now).isoformat():
            return False
    state.update(period=period, state="claimed", owner=owner, until=to_utc(lease_until).isoformat())
    await set_meta(conn, dialect, key, json.dumps(state))
    return True


async def finish_digest(
    conn: AsyncConnection, dialect: str, office: str, *, period: str, state: str, at: datetime
) -> None:
    """Record the digest of ``period`` as ``sent`` or ``skipped`` (empty)."""
    current = await digest_state(conn, office)
    current.update(period=period, state=state, until="", owner="")
    if state == "sent":
        current["last_sent"] = to_utc(at).isoformat()
    await set_meta(conn, dialect, _digest_key(office), json.dumps(current))
