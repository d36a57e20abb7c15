"""Reminder keys and ISO 8601 durations.

A reminder key ``PERSON/DEADLINE/YYYY-MM-DD/OFFSET`` names one reminder for
ever: the database, the Message-ID, the feed UID and mail filters all use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

# \A and \Z, never ^ and $: "$" also matches before a final newline, and "nl\n"
# must not pass for "nl". ASCII digits only: int() would read other scripts' digits.
_DURATION = re.compile(
    r"\A(?P<sign>-)?P(?!\Z)(?:(?P<years>[0-9]+)Y)?(?:(?P<months>[0-9]+)M)?"
    r"(?:(?P<weeks>[0-9]+)W)?(?:(?P<days>[0-9]+)D)?(?:T(?=[0-9])(?:(?P<hours>[0-9]+)H)?"
    r"(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+)S)?)?\Z"
)
SLUG = re.compile(r"\A[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?\Z")


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    """A calendar-aware span: months and days count on the wall clock, seconds exactly.

    Positive durations point back in time from a deadline (lead times);
    negative ones point forward (overdue repeats).
    """

    months: int = 0
    days: int = 0
    seconds: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``P30D``, ``P4M``, ``PT0S``, ``-P1D``, ``P1DT2H`` ...; raise ValueError."""
        match = _DURATION.fullmatch(text.strip().upper())
        if not match:
            raise ValueError(f"'{text}' is not an ISO 8601 duration; write e.g. P30D, P4M or PT2H")
        parts = {k: int(v) for k, v in match.groupdict().items() if v and k != "sign"}
        sign = -1 if match.group("sign") else 1
        months = parts.get("years", 0) * 12 + parts.get("months", 0)
        days = parts.get("weeks", 0) * 7 + parts.get("days", 0)
        seconds = parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60
        seconds += parts.get("seconds", 0)
        return cls(sign * months, sign * days, sign * seconds)

    @classmethod
    def of_days(cls, days: int) -> Duration:
        """A whole number of days."""
        return cls(0, days, 0)

    @property
    def negative(self) -> bool:
        """True for durations after the deadline (overdue repeats)."""
        months, days, seconds = self.months, self.days, self.seconds
        return months <= 0 and days <= 0 and seconds <= 0 and bool(months or days or seconds)

    def __neg__(self) -> Duration:
        return Duration(-self.months, -self.days, -self.seconds)

    def iso(self) -> str:
        """The canonical ISO 8601 text: ``P30D``, ``P4M``, ``PT0S``, ``-P1D``."""
        text = _ISO_TEXTS.get(self)
        if text is None:
            text = _ISO_TEXTS[self] = self._iso()
        return text

    def _iso(self) -> str:
        if self.negative:
            return "-" + (-self).iso()
        out = "P"
        if self.months:
            out += f"{self.months}M"
        if self.days:
            out += f"{self.days}D"
        if self.seconds or out == "P":
            hours, rest = divmod(self.seconds, 3600)
            minutes, seconds = divmod(rest, 60)
            out += "T"
            if hours:
                out += f"{hours}H"
            if minutes:
                out += f"{minutes}M"
            if seconds or (not hours and not minutes):
                out += f"{seconds}S"
        return out

    def __str__(self) -> str:
        return self.iso()

    def before_date(self, day: date) -> date:
        """The calendar day this many months and days before ``day`` (time part ignored)."""
        if not self.months:
            # Plain days need no calendar arithmetic (and relativedelta is slow).
            return day - timedelta(days=self.days)
        result: date = day - relativedelta(months=self.months, days=self.days)
        return result

    def before(self, anchor: datetime, tz: ZoneInfo) -> datetime:
        """The instant this duration before ``anchor``, DST-correct in ``tz``.

        ``anchor`` is an aware instant or a naive wall time in ``tz``.

        Months and days move the wall clock in ``tz`` (09:00 stays 09:00 across a
        DST change); hours, minutes and seconds are exact elapsed time. Wall times
        that fall in a DST gap resolve to the instant just after it.
        """
        local = anchor.astimezone(tz).replace(tzinfo=None) if anchor.tzinfo else anchor
        if self.months:
            wall = local - relativedelta(months=self.months, days=self.days)
        else:
            wall = local - timedelta(days=self.days)
        if not self.seconds:
            return resolve_wall_time(wall, tz)
        # Exact time is subtracted in UTC: aware arithmetic in one zone ignores DST.
        instant = resolve_wall_time(wall, tz).astimezone(UTC)
        return (instant - timedelta(seconds=self.seconds)).astimezone(tz)


#: Duration -> its ISO text; a config has a handful of distinct lead times.
_ISO_TEXTS: dict[Duration, str] = {}


@lru_cache(maxsize=8192)
def resolve_wall_time(wall: datetime, tz: ZoneInfo) -> datetime:
    """An aware instant for a naive wall time in ``tz``; gaps map past the jump.

    In a fold (the repeated hour when clocks go back) the earlier instant is used.
    Cached: reminders of many people fall on the same few wall times (09:00 on
    the days before the 25th of every month), and the answer never changes.
    """
    guess = wall.replace(tzinfo=tz, fold=0)
    # A round trip through UTC turns a wall time inside a gap into a real instant.
    return guess.astimezone(UTC).astimezone(tz)


def base_occurrence(occurrence: str) -> str:
    """``PERSON/DEADLINE/YYYY-MM-DD`` without an escalation's ``+OFFICE`` suffix."""
    return occurrence.partition("+")[0]


def escalation_office(occurrence: str) -> str | None:
    """The office of an escalation's occurrence ``...+OFFICE``, else None."""
    _, plus, office = occurrence.partition("+")
    return office if plus else None


@dataclass(frozen=True, slots=True, order=True)
class ReminderKey:
    """The stable name of one reminder: ``PERSON/DEADLINE/YYYY-MM-DD/OFFSET``."""

    person: str
    deadline: str
    date: date
    offset: str

    def __str__(self) -> str:
        return f"{self.person}/{self.deadline}/{self.date.isoformat()}/{self.offset}"

    @property
    def occurrence(self) -> str:
        """The ``PERSON/DEADLINE/YYYY-MM-DD`` part shared by all reminders of one occurrence."""
        return f"{self.person}/{self.deadline}/{self.date.isoformat()}"

    @classmethod
    def parse(cls, text: str) -> ReminderKey:
        """Parse a key; raise ValueError naming what is wrong."""
        parts = text.split("/")
        if len(parts) != 4:
            raise ValueError(f"'{text}' is not a reminder key PERSON/DEADLINE/YYYY-MM-DD/OFFSET")
        person, deadline, day, offset = parts
        if not SLUG.fullmatch(person) or not SLUG.fullmatch(deadline):
            raise ValueError(f"'{text}' does not start with a valid PERSON/DEADLINE")
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            parsed = None
        if parsed is None or parsed.isoformat() != day:
            raise ValueError(f"'{day}' in '{text}' is not a date YYYY-MM-DD")
        Duration.parse(offset)
        return cls(person, deadline, parsed, offset)
