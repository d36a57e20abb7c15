"""What the plan decides for each stored reminder, as rows: the plan's side of the store.

Built where the planning runs (a thread, or the planning process of a first
start) and handed to :mod:`service.store.reconcile`, which writes them. Nothing
here needs the database or SQLAlchemy, so the planning process does not load them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from service.clock import to_utc
from service.plan import Occurrence


def sqlite_instant(value: datetime) -> str:
    """An instant as UTCDateTime stores it on SQLite: the UTC wall time, fixed width."""
    return to_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


def planned_rows(occurrences: Iterable[Occurrence]) -> dict[str, dict[str, dict[str, Any]]]:
    """person -> key -> the row values the plan decides for that reminder."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    # Many reminders share an instant (09:00 on the same day): each is converted once.
    # Keyed with the fold too: two local times in one zone compare equal by their
    # wall-clock reading alone, so 01:30 before and after a DST fall-back would meet.
    utc: dict[tuple[datetime, int], datetime] = {}
    for occ in occurrences:
        bucket = out.setdefault(occ.person, {})
        ends = to_utc(occ.ends)
        own = occ.key  # the occurrence of every reminder but an escalation
        for r in (*occ.reminders, *occ.escalations):
            seen = (r.due, r.due.fold)
            due = utc.get(seen)
            if due is None:
                due = utc[seen] = to_utc(r.due)
            bucket[r.key] = {
                "key": r.key,
                "person": r.person,
                "deadline": r.deadline,
                "kind": r.kind,
                "occurrence": r.occurrence if r.office else own,
                "occurrence_date": r.date,
                "offset": r.offset,
                "due": due,
                "ends": ends,
                "overdue": r.overdue,
                "closed_notice": r.closed_notice,
            }
    return out


@dataclass(frozen=True, slots=True)
class PlannedRows:
    """What the plan decides for some people's reminders, ready to reconcile.

    Pure data built by :func:`planned_for`, so that it is built in the planning
    thread and the event loop only writes it.
    """

    #: person -> key -> the row values the plan decides (see :func:`planned_rows`).
    rows: dict[str, dict[str, dict[str, Any]]]
    #: person -> :func:`fingerprint` of their rows.
    prints: dict[str, str]


def planned_for(occurrences: Iterable[Occurrence], people: Collection[str]) -> PlannedRows:
    """The rows and fingerprints of ``people`` (a person without occurrences has none)."""
    rows: dict[str, dict[str, dict[str, Any]]] = {person: {} for person in people}
    rows |= planned_rows(occurrences)
    texts: dict[datetime, str] = {}
    return PlannedRows(rows, {person: fingerprint(r.values(), texts) for person, r in rows.items()})


#: The columns of a new reminder the plan decides, in the order of a FreshRows document.
FRESH_COLUMNS: Final = (
    "key",
    "person",
    "deadline",
    "kind",
    "occurrence",
    "occurrence_date",
    "offset",
    "due",
    "ends",
    "overdue",
    "closed_notice",
)


@dataclass(frozen=True, slots=True)
class FreshRows:
    """Some people's planned reminders, for a SQLite store that holds nothing of theirs.

    Built by :func:`fresh_for` in the planning process of a first start, so that
    storing them is one statement that SQLite runs by itself, without the
    interpreter, while the daemon goes on starting.
    """

    #: person -> :func:`fingerprint` of their rows (every person of the batch).
    prints: dict[str, str]
    #: A JSON array of rows: the :data:`FRESH_COLUMNS` as SQLite stores them.
    document: str
    #: How many rows the document holds.
    count: int


def fresh_for(occurrences: Iterable[Occurrence], people: Collection[str]) -> FreshRows:
    """The rows of ``people`` as :class:`FreshRows`: every row new and pending.

    The same rows and fingerprints as :func:`planned_for`, as UTCDateTime, Date
    and Boolean bind them on SQLite (a test compares the rows stored both ways,
    with the storage class of every value), built in one pass: the planning
    process of a first start spent as long on a second pass as on the plan.
    """
    import json

    # person -> key -> (the document's row, the fingerprint's line)
    buckets: dict[str, dict[str, tuple[tuple[object, ...], str]]] = {p: {} for p in people}
    # instant (with its fold, see planned_rows) -> its text as stored and its ISO text
    texts: dict[tuple[datetime, int], tuple[str, str]] = {}

    def text_of(value: datetime) -> tuple[str, str]:
        seen = (value, value.fold)
        found = texts.get(seen)
        if found is None:
            utc = to_utc(value)
            found = texts[seen] = (sqlite_instant(utc), utc.isoformat())
        return found

    for occ in occurrences:
        bucket = buckets.setdefault(occ.person, {})
        ends, ends_iso = text_of(occ.ends)
        own = occ.key
        for r in (*occ.reminders, *occ.escalations):
            due, due_iso = text_of(r.due)
            overdue, closed = int(r.overdue), int(r.closed_notice)
            bucket[r.key] = (
                (
                    r.key,
                    r.person,
                    r.deadline,
                    r.kind,
                    r.occurrence if r.office else own,
                    r.date.isoformat(),
                    r.offset,
                    due,
                    ends,
                    overdue,
                    closed,
                ),
                _print_line(r.key, r.kind, due_iso, ends_iso, overdue, closed),
            )
    values = [row for bucket in buckets.values() for row, _ in bucket.values()]
    prints = {
        person: _digest(sorted(line for _, line in bucket.values()))
        for person, bucket in buckets.items()
    }
    return FreshRows(prints, json.dumps(values, ensure_ascii=False), len(values))


def fresh_supported() -> bool:
    """True when this process's SQLite has JSON built in (3.38 and later)."""
    import sqlite3

    return sqlite3.sqlite_version_info >= (3, 38)


def fingerprint(rows: Iterable[dict[str, Any]], texts: dict[datetime, str] | None = None) -> str:
    """A digest of what the plan decides for one person's reminders, order-independent.

    ``texts`` may carry instants' ISO texts from one call to the next (a cache).
    The rows' instants are UTC (:func:`planned_rows` converts them): equal instants
    in two zones would compare equal and share one cached text.
    """
    iso = {} if texts is None else texts

    def iso_of(when: datetime) -> str:
        found = iso.get(when)
        if found is None:
            found = iso[when] = when.isoformat()
        return found

    return _digest(
        sorted(
            _print_line(
                r["key"],
                r["kind"],
                iso_of(r["due"]),
                iso_of(r["ends"]),
                int(r["overdue"]),
                int(r["closed_notice"]),
            )
            for r in rows
        )
    )


def _print_line(key: str, kind: str, due: str, ends: str, overdue: int, closed: int) -> str:
    # One reminder's line of a fingerprint; both ways of planning must write it alike,
    # or every person would look changed at the next start.
    return f"{key}|{kind}|{due}|{ends}|{overdue}|{closed}"


def _digest(lines: list[str]) -> str:
    # The digest of every line followed by a newline, hashed in one call.
    joined = "\n".join(lines) + "\n" if lines else ""
    return hashlib.sha256(joined.encode()).hexdigest()
