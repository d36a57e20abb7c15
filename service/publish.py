"""Public links and calendar documents: feed URLs, action links, feed bytes.

Joins the pure feed builder with the store (acknowledgements, SEQUENCE numbers,
token generations) so the CLI and the web server publish the same bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from service.clock import Clock, SystemClock
from service.status import open_store
from service.tokens import (
    admin_token,
    feed_token,
    installation_id,
    load_or_create_secret,
    office_token,
    sign_action,
)

if TYPE_CHECKING:
    # ``feed-url`` needs only tokens and the store; calendars load the rest.
    from service.config import Config, Office, Person
    from service.plan import Occurrence
    from service.store import Store

ADMIN_SCOPE = "*"
#: Past occurrences stay in calendars this long, so a subscriber sees recent history.
FEED_HISTORY = timedelta(days=90)
#: An acknowledge link stays valid this long after its occurrence is over.
ACK_LINK_GRACE = timedelta(days=60)


def office_scope(office_id: str) -> str:
    """The token scope of an office's dashboard and combined feed."""
    return f"office:{office_id}"


def generation_key(scope: str) -> str:
    """The meta key holding a feed token's generation (bumped by --rotate)."""
    return f"token_generation:{scope}"


async def generation(store: Store | None, scope: str) -> int:
    """The current token generation of a person (or ``ADMIN_SCOPE``)."""
    if store is None:
        return 0
    value = await store.get_meta(generation_key(scope))
    return int(value) if value else 0


def secret_of(config: Config) -> bytes:
    """The HMAC key, created on first use."""
    return load_or_create_secret(config.resolve(config.service.secret_file))


def calendar_url(config: Config, token: str) -> str:
    """The full feed URL for a token."""
    return f"{config.feed.public_url}/calendar/{token}.ics"


async def _current_generation(config: Config, scope: str, rotate: bool) -> int:
    """The token generation of ``scope``, bumped first (revoking the old URL) if asked."""
    async with open_store(config) as store:
        assert store is not None
        current = await generation(store, scope)
        if rotate:
            current += 1
            await store.set_meta(generation_key(scope), str(current))
            await store.set_meta("tokens_changed", SystemClock().now().isoformat())
    return current


async def feed_url_for(config: Config, person: str | None, *, rotate: bool = False) -> str:
    """A person's feed URL (``None``: the admin feed), after rotating it if asked."""
    secret = secret_of(config)
    current = await _current_generation(config, person or ADMIN_SCOPE, rotate)
    if person is None:
        return calendar_url(config, admin_token(secret, current))
    return calendar_url(config, feed_token(secret, person, current))


async def dashboard_url(config: Config, store: Store | None, secret: bytes, office_id: str) -> str:
    """The office dashboard's URL (rotated with ``feed-url --rotate --office``)."""
    current = await generation(store, office_scope(office_id))
    return f"{config.feed.public_url}/office/{office_token(secret, office_id, current)}"


async def office_url_for(config: Config, office_id: str, *, rotate: bool = False) -> str:
    """An office's dashboard URL (add .csv or .ics for export, calendar); rotated if asked."""
    secret = secret_of(config)
    current = await _current_generation(config, office_scope(office_id), rotate)
    return f"{config.feed.public_url}/office/{office_token(secret, office_id, current)}"


def ack_url(
    config: Config, secret: bytes, occurrence: Occurrence, now: datetime, by: str | None = None
) -> str:
    """A signed link to the confirmation page that acknowledges ``occurrence``.

    ``by``: the ``recipients`` address whose copy carries it, recorded as the one
    who acknowledged.
    """
    expires = max(occurrence.ends + ACK_LINK_GRACE, now + timedelta(days=7))
    signed = sign_action(secret, occurrence=occurrence.key, action="ack", expires=expires, by=by)
    return f"{config.feed.public_url}/act/{signed}"


@dataclass(frozen=True, slots=True)
class FeedDocument:
    """One rendered calendar with the validators the HTTP layer needs."""

    body: bytes
    etag: str
    last_modified: datetime


def feed_window(config: Config, today: date) -> tuple[date, date]:
    """Which occurrences a calendar shows: some history and the whole horizon."""
    return today - FEED_HISTORY, today + timedelta(days=config.service.horizon_days)


async def build_document(
    config: Config,
    store: Store | None,
    person: str | None,
    *,
    clock: Clock | None = None,
) -> FeedDocument:
    """Render the calendar of one person (``None``: everyone) from plan and store."""
    from service.feed import calendar_name

    people: list[Person]
    if person is None:
        people = list(config.people)
    else:
        entry = config.person(person)
        people = [entry] if entry else []
    language = people[0].language if person is not None and people else "en"
    name = calendar_name(people[0] if person is not None and people else None, language)
    scope = person or ADMIN_SCOPE
    return await _document(config, store, people, person, scope, name, language, None, clock)


async def build_office_document(
    config: Config, store: Store | None, office: Office, *, clock: Clock | None = None
) -> FeedDocument:
    """The combined calendar of everyone ``office`` looks after, summaries prefixed by name."""
    from service.feed import office_calendar_name

    people = [p for p in config.people if office.covers(p)]
    name = office_calendar_name(office.name, office.language)
    scope = office_scope(office.id)
    return await _document(config, store, people, None, scope, name, office.language, True, clock)


async def _document(
    config: Config,
    store: Store | None,
    people: list[Person],
    person: str | None,
    scope: str,
    name: str,
    language: str,
    all_people: bool | None,
    clock: Clock | None,
) -> FeedDocument:
    """Plan, acknowledgements and event revisions of ``people`` rendered as one calendar."""
    from service.feed import build_feed, etag_for, event_fingerprints
    from service.plan import plan
    from service.worker import off_loop

    now = (clock or SystemClock()).now()
    today = now.astimezone(ZoneInfo(config.service.timezone)).date()
    start, end = feed_window(config, today)
    occurrences = await off_loop(
        plan, config, start, end, people=[p.id for p in people], singles_unbounded=True
    )
    acknowledged: set[str] = await store.acknowledged(person) if store else set()
    installation = installation_id(secret_of(config))
    fingerprints = event_fingerprints(
        config, people, occurrences, acknowledged, installation=installation
    )
    revisions = await store.feed_revisions(fingerprints, now) if store else {}
    stateless = _stateless_stamp(config, now)
    body = build_feed(
        config,
        people,
        occurrences,
        acknowledged=acknowledged,
        sequences={uid: r.sequence for uid, r in revisions.items()},
        modified={uid: r.changed_at for uid, r in revisions.items()},
        stamp=stateless,
        name=name,
        language=language,
        installation=installation,
        all_people=all_people,
    )
    last_modified = await _last_modified(store, scope, body, now) if store else stateless
    return FeedDocument(body, etag_for(body), last_modified)


def _stateless_stamp(config: Config, now: datetime) -> datetime:
    """The DTSTAMP of events no database has seen yet (``feed export`` before the first run).

    The last time the config files changed: that is when the information was
    last revised, and two exports of the same state give the same bytes.
    Never later than ``now``; ``now`` when the config is not a file.
    """
    times: list[float] = []
    for path in (config.path, *config.sources):
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            continue
    if not times:
        return now.astimezone(UTC).replace(microsecond=0)
    changed = datetime.fromtimestamp(max(times), UTC).replace(microsecond=0)
    return min(changed, now.astimezone(UTC).replace(microsecond=0))


async def _last_modified(store: Store, scope: str, body: bytes, now: datetime) -> datetime:
    """When this calendar's bytes last changed (HTTP Last-Modified): stable while they are."""
    digest = hashlib.sha256(body).hexdigest()[:32]
    stamp = now.astimezone(UTC).replace(microsecond=0)
    key = f"feed_stamp:{scope}"
    stored = await store.get_meta(key)
    if stored:
        old_digest, _, when = stored.partition(" ")
        if old_digest == digest:
            return datetime.fromisoformat(when)
    await store.set_meta(key, f"{digest} {stamp.isoformat()}")
    return stamp


async def feed_bytes(config: Config, person: str | None) -> bytes:
    """The calendar a subscriber of ``person``'s feed would get right now."""
    async with open_store(config, create=False) as store:
        document = await build_document(config, store, person)
    return document.body
