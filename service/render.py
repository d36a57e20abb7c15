"""Turn one planned reminder into an email message.

Pure given its inputs: the same config, person, occurrence, reminder, ``now``
and links give the same bytes, so a resend is recognisable by its Message-ID
(derived from the reminder key) and even its MIME boundary. Everything a
person wrote (names, titles, notes) is data: it reaches headers only through
:func:`header_text` and the ``email.headerregistry`` API, never as raw lines.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from service import texts
from service.clock import require_aware
from service.config import Config, Deadline, NhisPremium, Office, Person
from service.i18n import _, available_languages, jinja_environment, use_locale
from service.keys import base_occurrence, escalation_office
from service.kinds import Language
from service.links import subscribe_page_url, webcal_url
from service.mailwire import WIRE
from service.offices import DigestContent, OfficeRow, office_zone
from service.plan import Occurrence, Reminder
from service.rules import KIND_RULES, BusinessCalendar
from service.store.records import DeliveryRow, ReminderRow
from service.texts import CONTACT_SITES

#: Characters allowed in the local part of our Message-IDs (RFC 5322 atext).
_NOT_ATEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~-]")
#: Invisible characters that reorder text; in a subject they can spoof what it says.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def header_text(value: str) -> str:
    """``value`` made safe for a header: one line, no control characters.

    CR, LF, other C0/C1 controls and Unicode line/paragraph separators become
    spaces (so "a\\r\\nBcc: x" cannot start a header), bidi controls vanish,
    runs of whitespace collapse to one space, and text shaped like an RFC 2047
    encoded word is broken up so that no parser decodes it into a line break.
    """
    cleaned = []
    for ch in value:
        if ch in _BIDI:
            continue
        category = unicodedata.category(ch)
        cleaned.append(" " if category in {"Cc", "Zl", "Zp"} else ch)
    text = " ".join("".join(cleaned).split())
    # "=?charset?q?...?=" would be decoded as an RFC 2047 encoded word, which can
    # smuggle in a CR LF after our cleaning; a space makes it plain text again.
    return text.replace("=?", "= ?")


#: Characters that make a display name a quoted-string. When Python folds a long
#: address header it can drop those quotes, and "Lima, Ana <x@y>" becomes two
#: addresses; display names therefore go without them (spaces instead).
_ADDRESS_SPECIALS = str.maketrans(dict.fromkeys('"\\,;:<>@()[]', " "))
#: Longer display names are cut: Python folds two over-long words in an address
#: header into an empty line, which ends the header block early.
DISPLAY_NAME_MAX = 64


def display_name(value: str) -> str:
    """``value`` made safe as the display name of an address: one short line, no specials."""
    text = " ".join(header_text(value).translate(_ADDRESS_SPECIALS).split())
    return text[:DISPLAY_NAME_MAX].rstrip()


def sender_domain(sender: str) -> str:
    """The domain of the From address, ASCII (IDNA) form; ``localhost`` when there is none."""
    _, address = parseaddr(sender)
    if "@" not in address:
        return "localhost"
    domain = address.rpartition("@")[2].strip("[] ").lower()
    if not domain:
        return "localhost"
    try:
        domain.encode("ascii")
    except UnicodeEncodeError:
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return "localhost"
    return re.sub(r"[^a-z0-9.-]", "-", domain) or "localhost"


def message_id_for(key: str, sender: str) -> str:
    """The Message-ID of a reminder: ``<{key}@{sender's domain}>``, stable across resends."""
    return f"<{_NOT_ATEXT.sub('-', key)}@{sender_domain(sender)}>"


def cc_message_id_for(key: str, recipient: str, sender: str) -> str:
    """The Message-ID of a ``recipients`` copy: ``<{key}+cc-{hash}@{domain}>``.

    The key plus ``+cc`` says whose reminder it copies; eight hex digits of the
    recipient's address (SHA-256, lower-cased) keep the copies to several
    recipients of one deadline apart, each stable across resends.
    """
    digest = hashlib.sha256(recipient.strip().lower().encode("utf-8")).hexdigest()[:8]
    return message_id_for(f"{key}+cc-{digest}", sender)


def list_id(public_url: str) -> str:
    """The ``List-Id`` of a deployment's mail, ``<staywatch.HOST>`` from its public URL.

    RFC 2919 wants a dot-atom under a domain the sender owns, or under
    ``localhost``: a DNS name (lower-case, IDNA) is used as it is; an IP
    address, a single-label name or ``localhost`` goes under ``.localhost``
    with its dots and colons as dashes (``<staywatch-127-0-0-1.localhost>``),
    so that two such deployments still differ. The port and path are dropped:
    a deployment is named by its host.
    """
    host = (urlsplit(public_url).hostname or "").rstrip(".").lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = host.encode("ascii", "replace").decode("ascii")
    if host in ("", "localhost"):
        return "<staywatch.localhost>"
    labels = host.split(".")
    is_name = len(labels) > 1 and not labels[-1].isdigit() and ":" not in host
    if is_name and all(_label_ok(label) for label in labels):
        return f"<staywatch.{host}>"
    slug = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in host).strip("-")
    return f"<staywatch-{slug}.localhost>" if slug else "<staywatch.localhost>"


def _label_ok(label: str) -> bool:
    return bool(label) and all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in label)


def linkify_sites(text: str) -> Markup:
    """``text`` escaped for HTML, with the contact sites (www.hikorea.go.kr, ...) as links."""
    html = str(escape(text))
    for site, url in CONTACT_SITES.items():
        html = html.replace(site, f'<a href="{url}">{site}</a>')
    return Markup(html)  # built from escaped text and our own constants


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Autoescape only the HTML templates: the text part must show "<" and "&" as typed.
    env = jinja_environment(
        PackageLoader("service", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["linkify_sites"] = linkify_sites
    return env


def _render(name: str, context: dict[str, Any]) -> str:
    """Render a template in the language of the ``use_locale`` block around the call."""
    return _environment().get_template(name).render(context)


def _deadline_of(person: Person, deadline_id: str) -> Deadline | None:
    for deadline in person.deadlines:
        if deadline.id == deadline_id:
            return deadline
    return None


def _recipients(person: Person) -> list[Address]:
    name = display_name(person.name)
    return [Address(display_name=name, addr_spec=address) for address in person.email]


def _finish(message: EmailMessage, text: str, html: str, *, key_material: str) -> EmailMessage:
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    # A boundary from the content instead of a random one keeps rendering
    # byte-for-byte deterministic; a hash of the parts cannot occur inside them.
    digest = hashlib.sha256((key_material + text + html).encode("utf-8")).hexdigest()
    message.set_boundary(f"==staywatch-{digest[:32]}")
    return message


def _calendar_block(feed_url: str | None, lang: str) -> dict[str, str] | None:
    """The calendar part of a reminder: the subscribe page, and the address itself.

    The page (``/calendar/TOKEN``) subscribes in one tap on any phone; the
    address is printed too (in HTML as a ``webcal://`` link) for people who
    add calendars by URL.
    """
    if feed_url is None:
        return None
    with use_locale(lang):
        return {
            "page": subscribe_page_url(feed_url),
            "webcal": webcal_url(feed_url),
            "intro": _("Add these dates to your phone's calendar:"),
            "link": _("Add these dates to your phone's calendar"),
            "address": _("Calendar address, to subscribe in any calendar app:"),
        }


#: Subjects carry the year of a date only when it is this far away (else "Sun 14 Mar").
SUBJECT_YEAR_AFTER = 330


def _contact(kind: str, lang: Language) -> str | None:
    rule = KIND_RULES.get(kind)
    return texts.contact_line(rule.contact if rule is not None else None, lang)


def render_reminder(
    config: Config,
    person: Person,
    occurrence: Occurrence,
    reminder: Reminder,
    *,
    now: datetime,
    ack_url: str | None,
    feed_url: str | None,
    recipient: str | None = None,
) -> EmailMessage:
    """The reminder email for one planned reminder, in the person's language.

    ``now`` is when it is sent (aware): it sets the Date header and the number of
    days left. ``ack_url`` is the signed "I have done this" link and ``feed_url``
    the person's calendar; either may be None to leave that part out. Once the
    date has passed, a kind done at an office says to call 1345 or go there
    today, without the window, the closed-day line or online filing.

    With ``recipient`` (one of the deadline's ``recipients``) it is that
    recipient's own copy: addressed to it alone, with its own Message-ID
    (:func:`cc_message_id_for`) and never the person's calendar link.
    """
    require_aware(now)
    if recipient is not None:
        feed_url = None  # the person's private calendar stays the person's
    with use_locale(person.language) as lang:
        return _render_reminder(
            config,
            person,
            occurrence,
            reminder,
            lang,
            now=now,
            ack_url=ack_url,
            feed_url=feed_url,
            recipient=recipient,
        )


def _reminder_context(
    config: Config,
    person: Person,
    occurrence: Occurrence,
    reminder: Reminder,
    lang: Language,
    *,
    now: datetime,
    ack_url: str | None,
    feed_url: str | None,
) -> dict[str, Any]:
    """Everything a reminder says, for the email and the short channel text alike."""
    tz = config.zone_of(person)
    local_now = now.astimezone(tz)
    deadline = _deadline_of(person, occurrence.deadline)
    kind = occurrence.texts_key
    title = occurrence.title if kind == "custom" else None
    days = (occurrence.date - local_now.date()).days
    # An ``at`` reminder at the instant itself still reads "due", not "was due".
    past = days < 0 or (occurrence.at is not None and now > occurrence.at)

    when_short, when_long = _when(occurrence, tz, lang, days)

    last_open: date | None = None
    if occurrence.closed is not None and not past:
        last_open = BusinessCalendar.for_config(config).last_business_day_before(occurrence.date)

    subject_title = header_text(title) if title else None
    head = texts.headline(
        kind, lang, when=when_short, past=past, covers=occurrence.covers, title=subject_title
    )
    if reminder.closed_notice and last_open is not None:
        tail = texts.act_by(kind, last_open, lang)
    else:
        tail = texts.countdown(days, lang, expiry=texts.is_expiry(kind))
    subject = header_text(texts.subject_line(head, tail, lang))

    autopay = isinstance(deadline, NhisPremium) and deadline.autopay
    # Past the date, a kind done at an office has one thing left to say: what to do today.
    overdue_steps = texts.overdue_advice(kind, lang) if past else None
    window = None
    if occurrence.window_start is not None and not past:
        window = texts.window_line(kind, occurrence.window_start, occurrence.date, lang)
    notices = {
        "moved": (
            texts.moved_days_notice(occurrence.moved, occurrence.date, lang)
            if occurrence.moved
            else None
        ),
        "closed": (
            texts.closed_notice(kind, occurrence.date, occurrence.closed, last_open, lang)
            if occurrence.closed is not None and last_open is not None
            else None
        ),
        "overdue": (overdue_steps or texts.ui("overdue", lang)) if past else None,
        "note": texts.ui("note", lang, note=occurrence.note.strip()) if occurrence.note else None,
    }
    context: dict[str, Any] = {
        "lang": lang,
        "subject": subject,
        "greeting": texts.ui("greeting", lang, name=person.name),
        "headline": texts.body_headline(
            kind, lang, when=when_long, past=past, covers=occurrence.covers, title=title
        ),
        "countdown": texts.countdown_sentence(days, lang),
        **notices,
        "notices": [text for text in notices.values() if text],
        "what": texts.what_it_is(kind, lang),
        "consequence": texts.consequence(kind, lang),
        "past": past,
        "advice": texts.advice(kind, lang, autopay=autopay, past=past),
        "window": window,
        "ack_url": ack_url,
        "feed_url": feed_url,
        "calendar": _calendar_block(feed_url, lang),
        "contact": _contact(occurrence.kind, lang),
        "footer": texts.ui("footer", lang, key=reminder.key),
    }
    context["lead"] = texts.sentences(
        texts.sentence(context["headline"], lang), context["countdown"], lang
    )
    return context


def _render_reminder(
    config: Config,
    person: Person,
    occurrence: Occurrence,
    reminder: Reminder,
    lang: Language,
    *,
    now: datetime,
    ack_url: str | None,
    feed_url: str | None,
    recipient: str | None = None,
) -> EmailMessage:
    context = _reminder_context(
        config, person, occurrence, reminder, lang, now=now, ack_url=ack_url, feed_url=feed_url
    )
    subject = context["subject"]
    local_now = now.astimezone(config.zone_of(person))
    message = EmailMessage(policy=WIRE)
    message["Subject"] = subject
    message["From"] = config.mail.sender
    if recipient is None:
        message["To"] = _recipients(person)
        message_id = message_id_for(reminder.key, config.mail.sender)
    else:
        message["To"] = [Address(addr_spec=recipient)]
        message_id = cc_message_id_for(reminder.key, recipient, config.mail.sender)
    message["Date"] = format_datetime(local_now)
    message["Message-ID"] = message_id
    message["X-Staywatch-Key"] = header_text(reminder.key)
    message["List-Id"] = list_id(config.feed.public_url)
    message["Auto-Submitted"] = "auto-generated"
    # Keeps Exchange/Outlook from sending out-of-office replies to the sender.
    message["X-Auto-Response-Suppress"] = "All"
    _finish(
        message,
        _render("reminder.txt.j2", context),
        _render("reminder.html.j2", context),
        key_material=reminder.key,
    )
    # After the content: setting the content drops every Content-* header.
    message["Content-Language"] = lang
    return message


@dataclass(frozen=True, slots=True)
class ShortText:
    """What a chat, push or SMS channel sends: a title (where the service shows one) and a body."""

    title: str
    body: str


def render_reminder_short(
    config: Config,
    person: Person,
    occurrence: Occurrence,
    reminder: Reminder,
    *,
    now: datetime,
    ack_url: str | None,
    feed_url: str | None,
) -> ShortText:
    """The ``short`` channel text of a reminder, in the person's language.

    The title is the email's subject; the body one line with what is due, its
    date and the days left, one with the acknowledge link, and, in the first
    reminder of an occurrence only, one with the calendar's subscribe page.
    """
    require_aware(now)
    with use_locale(person.language) as lang:
        context = _reminder_context(
            config, person, occurrence, reminder, lang, now=now, ack_url=ack_url, feed_url=feed_url
        )
        lines = [context["lead"]]
        if ack_url:
            lines.append(_("Already done? Tell staywatch here: %(url)s", url=ack_url))
        first = bool(occurrence.reminders) and occurrence.reminders[0].key == reminder.key
        if first and feed_url:
            lines.append(
                _("These dates in your phone's calendar: %(url)s", url=subscribe_page_url(feed_url))
            )
        return ShortText(context["subject"], "\n".join(lines))


def plain_text(message: EmailMessage) -> ShortText:
    """The ``full`` channel text of an email: its subject and its text part."""
    part = message.get_body(preferencelist=("plain",))
    body = part.get_content() if isinstance(part, EmailMessage) else ""
    # The wire policy ends lines with CRLF; chat services want plain newlines.
    text = str(body).replace("\r\n", "\n").rstrip("\n")
    return ShortText(str(message.get("Subject", "")), text)


def office_short(message: EmailMessage, lang: str, dashboard_url: str | None) -> ShortText:
    """The ``short`` channel text of an office email (digest, escalation): its subject, and
    the dashboard link."""
    subject = str(message.get("Subject", ""))
    lines = [subject]
    if dashboard_url:
        with use_locale(lang):
            lines.append(_("Open the dashboard: %(url)s", url=dashboard_url))
    return ShortText(subject, "\n".join(lines))


def render_channel_test(now: datetime, tz: ZoneInfo) -> ShortText:
    """The message ``staywatch send-test --channel`` sends: one line per catalog language."""
    require_aware(now)
    when = _local_time(now, tz)
    return ShortText(
        texts.ui("test_subject", "en"),
        "\n".join(texts.ui("test_body", lang, when=when) for lang in available_languages()),
    )


def render_test(config: Config, address: str, *, now: datetime) -> EmailMessage:
    """The message ``staywatch send-test ADDRESS`` sends: one line in every catalog's language.

    The lines in other scripts show at a glance whether UTF-8 survives the
    whole path to the mailbox.
    """
    require_aware(now)
    tz = ZoneInfo(config.service.timezone)
    local_now = now.astimezone(tz)
    when = _local_time(now, tz)
    digest = hashlib.sha256(f"{address}|{now.isoformat()}".encode()).hexdigest()[:20]
    subject = texts.ui("test_subject", "en")
    lines = [texts.ui("test_body", lang, when=when) for lang in available_languages()]
    context: dict[str, Any] = {"subject": subject, "lines": lines}

    message = EmailMessage(policy=WIRE)
    message["Subject"] = subject
    message["From"] = config.mail.sender
    message["To"] = Address(addr_spec=address)
    message["Date"] = format_datetime(local_now)
    message["Message-ID"] = message_id_for(f"test-{digest}", config.mail.sender)
    message["List-Id"] = list_id(config.feed.public_url)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    with use_locale("en"):
        return _finish(
            message,
            _render("test.txt.j2", context),
            _render("test.html.j2", context),
            key_material=digest,
        )


# -- office emails: escalations and digests -----------------------------------------

#: Delivery results (``deliveries.result``) -> their UI string.
_RESULT_TEXTS = {"sent": "result_sent", "retry": "result_retry", "failed": "result_failed"}


def _one_line(value: str) -> str:
    """Free text for one line of a body or table cell: no line breaks or controls."""
    cleaned = (
        " " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch
        for ch in value
        if ch not in _BIDI
    )
    return " ".join("".join(cleaned).split())


def _width(text: str) -> int:
    """Columns ``text`` takes in a monospaced font: CJK counts two, combining marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in {"W", "F"} else 1
    return width


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as aligned plain-text lines, with the header underlined."""
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (cell + " " * (w - _width(cell)) for cell, w in zip(cells, widths, strict=True))
        return "  ".join(padded).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)]


def _as_utc(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _local_time(when: datetime, tz: ZoneInfo) -> str:
    """``2027-02-12 09:00 KST`` in ``tz``; a naive instant is taken as UTC (as stored)."""
    local = _as_utc(when).astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".rstrip()


def _when(occurrence: Occurrence, tz: ZoneInfo, lang: Language, days: int) -> tuple[str, str]:
    """The occurrence's day, or its instant in ``tz``: for a subject and for a sentence."""
    if occurrence.at is None:
        year = abs(days) > SUBJECT_YEAR_AFTER
        return (
            texts.short_date(occurrence.date, lang, year=year),
            texts.long_date(occurrence.date, lang),
        )
    local = occurrence.at.astimezone(tz)
    return texts.short_instant(local, lang), texts.long_instant(local, lang)


def _office_recipients(office: Office) -> list[Address]:
    name = display_name(office.name)
    return [Address(display_name=name, addr_spec=address) for address in office.email]


def _office_headers(
    message: EmailMessage, config: Config, office: Office, subject: str, key: str, now: datetime
) -> None:
    message["Subject"] = subject
    message["From"] = config.mail.sender
    message["To"] = _office_recipients(office)
    message["Date"] = format_datetime(now.astimezone(office_zone(config, office)))
    message["Message-ID"] = message_id_for(key, config.mail.sender)
    message["X-Staywatch-Key"] = header_text(key)
    message["List-Id"] = list_id(config.feed.public_url)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"


def _delivery_line(delivery: DeliveryRow, tz: ZoneInfo, lang: str) -> dict[str, str | None]:
    """One delivery attempt for the history: when (office time), what happened, the reply."""
    name = _RESULT_TEXTS.get(delivery.result)
    result = texts.ui(name, lang) if name else _one_line(delivery.result)
    reply = None
    if delivery.result != "sent":
        said = _one_line(delivery.reply or "")
        if delivery.code is not None and not said.startswith(str(delivery.code)):
            said = f"{delivery.code} {said}".rstrip()
        if said:
            reply = texts.ui("server_reply", lang, reply=said)
    when = _local_time(delivery.at, tz)
    return {
        "when": when,
        "result": result,
        "reply": reply,
        "line": texts.labelled(when, result, lang),
    }


def render_escalation(
    config: Config,
    office: Office,
    person: Person,
    occurrence: Occurrence,
    escalation: Reminder,
    *,
    now: datetime,
    history: Sequence[DeliveryRow],
    ack_url: str | None,
    dashboard_url: str | None,
) -> EmailMessage:
    """The one email telling ``office`` that ``person`` has not acknowledged ``occurrence``.

    In the office's language and time zone. It names the person and the deadline,
    lists every delivery attempt of the person's reminders (``history``), what the
    person has to do, and the acknowledge and dashboard links (either may be None
    to leave it out). ``now`` is when it is sent (aware); the Message-ID comes
    from ``escalation.key``, so a resend is recognisable.
    """
    require_aware(now)
    with use_locale(office.language) as lang:
        return _render_escalation(
            config,
            office,
            person,
            occurrence,
            escalation,
            lang,
            now=now,
            history=history,
            ack_url=ack_url,
            dashboard_url=dashboard_url,
        )


def _render_escalation(
    config: Config,
    office: Office,
    person: Person,
    occurrence: Occurrence,
    escalation: Reminder,
    lang: Language,
    *,
    now: datetime,
    history: Sequence[DeliveryRow],
    ack_url: str | None,
    dashboard_url: str | None,
) -> EmailMessage:
    office_tz = office_zone(config, office)
    person_today = now.astimezone(config.zone_of(person)).date()
    deadline = _deadline_of(person, occurrence.deadline)
    kind = occurrence.texts_key
    title = occurrence.title if kind == "custom" else None
    days = (occurrence.date - person_today).days
    past = days < 0 or (occurrence.at is not None and now > occurrence.at)

    when_short, when_long = _when(occurrence, office_tz, lang, days)

    name = _one_line(person.name)
    what_short = texts.headline(
        kind,
        lang,
        when=when_short,
        past=past,
        covers=occurrence.covers,
        title=header_text(title) if title else None,
    )
    subject = header_text(
        texts.ui(
            "escalation_subject_overdue" if past else "escalation_subject",
            lang,
            name=header_text(person.name),
            what=what_short,
            countdown=texts.countdown(days, lang, expiry=texts.is_expiry(kind)),
        )
    )
    closed = None
    if occurrence.closed is not None and not past:
        last_open = BusinessCalendar.for_config(config).last_business_day_before(occurrence.date)
        closed = texts.closed_notice(kind, occurrence.date, occurrence.closed, last_open, lang)
    autopay = isinstance(deadline, NhisPremium) and deadline.autopay
    attempts = sorted(history, key=lambda d: (_as_utc(d.at), d.id))
    office_name = _one_line(office.name)
    headline = texts.headline(
        kind,
        lang,
        when=when_long,
        past=past,
        covers=occurrence.covers,
        title=title,
        short=False,
    )
    overdue = None
    if past:
        overdue = texts.overdue_advice(kind, lang, office=True) or texts.ui(
            "escalation_overdue", lang
        )
    context: dict[str, Any] = {
        "lang": lang,
        "subject": subject,
        "greeting": texts.ui("office_greeting", lang, office=office_name),
        "intro": texts.ui(
            "escalation_intro_overdue" if past else "escalation_intro", lang, name=name
        ),
        "who": texts.labelled(texts.ui("who", lang), texts.with_id(name, person.id, lang), lang),
        "who_value": texts.with_id(name, person.id, lang),
        "emails": texts.labelled(texts.ui("email_label", lang), ", ".join(person.email), lang),
        "emails_value": ", ".join(person.email),
        "lead": texts.sentences(
            texts.sentence(headline, lang), texts.countdown_sentence(days, lang), lang
        ),
        "closed": closed,
        "overdue": overdue,
        "note": texts.ui("note", lang, note=occurrence.note.strip()) if occurrence.note else None,
        "history": [_delivery_line(d, office_tz, lang) for d in attempts],
        "advice": texts.advice(kind, lang, autopay=autopay, office=True, past=past),
        "ack_url": ack_url,
        "dashboard_url": dashboard_url,
        "their_steps": texts.ui("their_steps", lang, name=name),
        "contact": _contact(occurrence.kind, lang),
        "footer": texts.ui(
            "escalation_footer", lang, key=escalation.key, office=office_name, name=name
        ),
    }

    message = EmailMessage(policy=WIRE)
    _office_headers(message, config, office, subject, escalation.key, now)
    _finish(
        message,
        _render("escalation.txt.j2", context),
        _render("escalation.html.j2", context),
        key_material=escalation.key,
    )
    message["Content-Language"] = lang
    return message


def digest_key(content: DigestContent) -> str:
    """The key of a digest: ``digest/{office}/{period:%Y-%m-%dT%H:%M}``."""
    return f"digest/{content.office.id}/{content.period:%Y-%m-%dT%H:%M}"


def _row_what(row: OfficeRow, lang: str) -> str:
    what = _one_line(row.what)
    if row.covers:
        what = texts.covered_month(what, row.covers, lang)
    return what


def _occurrence_cells(rows: Sequence[OfficeRow], lang: str) -> list[list[str]]:
    return [
        [
            _one_line(row.name),
            _row_what(row, lang),
            row.date.isoformat(),
            texts.days_left_phrase(row.days_left, lang),
            texts.status_label(row.status, lang),
        ]
        for row in rows
    ]


def _acknowledged_cells(
    config: Config, items: Sequence[tuple[str, datetime, str]], tz: ZoneInfo, lang: str
) -> list[list[str]]:
    """(occurrence, when, by) -> name, what, date, when, by; the key when it is not resolvable."""
    out: list[list[str]] = []
    for occurrence, when, by in items:
        base = base_occurrence(occurrence)
        parts = base.split("/")
        name, what, day = base, "", ""
        if len(parts) == 3:
            person = config.person(parts[0])
            deadline = _deadline_of(person, parts[1]) if person is not None else None
            if person is not None and deadline is not None:
                name = _one_line(person.name)
                what = _one_line(texts.kind_name(deadline.kind, lang, deadline.title))
                day = parts[2]
        out.append([_one_line(name), what, day, _local_time(when, tz), _one_line(by)])
    return out


def _failure_entries(
    config: Config, office: Office, rows: Sequence[ReminderRow], lang: str
) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for row in rows:
        person = config.person(row.person)
        target = escalation_office(row.occurrence)
        addresses: tuple[str, ...] = ()
        if target is not None:
            escalated = config.office(target) if target != office.id else office
            addresses = escalated.email if escalated is not None else ()
        elif person is not None:
            addresses = person.email
        what = ""
        deadline = _deadline_of(person, row.deadline) if person is not None else None
        if deadline is not None:
            what = texts.kind_name(deadline.kind, lang, deadline.title)
        name = _one_line(person.name if person is not None else row.person)
        what = _one_line(what)
        out.append(
            {
                "name": name,
                "what": what,
                "title": texts.listed(name, what, lang) if what else name,
                "date": row.occurrence_date.isoformat(),
                "key": _one_line(row.key),
                "addresses": ", ".join(addresses),
                "reply": _one_line(row.last_error or row.reason or ""),
            }
        )
    return out


def render_digest(
    config: Config, content: DigestContent, *, now: datetime, dashboard_url: str | None
) -> EmailMessage:
    """An office's digest email, in its language, most urgent first.

    Sections, each left out when empty: overdue, due within ``digest_days``,
    acknowledged since the last digest, reminders that could not be delivered,
    config changes; then the dashboard link (None leaves it out). The
    Message-ID and ``X-Staywatch-Key`` come from :func:`digest_key`.
    """
    require_aware(now)
    with use_locale(content.office.language) as lang:
        return _render_digest(config, content, lang, now=now, dashboard_url=dashboard_url)


def _render_digest(
    config: Config,
    content: DigestContent,
    lang: Language,
    *,
    now: datetime,
    dashboard_url: str | None,
) -> EmailMessage:
    office = content.office
    tz = office_zone(config, office)
    key = digest_key(content)
    office_name = _one_line(office.name)
    days = office.digest_days
    subject = header_text(
        texts.ui(
            "digest_subject",
            lang,
            office=header_text(office.name),
            counts=texts.digest_counts(
                len(content.overdue), len(content.upcoming), days, len(content.failures), lang
            ),
        )
    )
    columns = [texts.ui(f"col_{c}", lang) for c in ("name", "what", "date", "due", "status")]
    ack_columns = [texts.ui(f"col_{c}", lang) for c in ("name", "what", "date", "when", "by")]
    change_columns = [texts.ui(f"col_{c}", lang) for c in ("when", "change")]
    suffix = "" if content.since is not None else "_all"

    sections: list[dict[str, Any]] = []

    def table(name: str, header: list[str], cells: list[list[str]], layout: str) -> None:
        if cells:
            sections.append(
                {
                    "title": texts.counted(name, len(cells), lang),
                    "layout": layout,
                    "header": header,
                    "rows": cells,
                    "lines": _text_table(header, cells),
                }
            )

    table(
        texts.ui("section_overdue", lang),
        columns,
        _occurrence_cells(content.overdue, lang),
        "occurrences",
    )
    table(
        texts.ui("section_upcoming", lang, period=texts.next_days(days, lang)),
        columns,
        _occurrence_cells(content.upcoming, lang),
        "occurrences",
    )
    table(
        texts.ui(f"section_acknowledged{suffix}", lang),
        ack_columns,
        _acknowledged_cells(config, content.acknowledged, tz, lang),
        "acknowledged",
    )
    failures = _failure_entries(config, office, content.failures, lang)
    if failures:
        sections.append(
            {
                "title": texts.counted(texts.ui("section_failures", lang), len(failures), lang),
                "layout": "failures",
                "explain": texts.ui("failures_explain", lang),
                "failures": failures,
            }
        )
    table(
        texts.ui(f"section_changes{suffix}", lang),
        change_columns,
        [
            [_local_time(when, tz), _one_line(texts.change_line(change, lang))]
            for when, change in content.changes
        ],
        "changes",
    )

    period = content.period.astimezone(tz)
    context: dict[str, Any] = {
        "lang": lang,
        "subject": subject,
        "title": texts.ui(
            "digest_title", lang, office=office_name, date=texts.long_date(period.date(), lang)
        ),
        "since": (
            texts.ui("digest_since", lang, since=_local_time(content.since, tz))
            if content.since is not None
            else None
        ),
        "sections": sections,
        "nothing": None if sections else texts.ui("digest_nothing", lang),
        "dashboard_url": dashboard_url,
        "footer": texts.ui("digest_footer", lang, key=key, office=office_name),
    }

    message = EmailMessage(policy=WIRE)
    _office_headers(message, config, office, subject, key, now)
    _finish(
        message,
        _render("digest.txt.j2", context),
        _render("digest.html.j2", context),
        key_material=key,
    )
    message["Content-Language"] = lang
    return message
