"""Per-target deliveries: a reminder goes out as one row per (channel, target).

The model (table ``targets``, see :class:`service.store.models.Target`):

- A reminder row is the unit of the queue: it is due, coalesced, claimed with a
  lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and fenced by its
  ``claim_token`` exactly as before.
- When the dispatcher holds a claim it *opens* the reminder's targets
  (:func:`open_targets`): the rows it wants are inserted if missing, every pending
  one takes the claim's token, and those due now are handed back. Email's
  targets are the person's own message (channel ``email``, target ``""``) and one
  copy per ``recipients`` address (target = the address); a chat channel is just
  another ``(channel id, {to} target)`` pair.
- Each target's outcome is recorded on its own (:func:`record`), fenced by the
  token: ``sent``, ``retry`` (stays pending until its ``next_attempt``) or
  ``failed``. Every attempt is also logged in ``deliveries`` with its channel
  and target.
- :func:`settle` closes a claim: with no pending target left the reminder is
  ``sent`` when at least one target was delivered and ``failed`` when none was;
  otherwise it stays pending, due again at its earliest target's next attempt.

A target that is no longer wanted (a recipient removed from the config) and
still pending is dropped when the reminder is opened again; its logged attempts
stay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.clock import to_utc
from service.store.models import EMAIL, UTCDateTime, deliveries, reminders, targets
from service.store.records import Claim, ReminderRow
from service.store.statements import bulk_insert_ignore, chunks

T: Final = targets.c
R: Final = reminders.c
#: Longest reason kept on a failed reminder made of its targets' reasons.
REASON_MAX: Final = 1000


@dataclass(frozen=True, slots=True)
class TargetRow:
    """One (reminder, channel, target) delivery as stored."""

    key: str
    channel: str
    target: str
    status: str
    attempts: int
    next_attempt: datetime | None
    last_error: str | None
    reason: str | None
    sent_at: datetime | None
    message_id: str | None

    @property
    def due_now(self) -> bool:
        """Pending and not waiting for a retry (see :func:`open_targets`)."""
        return self.status == "pending" and self.next_attempt is None


_FIELDS: Final = tuple(TargetRow.__dataclass_fields__)


def _row(mapping: Any) -> TargetRow:
    return TargetRow(**{name: mapping[name] for name in _FIELDS})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one target of a claimed reminder.

    ``result`` is ``sent``, ``retry`` (with ``next_attempt``) or ``failed``;
    ``at`` is when the server answered (or the error happened).
    """

    claim: Claim
    channel: str
    target: str
    result: str
    at: datetime
    transport: str
    code: int | None = None
    reply: str | None = None
    message_id: str | None = None
    next_attempt: datetime | None = None


async def _ours(conn: AsyncConnection, claims: Sequence[Claim]) -> dict[str, str]:
    """key -> token of the claims whose pending reminder row still carries that token."""
    tokens = {c.key: c.claim_token for c in claims}
    ours: dict[str, str] = {}
    for batch in chunks(list(tokens)):
        result = await conn.execute(
            select(R.key, R.claim_token)
            .where(R.key.in_(batch), R.status == "pending")
            .with_for_update()
        )
        ours.update({key: token for key, token in result if token == tokens[key]})
    return ours


async def open_targets(
    conn: AsyncConnection,
    claims: Sequence[Claim],
    wanted: Mapping[str, Sequence[tuple[str, str]]],
    now: datetime,
    owner: str,
) -> dict[str, list[TargetRow]]:
    """Make the claimed reminders' targets exist and take them over for sending.

    ``wanted`` maps a claim's key to its (channel, target) pairs. Returns, per
    claim still held, every target row of it (sent and failed ones included, so
    that the caller sees what is left); pending rows whose ``next_attempt`` has
    come are returned with ``next_attempt`` None, ready to send.
    """
    now = to_utc(now)
    ours = await _ours(conn, claims)
    if not ours:
        return {}
    keys = sorted(ours)
    existing: dict[str, list[TargetRow]] = {key: [] for key in keys}
    for batch in chunks(keys):
        result = await conn.execute(select(targets).where(T.key.in_(batch)))
        for m in result.mappings():
            existing[m["key"]].append(_row(m))
    out: dict[str, list[TargetRow]] = {key: [] for key in keys}
    fresh: list[dict[str, Any]] = []
    retoken: list[dict[str, str]] = []
    for key in keys:
        want = list(dict.fromkeys(wanted.get(key, ())))
        have = {(r.channel, r.target): r for r in existing[key]}
        for r in existing[key]:
            if r.status == "pending" and (r.channel, r.target) not in want:
                # No longer wanted (a recipient removed) and never delivered: dropped.
                await conn.execute(
                    delete(targets).where(
                        T.key == r.key,
                        T.channel == r.channel,
                        T.target == r.target,
                        T.status == "pending",
                    )
                )
                continue
            if r.status == "pending":
                retoken.append({"b_key": key, "b_token": ours[key]})
                if r.next_attempt is not None and to_utc(r.next_attempt) <= now:
                    r = TargetRow(**{**{n: getattr(r, n) for n in _FIELDS}, "next_attempt": None})
            out[key].append(r)
        for channel, target in want:
            if (channel, target) in have:
                continue
            fresh.append(
                {
                    "key": key,
                    "channel": channel,
                    "target": target,
                    "status": "pending",
                    "attempts": 0,
                    "claimed_by": owner,
                    "claim_token": ours[key],
                    "created_at": now,
                    "updated_at": now,
                }
            )
            out[key].append(
                TargetRow(key, channel, target, "pending", 0, None, None, None, None, None)
            )
    if fresh:
        await bulk_insert_ignore(conn, conn.dialect.name, targets, fresh)
    if retoken:
        # Every pending target of a held reminder is this claim's now: older tokens
        # (a crashed or overtaken sender) can change nothing any more.
        await conn.execute(
            update(targets)
            .where(T.key == bindparam("b_key"), T.status == "pending")
            .values(claimed_by=owner, claim_token=bindparam("b_token"), updated_at=now),
            list({p["b_key"]: p for p in retoken}.values()),
        )
    for rows in out.values():
        rows.sort(key=lambda r: (r.channel != "email", r.channel, r.target))
    return out


_RECORD: Final = (
    update(targets)
    .where(
        and_(
            T.key == bindparam("b_key"),
            T.channel == bindparam("b_channel"),
            T.target == bindparam("b_target"),
            T.claim_token == bindparam("b_token"),
            T.status == "pending",
        )
    )
    .values(
        status=bindparam("b_status"),
        attempts=T.attempts + 1,
        next_attempt=bindparam("b_next", type_=UTCDateTime()),
        last_error=bindparam("b_error"),
        reason=bindparam("b_reason"),
        sent_at=bindparam("b_sent", type_=UTCDateTime()),
        message_id=bindparam("b_message_id"),
        updated_at=bindparam("b_at", type_=UTCDateTime()),
        claimed_until=None,
    )
)


async def record(
    conn: AsyncConnection, outcomes: Sequence[Outcome], ours: Mapping[str, str] | None = None
) -> int:
    """Store the outcomes whose claim still holds and log each attempt; return how many.

    An outcome whose reminder was taken over (another token) changes nothing.
    ``ours`` (key -> token held, from :func:`held`) saves looking the claims up again.
    """
    if not outcomes:
        return 0
    if ours is None:
        ours = await _ours(conn, [o.claim for o in outcomes])
    mine = [o for o in outcomes if ours.get(o.claim.key) == o.claim.claim_token]
    if not mine:
        return 0
    params = []
    for o in mine:
        sent = o.result == "sent"
        params.append(
            {
                "b_key": o.claim.key,
                "b_channel": o.channel,
                "b_target": o.target,
                "b_token": o.claim.claim_token,
                "b_status": {"sent": "sent", "retry": "pending"}.get(o.result, "failed"),
                "b_next": to_utc(o.next_attempt) if o.next_attempt is not None else None,
                "b_error": None if sent else o.reply,
                "b_reason": o.reply if o.result == "failed" else None,
                "b_sent": to_utc(o.at) if sent else None,
                "b_message_id": o.message_id,
                "b_at": to_utc(o.at),
            }
        )
    await conn.execute(_RECORD, params)
    await conn.execute(
        deliveries.insert(),
        [
            {
                "key": o.claim.key,
                "channel": o.channel,
                "target": o.target,
                "at": to_utc(o.at),
                "transport": o.transport,
                "result": o.result,
                "code": o.code,
                "reply": o.reply,
                "message_id": o.message_id,
            }
            for o in mine
        ],
    )
    return len(mine)


@dataclass(frozen=True, slots=True)
class Settled:
    """What closing a claim made of its reminder: ``sent``, ``failed`` or ``pending``."""

    key: str
    status: str
    reason: str | None = None


async def held(conn: AsyncConnection, claims: Sequence[Claim]) -> dict[str, str]:
    """key -> token of the claims still held (their rows locked for this transaction)."""
    return await _ours(conn, claims)


async def settle(
    conn: AsyncConnection,
    claims: Sequence[tuple[Claim, bool]],
    now: datetime,
    ours: Mapping[str, str] | None = None,
    known: Mapping[str, Sequence[TargetRow]] | None = None,
) -> list[Settled]:
    """Close claims: derive each reminder's status from its targets and release it.

    ``known`` gives, per key, its targets as they stand once this commit's outcomes
    are in (see :func:`after`), which saves reading them back; other keys are read.

    ``claims`` pairs a claim with whether anything was attempted under it (which
    counts as one attempt of the reminder). With no pending target the reminder
    is ``sent`` (at least one target delivered) or ``failed`` (none: ``reason``
    lists the targets' reasons); otherwise it stays pending, claimable again at
    its earliest target's next attempt (at once for a target not tried yet).
    A claim that was taken over changes nothing and is left out of the result.
    """
    if not claims:
        return []
    now = to_utc(now)
    if ours is None:
        ours = await _ours(conn, [c for c, _ in claims])
    kept = [(c, tried) for c, tried in claims if ours.get(c.key) == c.claim_token]
    known = known or {}
    rows: dict[str, list[TargetRow]] = {
        c.key: list(known[c.key]) if c.key in known else [] for c, _ in kept
    }
    for batch in chunks(sorted(k for k in rows if k not in known)):
        result = await conn.execute(select(targets).where(T.key.in_(batch)))
        for m in result.mappings():
            rows[m["key"]].append(_row(m))
    out: list[Settled] = []
    params = []
    for claim, tried in kept:
        mine = rows[claim.key]
        pending = [r for r in mine if r.status == "pending"]
        errors = [r.last_error for r in mine if r.last_error]
        values: dict[str, Any] = {
            "b_key": claim.key,
            "b_token": claim.claim_token,
            "b_attempts": 1 if tried else 0,
            "b_error": errors[-1] if errors else None,
            "b_at": now,
            "b_next": None,
            "b_sent": None,
            "b_reason": None,
        }
        if pending or not mine:
            status = "pending" if mine else "failed"
            if pending and all(r.next_attempt is not None for r in pending):
                values["b_next"] = min(to_utc(r.next_attempt) for r in pending if r.next_attempt)
            if not mine:
                values["b_reason"] = "nothing to deliver to (no address or channel)"
        elif any(r.status == "sent" for r in mine):
            status = "sent"
            values["b_sent"] = max(to_utc(r.sent_at) for r in mine if r.sent_at is not None)
        else:
            status = "failed"
            values["b_reason"] = _reasons(mine)
        values["b_status"] = status
        params.append(values)
        out.append(Settled(claim.key, status, values["b_reason"]))
    if params:
        await conn.execute(_SETTLE, params)
    return out


def after(row: TargetRow, outcome: Outcome | None) -> TargetRow:
    """The target as :func:`record` leaves it once ``outcome`` (if any) is stored."""
    if outcome is None:
        return row
    sent = outcome.result == "sent"
    failed = outcome.result not in {"sent", "retry"}
    return TargetRow(
        key=row.key,
        channel=row.channel,
        target=row.target,
        status="sent" if sent else ("failed" if failed else "pending"),
        attempts=row.attempts + 1,
        next_attempt=None if sent or failed else outcome.next_attempt,
        last_error=None if sent else outcome.reply,
        reason=outcome.reply if failed else None,
        sent_at=outcome.at if sent else None,
        message_id=outcome.message_id,
    )


def _reasons(rows: Sequence[TargetRow]) -> str:
    """The failed targets' reasons, one per target, the person's own first."""
    if len(rows) == 1:
        return (rows[0].reason or "failed")[:REASON_MAX]
    parts = [f"{describe(r.channel, r.target)}: {r.reason or 'failed'}" for r in rows]
    return "; ".join(parts)[:REASON_MAX]


def describe(channel: str, target: str) -> str:
    """How ``status`` names a target: ``email``, ``email cc ADDRESS``, ``telegram``."""
    if channel == "email":
        return "email" if not target else f"email cc {target}"
    return channel


_SETTLE: Final = (
    update(reminders)
    .where(
        R.key == bindparam("b_key"),
        R.claim_token == bindparam("b_token"),
        R.status == "pending",
    )
    .values(
        status=bindparam("b_status"),
        attempts=R.attempts + bindparam("b_attempts"),
        next_attempt=bindparam("b_next", type_=UTCDateTime()),
        last_error=bindparam("b_error"),
        reason=bindparam("b_reason"),
        sent_at=bindparam("b_sent", type_=UTCDateTime()),
        updated_at=bindparam("b_at", type_=UTCDateTime()),
        claimed_by=None,
        claimed_until=None,
        claim_token=None,
    )
)


async def channels_of(
    conn: AsyncConnection, keys: Sequence[str]
) -> dict[str, list[dict[str, str]]]:
    """key -> its targets as ``status``/``upcoming --json`` show them.

    Each entry is ``{"channel": ..., "status": ...}``, plus ``"target"`` for a
    ``recipients`` copy (its address); the person's own email comes first. A
    reminder not yet sent has no entries until it is first claimed.
    """
    out: dict[str, list[dict[str, str]]] = {}
    for batch in chunks(sorted(set(keys))):
        result = await conn.execute(
            select(T.key, T.channel, T.target, T.status).where(T.key.in_(batch))
        )
        for key, channel, target, status in result:
            entry = {"channel": channel, "status": status}
            if target:
                entry["target"] = target
            out.setdefault(key, []).append(entry)
    for entries in out.values():
        entries.sort(key=lambda e: (e["channel"] != "email", e["channel"], e.get("target", "")))
    return out


async def target_rows(conn: AsyncConnection, key: str) -> list[TargetRow]:
    """Every target of one reminder, the person's own email first."""
    result = await conn.execute(select(targets).where(T.key == key))
    rows = [_row(m) for m in result.mappings()]
    rows.sort(key=lambda r: (r.channel != "email", r.channel, r.target))
    return rows


async def warm_up(conn: AsyncConnection) -> None:
    """Run the group commit's statements once on no rows, so that they are compiled.

    The first commit of a burst would otherwise pay for compiling them (tens of
    milliseconds) between a server's reply and the commit of its outcome.
    """
    none = {
        "b_key": "",
        "b_channel": "",
        "b_target": "",
        "b_token": "",
        "b_status": "sent",
        "b_next": None,
        "b_error": None,
        "b_reason": None,
        "b_sent": None,
        "b_message_id": None,
        "b_at": datetime.now(UTC),
        "b_attempts": 0,
    }
    record_keys = {k for k in none if k != "b_attempts"}
    settle_keys = {"b_key", "b_token", "b_status", "b_attempts", "b_next", "b_error"}
    settle_keys |= {"b_reason", "b_sent", "b_at"}
    # Two parameter sets each: the executemany form is the one a commit uses.
    await conn.execute(_RECORD, [{k: none[k] for k in record_keys}] * 2)
    await conn.execute(_SETTLE, [{k: none[k] for k in settle_keys}] * 2)
    await conn.execute(select(targets).where(T.key.in_([""])))
    await _ours(conn, [])


async def failed_channels(
    conn: AsyncConnection, since: datetime | None, limit: int
) -> list[tuple[ReminderRow, TargetRow]]:
    """Chat channel targets that failed for good, newest first, of reminders that did not
    fail as a whole (a blocked bot behind a sent email): (the reminder's row, the target).

    Failed reminders are listed by ``failures`` already; these are what the reminder's
    ``sent`` hides. ``since`` keeps those that failed after it.
    """
    stmt = (
        select(targets)
        .where(
            T.channel != EMAIL,
            T.status == "failed",
            T.key.in_(select(R.key).where(R.status != "failed")),
        )
        .order_by(T.updated_at.desc(), T.key)
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(T.updated_at > to_utc(since))
    found = [_row(m) for m in (await conn.execute(stmt)).mappings()]
    keys = sorted({row.key for row in found})
    by_key: dict[str, ReminderRow] = {}
    for batch in chunks(keys):
        result = await conn.execute(select(reminders).where(R.key.in_(batch)))
        for mapping in result.mappings():
            by_key[mapping["key"]] = ReminderRow.from_mapping(mapping)
    return [(by_key[row.key], row) for row in found if row.key in by_key]
