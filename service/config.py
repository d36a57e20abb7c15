"""Read the TOML config and validate every field.

All problems in a file are collected and reported at once, each with the file,
the line, where in the config it is and what to do about it. Nothing here does
I/O beyond reading the file and the channels' URL files (and environment);
paths are resolved against the file's folder. Channel URLs are checked with
Apprise, which parses them without any network.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.errors import HeaderParseError
from email.headerregistry import Address as MailAddress
from email.headerregistry import HeaderRegistry
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from service.channelurls import (
    TO,
    UrlProblem,
    check,
    holds_secret,
    read_url,
    scheme_of,
    shown,
    target_is_secret,
)
from service.errors import ConfigError, ConfigProblem
from service.holidaydata import supported_countries
from service.includes import include_matches
from service.keys import SLUG, Duration
from service.kinds import KINDS, LANGUAGES, Kind, Language
from service.recurrence import check_rule, occurs

if TYPE_CHECKING:
    from email_validator import ValidatedEmail

Roll = Literal["none", "preceding", "following"]
#: Parses header values as the email package does when a message is built.
_HEADERS = HeaderRegistry()
#: What Python's header parser raises on odd text besides HeaderParseError
#: (3.11 raises AttributeError on a display name of only ".").
_PARSER_SLIPS = (HeaderParseError, IndexError, ValueError, AttributeError, TypeError)
ANCHOR_DEFAULT = date(2000, 1, 1)
#: The dates staywatch plans: every date and instant in a config lies in this range,
#: so that no lead time, roll or window around it leaves what ``datetime`` can hold.
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
#: What to do with a date that is out of range (the importer says it in its own words).
NO_EXPIRY_HINT = "leave the deadline out if it never expires"
#: Lead times, overdue repeats and escalations are at most this long (10 years).
MAX_SPAN_DAYS = 3653


# -- field types: each validator raises ValueError("<value> <problem>; <what to do>")


def _show(value: object) -> str:
    if isinstance(value, str):
        # Line breaks and other invisible characters are shown, not printed.
        text = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in value)
        return f"'{text}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _to_date(value: object) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"{value.isoformat()} is a date and time; write only the date YYYY-MM-DD")
    if isinstance(value, date):
        return _in_range(value)
    if isinstance(value, str):
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{value} is not a date; write a real calendar date as YYYY-MM-DD"
            ) from None
        return _in_range(parsed)
    raise ValueError(f"{_show(value)} is not a date; write it as YYYY-MM-DD without quotes")


def _in_range(day: date) -> date:
    if EARLIEST <= day <= LATEST:
        return day
    raise ValueError(
        f"{day.isoformat()} is out of range; staywatch plans dates from {EARLIEST} to "
        f"{LATEST}: write the real date, or {NO_EXPIRY_HINT}"
    )


def _to_instant(value: object) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"'{value}' is not a date and time; write e.g. 2027-01-05T10:00:00+09:00"
            ) from None
    if not isinstance(value, datetime):
        raise ValueError(
            f"{_show(value)} is not a date and time; write e.g. 2027-01-05T10:00:00+09:00"
        )
    if value.tzinfo is None:
        raise ValueError(
            f"{value.isoformat()} has no UTC offset; add one, e.g. {value.isoformat()}+09:00"
        )
    if not EARLIEST <= value.date() <= LATEST:
        raise ValueError(
            f"{value.isoformat()} is out of range; staywatch plans instants from {EARLIEST} "
            f"to {LATEST}: write the real date and time"
        )
    return value


def _to_duration(value: object) -> Duration:
    if isinstance(value, bool):
        raise ValueError(f"{_show(value)} is not a lead time; use days (30) or a duration (P30D)")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(
                f"{value} is negative; lead times count days before the deadline "
                "(use overdue for reminders after it)"
            )
        if value > MAX_SPAN_DAYS:
            raise ValueError(_too_long(f"{value} days"))
        return Duration.of_days(value)
    if isinstance(value, str):
        # A number this long is no lead time (and int() refuses thousands of digits).
        if re.search(r"[0-9]{7,}", value):
            raise ValueError(_too_long(f"'{value}'"))
        duration = Duration.parse(value)
        if duration.negative:
            raise ValueError(
                f"'{value}' is negative; lead times count before the deadline "
                "(use overdue for reminders after it)"
            )
        if span_days(duration) > MAX_SPAN_DAYS:
            raise ValueError(_too_long(f"'{value}'"))
        return duration
    raise ValueError(f"{_show(value)} is not a lead time; use days (30) or a duration (P30D)")


def _too_long(shown: str) -> str:
    return (
        f"{shown} is longer than 10 years; lead times, overdue repeats and escalations are at "
        f'most "P10Y" ({MAX_SPAN_DAYS} days)'
    )


def span_days(duration: Duration) -> float:
    """How many days ``duration`` spans, measured back from 2200 (a positive or a
    negative duration alike): months and days on the calendar, seconds exactly."""
    months, days, seconds = abs(duration.months), abs(duration.days), abs(duration.seconds)
    if months > 12 * 20 or days > 2 * MAX_SPAN_DAYS:
        return float("inf")  # far too long, and not worth any calendar arithmetic
    end = date(2200, 1, 1)
    start: date = end - relativedelta(months=months, days=days)
    return (end - start).days + seconds / 86400


def _to_after(value: object) -> Duration:
    """Overdue repeats: days or durations after the deadline, stored as negative."""
    if isinstance(value, str) and value.strip().startswith("-"):
        value = value.strip()[1:]
    elif isinstance(value, int) and not isinstance(value, bool) and value < 0:
        value = -value
    duration = _to_duration(value)
    if duration == Duration():
        raise ValueError("0 is the deadline itself; list it in remind, not overdue")
    return -duration


def _to_zone(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{_show(value)} is not a time zone; use an IANA name like Asia/Seoul")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"'{value}' is not a known time zone; use an IANA name like Asia/Seoul"
        ) from None
    return value


def _to_time(value: object) -> time:
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", value.strip())
        if match:
            hour, minute, second = (int(g or 0) for g in match.groups())
            if hour < 24 and minute < 60 and second < 60:
                return time(hour, minute, second)
    raise ValueError(f'{_show(value)} is not a time of day; write it as HH:MM, e.g. "09:00"')


#: Special-use domains that offices use for internal mail (corp.local, localhost, a .test
#: lab): fine for staywatch, refused by email_validator as not globally deliverable.
_INTERNAL_SUFFIX = ".com"


def check_address(value: str) -> str:
    """Validate one e-mail address; return it normalised or raise ValueError.

    The result is what rendering puts in a header as it is: the domain in its
    ASCII (IDNA) form and an ASCII local part, which every mail server takes.
    """
    if "<" in value or ">" in value:
        _, inner = parseaddr(value)
        hint = f"write only the address ({inner})" if "@" in inner else "write only the address"
        raise ValueError(
            f"{_show(value)} is not a valid e-mail address; {hint}, without a name or <>"
        )
    from email_validator import EmailNotValidError  # loaded by the first address checked

    try:
        found = _validated(value)
    except EmailNotValidError as exc:
        raise ValueError(f"{_show(value)} is not a valid e-mail address ({exc})") from None
    address = found.ascii_email
    if address is None or not address.isascii():
        raise ValueError(
            f"{_show(value)} has letters before the @-sign that not every mail server accepts; "
            "give an address with Latin letters, digits and . - _ + only before the @"
        )
    try:
        spec = MailAddress(addr_spec=address).addr_spec
    except _PARSER_SLIPS as exc:
        raise ValueError(
            f"{_show(value)} is not an address a mail header can carry ({exc})"
        ) from None
    if spec != address:
        raise ValueError(f"{_show(value)} is not an address a mail header can carry as written")
    return address


def _validated(value: str) -> ValidatedEmail:
    """email_validator's result, special-use domains (corp.local, localhost) allowed."""
    # Not at the top: a config read from the cache checks no address, and the daemon
    # and the read-only commands start sooner without it.
    from email_validator import EmailNotValidError, validate_email

    options: dict[str, Any] = {
        "check_deliverability": False,
        "globally_deliverable": False,
        "allow_smtputf8": False,
        # staywatch@[192.168.1.10]: a mail host without a name, in a closed network.
        "allow_domain_literal": True,
    }
    try:
        return validate_email(value, **options)
    except EmailNotValidError as exc:
        if "special-use" not in str(exc) or "@" not in value:
            raise
    # Checked with a stand-in suffix, which leaves every other rule in force; then removed.
    found = validate_email(value + _INTERNAL_SUFFIX, **options)
    local, _, domain = (found.ascii_email or "").rpartition("@")
    found.ascii_domain = found.domain = domain.removesuffix(_INTERNAL_SUFFIX)
    found.ascii_email = found.normalized = f"{local}@{found.ascii_domain}"
    return found


def _to_address(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{_show(value)} is not an e-mail address; write it as a quoted string")
    return check_address(value)


def _to_slug(value: object) -> str:
    if not isinstance(value, str) or not SLUG.fullmatch(value):
        raise ValueError(
            f"{_show(value)} is not a valid id; use lower-case letters, digits, '-' and '_' "
            "(e.g. wang-fang), at most 64 characters"
        )
    return value


def _to_rrule(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f'{_show(value)} is not an RRULE; write e.g. "FREQ=MONTHLY;BYMONTHDAY=1"')
    try:
        return check_rule(value)
    except ValueError as exc:
        raise ValueError(f"'{value}' {exc}") from None


def _to_from(value: object) -> str:
    example = 'write e.g. "staywatch <me@example.org>"'
    if not isinstance(value, str):
        raise ValueError(f"{_show(value)} is not a sender; {example}")
    breaks = sorted(
        {ch for ch in value if ch.splitlines() != [ch] or unicodedata.category(ch) == "Cc"}
    )
    if breaks:
        shown = ", ".join(f"U+{ord(ch):04X}" for ch in breaks)
        raise ValueError(
            f"{_show(value)} contains a line break or control character ({shown}); keep the "
            f"sender on one line, {example}"
        )
    addresses = _sender_addresses(value)
    if len(addresses) > 1:
        raise ValueError(f"{_show(value)} names more than one sender; give one, {example}")
    if not addresses or "@" not in addresses[0].addr_spec:
        raise ValueError(f"{_show(value)} has no e-mail address; {example}")
    try:
        address = check_address(addresses[0].addr_spec)
    except ValueError as exc:
        raise ValueError(f"{_show(value)}: {exc}") from None
    name = " ".join(addresses[0].display_name.split())
    # The canonical form: exactly what the From header of every message will carry.
    canonical = str(MailAddress(display_name=name, addr_spec=address))
    if len(_sender_addresses(canonical, lenient=False)) != 1:
        raise ValueError(
            f"{_show(value)}: mail software cannot read the name {name!r}; use letters, "
            f"digits and spaces, {example}"
        )
    return canonical


def _sender_addresses(value: str, *, lenient: bool = True) -> tuple[MailAddress, ...]:
    """The addresses in a From value, as the header parser of every message reads them.

    The parser raises on some odd text (see ``_PARSER_SLIPS``); ``lenient`` then
    reads it the way ``email.utils`` does, and the canonical form is checked
    again without it.
    """
    try:
        header = _HEADERS("From", value)
        return tuple(getattr(header, "addresses", ()))
    except _PARSER_SLIPS:
        if not lenient:
            return ()
    pairs = [(name, addr) for name, addr in getaddresses([value]) if addr]
    try:
        return tuple(MailAddress(display_name=n, addr_spec=a) for n, a in pairs)
    except _PARSER_SLIPS:
        return ()


def _to_listen(value: object) -> str:
    if isinstance(value, str):
        host, sep, port = value.rpartition(":")
        if sep and host and port.isdigit() and 0 < int(port) < 65536:
            return value
    raise ValueError(f'{_show(value)} is not HOST:PORT; write e.g. "127.0.0.1:8780"')


def _to_url(value: object) -> str:
    if isinstance(value, str):
        parts = urlsplit(value)
        if parts.scheme in {"http", "https"} and parts.netloc:
            return value.rstrip("/")
    raise ValueError(f'{_show(value)} is not an http(s) URL; write e.g. "https://example.org"')


def _to_holiday_country(value: object) -> str:
    if isinstance(value, str) and value in supported_countries():
        return value
    raise ValueError(f'{_show(value)} is not a holiday calendar; use "KR"')


def _to_text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{_show(value)} is not text; put it in quotes")
    return value


def _to_line(value: object) -> str:
    text = _to_text(value)
    if any(ch in text for ch in "\r\n\x00"):
        raise ValueError("contains a line break; keep it on one line")
    return text


def _ser_duration(value: Duration) -> str:
    return value.iso()


DateValue = Annotated[date, PlainValidator(_to_date)]
Instant = Annotated[datetime, PlainValidator(_to_instant)]
Lead = Annotated[Duration, PlainValidator(_to_duration), PlainSerializer(_ser_duration)]
After = Annotated[Duration, PlainValidator(_to_after), PlainSerializer(_ser_duration)]
Zone = Annotated[str, PlainValidator(_to_zone)]
TimeOfDay = Annotated[time, PlainValidator(_to_time)]
Address = Annotated[str, PlainValidator(_to_address)]
Slug = Annotated[str, PlainValidator(_to_slug)]
RRule = Annotated[str, PlainValidator(_to_rrule)]
Line = Annotated[str, PlainValidator(_to_line)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class ServiceSection(_Model):
    """``[service]``: time zone, send time, database, horizon, holidays, secret."""

    timezone: Zone = "Asia/Seoul"
    send_time: TimeOfDay = time(9, 0)
    database: Annotated[str, PlainValidator(_to_text)] = "sqlite:///var/staywatch.db"
    horizon_days: StrictInt = Field(default=400, ge=1, le=3660)
    holidays: Annotated[str, PlainValidator(_to_holiday_country)] = "KR"
    extra_holidays: tuple[DateValue, ...] = ()
    not_holidays: tuple[DateValue, ...] = ()
    secret_file: Annotated[str, PlainValidator(_to_text)] = "var/secret"


class MailSection(_Model):
    """``[mail]``: how reminders leave the machine."""

    transport: Literal["maildir", "smtp"] = "maildir"
    maildir: Annotated[str, PlainValidator(_to_text)] = "var/mail"
    sender: Annotated[str, PlainValidator(_to_from)] = Field(
        default="staywatch <staywatch@localhost>", alias="from"
    )
    host: Line | None = None
    port: StrictInt | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: Line | None = None
    password_file: Annotated[str, PlainValidator(_to_text)] | None = None
    password_env: Line | None = None
    timeout: float = Field(default=30.0, gt=0, le=600)
    concurrency: StrictInt = Field(default=4, ge=1, le=64)

    @property
    def effective_port(self) -> int:
        """The configured port, or the usual one for the security mode."""
        if self.port:
            return self.port
        return {"starttls": 587, "tls": 465, "none": 25}[self.security]


class FeedSection(_Model):
    """``[feed]``: where the HTTP server listens and how links are written."""

    listen: Annotated[str, PlainValidator(_to_listen)] = "127.0.0.1:8780"
    public_url: Annotated[str, PlainValidator(_to_url)] = "http://127.0.0.1:8780"
    refresh_minutes: StrictInt = Field(default=360, ge=5, le=10080)


class _DeadlineBase(_Model):
    id: Slug
    title: Line | None = None
    note: Annotated[str, PlainValidator(_to_text)] | None = None
    remind: tuple[Lead, ...] | None = None
    roll: Roll | None = None
    overdue: tuple[After, ...] | Literal[False] | None = None
    recipients: tuple[Address, ...] = ()
    escalate: Lead | Literal[False] | None = None


class StayExpiry(_DeadlineBase):
    """End of the period of stay: ``date`` is the expiry on the residence card."""

    kind: Literal["stay_expiry"]
    date: DateValue


class ArcRegistration(_DeadlineBase):
    """Foreigner registration after entry: ``entry`` is the date of entry."""

    kind: Literal["arc_registration"]
    entry: DateValue


class ArcExpiry(_DeadlineBase):
    """Permanent resident card reissue: ``date`` is the expiry on the card."""

    kind: Literal["arc_expiry"]
    date: DateValue


class AddressReport(_DeadlineBase):
    """Change of place of stay: ``moved`` is the move-in date."""

    kind: Literal["address_report"]
    moved: DateValue


class NhisPremium(_DeadlineBase):
    """The monthly NHIS premium from ``start`` (month) to ``until`` (month)."""

    kind: Literal["nhis_premium"]
    start: DateValue
    until: DateValue | None = None
    schedule: Literal["foreigner", "national"] = "foreigner"
    autopay: StrictBool = False


class PassportExpiry(_DeadlineBase):
    """Passport expiry: ``date`` from the passport."""

    kind: Literal["passport_expiry"]
    date: DateValue


# -- the kinds that count from an event: leaving Korea, a change, a birth, a contract end


def latest_today(now: datetime) -> date:
    """The latest calendar date anywhere on Earth at ``now`` (UTC+14).

    Checks of "not in the future" compare with this day, so that a birth
    registered on its own local date is never refused by a server in another zone.
    """
    return (now.astimezone(UTC) + timedelta(hours=14)).date()


def _not_in_the_future(value: date, info: ValidationInfo) -> date:
    """A birth date after today is a typo (or a child not yet born); refuse it.

    Only when the caller says what today is (``parse_config(..., today=...)``):
    validation itself stays a pure function of the text.
    """
    today = (info.context or {}).get("today")
    if isinstance(today, date) and value > today:
        raise ValueError(
            f"{value} is in the future; give the day the child was born "
            "(add this deadline after the birth)"
        )
    return value


_STATUS_CODE = re.compile(r"[A-H]-[0-9]{1,2}(?:-[0-9]{1,2})?")
#: Students enrolled in the NHIS from the day of their foreigner registration.
ENROLLED_AT_REGISTRATION = frozenset({"D-2", "D-4-3"})


def _to_status(value: object) -> str:
    if isinstance(value, str) and _STATUS_CODE.fullmatch(value.strip().upper()):
        return value.strip().upper()
    raise ValueError(
        f"{_show(value)} is not a status of stay; write the code on the residence card, "
        'e.g. "D-2", "D-4-3" or "E-9"'
    )


StatusCode = Annotated[str, PlainValidator(_to_status)]
ChangeWhat = Literal["passport", "name", "nationality", "workplace", "school", "other"]


class Reentry(_DeadlineBase):
    """Back in Korea before the re-entry exemption ends (or the period of stay, ``until``)."""

    kind: Literal["reentry"]
    departed: DateValue
    #: F-5 permanent residents: two years instead of one.
    permanent: StrictBool = False
    #: The end of the period of stay, when it comes before the exemption does.
    until: DateValue | None = None

    @field_validator("until")
    @classmethod
    def _until_after_departure(cls, value: date | None, info: ValidationInfo) -> date | None:
        departed = info.data.get("departed")
        if value is not None and isinstance(departed, date) and value < departed:
            raise ValueError(
                f"{value} is before departed {departed}; until is the last day of the period "
                "of stay (the date on the residence card)"
            )
        return value


class RegistrationChange(_DeadlineBase):
    """A change of registered details to report: ``changed`` is the day of the change."""

    kind: Literal["registration_change"]
    changed: DateValue
    what: ChangeWhat = "passport"


class NewbornStatus(_DeadlineBase):
    """A status of stay for a child born in Korea: ``born`` is the birth date."""

    kind: Literal["newborn_status"]
    born: DateValue

    _born = field_validator("born")(_not_in_the_future)


class ArcAt17(_DeadlineBase):
    """Foreigner registration on turning 17: ``born`` is the child's birth date."""

    kind: Literal["arc_at_17"]
    born: DateValue

    _born = field_validator("born")(_not_in_the_future)


class WorkplaceChange(_DeadlineBase):
    """An E-9 worker between employers: ``ended`` the contract, ``applied`` the request."""

    kind: Literal["workplace_change"]
    ended: DateValue
    applied: DateValue | None = None

    @field_validator("applied")
    @classmethod
    def _applied_after_the_contract(cls, value: date | None, info: ValidationInfo) -> date | None:
        ended = info.data.get("ended")
        if value is not None and isinstance(ended, date) and value < ended:
            raise ValueError(
                f"{value} is before ended {ended}; applied is the day the change of workplace "
                "was requested at the Employment Center, after the contract ended"
            )
        return value


class NhisEnrolment(_DeadlineBase):
    """Joining the NHIS: six months after ``entry``, or on ``registered`` for D-2 and D-4-3."""

    kind: Literal["nhis_enrolment"]
    entry: DateValue
    status: StatusCode | None = None
    registered: DateValue | None = Field(default=None, validate_default=True)

    @field_validator("registered")
    @classmethod
    def _registered_for_students(cls, value: date | None, info: ValidationInfo) -> date | None:
        status, entry = info.data.get("status"), info.data.get("entry")
        students = " or ".join(sorted(ENROLLED_AT_REGISTRATION))
        if value is None:
            if status in ENROLLED_AT_REGISTRATION:
                raise ValueError(
                    f"is required for status {status} (enrolled from the day of foreigner "
                    "registration); add registered = YYYY-MM-DD"
                )
            return None
        if status not in ENROLLED_AT_REGISTRATION:
            raise ValueError(
                f'{value} only counts for status {students}; add status = "D-2" '
                "(or D-4-3), or remove registered"
            )
        if isinstance(entry, date) and value < entry:
            raise ValueError(f"{value} is before entry {entry}; registration follows entry")
        return value


class Custom(_DeadlineBase):
    """Any date: exactly one of ``date``, ``at`` (instant) or ``rrule`` (with ``start``)."""

    kind: Literal["custom"]
    date: DateValue | None = None
    at: Instant | None = None
    rrule: RRule | None = None
    start: DateValue | None = None
    until: DateValue | None = None


Deadline = Annotated[
    Union[  # noqa: UP007 - the discriminator needs a real Union
        StayExpiry,
        ArcRegistration,
        ArcExpiry,
        AddressReport,
        NhisPremium,
        PassportExpiry,
        Reentry,
        RegistrationChange,
        NewbornStatus,
        ArcAt17,
        WorkplaceChange,
        NhisEnrolment,
        Custom,
    ],
    Field(discriminator="kind"),
]


def _to_target(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f'{_show(value)} should be the target in quotes, e.g. "123456789" (or "" for a '
            "channel whose URL has no {to})"
        )
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must be one line without control characters")
    return value.strip()


#: ``notify = { CHANNEL = "TARGET" }``: the channel id and what replaces its ``{to}``.
Notify = dict[Slug, Annotated[str, PlainValidator(_to_target)]]


class Channel(_Model):
    """``[[channel]]``: one Apprise URL, addressed per person or office by its id.

    The URL itself is not a field: it is read (from ``url_file`` or ``url_env``)
    when the config is loaded and kept out of every dump and repr, see
    :meth:`Config.channel_url`.
    """

    id: Slug
    url_file: Annotated[str, PlainValidator(_to_text)] | None = None
    url_env: Line | None = None
    url: Line | None = None
    #: short (chat, SMS: what, date, days left, link) | full (the email's text part).
    format: Literal["short", "full"] = "short"
    #: Seconds one message may take before it counts as not sent (and is retried).
    timeout: float = Field(default=30.0, gt=0, le=600)
    #: Messages in flight through this channel at once.
    concurrency: StrictInt = Field(default=4, ge=1, le=64)


class Person(_Model):
    """One person and their deadlines."""

    id: Slug
    name: Line
    email: tuple[Address, ...] = Field(min_length=1)
    language: Language = "en"
    timezone: Zone | None = None
    hide_details: StrictBool = False
    tags: tuple[Slug, ...] = ()
    #: Channel id -> target: reminders go there too.
    notify: Notify = {}
    #: False: reminders go to the channels in ``notify`` only, not by email.
    email_reminders: StrictBool = True
    deadlines: tuple[Deadline, ...] = Field(default=(), alias="deadline")


_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def digest_schedule(text: str) -> tuple[int | None, time]:
    """``"MON 09:00"`` -> (0, 09:00); ``"daily"`` / ``"daily 08:30"`` -> (None, time)."""
    parts = text.strip().upper().split()
    if not parts or len(parts) > 2:
        raise ValueError(text)
    day = None if parts[0] == "DAILY" else _WEEKDAYS.index(parts[0][:3])
    at = _to_time(parts[1]) if len(parts) == 2 else time(9, 0)
    return day, at


def _to_digest(value: object) -> str | Literal[False]:
    if value is False:
        return False
    if isinstance(value, str):
        try:
            digest_schedule(value)
        except ValueError:
            pass
        else:
            return value.strip()
    raise ValueError(
        f'{_show(value)} is not a digest schedule; write "MON 09:00", "daily", '
        '"daily 08:30" or false'
    )


class Office(_Model):
    """An office that looks after people: digests, escalations and a dashboard."""

    id: Slug
    name: Line
    email: tuple[Address, ...] = Field(min_length=1)
    language: Language = "en"
    timezone: Zone | None = None
    #: ``["*"]`` for everyone, or person ids.
    people: tuple[Line, ...] = ()
    #: People with any of these tags.
    tags: tuple[Slug, ...] = ()
    digest: Annotated[str | Literal[False], PlainValidator(_to_digest)] = "MON 09:00"
    digest_days: StrictInt = Field(default=60, ge=1, le=3660)
    digest_empty: StrictBool = False
    #: Channel id -> target: digests and escalations go there too.
    notify: Notify = {}

    def covers(self, person: Person) -> bool:
        """True when this office looks after ``person``."""
        if "*" in self.people or person.id in self.people:
            return True
        return bool(set(self.tags) & set(person.tags))


def absolute_database_url(url: str, base_dir: Path) -> str:
    """``url`` with a relative SQLite path taken from ``base_dir`` (the config's folder)."""
    match = re.fullmatch(r"(sqlite(?:\+\w+)?):///(?!/)(.+)", url)
    if not match or match.group(2).startswith(":memory:"):
        return url
    path = Path(match.group(2)).expanduser()
    return f"{match.group(1)}:///{path if path.is_absolute() else base_dir / path}"


class Config(_Model):
    """A validated config file. ``path`` is where it came from."""

    service: ServiceSection = ServiceSection()
    mail: MailSection = MailSection()
    feed: FeedSection = FeedSection()
    reminders: dict[Kind, tuple[Lead, ...]] = {}
    people: tuple[Person, ...] = Field(default=(), alias="person")
    offices: tuple[Office, ...] = Field(default=(), alias="office")
    channels: tuple[Channel, ...] = Field(default=(), alias="channel")
    #: Glob patterns of more files holding ``[[person]]`` and ``[[office]]`` tables.
    include: tuple[Annotated[str, PlainValidator(_to_text)], ...] = ()
    path: Path = Field(default=Path("staywatch.toml"), exclude=True)
    #: Every file the config was read from (the main file first).
    sources: tuple[Path, ...] = Field(default=(), exclude=True)

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the config are resolved against."""
        return self.path.resolve().parent

    def resolve(self, relative: str) -> Path:
        """A path from the config, made absolute against the config's folder."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL with relative SQLite paths made absolute."""
        return absolute_database_url(self.service.database, self.base_dir)

    def person(self, person_id: str) -> Person | None:
        """The person with this id, if any."""
        return self._by_id.get(person_id)

    @property
    def _by_id(self) -> dict[str, Person]:
        cache: dict[str, Person] | None = self.__dict__.get("_people_index")
        if cache is None:
            cache = {p.id: p for p in self.people}
            object.__setattr__(self, "_people_index", cache)
        return cache

    def office(self, office_id: str) -> Office | None:
        """The office with this id, if any."""
        return next((o for o in self.offices if o.id == office_id), None)

    def offices_for(self, person: Person) -> list[Office]:
        """The offices that look after ``person``."""
        return [o for o in self.offices if o.covers(person)]

    def zone_of(self, person: Person) -> ZoneInfo:
        """The person's time zone, else the service default."""
        return ZoneInfo(person.timezone or self.service.timezone)

    def channel(self, channel_id: str) -> Channel | None:
        """The channel with this id, if any."""
        return next((c for c in self.channels if c.id == channel_id), None)

    def channel_url(self, channel_id: str) -> str:
        """The channel's Apprise URL as read at load time (``{to}`` still in it).

        A secret: never print it; :func:`service.channelurls.shown` is what may be shown.
        """
        urls: dict[str, str] = self.__dict__.get("_channel_urls") or {}
        return urls.get(channel_id, "")


# -- locating errors -------------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)(.*?)\]\]?\s*(?:#.*)?$")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _dotted_key(text: str, start: int = 0) -> tuple[list[str], int] | None:
    """The keys of a dotted TOML key at ``start`` (bare, "basic" or 'literal' parts) and
    where it ends (after trailing blanks); None when there is no key there."""
    keys: list[str] = []
    i = start
    while True:
        while text[i : i + 1] in (" ", "\t") and i < len(text):
            i += 1
        if text[i : i + 1] == '"':
            end = i + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            try:
                keys.append(tomllib.loads(f"k = {text[i : end + 1]}")["k"])
            except tomllib.TOMLDecodeError:
                return None
            i = end + 1
        elif text[i : i + 1] == "'":
            end = text.find("'", i + 1)
            if end < 0:
                return None
            keys.append(text[i + 1 : end])
            i = end + 1
        else:
            bare = _BARE_KEY.match(text, i)
            if bare is None:
                return None
            keys.append(bare.group())
            i = bare.end()
        while text[i : i + 1] in (" ", "\t") and i < len(text):
            i += 1
        if text[i : i + 1] != ".":
            return keys, i
        i += 1


def index_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Map config paths such as ``("person", 0, "deadline", 1, "date")`` to line numbers."""
    lines: dict[tuple[str | int, ...], int] = {}
    counters: dict[tuple[str, ...], int] = {}
    current: tuple[str | int, ...] = ()
    # TOML ends lines at LF (CRLF) only; str.splitlines would also split at NEL, LS ...
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        header = _HEADER.match(line)
        inside = _dotted_key(header.group(2)) if header else None
        if header and inside and inside[1] == len(header.group(2)):
            names = tuple(inside[0])
            if header.group(1) == "[[":
                counters[names] = counters.get(names, -1) + 1
                for other in list(counters):
                    if len(other) > len(names) and other[: len(names)] == names:
                        counters[other] = -1
            path: list[str | int] = []
            for depth in range(1, len(names) + 1):
                path.append(names[depth - 1])
                prefix = names[:depth]
                if prefix in counters and (depth < len(names) or header.group(1) == "[["):
                    path.append(counters[prefix])
            current = tuple(path)
            # Tables named only inside a header ([mail.x], [[a.b]]) are located there too.
            for end in range(1, len(path) + 1):
                lines.setdefault(tuple(path[:end]), number)
            continue
        key = _dotted_key(line)
        if key and line[key[1] : key[1] + 1] == "=":
            dotted = key[0]
            for depth in range(1, len(dotted) + 1):
                lines.setdefault((*current, *dotted[:depth]), number)
    return lines


def _line_for(lines: Mapping[tuple[str | int, ...], int], loc: Sequence[str | int]) -> int | None:
    for end in range(len(loc), 0, -1):
        found = lines.get(tuple(loc[:end]))
        if found:
            return found
    return None


_SECTION_NAMES = {
    "person": "person",
    "deadline": "deadline",
    "office": "office",
    "channel": "channel",
}


def _describe(raw: Mapping[str, Any], loc: Sequence[str | int]) -> tuple[str, list[str | int]]:
    """Split a location into a readable owner ("person 'x' deadline 'y'") and the rest."""
    where: list[str] = []
    node: Any = raw
    rest = list(loc)
    while rest:
        part = rest[0]
        if (
            part in _SECTION_NAMES
            and len(rest) > 1
            and isinstance(rest[1], int)
            and isinstance(node, Mapping)
        ):
            items = node.get(part)
            index = rest[1]
            item = items[index] if isinstance(items, list) and index < len(items) else None
            ident = item.get("id") if isinstance(item, Mapping) else None
            label = _show(ident) if isinstance(ident, str) else f"#{index + 1}"
            where.append(f"{_SECTION_NAMES[str(part)]} {label}")
            node = item if isinstance(item, Mapping) else {}
            rest = rest[2:]
            continue
        if not where and part in {"service", "mail", "feed", "reminders"}:
            where.append(f"[{part}]")
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
            rest = rest[1:]
            continue
        break
    return " ".join(where), rest


def _key_text(rest: Sequence[str | int]) -> str:
    out = ""
    for part in rest:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_EXPECTED = {
    "string_type": "text in quotes",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "tuple_type": "a list in [ ]",
    "list_type": "a list in [ ]",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}

_INPUT_HINTS = {
    "date": "add date = YYYY-MM-DD",
    "entry": "add entry = YYYY-MM-DD (the date you entered Korea)",
    "moved": "add moved = YYYY-MM-DD (the move-in date)",
    "start": "add start = YYYY-MM-DD (the first month to cover)",
    "departed": "add departed = YYYY-MM-DD (the day you left Korea)",
    "changed": "add changed = YYYY-MM-DD (the day of the change, e.g. the new passport's date)",
    "born": "add born = YYYY-MM-DD (the child's date of birth)",
    "ended": "add ended = YYYY-MM-DD (the last day of the employment contract)",
    "id": 'add id = "a-short-slug"',
    "name": 'add name = "Full Name"',
    "email": 'add email = ["someone@example.org"]',
    "kind": f"add kind = one of {', '.join(KINDS)}",
}


#: The inputs a kind requires: a missing one says "is required for kind ...".
_KIND_INPUTS = frozenset(
    {"date", "entry", "moved", "start", "departed", "changed", "born", "ended"}
)


def _problem(
    raw: Mapping[str, Any], error: Mapping[str, Any], kinds: set[str]
) -> tuple[list[str | int], str, str]:
    """(location for the line lookup, owner, message) of one pydantic error."""
    loc: list[str | int] = list(error["loc"])
    # Discriminated unions insert the tag ("stay_expiry") after the deadline index.
    clean = [
        part
        for i, part in enumerate(loc)
        if not (isinstance(part, str) and part in kinds and i > 0 and isinstance(loc[i - 1], int))
    ]
    # Containers of Annotated types add their own segments ("function-plain[...]", "literal[...]").
    clean = [p for p in clean if not (isinstance(p, str) and ("[" in p and p.endswith("]")))]
    owner, rest = _describe(raw, clean)
    key = _key_text(rest)
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
        text = f"{key} {message}" if key else message
    elif kind == "missing":
        hint = _INPUT_HINTS.get(str(rest[-1]) if rest else "", f"add {key} = ...")
        text = f"{key} is missing; {hint}"
        kind_of = _kind_of(raw, clean)
        if kind_of and str(rest[-1]) in _KIND_INPUTS:
            text = f"{key} is required for kind {kind_of}; {hint}"
    elif kind == "extra_forbidden":
        name = str(rest[-1]) if rest else "?"
        allowed = _allowed_keys(clean, raw)
        close = difflib.get_close_matches(name, allowed, n=1)
        if name == "password":
            text = (
                "password must not be written in the config; put it in a file "
                "(password_file) or an environment variable (password_env)"
            )
        else:
            hint = f"did you mean '{close[0]}'?" if close else "remove it or check the spelling"
            text = f"unknown key '{_key_text(rest)}'; {hint}"
    elif kind == "union_tag_invalid":
        text = f"kind {_show(ctx.get('tag'))} is not a known kind; use one of {', '.join(KINDS)}"
        clean = [*clean, "kind"]
    elif kind == "union_tag_not_found":
        text = f"kind is missing; add kind = one of {', '.join(KINDS)}"
    elif kind == "literal_error" and ctx.get("expected") == "False" and value is not True:
        # ``overdue`` is a list or false: the list branch already said what is wrong.
        return clean, owner, ""
    elif kind == "literal_error":
        text = f"{key} {_show(value)} is not allowed; use {ctx.get('expected', '')}"
        if key == "language":
            text = f"language {_show(value)} is not supported; use one of {', '.join(LANGUAGES)}"
    elif kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        text = f"{key} {_show(value)} is out of range; {error['msg'].lower()}"
    elif kind in {"too_short", "too_long"}:
        if value:  # the elements were wrong, and each has its own message
            return clean, owner, ""
        text = f"{key} must not be empty; {_INPUT_HINTS.get(key, 'give at least one value')}"
    elif kind in _EXPECTED:
        text = f"{key} {_show(value)} should be {_EXPECTED[kind]}"
    else:
        text = f"{key}: {error['msg']}"
    return clean, owner, text


def _kind_of(raw: Mapping[str, Any], loc: Sequence[str | int]) -> str | None:
    node: Any = raw
    found = None
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, Mapping) and isinstance(node.get("kind"), str):
            found = node["kind"]
    return found


def _allowed_keys(loc: Sequence[str | int], raw: Mapping[str, Any]) -> list[str]:
    models: dict[str, type[BaseModel]] = {
        "stay_expiry": StayExpiry,
        "arc_registration": ArcRegistration,
        "arc_expiry": ArcExpiry,
        "address_report": AddressReport,
        "nhis_premium": NhisPremium,
        "passport_expiry": PassportExpiry,
        "reentry": Reentry,
        "registration_change": RegistrationChange,
        "newborn_status": NewbornStatus,
        "arc_at_17": ArcAt17,
        "workplace_change": WorkplaceChange,
        "nhis_enrolment": NhisEnrolment,
        "custom": Custom,
    }
    parents = [p for p in loc[:-1] if isinstance(p, str)]
    model: type[BaseModel] = Config
    if parents[-1:] == ["deadline"]:
        model = models.get(_kind_of(raw, loc[:-1]) or "", _DeadlineBase)
    elif parents[-1:] == ["person"]:
        model = Person
    elif parents[-1:] == ["office"]:
        model = Office
    elif parents[-1:] == ["channel"]:
        model = Channel
    elif parents:
        field = Config.model_fields.get(parents[-1])
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    names = []
    for name, info in model.model_fields.items():
        names.append(info.alias or name)
    return names


# -- semantic checks the field types cannot see -------------------------------


def _semantic(raw: Mapping[str, Any]) -> Iterator[tuple[list[str | int], str]]:
    for private in ("path", "sources"):
        if private in raw:
            yield [private], f"unknown key '{private}'; remove it or check the spelling"
    yield from _semantic_offices(raw)
    people = raw.get("person")
    if not isinstance(people, list):
        return
    seen: dict[str, int] = {}
    for i, person in enumerate(people):
        if not isinstance(person, Mapping):
            continue
        pid = person.get("id")
        if isinstance(pid, str):
            if pid in seen:
                yield (
                    ["person", i, "id"],
                    f"id '{pid}' is used by person #{seen[pid] + 1} already; give each person "
                    "its own id",
                )
            else:
                seen[pid] = i
        deadlines = person.get("deadline", [])
        if not isinstance(deadlines, list):
            continue
        ids: set[str] = set()
        for j, deadline in enumerate(deadlines):
            if not isinstance(deadline, Mapping):
                continue
            did = deadline.get("id")
            if isinstance(did, str):
                if did in ids:
                    yield (
                        ["person", i, "deadline", j, "id"],
                        f"id '{did}' is used twice for this person; give each deadline its own id",
                    )
                ids.add(did)
            yield from _semantic_deadline(["person", i, "deadline", j], deadline)


def _semantic_offices(raw: Mapping[str, Any]) -> Iterator[tuple[list[str | int], str]]:
    offices = raw.get("office")
    if not isinstance(offices, list):
        return
    people = raw.get("person")
    ids = (
        {p.get("id") for p in people if isinstance(p, Mapping) and isinstance(p.get("id"), str)}
        if isinstance(people, list)
        else set()
    )
    seen: set[str] = set()
    for i, office in enumerate(offices):
        if not isinstance(office, Mapping):
            continue
        oid = office.get("id")
        if isinstance(oid, str):
            if oid in seen:
                yield (
                    ["office", i, "id"],
                    f"id '{oid}' is used by another office; give each its own",
                )
            seen.add(oid)
        members = office.get("people", [])
        if isinstance(members, list):
            for j, member in enumerate(members):
                if isinstance(member, str) and member != "*" and member not in ids:
                    yield (
                        ["office", i, "people"],
                        f"people[{j + 1}] '{member}' is not a person in the config; "
                        "check the id or remove it",
                    )
        if not office.get("people") and not office.get("tags"):
            yield (
                ["office", i],
                'looks after nobody; add people = ["*"], a list of person ids, or tags',
            )


def _semantic_deadline(
    at: list[str | int], deadline: Mapping[str, Any]
) -> Iterator[tuple[list[str | int], str]]:
    kind = deadline.get("kind")
    if kind == "custom":
        given = [k for k in ("date", "at", "rrule") if k in deadline]
        if not given:
            yield at, "custom deadline needs one of date, at or rrule; add e.g. date = YYYY-MM-DD"
        elif len(given) > 1:
            yield (
                [*at, given[1]],
                f"custom deadline has both {given[0]} and {given[1]}; keep only one",
            )
        if "title" not in deadline:
            yield at, 'title is required for kind custom; add title = "what is due"'
        if "start" in deadline and "rrule" not in deadline:
            yield [*at, "start"], "start only applies to rrule; remove it or add an rrule"
        never = _never_occurs(deadline.get("rrule"), deadline.get("start", ANCHOR_DEFAULT))
        if never is not None:
            yield [*at, "rrule"], never
    start, until = deadline.get("start"), deadline.get("until")
    if isinstance(start, date) and isinstance(until, date) and until < start:
        yield [*at, "until"], f"until {until} is before start {start}; swap them or fix the date"


_URL_KEYS = ("url_file", "url_env", "url")


def _semantic_channels(
    raw: Mapping[str, Any], base_dir: Path, environ: Mapping[str, str] | None
) -> tuple[list[tuple[list[str | int], str]], dict[str, str]]:
    """Read and check every channel's URL; check every ``notify`` against them.

    Returns the problems and the URLs of the channels that are usable.
    """
    problems: list[tuple[list[str | int], str]] = []
    urls: dict[str, str] = {}
    ids: list[str] = []
    channels = raw.get("channel")
    for i, channel in enumerate(channels if isinstance(channels, list) else []):
        if not isinstance(channel, Mapping) or not isinstance(channel.get("id"), str):
            continue
        cid = channel["id"]
        if cid in ids:
            problems.append(
                (["channel", i, "id"], f"id '{cid}' is used by another channel; give each its own")
            )
            continue
        ids.append(cid)
        given = [k for k in channel if k in _URL_KEYS]
        if not given:
            problems.append(
                (
                    ["channel", i],
                    f'has no URL; add url_file = "{cid}.url" (a file holding the Apprise URL), '
                    'url_env = "VARIABLE", or for a URL without secrets url = "..."',
                )
            )
            continue
        if len(given) > 1:
            problems.append(
                (
                    ["channel", i, given[1]],
                    f"has both {given[0]} and {given[1]}; keep only one",
                )
            )
            continue
        key = given[0]
        value = channel[key]
        if not isinstance(value, str):
            continue  # the type is reported by validation
        try:
            url = read_url(
                url_file=value if key == "url_file" else None,
                url_env=value if key == "url_env" else None,
                url=value if key == "url" else None,
                base_dir=base_dir,
                environ=environ,
            )
        except UrlProblem as exc:
            problems.append((["channel", i, key], f"{key}: {exc}"))
            continue
        try:
            check(url, target=None)
        except UrlProblem as exc:
            where = "" if key == "url" else f" in {value}"
            problems.append((["channel", i, key], f"{key}: the URL{where} ({shown(url)}): {exc}"))
            continue
        if key == "url" and scheme_of(url) and holds_secret(url):
            problems.append(
                (
                    ["channel", i, "url"],
                    f"url: this {scheme_of(url)}:// URL holds a secret (a token, key or "
                    f'password); move it into a file (url_file = "{cid}.url", mode 0600, or '
                    "systemd LoadCredential=) or an environment variable (url_env)",
                )
            )
            continue
        urls[cid] = url
    for section in ("person", "office"):
        items = raw.get(section)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, Mapping):
                continue
            notify = item.get("notify")
            if not isinstance(notify, Mapping):
                continue
            for cid, target in notify.items():
                at: list[str | int] = [section, i, "notify", cid]
                if cid not in ids:
                    known = ", ".join(ids) or "none yet"
                    problems.append(
                        (
                            at,
                            f"notify.{cid}: there is no channel '{cid}' (channels: {known}); "
                            f'add a [[channel]] with id = "{cid}" or fix the id',
                        )
                    )
                    continue
                if cid not in urls or not isinstance(target, str):
                    continue  # its URL or the type is reported already
                url, target = urls[cid], target.strip()
                if TO in url and not target:
                    problems.append(
                        (
                            at,
                            f"notify.{cid}: channel '{cid}' needs a target (its URL has {TO}); "
                            f'write e.g. {cid} = "123456789"',
                        )
                    )
                elif TO not in url and target:
                    problems.append(
                        (
                            at,
                            f"notify.{cid}: channel '{cid}' takes no target (its URL has no "
                            f'{TO}); write {cid} = "" or add {TO} to the URL',
                        )
                    )
                elif target:
                    try:
                        check(url, target=target)
                    except UrlProblem as exc:
                        problems.append((at, f"notify.{cid}: {exc}"))
                        continue
                    if target_is_secret(url, target):
                        problems.append(
                            (
                                at,
                                f"notify.{cid}: this target is a secret for {scheme_of(url)}:// "
                                "(a key or token); targets show in status and the store, so give "
                                "it a channel of its own whose url_file holds the whole URL, and "
                                f'write {cid} = ""',
                            )
                        )
        if section == "person":
            for i, item in enumerate(items if isinstance(items, list) else []):
                if (
                    isinstance(item, Mapping)
                    and item.get("email_reminders") is False
                    and not item.get("notify")
                ):
                    problems.append(
                        (
                            [section, i, "email_reminders"],
                            "email_reminders = false but notify names no channel: no "
                            "reminder would reach this person; add notify = { CHANNEL = "
                            '"TARGET" } or remove email_reminders',
                        )
                    )
    return problems, urls


def _never_occurs(rule: object, start: object) -> str | None:
    """The message for a valid rule that falls on no day at all, else None."""
    if not isinstance(rule, str) or not isinstance(start, date) or isinstance(start, datetime):
        return None
    if not EARLIEST <= start <= LATEST:
        return None  # the start is reported
    try:
        canonical = check_rule(rule)
    except ValueError:
        return None  # reported by the field
    if occurs(canonical, start):
        return None
    return (
        f"rrule '{rule}' never falls on a day (e.g. BYMONTH=2 with BYMONTHDAY=30); check "
        "its BYMONTH, BYMONTHDAY, BYYEARDAY, BYWEEKNO, BYDAY and INTERVAL"
    )


# -- reading -------------------------------------------------------------------

_BAD_DATE = re.compile(
    r"(?<![\w\"'-])(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:Z|[+-]\d{2}:\d{2})?)?)(?![\w:\"'-])"
)


def _loads(text: str, path: str) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """Parse TOML; invalid date literals become strings so that validation can name them.

    Returns the document and no problems, or ``{}`` and at least one problem: a file
    that does not parse is never read as empty, however many dates are wrong in it.
    """
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError:
        pass
    except RecursionError:
        return {}, [_too_deep(text, path)]
    except ValueError as exc:  # an integer with more digits than int() converts
        return {}, [_unreadable(text, path, exc)]
    lines = text.split("\n")
    # Every invalid date at once: one parse instead of one per date. Accepted only when
    # no quote went inside a string (a note mentioning 2027-02-30); else line by line.
    quoted: set[str] = set()
    quick = [_quote_bad_dates(line, quoted) for line in lines]
    if quoted:
        try:
            raw = tomllib.loads("\n".join(quick))
        except tomllib.TOMLDecodeError as exc:
            line = _error_line(exc)
            if line is not None and quick[line - 1] == lines[line - 1]:
                return {}, [_syntax_problem(exc, path, line)]  # a real syntax error
        except (RecursionError, ValueError):
            pass  # reported by the line-by-line reading below
        else:
            if not _quoted_inside_strings(raw, quoted):
                return raw, []
    # Line by line: quote only what the parser stops at. Each round fixes one line,
    # so this ends.
    while True:
        try:
            return tomllib.loads("\n".join(lines)), []
        except tomllib.TOMLDecodeError as exc:
            line = _error_line(exc)
            if line is not None:
                fixed = _quote_bad_dates(lines[line - 1], set())
                if fixed != lines[line - 1]:
                    lines[line - 1] = fixed
                    continue
            return {}, [_syntax_problem(exc, path, line or len(lines))]
        except RecursionError:
            return {}, [_too_deep(text, path)]
        except ValueError as exc:
            return {}, [_unreadable(text, path, exc)]


def _error_line(exc: tomllib.TOMLDecodeError) -> int | None:
    found = re.search(r"at line (\d+), column (\d+)", str(exc))
    return int(found.group(1)) if found else None


def _syntax_problem(exc: tomllib.TOMLDecodeError, path: str, line: int) -> ConfigProblem:
    reason = re.sub(r"\s*\(at .*\)$", "", str(exc))
    return ConfigProblem(
        path,
        line,
        "",
        f"TOML syntax error: {reason[0].lower() + reason[1:]}; fix the syntax (see https://toml.io)",
    )


#: Arrays and inline tables nested deeper than this are not a config.
MAX_NESTING = 100


def _too_deep(text: str, path: str) -> ConfigProblem:
    """The line where brackets first nest deeper than :data:`MAX_NESTING`."""
    depth, line = 0, 1
    where: int | None = None
    # Brackets inside strings count too: this only has to find the line.
    for char in text:
        if char == "\n":
            line += 1
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                where = line
                break
        elif char in "]}":
            depth -= 1
    return ConfigProblem(
        path,
        where,
        "",
        f"lists or tables are nested more than {MAX_NESTING} levels deep; a config needs "
        "two or three",
    )


def _unreadable(text: str, path: str, exc: ValueError) -> ConfigProblem:
    long_number = re.search(r"[0-9_]{1000,}", text)
    line = text.count("\n", 0, long_number.start()) + 1 if long_number else None
    if long_number:
        return ConfigProblem(path, line, "", "a number has thousands of digits; write a real value")
    return ConfigProblem(path, None, "", f"cannot be read as TOML ({exc}); fix the syntax")


def _quoted_inside_strings(raw: Mapping[str, Any], quoted: set[str]) -> bool:
    """True when a quote added around one of ``quoted`` ended up inside a string value."""
    marks = tuple(f'"{text}"' for text in quoted)
    stack: list[object] = [raw]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if any(mark in node for mark in marks):
                return True
        elif isinstance(node, Mapping):
            stack.extend(node.values())
            stack.extend(node.keys())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _quote_bad_dates(line: str, quoted: set[str]) -> str:
    """``line`` with invalid date literals in quotes; adds each quoted text to ``quoted``."""

    def repl(match: re.Match[str]) -> str:
        text = match.group(1)
        try:
            date.fromisoformat(text[:10])
            if len(text) > 10:
                datetime.fromisoformat(text.replace(" ", "T"))
        except ValueError:
            quoted.add(text)
            return f'"{text}"'
        return match.group(0)

    return _BAD_DATE.sub(repl, line)


_MERGED = ("person", "office")


@dataclass
class _Source:
    """One file the config was read from and where its keys are."""

    shown: str
    text: str

    @functools.cached_property
    def lines(self) -> dict[tuple[str | int, ...], int]:
        """Where each key is; indexed only when a problem needs a line."""
        return index_lines(self.text)


def _read_text(file: Path) -> tuple[str | None, ConfigProblem | None]:
    """The text of a config file, or the problem reading it."""
    try:
        return file.read_text(encoding="utf-8").removeprefix("\ufeff"), None
    except FileNotFoundError:
        problem = "no such file; create it (see config/example.toml) or pass -c FILE"
    except IsADirectoryError:
        problem = "is a folder, not a file; pass -c FILE"
    except PermissionError:
        problem = "cannot be read (permission denied); check its owner and mode"
    except UnicodeDecodeError as exc:
        line = file.read_bytes()[: exc.start].count(b"\n") + 1
        return None, ConfigProblem(str(file), line, "", "is not UTF-8 text; save the file as UTF-8")
    return None, ConfigProblem(str(file), None, "", problem)


def _include(
    raw: dict[str, Any], base: Path, sources: list[_Source]
) -> tuple[dict[str, list[tuple[int, int]]], list[Path], list[ConfigProblem]]:
    """Merge the ``[[person]]``/``[[office]]`` tables of included files into ``raw``.

    Returns, per merged array, the (source, index in that source) of each element,
    the files read, and the problems met on the way.
    """
    origins = {
        name: [(0, i) for i in range(len(raw[name]))] if isinstance(raw.get(name), list) else []
        for name in _MERGED
    }
    patterns = raw.get("include", [])
    problems: list[ConfigProblem] = []
    files: list[Path] = []
    if not isinstance(patterns, list):
        return origins, files, problems  # the type error is reported by validation
    seen = {Path(sources[0].shown).resolve()}
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, str):
            continue

        def report(message: str) -> None:
            line = sources[0].lines.get(("include",))
            problems.append(ConfigProblem(sources[0].shown, line, "", message))

        try:
            matches = include_matches(base, pattern)
        except ValueError as exc:
            report(f"include[{index + 1}] '{pattern}' {exc}")
            continue
        if not matches and not any(ch in pattern for ch in "*?["):
            report(
                f"include[{index + 1}] '{pattern}' does not exist; fix the path (relative "
                "to this file) or remove it"
            )
        if len(matches) == 1 and matches[0].is_dir() and not any(ch in pattern for ch in "*?["):
            report(
                f"include[{index + 1}] '{pattern}' is a folder; name the files in it, e.g. "
                f'"{pattern.rstrip("/")}/*.toml"'
            )
        for file in matches:
            if not file.is_file() or file.resolve() in seen:
                continue  # folders; a file named twice, or the config itself
            seen.add(file.resolve())
            text, problem = _read_text(file)
            if problem is not None or text is None:
                problems.append(problem or ConfigProblem(str(file), None, "", "cannot be read"))
                continue
            part, syntax = _loads(text, str(file))
            problems.extend(syntax)
            files.append(file)
            number = len(sources)
            sources.append(_Source(str(file), text))
            for key in part:
                if key not in _MERGED:
                    problems.append(
                        ConfigProblem(
                            str(file),
                            sources[number].lines.get((key,)),
                            "",
                            f"'{key}' cannot be set in an included file; only [[person]] and "
                            "[[office]] tables belong there",
                        )
                    )
            for name in _MERGED:
                items = part.get(name)
                if not isinstance(items, list):
                    continue
                merged = raw.setdefault(name, [])
                if not isinstance(merged, list):
                    continue
                for local, item in enumerate(items):
                    merged.append(item)
                    origins[name].append((number, local))
    return origins, files, problems


def parse_config(
    text: str,
    path: Path | str = "staywatch.toml",
    *,
    today: date | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Validate config text (and its included files); raise ConfigError for every problem.

    With ``today`` (see :func:`latest_today`), dates that cannot lie in the future
    (a child's birth) are checked against it too. Channel URLs named by
    ``url_env`` are read from ``environ`` (default: the process environment).
    """
    shown = str(path)
    raw, problems = _loads(text, shown)
    if problems:
        raise ConfigError(problems)
    sources = [_Source(shown, text)]
    origins, files, include_problems = _include(raw, Path(path).parent, sources)
    found: list[tuple[int, int, int, ConfigProblem]] = [
        (1, p.line or 0, n, p) for n, p in enumerate(include_problems)
    ]
    kinds: set[str] = set(KINDS)

    def add(loc: Sequence[str | int], owner: str, message: str) -> None:
        source, local = 0, list(loc)
        if len(loc) > 1 and loc[0] in origins and isinstance(loc[1], int):
            entries = origins[str(loc[0])]
            if loc[1] < len(entries):
                source, index = entries[loc[1]]
                local = [loc[0], index, *loc[2:]]
        line = _line_for(sources[source].lines, local)
        problem = ConfigProblem(sources[source].shown, line, owner, message)
        found.append((source, line or 0, len(found), problem))

    config: Config | None = None
    try:
        config = Config.model_validate(
            {
                **raw,
                "path": Path(path).absolute(),
                "sources": (Path(path).absolute(), *(f.absolute() for f in files)),
            },
            context={"today": today},
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc, owner, message = _problem(raw, error, kinds)
            if message:
                add(loc, owner, message)
    for loc, message in _semantic(raw):
        owner, _ = _describe(raw, loc)
        add(loc, owner, message)
    urls: dict[str, str] = {}
    tables = [
        item
        for name in ("person", "office")
        if isinstance(raw.get(name), list)
        for item in raw[name]
        if isinstance(item, Mapping)
    ]
    # Apprise is loaded only for a config that uses channels.
    if raw.get("channel") or any("notify" in t or "email_reminders" in t for t in tables):
        channel_problems, urls = _semantic_channels(raw, Path(path).absolute().parent, environ)
        for loc, message in channel_problems:
            owner, _ = _describe(raw, loc)
            add(loc, owner, message)
    if found or config is None:
        unique: dict[str, ConfigProblem] = {}
        for *_, problem in sorted(found, key=lambda item: item[:3]):
            unique.setdefault(str(problem), problem)
        raise ConfigError(list(unique.values()))
    # Kept beside the fields, so that no dump, repr or digest of the config holds one.
    object.__setattr__(config, "_channel_urls", urls)
    return config


def load_config(
    path: Path | str, *, today: date | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Read and validate a config file; raise ConfigError for every problem in it."""
    file = Path(path)
    text, problem = _read_text(file)
    if problem is not None or text is None:
        raise ConfigError([problem or ConfigProblem(str(file), None, "", "cannot be read")])
    return parse_config(text, file, today=today, environ=environ)
