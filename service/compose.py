"""Compose the message one reminder sends: its links, then the rendering.

:func:`compose_message` is what happens between claiming a reminder and
handing it to the transport: the acknowledge link and the calendar link (with
the person's current token generation from the store) or, for an escalation,
the office's delivery history and dashboard link, then the rendering.
``staywatch preview`` uses it on a reminder key (:func:`preview`), so that a
reviewer reads exactly the bytes the daemon sends, without sending anything.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from service.config import Config, Person
from service.errors import StaywatchError
from service.keys import Duration, ReminderKey
from service.plan import Occurrence, Reminder, plan
from service.publish import ack_url, calendar_url, dashboard_url, generation
from service.render import (
    ShortText,
    office_short,
    plain_text,
    render_escalation,
    render_reminder,
    render_reminder_short,
)
from service.store import Store
from service.tokens import feed_token, load_or_create_secret


class UnknownReminder(StaywatchError):
    """The reminder key names nothing the config plans."""


async def compose_message(
    config: Config,
    store: Store | None,
    secret: bytes,
    person: Person,
    occurrence: Occurrence,
    reminder: Reminder,
    *,
    now: datetime,
) -> EmailMessage | None:
    """The email ``reminder`` sends at ``now``, links included; None when it has no reader.

    A reminder to the person carries the signed acknowledge link and the
    calendar link of the person's current feed token; an escalation
    (``reminder.office``) carries the delivery history of the person's
    reminders, the acknowledge link and the office's dashboard link. None for
    an escalation to an office that no longer exists or no longer covers the
    person.
    """
    link = ack_url(config, secret, occurrence, now)
    if reminder.office is None:
        current = await generation(store, person.id)
        return render_reminder(
            config,
            person,
            occurrence,
            reminder,
            now=now,
            ack_url=link,
            feed_url=calendar_url(config, feed_token(secret, person.id, current)),
        )
    office = config.office(reminder.office)
    if office is None or not office.covers(person):
        return None
    history = await store.deliveries_of_occurrence(occurrence.key) if store is not None else []
    return render_escalation(
        config,
        office,
        person,
        occurrence,
        reminder,
        now=now,
        history=history,
        ack_url=link,
        dashboard_url=await dashboard_url(config, store, secret, office.id),
    )


async def compose_channel_text(
    config: Config,
    store: Store | None,
    secret: bytes,
    person: Person,
    occurrence: Occurrence,
    reminder: Reminder,
    *,
    now: datetime,
    fmt: str,
    message: EmailMessage | None = None,
) -> ShortText | None:
    """What a channel of format ``fmt`` (short | full) sends for ``reminder`` at ``now``.

    ``message`` is the reminder's email when it is already composed. None
    when the reminder has no reader (see :func:`compose_message`).
    """
    if fmt == "short" and reminder.office is None:
        current = await generation(store, person.id)
        return render_reminder_short(
            config,
            person,
            occurrence,
            reminder,
            now=now,
            ack_url=ack_url(config, secret, occurrence, now),
            feed_url=calendar_url(config, feed_token(secret, person.id, current)),
        )
    if message is None:
        message = await compose_message(
            config, store, secret, person, occurrence, reminder, now=now
        )
    if message is None:
        return None
    if fmt == "full":
        return plain_text(message)
    office = config.office(reminder.office or "")
    if office is None:
        return None
    link = await dashboard_url(config, store, secret, office.id)
    return office_short(message, office.language, link)


@dataclass(frozen=True, slots=True)
class Preview:
    """A reminder's message as the daemon sends it, and how it was determined."""

    key: str
    #: pending, sent, failed, acknowledged, skipped; "not stored" before the daemon ran.
    status: str
    #: The instant it was rendered for: when it was sent, else when it is (or was) due.
    when: datetime
    message: EmailMessage
    #: Why a link in it would not work, if one would not (no secret file yet).
    warning: str | None = None
    #: What a ``short`` channel sends for it.
    short: ShortText | None = None


def parse_key(text: str) -> tuple[ReminderKey, str | None]:
    """``PERSON/DEADLINE/YYYY-MM-DD/OFFSET[+OFFICE]`` -> the key and the escalation's office."""
    base, plus, office = text.strip().partition("+")
    try:
        key = ReminderKey.parse(base)
    except ValueError as exc:
        raise UnknownReminder(
            f"{exc}; a reminder key looks like wang-fang/visa/2027-03-14/P30D (an escalation "
            "adds +OFFICE); `staywatch upcoming` lists them"
        ) from None
    if plus and not office:
        raise UnknownReminder(f"'{text}' ends with '+' but names no office")
    Duration.parse(key.offset)
    return key, office or None


def find_reminder(config: Config, text: str) -> tuple[Person, Occurrence, Reminder]:
    """The person, occurrence and reminder (or escalation) the config plans for key ``text``."""
    key, office = parse_key(text)
    person = config.person(key.person)
    if person is None:
        known = ", ".join(p.id for p in config.people[:10]) or "none"
        raise UnknownReminder(f"no person '{key.person}' in the config (people: {known})")
    if all(d.id != key.deadline for d in person.deadlines):
        known = ", ".join(d.id for d in person.deadlines) or "none"
        raise UnknownReminder(
            f"person '{key.person}' has no deadline '{key.deadline}' (deadlines: {known})"
        )
    wanted = str(key) + (f"+{office}" if office else "")
    for occurrence in plan(config, key.date, key.date, people=[person.id]):
        if occurrence.key != key.occurrence:
            continue
        for reminder in (*occurrence.reminders, *occurrence.escalations):
            if reminder.key == wanted:
                return person, occurrence, reminder
        planned = [r.key for r in (*occurrence.reminders, *occurrence.escalations)]
        raise UnknownReminder(
            f"the config plans no reminder {wanted}; {occurrence.key} has: " + ", ".join(planned)
        )
    raise UnknownReminder(
        f"{key.person}/{key.deadline} has no occurrence on {key.date.isoformat()} in the "
        "current config (its date may have changed); `staywatch deadlines --person "
        f"{key.person}` shows its dates"
    )


def _preview_secret(config: Config) -> tuple[bytes, str | None]:
    path: Path = config.resolve(config.service.secret_file)
    if path.exists():
        return load_or_create_secret(path), None
    # Creating the secret would change what the daemon later uses; a throwaway one
    # shows the message as it will look, with links that cannot work.
    return secrets.token_bytes(32), (
        f"the secret file {path} does not exist yet (the daemon creates it on start): "
        "the links in this preview will not work"
    )


async def preview(config: Config, text: str, *, now: datetime) -> Preview:
    """The message reminder key ``text`` sends, or sent, rendered as the daemon renders it.

    A sent reminder is rendered for the instant it was sent, one still to go
    for its due instant (or ``now``, if that has passed: it would go out at
    once). Nothing is sent and nothing in the database changes.
    """
    from service.status import open_store

    person, occurrence, reminder = find_reminder(config, text)
    secret, warning = _preview_secret(config)
    async with open_store(config, create=False) as store:
        status, when = "not stored", max(reminder.due, now)
        if store is not None:
            for row in await store.reminders(person=person.id):
                if row.key == reminder.key:
                    status = row.status
                    if row.sent_at is not None:
                        when = row.sent_at
                    break
        message = await compose_message(
            config, store, secret, person, occurrence, reminder, now=when
        )
        short = await compose_channel_text(
            config,
            store,
            secret,
            person,
            occurrence,
            reminder,
            now=when,
            fmt="short",
            message=message,
        )
    if message is None:
        raise UnknownReminder(
            f"{reminder.key} goes to office '{reminder.office}', which does not look after "
            f"{person.id} in the current config: nothing would be sent"
        )
    return Preview(reminder.key, status, when, message, warning, short)
