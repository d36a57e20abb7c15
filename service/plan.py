"""The plan: every deadline occurrence and reminder a config produces.

``plan(config, start, end)`` is pure and deterministic: no I/O, no clock. The
same config and window give the same tuples, in the same order, every time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr

from service.config import (
    ANCHOR_DEFAULT,
    ENROLLED_AT_REGISTRATION,
    AddressReport,
    ArcAt17,
    ArcRegistration,
    Config,
    Custom,
    Deadline,
    NewbornStatus,
    NhisEnrolment,
    NhisPremium,
    Person,
    Reentry,
    RegistrationChange,
    StayExpiry,
    WorkplaceChange,
    _DeadlineBase,
)
from service.keys import Duration, ReminderKey, resolve_wall_time
from service.rules import (
    ADDRESS_REPORT_DAYS,
    ARC_AT_17_AGE,
    ARC_AT_17_DAYS,
    ARC_REGISTRATION_DAYS,
    NEWBORN_STATUS_DAYS,
    NHIS_ENROLMENT_MONTHS,
    OFFICE_VISIT_KINDS,
    REENTRY_YEARS,
    REENTRY_YEARS_PERMANENT,
    REGISTRATION_CHANGE_DAYS,
    STAY_WINDOW,
    WORKPLACE_APPLY_MONTHS,
    WORKPLACE_PERMIT_MONTHS,
    BusinessCalendar,
    Move,
    Step,
    escalation_of,
    has_own_lead_times,
    lead_times,
    overdue_times,
    roll_of,
)

Day = date  # fields named ``date`` shadow the type inside class bodies


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reminder: when it is due and which occurrence it belongs to."""

    key: str
    person: str
    deadline: str
    kind: str
    date: date
    offset: str
    due: datetime
    overdue: bool = False
    #: Added because offices are closed on the deadline day.
    closed_notice: bool = False
    #: Set on escalations: the office that hears about an unacknowledged occurrence.
    office: str | None = None

    @property
    def occurrence(self) -> str:
        """``PERSON/DEADLINE/YYYY-MM-DD``, with ``+OFFICE`` for an escalation.

        The suffix keeps an office's escalation apart from the person's own
        reminders when missed reminders are coalesced; acknowledging the
        occurrence stops both.
        """
        base = f"{self.person}/{self.deadline}/{self.date.isoformat()}"
        return f"{base}+{self.office}" if self.office else base


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of a deadline, after roll rules, with its reminders."""

    person: str
    deadline: str
    kind: str
    title: str | None
    note: str | None
    nominal: date
    date: date
    at: datetime | None
    #: The instant the occurrence is over: the end of its day in the person's
    #: time zone, or an hour after an ``at`` instant.
    ends: datetime
    moved: tuple[Move, ...]
    #: Offices are closed on ``date`` (why), when the deadline was not rolled.
    closed: str | None
    window_start: Day | None
    #: The month an NHIS premium pays for, ``YYYY-MM``.
    covers: str | None
    reminders: tuple[Reminder, ...]
    #: One per office looking after the person, if the kind escalates.
    escalations: tuple[Reminder, ...] = ()
    #: workplace_change: which of its two occurrences this is.
    step: Step | None = None
    #: reentry: what ends first, the re-entry exemption or the period of stay.
    limit: Literal["exemption", "stay"] | None = None
    #: registration_change: what changed (passport, name, ...).
    what: str | None = None
    #: The deadline as the config gives it, for :attr:`inputs` (not part of equality).
    source: Deadline | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        """``PERSON/DEADLINE/YYYY-MM-DD``."""
        return f"{self.person}/{self.deadline}/{self.date.isoformat()}"

    @property
    def texts_key(self) -> str:
        """Which texts word this occurrence: its kind, or ``kind:variant`` for the variants
        that read differently (a workplace change's permission, a new passport)."""
        if self.step == "permit":
            return f"{self.kind}:permit"
        if self.kind == "registration_change" and self.what == "passport":
            return f"{self.kind}:passport"
        if self.kind == "reentry" and self.limit and getattr(self.source, "until", None):
            # Both ends are known: the texts say which one comes first.
            return f"{self.kind}:{self.limit}"
        return self.kind

    @property
    def inputs(self) -> dict[str, Any]:
        """The deadline's own inputs as the config gives them (``departed``, ``born`` ...).

        Dates and instants as ISO 8601 text; an input left out is null. Empty when
        the occurrence was not planned from a config deadline.
        """
        if self.source is None:
            return {}
        return {name: _as_json(getattr(self.source, name)) for name in _input_names(self.source)}

    def as_json(self) -> dict[str, Any]:
        """The stable JSON object of ``deadlines --json``."""
        return {
            "person": self.person,
            "deadline": self.deadline,
            "kind": self.kind,
            "nominal": self.nominal.isoformat(),
            "date": self.date.isoformat(),
            "reminders": [{"key": r.key, "due": r.due.isoformat()} for r in self.reminders],
            "escalations": [
                {"key": r.key, "due": r.due.isoformat(), "office": r.office}
                for r in self.escalations
            ],
            "title": self.title,
            "at": self.at.isoformat() if self.at else None,
            "ends": self.ends.isoformat(),
            "moved_by": [m.as_json() for m in self.moved],
            "closed": self.closed,
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "covers": self.covers,
            "step": self.step,
            "limit": self.limit,
            "what": self.what,
            "inputs": self.inputs,
        }


#: Fields every deadline has (id, title, remind ...): not a kind's inputs.
_COMMON_FIELDS = frozenset({"kind", *_DeadlineBase.model_fields})


def _input_names(deadline: Deadline) -> list[str]:
    return [name for name in type(deadline).model_fields if name not in _COMMON_FIELDS]


def _as_json(value: object) -> object:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


@dataclass(frozen=True, slots=True)
class _Nominal:
    nominal: date
    at: datetime | None = None
    window_start: date | None = None
    covers: str | None = None
    step: Step | None = None
    limit: Literal["exemption", "stay"] | None = None
    #: Days the kind reminds on whatever the deadline (with the kind's own lead
    #: times only): the day a workplace_change's contract ended.
    remind_on: tuple[date, ...] = ()


def plan(
    config: Config,
    start: date,
    end: date,
    *,
    people: Iterable[str] | None = None,
    singles_unbounded: bool = False,
    calendar: BusinessCalendar | None = None,
) -> tuple[Occurrence, ...]:
    """Every occurrence whose (rolled) date lies in ``[start, end]``.

    Recurring deadlines are expanded only that far. With ``singles_unbounded``
    one-off deadlines beyond ``end`` are kept too (the daemon stores them so that
    long lead times are never missed). ``people`` limits the plan to those ids.
    Sorted by date, person, deadline.
    """
    calendar = calendar or BusinessCalendar.for_config(config)
    chosen: Iterable[Person] = config.people
    if people is not None:
        # Looked up by id: planning a few people of a big config costs only them.
        chosen = [p for pid in dict.fromkeys(people) if (p := config.person(pid)) is not None]
    found: list[Occurrence] = []
    for person in chosen:
        found.extend(plan_person(config, person, start, end, calendar, singles_unbounded))
    found.sort(key=lambda o: (o.date, o.person, o.deadline))
    return tuple(found)


def plan_person(
    config: Config,
    person: Person,
    start: date,
    end: date,
    calendar: BusinessCalendar,
    singles_unbounded: bool = False,
) -> list[Occurrence]:
    """The occurrences of one person's deadlines in the window, unsorted."""
    tz = config.zone_of(person)
    send_time = config.service.send_time
    out: list[Occurrence] = []
    for deadline in person.deadlines:
        recurring = isinstance(deadline, NhisPremium) or (
            isinstance(deadline, Custom) and deadline.rrule is not None
        )
        seen: set[date] = set()
        offsets = _Offsets(config, deadline)
        for nominal in _nominals(deadline, start, end, tz):
            occurrence = _occurrence(
                config, person, deadline, nominal, calendar, tz, send_time, offsets
            )
            # A roll can land two nominal dates (Saturday, Sunday) on one business day.
            if occurrence.date in seen:
                continue
            seen.add(occurrence.date)
            if occurrence.date < start:
                continue
            if occurrence.date > end and (recurring or not singles_unbounded):
                continue
            out.append(occurrence)
    return out


def _nominals(deadline: Deadline, start: date, end: date, tz: ZoneInfo) -> Iterator[_Nominal]:
    if isinstance(deadline, NhisPremium):
        yield from _nhis_dates(deadline, start, end)
    elif isinstance(deadline, Custom):
        if deadline.at is not None:
            local = deadline.at.astimezone(tz)
            yield _Nominal(local.date(), at=deadline.at)
        elif deadline.rrule is not None:
            yield from _rrule_dates(deadline, start, end)
        elif deadline.date is not None:
            yield _Nominal(deadline.date)
    elif isinstance(deadline, ArcRegistration):
        day = deadline.entry + timedelta(days=ARC_REGISTRATION_DAYS)
        yield _Nominal(day, window_start=deadline.entry)
    elif isinstance(deadline, AddressReport):
        day = deadline.moved + timedelta(days=ADDRESS_REPORT_DAYS)
        yield _Nominal(day, window_start=deadline.moved)
    elif isinstance(deadline, StayExpiry):
        yield _Nominal(deadline.date, window_start=STAY_WINDOW.before_date(deadline.date))
    elif isinstance(deadline, Reentry):
        years = REENTRY_YEARS_PERMANENT if deadline.permanent else REENTRY_YEARS
        exemption = period_end(deadline.departed, years=years)
        if deadline.until is not None and deadline.until <= exemption:
            yield _Nominal(deadline.until, limit="stay")
        else:
            yield _Nominal(exemption, limit="exemption")
    elif isinstance(deadline, RegistrationChange):
        day = deadline.changed + timedelta(days=REGISTRATION_CHANGE_DAYS)
        yield _Nominal(day, window_start=deadline.changed)
    elif isinstance(deadline, NewbornStatus):
        day = deadline.born + timedelta(days=NEWBORN_STATUS_DAYS)
        yield _Nominal(day, window_start=deadline.born)
    elif isinstance(deadline, ArcAt17):
        turns = birthday(deadline.born, ARC_AT_17_AGE)
        yield _Nominal(turns + timedelta(days=ARC_AT_17_DAYS), window_start=turns)
    elif isinstance(deadline, WorkplaceChange):
        # Once the change was requested the application is done: only the
        # permission is left (the application's remaining reminders are skipped).
        if deadline.applied is None:
            day = period_end(deadline.ended, months=WORKPLACE_APPLY_MONTHS)
            yield _Nominal(
                day, window_start=deadline.ended, step="apply", remind_on=(deadline.ended,)
            )
        else:
            day = period_end(deadline.applied, months=WORKPLACE_PERMIT_MONTHS)
            yield _Nominal(day, window_start=deadline.applied, step="permit")
    elif isinstance(deadline, NhisEnrolment):
        if deadline.status in ENROLLED_AT_REGISTRATION and deadline.registered is not None:
            yield _Nominal(deadline.registered)
        else:
            enrolled: date = deadline.entry + relativedelta(months=NHIS_ENROLMENT_MONTHS)
            yield _Nominal(enrolled)
    else:
        yield _Nominal(deadline.date)


def period_end(start: date, *, years: int = 0, months: int = 0) -> date:
    """The last day of a period of ``years``/``months`` counted from ``start`` (day 1).

    ``start + N months - 1 day``, the month added with relativedelta: the same day
    number, or the month's last day when it has none. So 2027-01-31 + 1 month is
    2027-02-28 and the period ends 2027-02-27, one day before the Civil Act's
    reading (art. 160(3) would end it on the 28th): staywatch keeps the earlier date.
    """
    end: date = start + relativedelta(years=years, months=months)
    return end - timedelta(days=1)


def birthday(born: date, age: int) -> date:
    """The day a person born on ``born`` turns ``age``.

    Civil Act arts. 158 and 160: age counts the birth day, and the years run out
    at the end of the day before the birthday, or at the end of February when the
    year has no 29 February. A child born on 29 February 2028 has completed 17
    years at the end of 28 February 2045 and is 17 from 1 March 2045.
    """
    try:
        return born.replace(year=born.year + age)
    except ValueError:  # 29 February in a common year
        return date(born.year + age, 3, 1)


#: An ``at`` deadline counts as over this long after its instant, so that the
#: reminder due at the instant itself can still be delivered and retried.
AT_GRACE = timedelta(hours=1)

# Rolls move a date by at most a couple of weeks (the longest Korean holiday run
# plus weekends); expanding a little past the window catches dates rolled into it.
_ROLL_SLACK = timedelta(days=20)


def _nhis_dates(deadline: NhisPremium, start: date, end: date) -> Iterator[_Nominal]:
    due_day = 25 if deadline.schedule == "foreigner" else 10
    # Foreigners pay month M on the 25th of M-1; F-5/F-6 pay month M on the 10th of M+1.
    cover_shift = 1 if deadline.schedule == "foreigner" else -1
    month = date(deadline.start.year, deadline.start.month, 1)
    first_wanted = start - _ROLL_SLACK
    if month < first_wanted:
        month = date(first_wanted.year, first_wanted.month, 1)
    last = end + _ROLL_SLACK
    if deadline.until is not None:
        last = min(last, date(deadline.until.year, deadline.until.month, 28))
    while True:
        due = month.replace(day=due_day)
        if due > last:
            return
        covered = _first_of_month(month, cover_shift)
        yield _Nominal(due, covers=f"{covered.year:04d}-{covered.month:02d}")
        month = _first_of_month(month, 1)


def _first_of_month(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s (relativedelta is slow)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _rrule_dates(deadline: Custom, start: date, end: date) -> Iterator[_Nominal]:
    anchor = deadline.start or ANCHOR_DEFAULT
    rule = rrulestr(deadline.rrule or "", dtstart=datetime.combine(anchor, time()))
    low = max(start - _ROLL_SLACK, anchor)
    high = end + _ROLL_SLACK
    if deadline.until is not None:
        high = min(high, deadline.until)
    if high < low:
        return
    between = rule.between(datetime.combine(low, time()), datetime.combine(high, time()), inc=True)
    for when in between:
        yield _Nominal(when.date())


class _Offsets:
    """One deadline's lead times and overdue repeats with their key texts, worked out once.

    ``overdue`` holds (repeat, its key text, True) like :meth:`leads`.

    A monthly premium has a dozen occurrences, each with the same offsets.
    """

    __slots__ = ("_config", "_deadline", "_leads", "overdue", "own_leads")

    def __init__(self, config: Config, deadline: Deadline) -> None:
        self._config, self._deadline = config, deadline
        self._leads: dict[Step | None, tuple[tuple[Duration, str, bool], ...]] = {}
        self.overdue = tuple((d, d.iso(), d.negative) for d in overdue_times(deadline))
        self.own_leads = has_own_lead_times(config, deadline)

    def leads(self, step: Step | None) -> tuple[tuple[Duration, str, bool], ...]:
        """(lead time, its key text, whether it falls after the date), in order."""
        found = self._leads.get(step)
        if found is None:
            found = self._leads[step] = tuple(
                (d, d.iso(), d.negative) for d in lead_times(self._config, self._deadline, step)
            )
        return found


def _occurrence(
    config: Config,
    person: Person,
    deadline: Deadline,
    nominal: _Nominal,
    calendar: BusinessCalendar,
    tz: ZoneInfo,
    send_time: time,
    offsets: _Offsets,
) -> Occurrence:
    rule = roll_of(deadline)
    day, moved = calendar.roll(nominal.nominal, rule)
    at = nominal.at
    if at is not None and day != nominal.nominal:
        wall = at.astimezone(tz).replace(tzinfo=None) + (day - nominal.nominal)
        at = resolve_wall_time(wall, tz)
    # Date deadlines anchor on a wall time, so lead days keep the send time across DST.
    anchor = at if at is not None else datetime.combine(day, send_time)
    closed = None
    if not moved and deadline.kind in OFFICE_VISIT_KINDS:
        closed = calendar.closed_reason(day)

    reminders: dict[str, Reminder] = {}
    # The key of each reminder is this prefix and its offset (str(ReminderKey(...))).
    prefix = f"{person.id}/{deadline.id}/{day.isoformat()}/"

    def add(offset: Duration, text: str, overdue: bool, closed_notice: bool = False) -> None:
        if text in reminders:
            return
        reminders[text] = Reminder(
            prefix + text,
            person.id,
            deadline.id,
            deadline.kind,
            day,
            text,
            offset.before(anchor, tz),
            overdue,
            closed_notice,
        )

    for lead, text, overdue in offsets.leads(nominal.step):
        add(lead, text, overdue)
    if nominal.remind_on and not offsets.own_leads:
        for event in nominal.remind_on:
            if event <= day:
                extra = Duration.of_days((day - event).days)
                add(extra, extra.iso(), extra.negative)
    for after, text, overdue in offsets.overdue:
        add(after, text, overdue)
    if closed is not None:
        # Offices (and HiKorea's online filing) are shut on the deadline day:
        # make sure the person hears on the last day they can still act.
        last_open = calendar.last_business_day_before(day)
        planned_days = {r.due.astimezone(tz).date() for r in reminders.values()}
        if last_open not in planned_days:
            notice = Duration.of_days((day - last_open).days)
            add(notice, notice.iso(), notice.negative, closed_notice=True)

    ordered = tuple(sorted(reminders.values(), key=lambda r: (r.due, r.key)))
    escalations: list[Reminder] = []
    escalate = escalation_of(deadline) if config.offices else None
    if escalate is not None:
        for office in config.offices_for(person):
            offset = f"{escalate.iso()}+{office.id}"
            escalations.append(
                Reminder(
                    key=str(ReminderKey(person.id, deadline.id, day, offset)),
                    person=person.id,
                    deadline=deadline.id,
                    kind=deadline.kind,
                    date=day,
                    offset=offset,
                    due=escalate.before(anchor, tz),
                    overdue=escalate.negative,
                    office=office.id,
                )
            )
    return Occurrence(
        person=person.id,
        deadline=deadline.id,
        kind=deadline.kind,
        title=deadline.title,
        note=deadline.note,
        nominal=nominal.nominal,
        date=day,
        at=at,
        ends=at + AT_GRACE
        if at is not None
        else resolve_wall_time(datetime.combine(day + timedelta(days=1), time()), tz),
        moved=moved,
        closed=closed,
        window_start=nominal.window_start,
        covers=nominal.covers,
        reminders=ordered,
        escalations=tuple(escalations),
        step=nominal.step,
        limit=nominal.limit,
        what=deadline.what if isinstance(deadline, RegistrationChange) else None,
        source=deadline,
    )


def reminders_of(occurrences: Iterable[Occurrence]) -> list[Reminder]:
    """All reminders of the occurrences, sorted by due instant then key."""
    out = [r for o in occurrences for r in o.reminders]
    out.sort(key=lambda r: (r.due, r.key))
    return out


def longest_overdue_days(config: Config) -> int:
    """How many days after a deadline its last overdue repeat can fall."""
    # Every re-plan, of one person too, needs the store window. Thousands of
    # deadlines share a handful of overdue lists (their kind's, or one the config
    # gives several): each list is looked into once, found by identity, which the
    # dict keeps valid by holding the lists (10,000 people: 35 ms instead of 90).
    lists = {
        id(times): times for p in config.people for d in p.deadlines if (times := overdue_times(d))
    }
    spans = {-after for times in lists.values() for after in times}
    return max((_days_back(span) for span in spans), default=0)


def longest_lead_days(config: Config) -> int:
    """How many days before a deadline its earliest reminder can fall."""
    leads = {lead for p in config.people for d in p.deadlines for lead in lead_times(config, d)}
    for person in config.people:
        for deadline in person.deadlines:
            if isinstance(deadline, WorkplaceChange):
                leads.update(lead_times(config, deadline, "permit"))
                # The reminder on the day the contract ended: at most a month ahead.
                leads.add(Duration(months=WORKPLACE_APPLY_MONTHS))
    return max((_days_back(lead) for lead in leads), default=0)


def _days_back(span: Duration) -> int:
    epoch = date(2000, 1, 1)
    return (epoch - span.before_date(epoch)).days + 1


def store_window(config: Config, today: date) -> tuple[date, date]:
    """The window the daemon keeps in its database: overdue repeats back, horizon ahead."""
    back = longest_overdue_days(config) + 1
    return today - timedelta(days=back), today + timedelta(days=config.service.horizon_days)
