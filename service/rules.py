"""The Korean rules: deadline kinds, their lead times, and business days.

Everything here is a pure function of its arguments and comes from DOMAIN.md:
what each kind's deadline is, when it reminds, how it rolls over weekends and
public holidays, and which action window it opens.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Any, Literal

from service.config import Config, Deadline, NhisPremium
from service.holidaydata import country_holidays
from service.keys import Duration

Roll = Literal["none", "preceding", "following"]
#: The first release of the ``holidays`` package with Korea's 2026-2027 calendar
#: right (Labor Day and Constitution Day as public holidays with their substitutes;
#: 2027-03-03 no longer an election day). pyproject's lower bound says the same.
HOLIDAYS_FLOOR = "0.102"
#: Who a person can ask about a kind: the closing contact line of its messages
#: (DOMAIN.md: HiKorea and 1345; NHIS; EPS and the Employment Center).
Contact = Literal["immigration", "nhis", "eps"]
#: The two occurrences of a workplace_change deadline: the request for a change of
#: workplace, then the permission for the new one.
Step = Literal["apply", "permit"]


def _days(*values: int) -> tuple[Duration, ...]:
    return tuple(Duration.of_days(v) for v in values)


def _after(*values: int) -> tuple[Duration, ...]:
    return tuple(Duration.of_days(-v) for v in values)


@dataclass(frozen=True, slots=True)
class KindRule:
    """How one deadline kind behaves when the config does not say otherwise."""

    name: str
    remind: tuple[Duration, ...]
    overdue: tuple[Duration, ...]
    roll: Roll
    office_visit: bool
    #: When an unacknowledged occurrence escalates to an office: positive before
    #: the deadline, negative after it; None never.
    escalate: Duration | None
    #: The contact line messages of this kind end with; None for custom deadlines.
    contact: Contact | None = None


KIND_RULES: dict[str, KindRule] = {
    "stay_expiry": KindRule(
        "stay_expiry",
        (Duration(months=4), *_days(60, 30, 14, 7, 3, 1, 0)),
        _after(1),
        "none",
        True,
        Duration.of_days(14),
        contact="immigration",
    ),
    "arc_registration": KindRule(
        "arc_registration",
        _days(89, 30, 14, 7, 3, 1, 0),
        _after(1),
        "none",
        True,
        Duration.of_days(14),
        contact="immigration",
    ),
    "arc_expiry": KindRule(
        "arc_expiry",
        _days(180, 90, 60, 30, 14, 7, 1, 0),
        _after(1),
        "none",
        True,
        Duration.of_days(14),
        contact="immigration",
    ),
    "address_report": KindRule(
        "address_report",
        _days(14, 7, 3, 1, 0),
        _after(1),
        "none",
        True,
        Duration.of_days(3),
        contact="immigration",
    ),
    "nhis_premium": KindRule(
        "nhis_premium",
        _days(7, 3, 1, 0),
        _after(1, 3, 7),
        "following",
        False,
        Duration.of_days(-1),
        contact="nhis",
    ),
    "passport_expiry": KindRule(
        "passport_expiry",
        _days(270, 180, 120, 90, 60, 30, 0),
        (),
        "none",
        False,
        Duration.of_days(90),
        contact="immigration",
    ),
    "reentry": KindRule(
        "reentry",
        _days(60, 30, 14, 7, 0),
        (),
        "none",
        # Coming back happens at the airport, open every day; the person is abroad
        # and cannot visit a Korean office anyway.
        False,
        Duration.of_days(30),
        contact="immigration",
    ),
    "registration_change": KindRule(
        "registration_change",
        _days(14, 7, 3, 1, 0),
        _after(1),
        "none",
        True,
        Duration.of_days(3),
        contact="immigration",
    ),
    "newborn_status": KindRule(
        "newborn_status",
        _days(89, 30, 14, 7, 1, 0),
        _after(1),
        "none",
        True,
        Duration.of_days(14),
        contact="immigration",
    ),
    "arc_at_17": KindRule(
        "arc_at_17",
        # The deadline is the 17th birthday + 89 days: 119 and 89 days before it are
        # 30 days before the birthday and the birthday itself.
        _days(119, 89, 30, 14, 7, 1, 0),
        _after(1),
        "none",
        True,
        # DOMAIN.md gives none for this kind; the same registration as arc_registration.
        Duration.of_days(14),
        contact="immigration",
    ),
    "workplace_change": KindRule(
        "workplace_change",
        # The application's; the permission has WORKPLACE_PERMIT_REMIND, and the
        # application also reminds on the day the contract ended (see plan).
        _days(14, 7, 3, 1, 0),
        _after(1),
        "none",
        # Both steps happen at the Employment Center, closed on weekends and holidays.
        True,
        Duration.of_days(7),
        contact="eps",
    ),
    "nhis_enrolment": KindRule(
        "nhis_enrolment",
        _days(14, 0),
        (),
        "none",
        False,
        None,
        contact="nhis",
    ),
    "custom": KindRule("custom", _days(30, 7, 1, 0), (), "none", False, None),
}

#: Kinds whose action needs an open office (or HiKorea's online filing, which also
#: closes on weekends and holidays): a deadline on a closed day gets one more
#: reminder on the last business day before it.
OFFICE_VISIT_KINDS = frozenset(name for name, rule in KIND_RULES.items() if rule.office_visit)

#: With autopay the premium leaves the account by itself: one check that the
#: balance is enough, and no overdue nagging.
NHIS_AUTOPAY_REMIND = _days(3)

#: Days from the input date to the deadline, for kinds that count from an event.
ARC_REGISTRATION_DAYS = 89
ADDRESS_REPORT_DAYS = 14
STAY_WINDOW = Duration(months=4)
REGISTRATION_CHANGE_DAYS = 14
NEWBORN_STATUS_DAYS = 89
ARC_AT_17_DAYS = 89
ARC_AT_17_AGE = 17
#: Re-entry exemption: one year after leaving, two for permanent residents (F-5).
REENTRY_YEARS = 1
REENTRY_YEARS_PERMANENT = 2
#: E-9: a month from the contract's end to apply, three months from applying to the permission.
WORKPLACE_APPLY_MONTHS = 1
WORKPLACE_PERMIT_MONTHS = 3
NHIS_ENROLMENT_MONTHS = 6
WORKPLACE_PERMIT_REMIND = _days(30, 14, 7, 3, 1, 0)


def has_own_lead_times(config: Config, deadline: Deadline) -> bool:
    """True when the deadline or the config's ``[reminders]`` replaces the kind's lead times."""
    return deadline.remind is not None or deadline.kind in config.reminders


def lead_times(
    config: Config, deadline: Deadline, step: Step | None = None
) -> tuple[Duration, ...]:
    """The lead times for one deadline: its own, else the config's, else the kind's.

    ``step`` picks the default of a workplace_change's permission occurrence; own
    lead times apply to both of its occurrences.
    """
    if deadline.remind is not None:
        return deadline.remind
    if isinstance(deadline, NhisPremium) and deadline.autopay:
        return NHIS_AUTOPAY_REMIND
    configured = config.reminders.get(deadline.kind)
    if configured is not None:
        return configured
    if step == "permit":
        return WORKPLACE_PERMIT_REMIND
    return KIND_RULES[deadline.kind].remind


def overdue_times(deadline: Deadline) -> tuple[Duration, ...]:
    """The overdue repeats (negative durations) for one deadline."""
    if deadline.overdue is False:
        return ()
    if deadline.overdue is not None:
        return deadline.overdue
    if isinstance(deadline, NhisPremium) and deadline.autopay:
        return ()
    return KIND_RULES[deadline.kind].overdue


def roll_of(deadline: Deadline) -> Roll:
    """The roll rule for one deadline."""
    return deadline.roll or KIND_RULES[deadline.kind].roll


def escalation_of(deadline: Deadline) -> Duration | None:
    """When the office hears about this deadline if nobody acknowledged it."""
    if deadline.escalate is False:
        return None
    if deadline.escalate is not None:
        return deadline.escalate
    return KIND_RULES[deadline.kind].escalate


@dataclass(frozen=True, slots=True)
class Move:
    """A day a roll skipped, and why (a weekday name or the holiday's name)."""

    day: date
    reason: str

    def as_json(self) -> dict[str, str]:
        """The JSON form used by ``deadlines --json``."""
        return {"date": self.day.isoformat(), "reason": self.reason}


#: BusinessCalendar.for_config's calendars, by (country, extra holidays, not holidays).
_CALENDARS: dict[tuple[str, tuple[date, ...], tuple[date, ...]], BusinessCalendar] = {}


class BusinessCalendar:
    """Korean business days: no weekend, no public holiday, with config corrections."""

    def __init__(
        self,
        country: str = "KR",
        extra: Iterable[date] = (),
        not_holidays: Iterable[date] = (),
    ) -> None:
        self.country = country
        self.extra = frozenset(extra)
        self.not_holidays = frozenset(not_holidays)
        self._years: dict[int, dict[date, str]] = {}
        self._closed: dict[date, str | None] = {}

    @classmethod
    def for_config(cls, config: Config) -> BusinessCalendar:
        """The calendar a config asks for (shared: its holiday tables are costly to build)."""
        service = config.service
        key = (service.holidays, tuple(service.extra_holidays), tuple(service.not_holidays))
        found = _CALENDARS.get(key)
        if found is None:
            found = _CALENDARS[key] = cls(*key)
        return found

    def _holidays(self, year: int) -> dict[date, str]:
        found = self._years.get(year)
        if found is None:
            kwargs: dict[str, Any] = {"years": year}
            country = country_holidays(self.country)
            if "en_US" in getattr(country, "supported_languages", ()):
                kwargs["language"] = "en_US"
            found = dict(country_holidays(self.country, **kwargs).items())
            self._years[year] = found
        return found

    def holidays_in(self, year: int) -> dict[date, str]:
        """The public holidays of ``year`` known to the calendar package, by date."""
        return dict(self._holidays(year))

    def closed_reason(self, day: date) -> str | None:
        """Why offices are closed on ``day`` (holiday name or weekday), or None if open."""
        if day in self._closed:
            return self._closed[day]
        reason: str | None = None
        if day in self.extra:
            reason = "extra holiday"
        elif day not in self.not_holidays:
            name = self._holidays(day.year).get(day)
            if name:
                reason = name
            elif day.weekday() >= 5:
                reason = day.strftime("%A")
        elif day.weekday() >= 5:
            reason = day.strftime("%A")
        self._closed[day] = reason
        return reason

    def is_business_day(self, day: date) -> bool:
        """True when government offices and banks are open on ``day``."""
        return self.closed_reason(day) is None

    def roll(self, day: date, rule: Roll) -> tuple[date, tuple[Move, ...]]:
        """Apply a roll rule; return the new day and the days it skipped."""
        if rule == "none":
            return day, ()
        step = timedelta(days=1 if rule == "following" else -1)
        moves: list[Move] = []
        current = day
        while (reason := self.closed_reason(current)) is not None:
            moves.append(Move(current, reason))
            current += step
        return current, tuple(moves)

    def last_business_day_before(self, day: date) -> date:
        """The latest business day strictly before ``day``."""
        current = day - timedelta(days=1)
        while not self.is_business_day(current):
            current -= timedelta(days=1)
        return current

    @cached_property
    def description(self) -> str:
        """A short label for logs and status."""
        return f"{self.country} (+{len(self.extra)} extra, -{len(self.not_holidays)})"
