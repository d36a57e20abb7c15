"""Bring the reminders table in line with a plan, person by person, idempotently.

Each person's planned reminders are fingerprinted; a person whose fingerprint
matches the stored one is not even read. For the others the differences are
written in batches. Rows are never deleted, and sent, failed and acknowledged
rows are never touched: a reload cannot rewrite history.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.clock import to_utc
from service.keys import base_occurrence
from service.planrows import FRESH_COLUMNS, FreshRows, PlannedRows, sqlite_instant
from service.store.models import UTCDateTime, acknowledgements, person_plans, reminders
from service.store.records import ReconcileStats
from service.store.statements import bulk_insert_ignore, chunks, upsert

NO_LONGER_PLANNED: Final = "no longer planned (config changed)"
PERSON_REMOVED: Final = "person removed from config"
#: Skips that undo themselves when the reminder comes back into the plan.
RESTORABLE: Final = (NO_LONGER_PLANNED, PERSON_REMOVED)

#: Columns the plan decides; a pending row is updated when any of them differ.
PLANNED: Final = ("kind", "due", "ends", "overdue", "closed_notice")


@dataclass(frozen=True, slots=True)
class _Stored:
    key: str
    person: str
    occurrence: str
    occurrence_date: date
    status: str
    reason: str | None
    kind: str
    due: datetime
    ends: datetime
    overdue: bool
    closed_notice: bool


def _fresh_insert() -> str:
    names = (*FRESH_COLUMNS, "status", "attempts", "created_at", "updated_at")
    columns = ", ".join(f'"{name}"' for name in names)
    values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(FRESH_COLUMNS)))
    # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT.
    return (
        f"INSERT INTO reminders ({columns}) SELECT {values}, 'pending', 0, ?2, ?2 "
        "FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING"
    )


_FRESH_INSERT: Final = _fresh_insert()
#: SQLite's page cache while a FreshRows batch is inserted (negative: KiB).
FRESH_CACHE_KIB: Final = -16384


async def insert_fresh(conn: AsyncConnection, rows: FreshRows, *, now: datetime) -> bool:
    """Store ``rows`` if none of their people has anything stored; False if one has.

    A person with stored reminders, a stored plan or an acknowledgement needs
    :func:`reconcile` instead (their rows are compared, acknowledged ones kept).
    """
    people = list(rows.prints)
    for batch in chunks(people):
        for column in (reminders.c.person, person_plans.c.person, acknowledgements.c.person):
            found = await conn.execute(select(column).where(column.in_(batch)).limit(1))
            if found.first() is not None:
                return False
    now = to_utc(now)
    # A first start inserts into every index at once: a larger page cache for this
    # statement only spills fewer pages (about 8% faster), then it shrinks back.
    (before,) = (await conn.exec_driver_sql("PRAGMA cache_size")).one()
    await conn.exec_driver_sql(f"PRAGMA cache_size = {FRESH_CACHE_KIB}")
    try:
        await conn.exec_driver_sql(_FRESH_INSERT, (rows.document, sqlite_instant(now)))
    finally:
        await conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")
    plans = [{"person": p, "fingerprint": rows.prints[p], "updated_at": now} for p in people]
    await conn.execute(
        upsert("sqlite", person_plans, ["person"], ["fingerprint", "updated_at"]), plans
    )
    return True


async def reconcile(
    conn: AsyncConnection,
    dialect: str,
    plan: PlannedRows,
    *,
    window_start: date,
    now: datetime,
) -> ReconcileStats:
    """Write the differences between the plan and the stored rows; see the module doc."""
    now = to_utc(now)
    planned, prints = plan.rows, plan.prints
    stored_prints = await _stored_fingerprints(conn, list(planned))
    changed = sorted(p for p in planned if stored_prints.get(p) != prints[p])
    if not changed:
        return ReconcileStats(unchanged=len(planned))

    existing = await _stored_rows(conn, changed)
    acked = await _acked(conn, changed)
    inserts: list[dict[str, Any]] = []
    # Each update names the status it expects, so a row another writer changed
    # meanwhile (e.g. the dispatcher marked it sent) is left alone.
    updates: list[dict[str, Any]] = []
    skips: list[dict[str, Any]] = []
    updated = restored = 0
    for person in changed:
        wanted = planned[person]
        for key, row in wanted.items():
            old = existing.get(key)
            is_acked = base_occurrence(row["occurrence"]) in acked
            if old is None:
                status = "acknowledged" if is_acked else "pending"
                inserts.append(_new_row(row, status, now))
            elif old.status == "pending":
                if is_acked:
                    updates.append(_change(old, row, "acknowledged", None, now))
                    updated += 1
                elif _differs(old, row):
                    updates.append(_change(old, row, "pending", None, now))
                    updated += 1
            elif (
                old.status == "skipped"
                and old.reason in RESTORABLE
                and not is_acked
                and row["due"] > now
            ):
                updates.append(_change(old, row, "pending", None, now))
                restored += 1
    for key, old in existing.items():
        if (
            old.status == "pending"
            and key not in planned[old.person]
            and old.occurrence_date >= window_start
        ):
            skips.append(
                {"b_key": key, "b_from": "pending", "b_reason": NO_LONGER_PLANNED, "b_now": now}
            )

    if inserts:
        await bulk_insert_ignore(conn, dialect, reminders, inserts)
    if updates:
        await conn.execute(_UPDATE_PLANNED, updates)
    if skips:
        await conn.execute(_SKIP, skips)
    plans = [{"person": p, "fingerprint": prints[p], "updated_at": now} for p in changed]
    await conn.execute(
        upsert(dialect, person_plans, ["person"], ["fingerprint", "updated_at"]), plans
    )
    return ReconcileStats(
        inserted=len(inserts),
        updated=updated,
        skipped=len(skips),
        restored=restored,
        unchanged=len(planned) - len(changed),
        changed=len(changed),
        rows_written=len(inserts) + len(updates) + len(skips) + len(plans),
    )


async def forget_people(conn: AsyncConnection, keep: Collection[str], now: datetime) -> int:
    """Skip the pending reminders of everyone not in ``keep``; return how many.

    Their stored plan fingerprints are dropped too, so that a person who comes
    back is reconciled in full (and their skipped reminders restored).
    """
    now = to_utc(now)
    keep_set = set(keep)
    with_rows = await conn.execute(
        select(reminders.c.person).where(reminders.c.status == "pending").distinct()
    )
    with_plans = await conn.execute(select(person_plans.c.person))
    gone = ({p for (p,) in with_rows} | {p for (p,) in with_plans}) - keep_set
    skipped = 0
    for batch in chunks(sorted(gone)):
        result = await conn.execute(
            update(reminders)
            .where(reminders.c.person.in_(batch), reminders.c.status == "pending")
            .values(status="skipped", reason=PERSON_REMOVED, updated_at=now)
        )
        skipped += result.rowcount
        await conn.execute(delete(person_plans).where(person_plans.c.person.in_(batch)))
    return skipped


_UPDATE_PLANNED: Final = (
    update(reminders)
    .where(reminders.c.key == bindparam("b_key"), reminders.c.status == bindparam("b_from"))
    .values(
        status=bindparam("b_status"),
        reason=bindparam("b_reason"),
        kind=bindparam("b_kind"),
        due=bindparam("b_due", type_=UTCDateTime()),
        ends=bindparam("b_ends", type_=UTCDateTime()),
        overdue=bindparam("b_overdue"),
        closed_notice=bindparam("b_closed_notice"),
        updated_at=bindparam("b_now", type_=UTCDateTime()),
    )
)

_SKIP: Final = (
    update(reminders)
    .where(reminders.c.key == bindparam("b_key"), reminders.c.status == bindparam("b_from"))
    .values(
        status="skipped",
        reason=bindparam("b_reason"),
        updated_at=bindparam("b_now", type_=UTCDateTime()),
    )
)


def _new_row(row: dict[str, Any], status: str, now: datetime) -> dict[str, Any]:
    # Columns left out (reason, next_attempt, claims, sent_at ...) start as NULL.
    return {**row, "status": status, "attempts": 0, "created_at": now, "updated_at": now}


def _differs(old: _Stored, row: dict[str, Any]) -> bool:
    return any(getattr(old, name) != row[name] for name in PLANNED)


def _change(
    old: _Stored, row: dict[str, Any], status: str, reason: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "b_key": old.key,
        "b_from": old.status,
        "b_status": status,
        "b_reason": reason,
        "b_now": now,
        **{f"b_{name}": row[name] for name in PLANNED},
    }


async def _stored_fingerprints(conn: AsyncConnection, people: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for batch in chunks(people):
        result = await conn.execute(
            select(person_plans.c.person, person_plans.c.fingerprint).where(
                person_plans.c.person.in_(batch)
            )
        )
        out.update(dict(result.all()))
    return out


_STORED_COLUMNS: Final = [reminders.c[name] for name in _Stored.__dataclass_fields__]


async def _stored_rows(conn: AsyncConnection, people: list[str]) -> dict[str, _Stored]:
    out: dict[str, _Stored] = {}
    for batch in chunks(people):
        result = await conn.execute(select(*_STORED_COLUMNS).where(reminders.c.person.in_(batch)))
        for row in result:
            stored = _Stored(*row)
            out[stored.key] = stored
    return out


async def _acked(conn: AsyncConnection, people: list[str]) -> set[str]:
    out: set[str] = set()
    for batch in chunks(people):
        result = await conn.execute(
            select(acknowledgements.c.occurrence).where(acknowledgements.c.person.in_(batch))
        )
        out.update(occ for (occ,) in result)
    return out
