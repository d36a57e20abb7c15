"""Small key/value facts and the feed's iCalendar SEQUENCE numbers."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from service.store.models import feed_sequences, meta
from service.store.statements import chunks, upsert


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
    return dict(result.tuples().all())


async def set_meta(conn: AsyncConnection, dialect: str, key: str, value: str) -> None:
    """Store ``value`` under ``key``, replacing what was there."""
    await conn.execute(upsert(dialect, meta, ["key"], ["value"]), {"key": key, "value": value})


async def sequences_for(
    conn: AsyncConnection, dialect: str, fingerprints: Mapping[str, str]
) -> dict[str, int]:
    """uid -> SEQUENCE: 0 for a new uid, one more each time its fingerprint changes."""
    stored: dict[str, tuple[str, int]] = {}
    for batch in chunks(sorted(fingerprints)):
        result = await conn.execute(
            select(
                feed_sequences.c.uid, feed_sequences.c.fingerprint, feed_sequences.c.sequence
            ).where(feed_sequences.c.uid.in_(batch))
        )
        stored.update({uid: (print_, seq) for uid, print_, seq in result})
    out: dict[str, int] = {}
    writes: list[dict[str, object]] = []
    for uid, print_ in fingerprints.items():
        old = stored.get(uid)
        if old is None:
            out[uid] = 0
        elif old[0] == print_:
            out[uid] = old[1]
            continue
        else:
            out[uid] = old[1] + 1
        writes.append({"uid": uid, "fingerprint": print_, "sequence": out[uid]})
    if writes:
        stmt = upsert(dialect, feed_sequences, ["uid"], ["fingerprint", "sequence"])
        await conn.execute(stmt, writes)
    return out
