"""What an office sees: who is at risk, for the dashboard, the CSV export and digests.

An office looks after people (all, a list, or by tag). For each person and
deadline it sees the overdue occurrences nobody acknowledged and the next one
ahead, with days left and a status. Digests add what happened since the last one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from service.config import Config, Office, digest_schedule
from service.keys import base_occurrence
from service.plan import Occurrence, plan
from service.store import ReminderRow, Store
from service.texts import kind_name
from service.worker import off_loop

#: Most urgent first.
STATUS_ORDER = {"overdue": 0, "failed": 1, "pending": 2, "sent": 3, "acknowledged": 4}
#: How far back the overview looks for occurrences nobody acknowledged.
LOOKBACK = timedelta(days=90)
#: Reload summaries kept for digests (``meta`` key).
CHANGES_KEY = "config_changes"
CHANGES_KEPT = 200


@dataclass(frozen=True, slots=True)
class OfficeRow:
    """One occurrence as an office sees it."""

    person: str
    name: str
    tags: tuple[str, ...]
    deadline: str
    kind: str
    what: str
    date: date
    days_left: int
    status: str
    occurrence: str
    covers: str | None
    #: The recipient whose copy's link acknowledged it ("" for the person or the CLI).
    acknowledged_by: str = ""
    #: Chat channels that failed for good behind a delivered email (a blocked bot).
    failed_channels: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, str | int]:
        """Flat values for CSV and JSON."""
        return {
            "person": self.person,
            "name": self.name,
            "tags": " ".join(self.tags),
            "deadline": self.deadline,
            "kind": self.kind,
            "what": self.what,
            "date": self.date.isoformat(),
            "days_left": self.days_left,
            "status": self.status,
            "covers": self.covers or "",
            "acknowledged_by": self.acknowledged_by,
        }


def occurrence_status(
    occurrence: Occurrence, counts: dict[str, int], acknowledged: bool, today: date
) -> str:
    """acknowledged, failed, overdue, sent or pending, in that order of precedence."""
    if acknowledged:
        return "acknowledged"
    if counts.get("failed"):
        return "failed"
    if occurrence.date < today:
        return "overdue"
    if counts.get("sent"):
        return "sent"
    return "pending"


def office_zone(config: Config, office: Office) -> ZoneInfo:
    """The office's time zone, else the service's."""
    return ZoneInfo(office.timezone or config.service.timezone)


async def office_rows(
    config: Config, store: Store | None, office: Office, today: date
) -> list[OfficeRow]:
    """Per person and deadline: unacknowledged past occurrences and the next one ahead.

    Sorted by urgency: overdue and failed first, then by days left.
    """
    people = [p for p in config.people if office.covers(p)]
    ids = [p.id for p in people]
    occurrences = await off_loop(
        plan,
        config,
        today - LOOKBACK,
        today + timedelta(days=config.service.horizon_days),
        people=ids,
        singles_unbounded=True,
    )
    counts = await store.occurrence_statuses(ids) if store and ids else {}
    acked = await store.acknowledged() if store and ids else set()
    covered = set(ids)
    by_recipient = (
        await store.acknowledgers([o for o in acked if o.split("/", 1)[0] in covered])
        if store and acked
        else {}
    )
    failed_channels: dict[str, set[str]] = {}
    if store and ids:
        for row, target in await store.failed_channels(None, limit=500):
            if row.person in covered:
                failed_channels.setdefault(row.occurrence, set()).add(target.channel)
    by_id = {p.id: p for p in people}
    rows: list[OfficeRow] = []
    next_seen: set[tuple[str, str]] = set()
    for occurrence in occurrences:
        done = occurrence.key in acked
        if occurrence.date < today:
            if done:
                continue
        else:
            slot = (occurrence.person, occurrence.deadline)
            if slot in next_seen:
                continue
            next_seen.add(slot)
        person = by_id[occurrence.person]
        rows.append(
            OfficeRow(
                person=person.id,
                name=person.name,
                tags=person.tags,
                deadline=occurrence.deadline,
                kind=occurrence.kind,
                what=occurrence.title or kind_name(occurrence.texts_key, office.language),
                date=occurrence.date,
                days_left=(occurrence.date - today).days,
                status=occurrence_status(occurrence, counts.get(occurrence.key, {}), done, today),
                occurrence=occurrence.key,
                covers=occurrence.covers,
                acknowledged_by=by_recipient.get(occurrence.key, "") if done else "",
                failed_channels=tuple(sorted(failed_channels.get(occurrence.key, ()))),
            )
        )
    rows.sort(key=lambda r: (STATUS_ORDER[r.status], r.days_left, r.person, r.deadline))
    return rows


class ReloadChange(Protocol):
    """What a reload changed (``reload.ConfigChange``), as far as digests report it."""

    @property
    def added(self) -> Sequence[str]: ...

    @property
    def removed(self) -> Sequence[str]: ...

    @property
    def changed(self) -> Sequence[str]: ...

    @property
    def deadlines_added(self) -> Sequence[str]: ...

    @property
    def deadlines_removed(self) -> Sequence[str]: ...

    @property
    def deadlines_changed(self) -> Sequence[str]: ...

    @property
    def global_change(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ConfigChangeRecord:
    """A remembered config change: ids only, so each digest words it in its own language."""

    people_added: tuple[str, ...] = ()
    people_removed: tuple[str, ...] = ()
    people_changed: tuple[str, ...] = ()
    deadlines_added: tuple[str, ...] = ()
    deadlines_removed: tuple[str, ...] = ()
    deadlines_changed: tuple[str, ...] = ()
    service_changed: bool = False

    @classmethod
    def of(cls, change: ReloadChange) -> ConfigChangeRecord:
        """The record of a reload's change."""
        return cls(
            tuple(change.added),
            tuple(change.removed),
            tuple(change.changed),
            tuple(change.deadlines_added),
            tuple(change.deadlines_removed),
            tuple(change.deadlines_changed),
            bool(change.global_change),
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConfigChangeRecord:
        """Read back :meth:`as_json`; unknown keys (from a newer version) are ignored."""

        def ids(name: str) -> tuple[str, ...]:
            return tuple(str(item) for item in data.get(name) or ())

        return cls(
            ids("people_added"),
            ids("people_removed"),
            ids("people_changed"),
            ids("deadlines_added"),
            ids("deadlines_removed"),
            ids("deadlines_changed"),
            bool(data.get("service_changed", False)),
        )

    def as_json(self) -> dict[str, Any]:
        """Plain lists and a bool, for the meta table."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


#: A remembered change: a record, or the English text older versions stored.
ConfigChangeEntry = ConfigChangeRecord | str


@dataclass
class DigestContent:
    """Everything one digest reports, already filtered to the office's people."""

    office: Office
    period: datetime
    since: datetime | None
    overdue: list[OfficeRow] = field(default_factory=list)
    upcoming: list[OfficeRow] = field(default_factory=list)
    acknowledged: list[tuple[str, datetime, str]] = field(default_factory=list)
    failures: list[ReminderRow] = field(default_factory=list)
    changes: list[tuple[datetime, ConfigChangeEntry]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when there is nothing to report."""
        return not (
            self.overdue or self.upcoming or self.acknowledged or self.failures or self.changes
        )


async def digest_content(
    config: Config,
    store: Store,
    office: Office,
    *,
    period: datetime,
    since: datetime | None,
    now: datetime | None = None,
) -> DigestContent:
    """Collect the digest of ``office`` for the period starting at ``period``.

    Days left count from ``now`` (when the digest is written), which is later
    than ``period`` when a digest missed while the daemon was down goes out.
    """
    today = (now or period).astimezone(office_zone(config, office)).date()
    rows = await office_rows(config, store, office, today)
    horizon = today + timedelta(days=office.digest_days)
    covered = {p.id for p in config.people if office.covers(p)}
    content = DigestContent(office, period, since)
    content.overdue = [r for r in rows if r.status in ("overdue", "failed") and r.date < today]
    content.upcoming = [
        r for r in rows if r.date >= today and r.date <= horizon and r.status != "acknowledged"
    ]
    content.acknowledged = [
        item
        for item in await store.acknowledged_since(since)
        if base_occurrence(item[0]).split("/")[0] in covered
    ]
    content.failures = [
        row
        for row in await store.failures(limit=500)
        if row.person in covered and (since is None or row.updated_at > since)
    ]
    # A channel that failed for good behind a delivered email (a person who blocked the
    # bot) is a fix for the office too: listed with that channel's reply.
    content.failures += [
        replace(
            row,
            last_error=None,
            reason=" ".join(filter(None, (target.channel, target.target)))
            + f": {target.reason or 'failed'}",
        )
        for row, target in await store.failed_channels(since, limit=500)
        if row.person in covered
    ]
    content.changes = [
        (when, summary)
        for when, summary in await config_changes(store)
        if since is None or when > since
    ]
    return content


async def record_config_change(
    store: Store, when: datetime, change: ReloadChange | ConfigChangeRecord | str
) -> None:
    """Remember what a reload changed so digests can report it, each in its language."""
    raw = await store.get_meta(CHANGES_KEY)
    items = json.loads(raw) if raw else []
    if isinstance(change, str):
        entry: Any = change
    else:
        record = change if isinstance(change, ConfigChangeRecord) else ConfigChangeRecord.of(change)
        entry = record.as_json()
    items.append([when.isoformat(), entry])
    await store.set_meta(CHANGES_KEY, json.dumps(items[-CHANGES_KEPT:], ensure_ascii=False))


async def config_changes(store: Store) -> list[tuple[datetime, ConfigChangeEntry]]:
    """The remembered config changes, oldest first."""
    raw = await store.get_meta(CHANGES_KEY)
    out: list[tuple[datetime, ConfigChangeEntry]] = []
    for when, entry in json.loads(raw or "[]"):
        value = ConfigChangeRecord.from_json(entry) if isinstance(entry, dict) else str(entry)
        out.append((datetime.fromisoformat(when), value))
    return out


def latest_digest_time(config: Config, office: Office, now: datetime) -> datetime | None:
    """The most recent scheduled digest instant at or before ``now`` (None: no digests)."""
    if office.digest is False:
        return None
    weekday, at = digest_schedule(office.digest)
    tz = office_zone(config, office)
    local = now.astimezone(tz)
    day = local.date()
    for back in range(0, 8):
        candidate_day = day - timedelta(days=back)
        if weekday is not None and candidate_day.weekday() != weekday:
            continue
        candidate = datetime.combine(candidate_day, at, tzinfo=tz)
        if candidate <= local:
            return candidate
    return None
