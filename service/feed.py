"""The iCalendar feed: plan occurrences and acknowledgements in, .ics bytes out.

Pure and deterministic: the same occurrences, acknowledgements, sequences and
``stamp`` give the same bytes, so the ETag only changes when the state does.
Each occurrence becomes a deadline event (all-day, or 30 minutes at an ``at``
instant) carrying VALARMs at its lead times. Because Google Calendar and
Outlook ignore VALARM in subscribed feeds, every lead-time stage is also a small
all-day event of its own, and an action window (e.g. the four months in which
a stay extension is accepted) is a multi-day all-day event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from icalendar import Alarm, Calendar, Event, vDuration

from service import texts
from service.clock import to_utc
from service.config import Config, Custom, NhisPremium, Person
from service.plan import Occurrence, Reminder
from service.rules import BusinessCalendar

PRODID = "-//staywatch//staywatch feed//EN"
#: Length of the timed event drawn for an ``at`` deadline.
AT_EVENT_LENGTH = timedelta(minutes=30)
#: The most VALARMs on one event; the ones closest to the deadline are kept.
#: Some clients slow down or drop alarms beyond a handful.
MAX_ALARMS = 10
DONE_MARK = "✓ "

# -- the events, before rendering ------------------------------------------------


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
    alarms: tuple[tuple[Reminder, int], ...] = ()

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
            "alarms": [[r.offset, to_utc(r.due).isoformat()] for r, _ in self.alarms],
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

    events: list[_Event] = []
    for base, (person, occ) in chosen.items():
        events.extend(_events_of(config, person, occ, base, occ.key in acknowledged))
    events.sort(key=lambda e: (e.day, e.uid))
    return events


def _events_of(
    config: Config, person: Person, occ: Occurrence, base: str, done: bool
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
    alarms = () if done else tuple(sorted(stages, key=lambda s: s[0].due)[-MAX_ALARMS:])

    out = [
        _Event(
            f"{base}@staywatch", "deadline", occ, person, occ.date, start, end, done, alarms=alarms
        )
    ]
    if done:
        # The window and the stages exist to prompt action; once done they are noise.
        return out
    if occ.window_start is not None and occ.window_start < occ.date:
        out.append(
            _Event(
                f"{base}/window@staywatch",
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
                f"{base}/{reminder.offset}@staywatch",
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
    return texts.event_label(occ.kind, lang, covers=occ.covers, title=title)


def _summary(lang: str, event: _Event, all_people: bool) -> str:
    occ, person = event.occurrence, event.person
    label = _label(lang, person, occ)
    if event.role == "window":
        text = texts.window_label(occ.kind, lang) or texts.ui("window_open", lang, label=label)
    elif event.role == "stage":
        text = texts.stage_label(label, event.days_left, lang)
    else:
        text = label
    if all_people and not person.hide_details:
        text = texts.ui("person_event", lang, name=person.name, text=text)
    return DONE_MARK + text if event.done else text


def _closed(lang: str, day: date, reason: str, business: BusinessCalendar) -> str:
    # Offices are closed on the deadline day: the email's sentence, with the day to act by.
    return texts.closed_notice(day, reason, business.last_business_day_before(day), lang)


def _description(lang: str, event: _Event, business: BusinessCalendar) -> str:
    occ = event.occurrence
    lines: list[str] = []
    if event.role == "deadline":
        if occ.note and not event.person.hide_details:
            lines.append(occ.note)
        if occ.moved:
            lines.append(texts.moved_days_notice(occ.moved, occ.date, lang))
        if occ.closed:
            lines.append(_closed(lang, occ.date, occ.closed, business))
        if event.done:
            lines.append(texts.ui("done", lang))
    else:
        lines.append(texts.ui("deadline_on", lang, date=texts.long_date(occ.date, lang)))
        if event.closed_notice and occ.closed:
            lines.append(_closed(lang, occ.date, occ.closed, business))
    return "\n".join(lines)


def _render(
    lang: str,
    event: _Event,
    business: BusinessCalendar,
    *,
    all_people: bool,
    stamp: datetime,
    sequence: int,
) -> Event:
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", stamp)
    vevent.add("last-modified", stamp)
    vevent.add("sequence", sequence)
    vevent.add("dtstart", event.start)
    vevent.add("dtend", event.end)
    summary = _summary(lang, event, all_people)
    vevent.add("summary", summary)
    description = _description(lang, event, business)
    if description:
        vevent.add("description", description)
    vevent.add("transp", "TRANSPARENT")
    vevent.add("categories", ["staywatch", texts.kind_category(event.occurrence.kind, lang)])
    if event.done:
        vevent.add("x-staywatch-done", "TRUE")
    label = _label(lang, event.person, event.occurrence)
    for reminder, days_left in event.alarms:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", texts.stage_label(label, days_left, lang))
        alarm.add("trigger", to_utc(reminder.due), parameters={"VALUE": "DATE-TIME"})
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
    all_people: bool | None = None,
) -> bytes:
    """The feed of ``people``'s ``occurrences`` as iCalendar bytes (CRLF, folded).

    ``acknowledged`` holds occurrence keys (``PERSON/DEADLINE/YYYY-MM-DD``) that
    are done; ``sequences`` maps UIDs to their SEQUENCE (see
    :func:`event_fingerprints`); ``stamp`` is the instant of the last state
    change and becomes every DTSTAMP, so the same state gives the same bytes.
    ``name`` becomes X-WR-CALNAME as given (callers keep hidden people's names
    out of it); ``language`` is the reader's language. ``all_people`` (the
    admin feed; by default: more than one person) prefixes summaries with the
    person's name, except for people who hide details. Occurrences of anyone
    not in ``people`` are left out.
    """
    if all_people is None:
        all_people = len(people) > 1
    lang = texts.language(language)
    business = BusinessCalendar.for_config(config)
    when = to_utc(stamp).replace(microsecond=0)
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
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone)
    calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(refresh))
    for event in _events(config, people, occurrences, acknowledged):
        calendar.add_component(
            _render(
                lang,
                event,
                business,
                all_people=all_people,
                stamp=when,
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
) -> dict[str, str]:
    """A hash of each event's content by UID, to persist and compare between states.

    Language, name prefix, DTSTAMP and SEQUENCE are not part of it: the same
    event in a person's feed and in the all-people feed has one fingerprint.
    """
    return {
        event.uid: hashlib.sha256(
            json.dumps(event.facts(), sort_keys=True, ensure_ascii=False).encode("utf-8")
        ).hexdigest()[:32]
        for event in _events(config, people, occurrences, acknowledged)
    }


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
