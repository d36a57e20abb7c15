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
from datetime import date, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from service import texts
from service.clock import require_aware
from service.config import Config, Deadline, NhisPremium, Person
from service.plan import Occurrence, Reminder
from service.rules import BusinessCalendar

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


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Autoescape only the HTML templates: the text part must show "<" and "&" as typed.
    return Environment(
        loader=PackageLoader("service", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(name: str, context: dict[str, Any]) -> str:
    return _environment().get_template(name).render(context)


def _deadline_of(person: Person, deadline_id: str) -> Deadline | None:
    for deadline in person.deadlines:
        if deadline.id == deadline_id:
            return deadline
    return None


def _sentence(text: str, lang: str) -> str:
    end = "。" if texts.language(lang) == "zh" else "."
    return text if text.endswith((".", "。", "!", "?")) else text + end


def _parenthesised(text: str, lang: str) -> str:
    return f"（{text}）" if texts.language(lang) == "zh" else f"({text})"


def _subject(head: str, tail: str, lang: str) -> str:
    lang_ = texts.language(lang)
    if lang_ == "zh":
        return f"{head}（{tail}）"
    if lang_ == "ko":
        return f"{head} ({tail})"
    return f"{head} — {tail}"


def _recipients(person: Person) -> list[Address]:
    name = header_text(person.name)
    return [Address(display_name=name, addr_spec=address) for address in person.email]


def _finish(message: EmailMessage, text: str, html: str, *, key_material: str) -> EmailMessage:
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    # A boundary from the content instead of a random one keeps rendering
    # byte-for-byte deterministic; a hash of the parts cannot occur inside them.
    digest = hashlib.sha256((key_material + text + html).encode("utf-8")).hexdigest()
    message.set_boundary(f"==staywatch-{digest[:32]}")
    return message


def render_reminder(
    config: Config,
    person: Person,
    occurrence: Occurrence,
    reminder: Reminder,
    *,
    now: datetime,
    ack_url: str | None,
    feed_url: str | None,
) -> EmailMessage:
    """The reminder email for one planned reminder, in the person's language.

    ``now`` is when it is sent (aware): it sets the Date header and the number of
    days left. ``ack_url`` is the signed "I have done this" link and ``feed_url``
    the person's calendar; either may be None to leave that part out.
    """
    require_aware(now)
    lang = texts.language(person.language)
    tz = config.zone_of(person)
    local_now = now.astimezone(tz)
    deadline = _deadline_of(person, occurrence.deadline)
    kind = occurrence.kind
    title = occurrence.title if kind == "custom" else None
    days = (occurrence.date - local_now.date()).days
    # An ``at`` reminder at the instant itself still reads "due", not "was due".
    past = days < 0 or (occurrence.at is not None and now > occurrence.at)

    if occurrence.at is not None:
        local_at = occurrence.at.astimezone(tz)
        when_short = f"{local_at:%Y-%m-%d %H:%M} {local_at.tzname() or ''}".rstrip()
        when_long = texts.long_instant(local_at, lang)
    else:
        when_short = occurrence.date.isoformat()
        when_long = texts.long_date(occurrence.date, lang)

    last_open: date | None = None
    if occurrence.closed is not None:
        last_open = BusinessCalendar.for_config(config).last_business_day_before(occurrence.date)

    subject_title = header_text(title) if title else None
    head = texts.headline(
        kind, lang, when=when_short, past=past, covers=occurrence.covers, title=subject_title
    )
    if reminder.closed_notice and last_open is not None and not past:
        tail = texts.ui("closed_subject", lang, last_open=last_open.isoformat())
    else:
        tail = texts.countdown(days, lang)
    subject = header_text(_subject(head, tail, lang))

    autopay = isinstance(deadline, NhisPremium) and deadline.autopay
    window = None
    label = texts.window_label(kind, lang)
    if label and occurrence.window_start is not None:
        window = texts.ui(
            "window",
            lang,
            label=label,
            start=texts.long_date(occurrence.window_start, lang),
            end=texts.long_date(occurrence.date, lang),
        )
    notices = {
        "covers": (
            texts.ui("covers", lang, month=texts.month_label(occurrence.covers, lang))
            if occurrence.covers
            else None
        ),
        "moved": (
            texts.moved_notice(
                occurrence.nominal, occurrence.date, occurrence.moved[0].reason, lang
            )
            if occurrence.moved
            else None
        ),
        "closed": (
            texts.closed_notice(occurrence.date, occurrence.closed, last_open, lang)
            if occurrence.closed is not None and last_open is not None
            else None
        ),
        "overdue": texts.ui("overdue", lang) if past else None,
        "note": texts.ui("note", lang, note=occurrence.note.strip()) if occurrence.note else None,
    }
    context: dict[str, Any] = {
        "lang": lang,
        "subject": subject,
        "greeting": texts.ui("greeting", lang, name=person.name),
        "headline": _sentence(
            texts.headline(
                kind, lang, when=when_long, past=past, covers=occurrence.covers, title=title
            ),
            lang,
        ),
        "countdown": ("" if lang == "zh" else " ") + texts.countdown_sentence(days, lang),
        **notices,
        "notices": [text for text in notices.values() if text],
        "what": texts.what_it_is(kind, lang),
        "consequence": texts.consequence(kind, lang),
        "advice": texts.advice(kind, lang, autopay=autopay),
        "window": window,
        "ack_url": ack_url,
        "feed_url": feed_url,
        "labels": {
            key: texts.ui(key, lang)
            for key in (
                "what_is",
                "if_missed",
                "what_to_do",
                "ack_intro",
                "ack_button",
                "ack_explain",
                "calendar_intro",
                "calendar_link",
            )
        },
        "ack_note": _parenthesised(texts.ui("ack_explain", lang), lang),
        "footer": texts.ui("footer", lang, key=reminder.key),
    }

    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = subject
    message["From"] = config.mail.sender
    message["To"] = _recipients(person)
    if deadline is not None and deadline.recipients:
        message["Cc"] = [Address(addr_spec=address) for address in deadline.recipients]
    message["Date"] = format_datetime(local_now)
    message["Message-ID"] = message_id_for(reminder.key, config.mail.sender)
    message["X-Staywatch-Key"] = header_text(reminder.key)
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


def render_test(config: Config, address: str, *, now: datetime) -> EmailMessage:
    """The message ``staywatch send-test ADDRESS`` sends, in all three languages.

    The Korean and Chinese lines show at a glance whether UTF-8 survives the
    whole path to the mailbox.
    """
    require_aware(now)
    local_now = now.astimezone(ZoneInfo(config.service.timezone))
    when = f"{local_now:%Y-%m-%d %H:%M} {local_now.tzname() or ''}".rstrip()
    digest = hashlib.sha256(f"{address}|{now.isoformat()}".encode()).hexdigest()[:20]
    subject = texts.ui("test_subject", "en")
    lines = [texts.ui("test_body", lang, when=when) for lang in texts.LANGUAGES]
    context: dict[str, Any] = {"subject": subject, "lines": lines}

    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = subject
    message["From"] = config.mail.sender
    message["To"] = Address(addr_spec=address)
    message["Date"] = format_datetime(local_now)
    message["Message-ID"] = message_id_for(f"test-{digest}", config.mail.sender)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    return _finish(
        message,
        _render("test.txt.j2", context),
        _render("test.html.j2", context),
        key_material=digest,
    )
