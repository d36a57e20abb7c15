"""What the CLI and /healthz report: upcoming reminders, acknowledgements, health.

These functions read the plan and the store; the CLI formats their results and
the web server serves them as JSON.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from service.clock import Clock, SystemClock
from service.errors import ConfigError, StaywatchError, UnknownDeadline, UnknownPerson
from service.quickread import RELOAD_ERRORS as RELOAD_ERRORS
from service.quickread import UpcomingRow as UpcomingRow
from service.quickread import reload_errors

if TYPE_CHECKING:
    # The read-only commands import this module; the store and the validators are
    # loaded only by the functions that use them (see service.quickread).
    from service.config import Config
    from service.plan import Occurrence
    from service.store import Store

#: A daemon that has not written its heartbeat for this long is reported as stopped.
HEARTBEAT_STALE = timedelta(minutes=3)
#: Meta key bumped when an acknowledgement is recorded outside the daemon (``done``).
ACKS_CHANGED = "acks_changed"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases."""
    match = re.fullmatch(r"sqlite(?:\+\w+)?:///(.+)", url)
    return Path(match.group(1)) if match else None


def database_exists(url: str) -> bool:
    """False only when a SQLite file has not been created yet."""
    path = sqlite_path(url)
    return path is None or path.exists()


@asynccontextmanager
async def open_store(config: Config, *, create: bool = True) -> AsyncIterator[Store | None]:
    """The config's store, migrated; None when ``create`` is false and it does not exist."""
    from service.store import Store

    url = config.database_url
    if not create and not database_exists(url):
        yield None
        return
    store = await Store.open(url)
    try:
        yield store
    finally:
        await store.close()


async def _with_channels(
    config: Config, store: Store | None, rows: list[UpcomingRow]
) -> list[UpcomingRow]:
    """The rows with their targets: as stored, or as planned for one not sent yet."""
    from service.targets import planned_channels

    stored = await store.channels([r.key for r in rows]) if store is not None else {}
    out = []
    for row in rows:
        found = stored.get(row.key)
        if found is None:
            found = (
                planned_channels(config, row.person, row.deadline, row.key.rsplit("/", 1)[0])
                if row.status == "pending"
                else []
            )
        out.append(replace(row, channels=tuple(found)))
    return out


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


async def upcoming_reminders(
    config: Config, start: date, end: date, person: str | None = None
) -> list[UpcomingRow]:
    """Reminders due from the start of ``start`` to the start of ``end`` (service zone).

    When the store holds exactly this config's plan for today (see
    :mod:`service.basis`) and the window lies inside what it keeps, the stored
    rows are read; otherwise the config is planned and the store asked for
    statuses.
    """
    from service.plan import longest_lead_days, longest_overdue_days, plan

    tz = ZoneInfo(config.service.timezone)
    low, high = _day_start(start, tz), _day_start(end, tz)
    async with open_store(config, create=False) as store:
        if store is not None:
            stored = await _stored_upcoming(config, store, start, end, person)
            if stored is not None:
                return await _with_channels(config, store, stored)
        occurrences = plan(
            config,
            start - timedelta(days=longest_overdue_days(config) + 1),
            end + timedelta(days=longest_lead_days(config) + 1),
            people=[person] if person else None,
        )
        planned = [r for o in occurrences for r in o.reminders if low <= r.due < high]
        planned.sort(key=lambda r: (r.due, r.key))
        statuses: dict[str, str] = {}
        acked: set[str] = set()
        if store is not None:
            statuses = await store.statuses([r.key for r in planned])
            acked = await store.acknowledged(person)
        rows = []
        for r in planned:
            status = statuses.get(r.key, "pending")
            if status == "pending" and r.occurrence in acked:
                status = "acknowledged"
            rows.append(
                UpcomingRow(r.key, r.person, r.deadline, r.kind, r.date, r.offset, r.due, status)
            )
        return await _with_channels(config, store, rows)


async def _stored_upcoming(
    config: Config, store: Store, start: date, end: date, person: str | None
) -> list[UpcomingRow] | None:
    """The window's rows straight from the store, or None when it may not match the plan."""
    from service.basis import PLAN_BASIS, plan_basis
    from service.keys import escalation_office
    from service.plan import longest_lead_days, longest_overdue_days, store_window
    from service.store.reconcile import RESTORABLE

    tz = ZoneInfo(config.service.timezone)
    today = SystemClock().now().astimezone(tz).date()
    kept_from, kept_until = store_window(config, today)
    if (
        start - timedelta(days=longest_overdue_days(config) + 1) < kept_from
        or end + timedelta(days=longest_lead_days(config) + 1) > kept_until
    ):
        return None
    if await store.get_meta(PLAN_BASIS) != plan_basis(config, today):
        return None
    acked = await store.acknowledged(person)
    zones: dict[str, ZoneInfo] = {}
    out = []
    for row in await store.reminders(
        start=_day_start(start, tz), end=_day_start(end, tz), person=person
    ):
        if escalation_office(row.occurrence) is not None:
            continue  # an office's escalation, not one of the person's reminders
        if row.status == "skipped" and row.reason in RESTORABLE:
            continue  # no longer planned
        zone = zones.get(row.person)
        if zone is None:
            entry = config.person(row.person)
            if entry is None:
                continue
            zone = zones[row.person] = config.zone_of(entry)
        status = row.status
        if status == "pending" and row.occurrence in acked:
            status = "acknowledged"
        out.append(
            UpcomingRow(
                row.key,
                row.person,
                row.deadline,
                row.kind,
                row.occurrence_date,
                row.offset,
                row.due.astimezone(zone),
                status,
            )
        )
    return out


def _occurrences_of(config: Config, person: str, deadline: str, today: date) -> list[Occurrence]:
    from service.plan import plan

    entry = config.person(person)
    if entry is None:
        raise UnknownPerson(person, [p.id for p in config.people])
    ids = [d.id for d in entry.deadlines]
    if deadline not in ids:
        raise UnknownDeadline(person, deadline, ids)
    found = plan(
        config,
        today - timedelta(days=400),
        today + timedelta(days=config.service.horizon_days),
        people=[person],
        singles_unbounded=True,
    )
    return [o for o in found if o.deadline == deadline]


async def acknowledge_target(
    config: Config, target: str, today: date, *, by: str = "cli", clock: Clock | None = None
) -> str:
    """Acknowledge ``PERSON/DEADLINE[/YYYY-MM-DD]``; return a one-line report."""
    parts = target.strip("/").split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise StaywatchError(
            f"'{target}' is not PERSON/DEADLINE or PERSON/DEADLINE/YYYY-MM-DD "
            "(e.g. wang-fang/nhis/2026-12-28)"
        )
    person, deadline = parts[0], parts[1]
    occurrences = _occurrences_of(config, person, deadline, today)
    now = (clock or SystemClock()).now()
    async with open_store(config) as store:
        assert store is not None
        acked = await store.acknowledged(person)
        if len(parts) == 3:
            try:
                day = date.fromisoformat(parts[2])
            except ValueError:
                raise StaywatchError(f"'{parts[2]}' is not a date; write YYYY-MM-DD") from None
            chosen = next((o for o in occurrences if day in (o.date, o.nominal)), None)
            if chosen is None:
                near = ", ".join(str(o.date) for o in occurrences if abs((o.date - day).days) < 62)
                raise StaywatchError(
                    f"{person}/{deadline} has no occurrence on {day}"
                    + (f"; nearby: {near}" if near else "")
                )
        else:
            open_ones = [
                o
                for o in occurrences
                if o.key not in acked
                and o.reminders[-1:]
                and (o.reminders[-1].due >= now or o.date >= today)
            ]
            if not open_ones:
                raise StaywatchError(f"{person}/{deadline} has no open occurrence to acknowledge")
            chosen = open_ones[0]
        if chosen.key in acked:
            return f"{chosen.key} was already acknowledged."
        stopped = await store.acknowledge(
            chosen.key,
            person=person,
            deadline=deadline,
            occurrence_date=chosen.date,
            by=by,
            at=now,
        )
        # Tells a running daemon (which caches calendars) that its feeds are stale.
        await store.set_meta(ACKS_CHANGED, f"{now.isoformat()} {chosen.key}")
    return f"Acknowledged {chosen.key}: {stopped} pending reminder(s) stopped."


def _fallback_database_url(path: Path) -> str | None:
    """The database of a config that does not validate, if its TOML can be read at all."""
    import tomllib

    from service.config import ServiceSection, absolute_database_url

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        url = raw.get("service", {}).get("database", ServiceSection().database)
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    if not isinstance(url, str):
        return None
    return absolute_database_url(url, path.resolve().parent)


async def status_snapshot(
    path: Path,
    *,
    config: Config | None = None,
    store: Store | None = None,
    config_errors: list[str] | None = None,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """The object of ``status --json`` and ``/healthz``.

    The CLI passes only ``path`` (the file is validated now); the daemon passes
    its running config, store and the errors of the last failed reload.
    """
    errors: list[str] = list(config_errors or [])
    url: str | None = None
    now = (clock or SystemClock()).now()
    if config is None and store is None:
        quick = _quick_snapshot(path, now)
        if quick is not None:
            return quick
    if config is None:
        from service.configcache import keep, load_config_cached
        from service.quickread import FACTS, facts_of

        try:
            config = load_config_cached(path)
        except ConfigError as exc:
            errors = [str(p) for p in exc.problems]
            url = _fallback_database_url(path)
        else:
            keep(config, FACTS, "", facts_of(config))
    if config is not None:
        url = config.database_url
    snapshot = _new_snapshot(path, errors)
    if store is not None:
        await _fill_from_store(snapshot, store, now)
    elif url is not None and database_exists(url):
        from service.store import Store

        try:
            owned = await Store.open(url, migrate=False)
        except StaywatchError as exc:
            snapshot["db_error"] = str(exc)
        else:
            try:
                await _fill_from_store(snapshot, owned, now)
            finally:
                await owned.close()
    return snapshot


#: What ``/healthz`` tells anyone who can reach the port: counts, booleans and instants,
#: never keys, names, addresses, paths, server replies or config error texts.
PUBLIC_HEALTH = (
    "config_ok",
    "db",
    "pending",
    "sent",
    "failed",
    "acknowledged",
    "skipped",
    "next_due",
    "last_plan",
    "last_reload",
)


def _new_snapshot(path: Path, errors: list[str]) -> dict[str, Any]:
    return {
        "config": str(path),
        "config_ok": not errors,
        "config_errors": errors,
        "db_ok": False,
        "pending": 0,
        "sent": 0,
        "failed": 0,
        "acknowledged": 0,
        "skipped": 0,
        "next_due": None,
        "last_plan": None,
        "last_reload": None,
        "daemon": "not running",
        "failures": [],
    }


def _quick_snapshot(path: Path, now: datetime) -> dict[str, Any] | None:
    """``status`` of an unchanged valid config over a SQLite store, or None (take the full path)."""
    from service.configcache import lookup
    from service.quickread import FACTS, Facts, fill_status, usable

    facts = lookup(FACTS, path)
    if not isinstance(facts, Facts):
        return None
    snapshot = _new_snapshot(path, [])
    database = usable(facts)
    if database is None:
        return None
    if not fill_status(snapshot, database, now, HEARTBEAT_STALE):
        return None
    return snapshot


def public_health(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The fields of a health snapshot that may be shown without the admin token."""
    return {key: snapshot.get(key) for key in PUBLIC_HEALTH}


def is_healthy(snapshot: dict[str, Any]) -> bool:
    """True when the database answers and the config in force is the file's."""
    return bool(snapshot.get("db_ok", False) and snapshot.get("config_ok", False))


async def _fill_from_store(snapshot: dict[str, Any], store: Store, now: datetime) -> None:
    try:
        counts = await store.counts()
        snapshot.update(
            {k: counts.get(k, 0) for k in ("pending", "sent", "failed", "acknowledged", "skipped")}
        )
        nxt = await store.next_due_at()
        snapshot["next_due"] = nxt.isoformat() if nxt else None
        snapshot["last_plan"] = await store.get_meta("last_plan")
        snapshot["last_reload"] = await store.get_meta("last_reload")
        heartbeat = await store.get_meta("heartbeat")
        if heartbeat:
            beat = datetime.fromisoformat(heartbeat)
            fresh = now - beat.astimezone(UTC) < HEARTBEAT_STALE
            snapshot["daemon"] = f"{'running' if fresh else 'stopped'} (last seen {heartbeat})"
            if fresh:
                # The daemon may be running on an older config than the file says.
                for problem in reload_errors(await store.get_meta(RELOAD_ERRORS)):
                    if problem not in snapshot["config_errors"]:
                        snapshot["config_errors"].append(problem)
                snapshot["config_ok"] = not snapshot["config_errors"]
        failed = await store.failures(limit=20)
        channels = await store.channels([row.key for row in failed])
        snapshot["failures"] = [
            {
                "key": row.key,
                "reason": row.reason or "",
                "at": row.updated_at.isoformat(),
                "channels": channels.get(row.key, []),
            }
            for row in failed
        ]
        snapshot["db_ok"] = await store.ping()
    except StaywatchError as exc:
        snapshot["db_ok"] = False
        snapshot["db_error"] = str(exc)
