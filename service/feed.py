"""The iCalendar feed: plan occurrences and acknowledgements in, .ics bytes out.

Pure and deterministic: the same occurrences, acknowledgements, revisions and
``stamp`` give the same bytes, so the ETag only changes when the state does.
Each occurrence becomes a deadline event (all-day, or 30 minutes at an ``at``
instant) carrying VALARMs at its lead times. Because Google Calendar and
Outlook ignore VALARM in subscribed feeds, every lead-time stage is also a small
all-day event of its own, and an action window (e.g. the four months in which
a stay extension is accepted) is a multi-day all-day event.

Alarms are relative to the event's start (``TRIGGER:-P29DT15H``), the form
Apple Calendar itself writes and the only one khal and several phone clients
keep. An all-day event starts at midnight in the *viewer's* zone, so a
reminder due at 09:00 local time 30 days ahead is "30 days back, then 9 hours
on": 29 days and 15 hours before the start. Days are nominal (DST-safe) and
the hours exact, so the alarm keeps its wall time unless a clock change falls
between the send time and midnight of that day (only the few zones that
change clocks around midnight do). Timed events get the exact distance from
their start.

Every event carries its own DTSTAMP and LAST-MODIFIED: the instant its content
last changed (kept per UID by the store), so a client that syncs event by event
rewrites only what changed. There is no METHOD: a subscribed calendar is not an
iTIP message, and without METHOD the DTSTAMP is, per RFC 5545, when the event
was last revised.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, vDuration, vText

from service import texts
from service.clock import to_utc
from service.config import Config, Custom, NhisPremium, Person
from service.plan import Occurrence, Reminder
from service.rules import BusinessCalendar

PRODID = "-//staywatch//staywatch feed//EN"
#: The right-hand side of every UID, after the installation id: ``...@<id>.staywatch``.
UID_DOMAIN = "staywatch"
#: Length of the timed event drawn for an ``at`` deadline.
AT_EVENT_LENGTH = timedelta(minutes=30)
#: The most VALARMs on one event; the ones closest to the deadline are kept.
#: Some clients slow down or drop alarms beyond a handful.
MAX_ALARMS = 10
DONE_MARK = "✓ "
#: An installation id is one DNS label, so UIDs read like ``...@<id>.staywatch``.
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

# -- the events, before rendering ------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Alarm:
    reminder: Reminder
    days_left: int
    #: Relative to the event's start; see the module docstring.
    trigger: timedelta


@dataclass(frozen=True, slots=True)
class _Event:
    uid: str
    role: str  # "deadline" | "window" | "stage"
    occurrence: Occurrence
    person: Person
    day: date
    start: date | datetime
    end: date | datetime
    done: bool = False
    days_left: int = 0
    closed_notice: bool = False
    alarms: tuple[_Alarm, ...] = ()

    @property
    def timed(self) -> bool:
        """A timed (``at``) event rather than an all-day one."""
        return isinstance(self.start, datetime)

    def facts(self) -> dict[str, Any]:
        """What the event says, independent of language: a change here bumps SEQUENCE."""
        occ, hidden = self.occurrence, self.person.hide_details
        return {
            "role": self.role,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "done": self.done,
            "kind": occ.kind,
            "date": occ.date.isoformat(),
            "hidden": hidden,
            "name": None if hidden else self.person.name,
            "title": None if hidden else occ.title,
            "note": None if hidden else occ.note,
            "covers": occ.covers,
            "moved": [[m.day.isoformat(), m.reason] for m in occ.moved],
            "closed": occ.closed,
            "days_left": self.days_left,
            "closed_notice": self.closed_notice,
            "alarms": [[a.reminder.offset, str(a.trigger)] for a in self.alarms],
        }


def _recurring(person: Person, occ: Occurrence) -> bool:
    for deadline in person.deadlines:
        if deadline.id == occ.deadline:
            return isinstance(deadline, NhisPremium) or (
                isinstance(deadline, Custom) and deadline.rrule is not None
            )
    # A deadline no longer in the config (an occurrence from the store): judge by kind.
    return occ.kind == "nhis_premium"


def _uid_base(person: Person, occ: Occurrence) -> str:
    owner = f"{person.id}/{occ.deadline}"
    if person.hide_details:
        # Person and deadline ids are often names ("wang-fang", "divorce-hearing").
        owner = "h-" + hashlib.sha256(owner.encode("utf-8")).hexdigest()[:20]
    # Recurring deadlines key on the nominal date, so a holiday roll keeps the
    # UID; one-off kinds key on the deadline alone, so a new date (a renewed
    # visa) updates the same event instead of adding one.
    return f"{owner}/{occ.nominal.isoformat()}" if _recurring(person, occ) else owner


def _events(
    config: Config,
    people: Sequence[Person],
    occurrences: Sequence[Occurrence],
    acknowledged: Collection[str],
    installation: str,
) -> list[_Event]:
    by_id = {p.id: p for p in people}
    chosen: dict[str, tuple[Person, Occurrence]] = {}
    for occ in occurrences:
        person = by_id.get(occ.person)
        if person is None:
            continue  # never let another person's occurrence into this feed
        base = _uid_base(person, occ)
        previous = chosen.get(base)
        # Two occurrences of a one-off deadline (an old date from the store and
        # the current one): the later one is the current deadline.
        if previous is None or (occ.date, occ.key) > (previous[1].date, previous[1].key):
            chosen[base] = (person, occ)

    if not _LABEL.fullmatch(installation):
        raise ValueError(f"{installation!r} is not an installation id (see tokens.installation_id)")
    domain = f"{installation}.{UID_DOMAIN}"
    events: list[_Event] = []
    for base, (person, occ) in chosen.items():
        done = occ.key in acknowledged
        events.extend(_events_of(config, person, occ, base, domain, done))
    events.sort(key=lambda e: (e.day, e.uid))
    return events


def _trigger(reminder: Reminder, start: date | datetime, person_zone: ZoneInfo) -> timedelta:
    """When ``reminder`` fires, relative to the start of its event (see the module docstring)."""
    if isinstance(start, datetime):
        return reminder.due - start
    # Wall time against the local midnight that starts the all-day event.
    wall = reminder.due.astimezone(person_zone).replace(tzinfo=None)
    return wall - datetime.combine(start, time())


def _events_of(
    config: Config, person: Person, occ: Occurrence, base: str, domain: str, done: bool
) -> list[_Event]:
    tz = config.zone_of(person)
    start: date | datetime
    end: date | datetime
    if occ.at is not None:
        start = to_utc(occ.at)
        end = start + AT_EVENT_LENGTH
    else:
        start, end = occ.date, occ.date + timedelta(days=1)

    stages: list[tuple[Reminder, int]] = []
    for reminder in occ.reminders:
        if reminder.overdue:
            continue
        days_left = (occ.date - reminder.due.astimezone(tz).date()).days
        stages.append((reminder, days_left))
    alarms: tuple[_Alarm, ...] = ()
    if not done:
        # Most urgent first: a client that keeps only the first alarm keeps the
        # one that matters most, not a warning months ahead.
        urgent = sorted(stages, key=lambda s: s[0].due, reverse=True)[:MAX_ALARMS]
        alarms = tuple(_Alarm(r, days, _trigger(r, start, tz)) for r, days in urgent)

    def uid(suffix: str = "") -> str:
        return f"{base}{suffix}@{domain}"

    out = [_Event(uid(), "deadline", occ, person, occ.date, start, end, done, alarms=alarms)]
    if done:
        # The window and the stages exist to prompt action; once done they are noise.
        return out
    if occ.window_start is not None and occ.window_start < occ.date:
        out.append(
            _Event(
                uid("/window"),
                "window",
                occ,
                person,
                occ.window_start,
                occ.window_start,
                occ.date + timedelta(days=1),
            )
        )
    seen: set[date] = set()
    for reminder, days_left in stages:
        day = occ.date - timedelta(days=days_left)
        # The deadline day is the deadline event itself; two stages on one day are one.
        if days_left <= 0 or day in seen:
            continue
        seen.add(day)
        out.append(
            _Event(
                uid(f"/{reminder.offset}"),
                "stage",
                occ,
                person,
                day,
                day,
                day + timedelta(days=1),
                days_left=days_left,
                closed_notice=reminder.closed_notice,
            )
        )
    return out


# -- rendering -------------------------------------------------------------------


def _label(lang: str, person: Person, occ: Occurrence) -> str:
    title = None if person.hide_details else occ.title
    return texts.event_label(occ.texts_key, lang, covers=occ.covers, title=title)


def _summary(lang: str, event: _Event, all_people: bool) -> str:
    occ, person = event.occurrence, event.person
    label = _label(lang, person, occ)
    if event.role == "window":
        text = texts.window_label(occ.texts_key, lang) or texts.ui("window_open", lang, label=label)
    elif event.role == "stage":
        text = texts.stage_label(label, event.days_left, lang)
    else:
        text = label
    if all_people and not person.hide_details:
        text = texts.ui("person_event", lang, name=person.name, text=text)
    return DONE_MARK + text if event.done else text


def _closed(lang: str, occ: Occurrence, reason: str, business: BusinessCalendar) -> str:
    # Offices are closed on the deadline day: the email's sentence, with the day to act by.
    day = occ.date
    last_open = business.last_business_day_before(day)
    return texts.closed_notice(occ.texts_key, day, reason, last_open, lang)


def _description(lang: str, event: _Event, business: BusinessCalendar) -> str:
    occ = event.occurrence
    lines: list[str] = []
    if event.role == "deadline":
        if occ.note and not event.person.hide_details:
            lines.append(occ.note)
        if occ.moved:
            lines.append(texts.moved_days_notice(occ.moved, occ.date, lang))
        if occ.closed:
            lines.append(_closed(lang, occ, occ.closed, business))
        if event.done:
            lines.append(texts.ui("done", lang))
    else:
        lines.append(texts.ui("deadline_on", lang, date=texts.long_date(occ.date, lang)))
        if event.closed_notice and occ.closed:
            lines.append(_closed(lang, occ, occ.closed, business))
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class _Words:
    """Everything a reader sees of an event as text, in one language."""

    summary: str
    description: str
    category: str
    alarms: tuple[str, ...]


def _words(lang: str, event: _Event, business: BusinessCalendar, all_people: bool) -> _Words:
    label = _label(lang, event.person, event.occurrence)
    return _Words(
        summary=_summary(lang, event, all_people),
        description=_description(lang, event, business),
        category=texts.kind_category(event.occurrence.kind, lang),
        alarms=tuple(texts.stage_label(label, a.days_left, lang) for a in event.alarms),
    )


def _render(event: _Event, words: _Words, *, modified: datetime, sequence: int) -> Event:
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", modified)
    vevent.add("last-modified", modified)
    vevent.add("sequence", sequence)
    vevent.add("dtstart", event.start)
    vevent.add("dtend", event.end)
    vevent.add("summary", words.summary)
    if words.description:
        vevent.add("description", words.description)
    # A deadline day is not busy (the person may still have to act on it); an
    # appointment at an instant is.
    vevent.add("transp", "OPAQUE" if event.timed else "TRANSPARENT")
    vevent.add("categories", ["staywatch", words.category])
    if event.done:
        vevent.add("x-staywatch-done", "TRUE")
    for alarm_of, description in zip(event.alarms, words.alarms, strict=True):
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", description)
        alarm.add("trigger", alarm_of.trigger)
        vevent.add_component(alarm)
    return vevent


def build_feed(
    config: Config,
    people: Sequence[Person],
    occurrences: Sequence[Occurrence],
    *,
    acknowledged: Collection[str],
    sequences: Mapping[str, int],
    stamp: datetime,
    name: str,
    language: str,
    installation: str,
    modified: Mapping[str, datetime] | None = None,
    all_people: bool | None = None,
) -> bytes:
    """The feed of ``people``'s ``occurrences`` as iCalendar bytes (CRLF, folded).

    ``acknowledged`` holds occurrence keys (``PERSON/DEADLINE/YYYY-MM-DD``) that
    are done. ``sequences`` and ``modified`` map UIDs to their SEQUENCE and to
    the instant their content last changed (DTSTAMP and LAST-MODIFIED), both
    kept per UID by the store from :func:`event_fingerprints`; a UID missing
    from ``modified`` gets ``stamp``. So the same state gives the same bytes,
    and a change touches the bytes of the changed events only.
    ``installation`` (:func:`service.tokens.installation_id`) is the
    per-installation part of every UID. ``name`` becomes the calendar's name
    as given (callers keep hidden people's names out of it); ``language`` is
    the reader's language. ``all_people`` (the admin feed; by default: more
    than one person) prefixes summaries with the person's name, except for
    people who hide details. Occurrences of anyone not in ``people`` are left
    out.
    """
    if all_people is None:
        all_people = len(people) > 1
    lang = texts.language(language)
    business = BusinessCalendar.for_config(config)
    when = to_utc(stamp).replace(microsecond=0)
    changed = modified or {}
    refresh = timedelta(minutes=config.feed.refresh_minutes)
    zone = (
        people[0].timezone or config.service.timezone
        if len(people) == 1 and not all_people
        else config.service.timezone
    )

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # TEXT values: a comma or semicolon in a name must not cut it short in vobject.
    calendar.add("name", vText(name))
    calendar.add("x-wr-calname", vText(name))
    calendar.add("x-wr-timezone", zone)
    calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(refresh))
    for event in _events(config, people, occurrences, acknowledged, installation):
        instant = changed.get(event.uid)
        calendar.add_component(
            _render(
                event,
                _words(lang, event, business, all_people),
                modified=when if instant is None else to_utc(instant).replace(microsecond=0),
                sequence=sequences.get(event.uid, 0),
            )
        )
    body: bytes = calendar.to_ical()
    return body


def event_fingerprints(
    config: Config,
    people: Sequence[Person],
    occurrences: Sequence[Occurrence],
    acknowledged: Collection[str],
    *,
    installation: str,
) -> dict[str, str]:
    """A hash of each event's content by UID, to persist and compare between states.

    The content is what the event says (dates, alarms, done, names) and its
    words in the person's own language, without the name prefix: the same
    event in a person's feed and in an office's has one fingerprint, and a
    new wording (a language switched, a translation improved) counts as a
    change, so clients that sync event by event pick it up. DTSTAMP and
    SEQUENCE are not part of it.
    """
    business = BusinessCalendar.for_config(config)
    out: dict[str, str] = {}
    for event in _events(config, people, occurrences, acknowledged, installation):
        words = _words(texts.language(event.person.language), event, business, False)
        said = [words.summary, words.description, words.category, *words.alarms]
        content = {**event.facts(), "words": said}
        out[event.uid] = hashlib.sha256(
            json.dumps(content, sort_keys=True, ensure_ascii=False).encode("utf-8")
        ).hexdigest()[:32]
    return out


def bump_sequences(
    known: Mapping[str, tuple[str, int]], fingerprints: Mapping[str, str]
) -> dict[str, tuple[str, int]]:
    """Next ``uid -> (fingerprint, sequence)``: a changed event goes up by one, a new one is 0.

    UIDs absent from ``fingerprints`` are kept, so an event that disappears
    and comes back never goes back to a lower SEQUENCE.
    """
    result = dict(known)
    for uid, fingerprint in fingerprints.items():
        previous = known.get(uid)
        if previous is None:
            result[uid] = (fingerprint, 0)
        elif previous[0] != fingerprint:
            result[uid] = (fingerprint, previous[1] + 1)
    return result


def calendar_name(person: Person | None, language: str = "en") -> str:
    """A default X-WR-CALNAME in ``language``: the person's name, or none when they hide details.

    ``None`` names the all-people feed.
    """
    if person is None:
        return texts.ui("calendar_everyone", language)
    return (
        "staywatch"
        if person.hide_details
        else texts.ui("calendar_name", language, name=person.name)
    )


def office_calendar_name(office_name: str, language: str = "en") -> str:
    """The X-WR-CALNAME of an office's combined calendar, in the office's ``language``."""
    return texts.ui("calendar_name", language, name=office_name)


def etag_for(body: bytes) -> str:
    """A strong ETag for a feed body: its hash, quoted."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
