"""Recurrence rules (RFC 5545 ``RRULE``) as staywatch runs them.

A rule names days, daily or coarser, and is expanded by ``dateutil.rrule``.
:func:`check_rule` accepts only what dateutil will run that way: one rule, one
``FREQ`` of ``DAILY`` or coarser, no time-of-day parts, every value in its
RFC 5545 range. Such a rule falls on at most one instant a day (its days at
midnight), so a planning window of N days holds at most N occurrences.
:func:`occurs` tells whether a rule falls on any day at all: dateutil looks for
the next day of a rule that never occurs until the year 9999, which takes
seconds for a daily rule.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time
from functools import lru_cache

from dateutil.rrule import rrulestr

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
#: Parts that set a time of day or a sub-daily frequency: reminders go by day.
_TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
_SUB_DAILY = ("HOURLY", "MINUTELY", "SECONDLY")
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
#: Part -> (lowest, highest) absolute value of each number in its list; 0 is never allowed.
_NUMBER_LISTS = {
    "BYMONTH": (1, 12),
    "BYMONTHDAY": (1, 31),
    "BYYEARDAY": (1, 366),
    "BYWEEKNO": (1, 53),
    "BYSETPOS": (1, 366),
}
PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", *_NUMBER_LISTS, "WKST")
#: Longest INTERVAL: every 999 days, weeks, months or years is plenty.
MAX_INTERVAL = 999
_EXAMPLE = 'write e.g. "FREQ=MONTHLY;BYMONTHDAY=1"'
_BYDAY = re.compile(r"\A([+-]?)([0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)\Z")
_UNTIL = re.compile(r"\A[0-9]{8}(?:T[0-9]{6})?Z?\Z")

#: The Gregorian calendar repeats every 400 years: 146,097 days, 20,871 weeks.
_CYCLE_YEARS = 400
_CYCLE_DAYS = 146_097
_CYCLE_WEEKS = 20_871
_CYCLE_MONTHS = 4_800


def check_rule(text: str) -> str:
    """The rule in canonical form (upper case, ``NAME=VALUE;...``); raise ValueError.

    The message says what is wrong and what to write instead; the caller puts the
    rule text in front of it.
    """
    rule = text.strip()
    if rule.upper().startswith("RRULE:"):
        rule = rule[6:]
    if not rule:
        raise ValueError(f"is empty; {_EXAMPLE}")
    if re.search(r"\s", rule) or "RRULE:" in rule.upper() or ":" in rule:
        raise ValueError(
            'holds more than one rule or line; write one rule on one line, e.g. "FREQ=WEEKLY"'
        )
    parts: dict[str, str] = {}
    for part in rule.rstrip(";").split(";"):
        name, equals, value = part.partition("=")
        name, value = name.upper(), value.upper()
        if not equals or not name or not value:
            raise ValueError(f"has '{part}', which is not NAME=VALUE; {_EXAMPLE}")
        if name in parts:
            raise ValueError(f"has {name} twice; give each part once")
        if name in _TIME_PARTS:
            raise ValueError(
                f"sets {name}; reminders go out at send_time, so a rule names days only "
                f"(remove {name}, or use at = ... for one instant)"
            )
        if name not in PARTS:
            raise ValueError(f"has an unknown part {name}; use {', '.join(PARTS)}")
        parts[name] = value
    try:
        _check_values(parts)
    except _BadValue as exc:
        raise ValueError(f"is not a valid RFC 5545 RRULE ({exc}); {_EXAMPLE}") from None
    # Exported rules write UNTIL in UTC; staywatch expands rules on local dates.
    if "UNTIL" in parts:
        parts["UNTIL"] = parts["UNTIL"].removesuffix("Z")
    canonical = ";".join(f"{name}={value}" for name, value in parts.items())
    try:
        rrulestr(canonical, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"is not a valid RFC 5545 RRULE ({exc}); {_EXAMPLE}") from None
    return canonical


class _BadValue(ValueError):
    """A part's value is outside RFC 5545 (the message names the part and the value)."""


def _check_values(parts: dict[str, str]) -> None:
    freq = parts.get("FREQ")
    if freq is None:
        raise ValueError(f"has no FREQ; add FREQ=DAILY, WEEKLY, MONTHLY or YEARLY ({_EXAMPLE})")
    if freq in _SUB_DAILY:
        raise ValueError("repeats more often than daily; use FREQ=DAILY, WEEKLY, MONTHLY or YEARLY")
    if freq not in FREQUENCIES:
        raise _BadValue(f"FREQ={freq} is not a frequency; use DAILY, WEEKLY, MONTHLY or YEARLY")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("has both COUNT and UNTIL; keep one")
    for name, (low, high) in (("INTERVAL", (1, MAX_INTERVAL)), ("COUNT", (1, 10**6))):
        value = parts.get(name)
        if value is not None and not (
            value.isascii() and value.isdigit() and low <= int(value) <= high
        ):
            raise _BadValue(f"{name}={value} is not a whole number from {low} to {high}")
    for name, (low, high) in _NUMBER_LISTS.items():
        value = parts.get(name)
        if value is None:
            continue
        for item in value.split(","):
            digits = item.lstrip("+-")
            sign_ok = item[:1] != "-" or name != "BYMONTH"
            if not (
                digits.isascii() and digits.isdigit() and sign_ok and low <= int(digits) <= high
            ):
                signed = "" if name == "BYMONTH" else f" or -{high} to -{low}"
                raise _BadValue(f"{name}={value} has '{item}'; use {low} to {high}{signed}")
    if "BYDAY" in parts:
        for item in parts["BYDAY"].split(","):
            match = _BYDAY.fullmatch(item)
            if match is None or (match.group(2) is not None and not 1 <= int(match.group(2)) <= 53):
                raise _BadValue(
                    f"BYDAY={parts['BYDAY']} has '{item}'; use MO, TU, WE, TH, FR, SA, SU, "
                    "with a position for MONTHLY and YEARLY rules (1MO, -1FR)"
                )
    if "WKST" in parts and parts["WKST"] not in _WEEKDAYS:
        raise _BadValue(f"WKST={parts['WKST']} is not a weekday; use MO, TU, WE, TH, FR, SA or SU")
    if "UNTIL" in parts and not _UNTIL.fullmatch(parts["UNTIL"]):
        raise _BadValue(f"UNTIL={parts['UNTIL']} is not a date; write it as YYYYMMDD")


@lru_cache(maxsize=1024)
def occurs(rule: str, anchor: date) -> bool:
    """True when the checked ``rule``, starting on ``anchor``, falls on any day at all
    (COUNT and UNTIL aside: a rule that has ended is not an error).

    The days of a rule repeat with a period: the 400-year cycle of the calendar
    and INTERVAL steps of its frequency. One period is enough to look at, and the
    one just before the year 9999 costs least: dateutil looks no further.
    """
    parts = dict(part.split("=", 1) for part in rule.split(";"))
    for bound in ("COUNT", "UNTIL"):
        parts.pop(bound, None)
    years = _period_years(parts["FREQ"], int(parts.get("INTERVAL", "1")))
    cycles = (datetime.max.year - years - anchor.year) // years
    start = anchor.replace(year=anchor.year + cycles * years) if cycles > 0 else anchor
    unbounded = ";".join(f"{name}={value}" for name, value in parts.items())
    first = datetime.combine(start, time())
    return rrulestr(unbounded, dtstart=first).after(first, inc=True) is not None


def _period_years(freq: str, interval: int) -> int:
    """Years after which a rule's days repeat (a multiple of 400)."""
    cycle = {
        "YEARLY": _CYCLE_YEARS,
        "MONTHLY": _CYCLE_MONTHS,
        "WEEKLY": _CYCLE_WEEKS,
        "DAILY": _CYCLE_DAYS,
    }[freq]
    return _CYCLE_YEARS * (math.lcm(cycle, interval) // cycle)
