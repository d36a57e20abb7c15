"""The read-only commands' quick path: remembered config facts and one SQLite connection.

``upcoming``, ``status`` and ``feed-url`` need only a few facts of the config
(its database, time zones, windows, people) and a few rows. When the config
files are unchanged since those facts were derived (see
:mod:`service.configcache`) and the database is a SQLite file at the schema the
facts were taken with, they are read here with the standard library's sqlite3,
without validating the config or loading SQLAlchemy. Anything else (PostgreSQL,
a changed file, an older schema, a missing database) takes the full path in
:mod:`service.status` and :mod:`service.publish`, which gives the same answers.

The queries mirror the store's (``service.store.reads``, ``queue``, ``acks``,
``meta``); tests compare both paths over the same stores.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.config import Config

#: Meta key: the problems of the running daemon's last failed reload (JSON list, or empty).
RELOAD_ERRORS = "reload_errors"
#: The cache kind of :class:`Facts`.
FACTS = "facts"
#: SQLAlchemy's text form of a SQLite DATETIME (UTC wall time, fixed width).
_STORED = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True, slots=True)
class Facts:
    """What the quick path needs of a valid config; plain values only (they are cached)."""

    database: str
    timezone: str
    horizon_days: int
    #: longest_overdue_days + 1 and longest_lead_days + 1 (see service.plan).
    back_days: int
    lead_days: int
    #: Person ids in config order, with each person's own time zone (or None).
    people: tuple[tuple[str, str | None], ...]
    #: service.basis.config_digest of the config.
    digest: str
    #: Statuses of skipped rows that are no longer planned (service.store.reconcile).
    restorable: frozenset[str]
    statuses: tuple[str, ...]
    secret_file: str
    public_url: str
    #: The schema revisions of this code (a database elsewhere takes the full path).
    heads: frozenset[str]
    #: "person/deadline" -> its (channel, target) pairs (service.targets.targets_of),
    #: for the ``channels`` of reminders that have no stored targets yet.
    targets: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    def zone(self, person: str) -> str | None:
        """The time zone name of a person, None when there is no such person."""
        for pid, zone in self.people:
            if pid == person:
                return zone or self.timezone
        return None


@dataclass(frozen=True, slots=True)
class UpcomingRow:
    """One planned reminder with its delivery status."""

    key: str
    person: str
    deadline: str
    kind: str
    date: date
    offset: str
    due: datetime
    status: str
    #: ``[{"channel": "email", "status": "sent"}, ...]``: one entry per target.
    channels: tuple[dict[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The stable JSON object of ``upcoming --json``."""
        return {
            "key": self.key,
            "person": self.person,
            "deadline": self.deadline,
            "date": self.date.isoformat(),
            "due": self.due.isoformat(),
            "status": self.status,
            "kind": self.kind,
            "offset": self.offset,
            "channels": [dict(entry) for entry in self.channels],
        }


def reload_errors(stored: str | None) -> list[str]:
    try:
        found = json.loads(stored) if stored else []
    except ValueError:
        return []
    return [str(p) for p in found] if isinstance(found, list) else []


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases (and in-memory ones)."""
    match = re.fullmatch(r"sqlite(?:\+\w+)?:///(.+)", url)
    if not match or match.group(1).startswith((":memory:", "file:")):
        return None
    return Path(match.group(1))


def facts_of(config: Config) -> Facts:
    """Derive the facts from a validated config."""
    from service.basis import config_digest
    from service.plan import longest_lead_days, longest_overdue_days
    from service.store.db import shipped_heads
    from service.store.models import STATUSES
    from service.store.reconcile import RESTORABLE
    from service.targets import targets_of

    return Facts(
        database=config.database_url,
        timezone=config.service.timezone,
        horizon_days=config.service.horizon_days,
        back_days=longest_overdue_days(config) + 1,
        lead_days=longest_lead_days(config) + 1,
        people=tuple((p.id, p.timezone) for p in config.people),
        digest=config_digest(config),
        restorable=frozenset(RESTORABLE),
        statuses=tuple(STATUSES),
        secret_file=str(config.resolve(config.service.secret_file)),
        public_url=config.feed.public_url,
        heads=shipped_heads(),
        targets=tuple(
            (f"{p.id}/{d.id}", tuple(targets_of(config, p.id, d.id, f"{p.id}/{d.id}")))
            for p in config.people
            for d in p.deadlines
        ),
    )


#: Keys per ``IN (...)`` query, well below SQLite's limit of bound parameters.
_CHUNK = 500


def _stored_channels(conn: sqlite3.Connection, keys: list[str]) -> dict[str, list[dict[str, str]]]:
    """As ``service.store.deliveries.channels_of``: key -> its stored targets, own email first."""
    out: dict[str, list[dict[str, str]]] = {}
    unique = sorted(set(keys))
    for i in range(0, len(unique), _CHUNK):
        batch = unique[i : i + _CHUNK]
        marks = ", ".join("?" for _ in batch)
        for key, channel, target, status in conn.execute(
            f'SELECT "key", channel, target, status FROM targets WHERE "key" IN ({marks})', batch
        ):
            entry = {"channel": channel, "status": status}
            if target:
                entry["target"] = target
            out.setdefault(key, []).append(entry)
    for entries in out.values():
        entries.sort(key=lambda e: (e["channel"] != "email", e["channel"], e.get("target", "")))
    return out


#: ``service.store.models.EMAIL`` and ``OWN``, without loading SQLAlchemy here.
EMAIL = "email"
OWN = ""


def _planned_channels(
    targets: dict[str, tuple[tuple[str, str], ...]], person: str, deadline: str
) -> list[dict[str, str]]:
    """As ``service.targets.planned_channels``: every target of a reminder, ``pending``."""
    pairs = targets.get(f"{person}/{deadline}", ((EMAIL, OWN),))
    out = []
    for channel, target in pairs:
        entry = {"channel": channel, "status": "pending"}
        if target:
            entry["target"] = target
        out.append(entry)
    return out


def _schema_of(path: Path) -> frozenset[str] | None:
    try:
        with connect(path) as conn:
            rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        return None
    return frozenset(str(row[0]) for row in rows)


def stored_basis(conn: sqlite3.Connection) -> str | None:
    """The plan basis the store keeps (``service.basis.PLAN_BASIS``), or None."""
    row = conn.execute("SELECT value FROM meta WHERE \"key\" = 'plan_basis'").fetchone()
    return None if row is None else str(row[0])


@contextmanager
def connect(path: Path, timeout: float = 30.0) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the SQLite file ``path``, closed at the end."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
    try:
        yield conn
    finally:
        conn.close()


def usable(facts: Facts) -> Path | None:
    """The SQLite file to read when the quick path applies, else None."""
    path = sqlite_file(facts.database)
    if path is None or not path.is_file() or _schema_of(path) != facts.heads:
        return None
    return path


def _stored(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime(_STORED)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def upcoming_rows(
    facts: Facts, path: Path, start: date, end: date, person: str | None, today: date
) -> list[Any] | None:
    """``upcoming``'s rows from the stored plan; None when it is not this config's of today."""
    from zoneinfo import ZoneInfo

    from service.basis import basis_for
    from service.keys import escalation_office

    kept_from = today - timedelta(days=facts.back_days)
    kept_until = today + timedelta(days=facts.horizon_days)
    if start - timedelta(days=facts.back_days) < kept_from or (
        end + timedelta(days=facts.lead_days) > kept_until
    ):
        return None
    tz = ZoneInfo(facts.timezone)
    low = datetime.combine(start, datetime.min.time(), tzinfo=tz)
    high = datetime.combine(end, datetime.min.time(), tzinfo=tz)
    with connect(path) as conn:
        if stored_basis(conn) != basis_for(facts.digest, today):
            return None
        acks = "SELECT occurrence FROM acknowledgements"
        acked = {
            occ
            for (occ,) in (
                conn.execute(acks + " WHERE person = ?", (person,))
                if person is not None
                else conn.execute(acks)
            )
        }
        # One range scan of the (status, due) index per status, merged by the ORDER BY.
        marks = ", ".join("?" for _ in facts.statuses)
        query = (
            'SELECT "key", person, deadline, kind, occurrence, occurrence_date, "offset", due, '
            f"status, reason FROM reminders WHERE status IN ({marks}) AND due >= ? AND due < ?"
        )
        args: list[str] = [*facts.statuses, _stored(low), _stored(high)]
        if person is not None:
            query += " AND person = ?"
            args.append(person)
        found = conn.execute(query + ' ORDER BY due, "key"', args).fetchall()
        stored_channels = _stored_channels(conn, [row[0] for row in found])
    named = dict(facts.people)
    targets = dict(facts.targets)
    zones: dict[str, ZoneInfo | None] = {}
    out = []
    for key, who, deadline, kind, occurrence, day, offset, due, status, reason in found:
        if escalation_office(occurrence) is not None:
            continue  # an office's escalation, not one of the person's reminders
        if status == "skipped" and reason in facts.restorable:
            continue  # no longer planned
        if who not in zones:
            own = named.get(who, "")
            zones[who] = None if own == "" else ZoneInfo(own or facts.timezone)
        zone = zones[who]
        if zone is None:
            continue
        if status == "pending" and occurrence in acked:
            status = "acknowledged"
        channels = stored_channels.get(key)
        if channels is None:
            channels = _planned_channels(targets, who, deadline) if status == "pending" else []
        out.append(
            UpcomingRow(
                key,
                who,
                deadline,
                kind,
                date.fromisoformat(day),
                offset,
                _instant(due).astimezone(zone),
                status,
                tuple(channels),
            )
        )
    return out


def fill_status(snapshot: dict[str, Any], path: Path, now: datetime, stale: timedelta) -> bool:
    """``status``'s store fields, as :func:`service.status._fill_from_store` reads them.

    False (and ``snapshot`` untouched) when the database cannot be read this way:
    the full path then says why.
    """
    found: dict[str, Any] = {"config_errors": list(snapshot["config_errors"])}
    try:
        with connect(path) as conn:
            counts = dict.fromkeys(("pending", "sent", "failed", "acknowledged", "skipped"), 0)
            for status, count in conn.execute(
                "SELECT status, count(*) FROM reminders GROUP BY status"
            ):
                if status in counts:
                    counts[status] = count
            found.update(counts)
            nxt = _next_due(conn)
            found["next_due"] = nxt.isoformat() if nxt else None
            meta = dict(
                conn.execute(
                    'SELECT "key", value FROM meta WHERE "key" IN (?, ?, ?, ?)',
                    ("last_plan", "last_reload", "heartbeat", RELOAD_ERRORS),
                ).fetchall()
            )
            found["last_plan"] = meta.get("last_plan")
            found["last_reload"] = meta.get("last_reload")
            heartbeat = meta.get("heartbeat")
            if heartbeat:
                beat = datetime.fromisoformat(heartbeat)
                fresh = now - beat.astimezone(UTC) < stale
                found["daemon"] = f"{'running' if fresh else 'stopped'} (last seen {heartbeat})"
                if fresh:
                    for problem in reload_errors(meta.get(RELOAD_ERRORS)):
                        if problem not in found["config_errors"]:
                            found["config_errors"].append(problem)
                    found["config_ok"] = not found["config_errors"]
            failed = conn.execute(
                "SELECT \"key\", reason, updated_at FROM reminders WHERE status = 'failed' "
                'ORDER BY updated_at DESC, "key" LIMIT 20'
            ).fetchall()
            channels = _stored_channels(conn, [key for key, _, _ in failed])
            found["failures"] = [
                {
                    "key": key,
                    "reason": reason or "",
                    "at": _instant(at).isoformat(),
                    "channels": channels.get(key, []),
                }
                for key, reason, at in failed
            ]
            conn.execute("SELECT 1").fetchone()
            found["db_ok"] = True
    except sqlite3.Error:
        return False
    snapshot.update(found)
    return True


def _next_due(conn: sqlite3.Connection) -> datetime | None:
    """As ``service.store.queue.next_due_at``: the later of due, next retry and lease end."""
    candidates = []
    (first,) = conn.execute(
        "SELECT min(due) FROM reminders WHERE status = 'pending' "
        "AND next_attempt IS NULL AND claimed_until IS NULL"
    ).fetchone()
    if first is not None:
        candidates.append(_instant(first))
    for column in ("next_attempt", "claimed_until"):
        (held,) = conn.execute(
            "SELECT min(max(due, coalesce(next_attempt, due), coalesce(claimed_until, due))) "
            f"FROM reminders WHERE status = 'pending' AND {column} IS NOT NULL"
        ).fetchone()
        if held is not None:
            candidates.append(_instant(held))
    return min(candidates) if candidates else None


def generation(path: Path, key: str) -> int:
    """A token generation as ``service.publish.generation`` reads it from meta ``key``."""
    with connect(path) as conn:
        row = conn.execute('SELECT value FROM meta WHERE "key" = ?', (key,))
        found = row.fetchone()
    return int(found[0]) if found and found[0] else 0
