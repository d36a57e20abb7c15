"""Subjects arrive exactly as written, in every language and at every length.

A reader joins RFC 2047 encoded words and drops the folding white space between
them, so a space left between two words is lost. These tests read the bytes
staywatch writes the way mail clients do.
"""

from __future__ import annotations

import email
from datetime import date
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.config import parse_config
from service.kinds import LANGUAGES
from service.mailwire import message_bytes
from service.plan import plan
from service.render import header_text, render_reminder
from service.transport import MaildirTransport, seal
from tests.unit.test_render_kinds import CONFIG as KINDS_CONFIG

_WORD_CHARS = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs"))
#: Words of any script joined by single spaces, made header-safe the way render
#: makes every subject (header_text breaks up text shaped like "=?utf-8?b?...?=",
#: which every reader would otherwise decode as an RFC 2047 encoded word).
HEADER_TEXT = (
    st.lists(st.text(alphabet=_WORD_CHARS, min_size=1, max_size=12), min_size=1, max_size=25)
    .map(" ".join)
    .map(header_text)
)


def _subject_after_wire(subject: str, linesep: str = "\r\n") -> tuple[str, str, bytes]:
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = subject
    message["To"] = "a@example.org"
    message.set_content("x")
    data = message_bytes(message, linesep=linesep)
    parsed = email.message_from_bytes(data, policy=policy.default)
    raw = email.message_from_bytes(data, policy=policy.compat32)["Subject"]
    strict = str(make_header(decode_header(raw)))
    return str(parsed["Subject"]), strict, data


@settings(max_examples=300, deadline=None)
@given(HEADER_TEXT)
def test_any_subject_comes_back_exactly(subject: str) -> None:
    parsed, strict, data = _subject_after_wire(subject)
    assert parsed == strict == subject
    if not subject.isascii():
        head = data.split(b"\r\n\r\n", 1)[0]
        assert all(len(line) <= 78 for line in head.split(b"\r\n"))


@pytest.mark.parametrize("text", ["=??B??=", "=?utf-8?b?SGk=?= x", "Kim =?utf-8?q?=0D=0ABcc:_x?="])
def test_text_shaped_like_an_encoded_word_arrives_as_text_not_decoded(text: str) -> None:
    subject = header_text(text)
    parsed, strict, _ = _subject_after_wire(subject)
    assert parsed == strict == subject
    assert "\n" not in parsed
    assert "=?" not in parsed
    assert parsed.replace(" ", "") == text.replace(" ", "")


@pytest.mark.parametrize("linesep", ["\r\n", "\n"])
def test_the_space_between_korean_words_survives_folding(linesep: str) -> None:
    subject = "기한 지남: Wang Fang 님, 체류기간 만료 3월 14일(일) (1일 지남)"
    parsed, strict, _ = _subject_after_wire(subject, linesep)
    assert parsed == strict == subject


def _every_kind_rendered(lang: str, per_occurrence: int | None = None) -> list[EmailMessage]:
    """The reminders of a person with one deadline of every kind, rendered in ``lang``."""
    config = parse_config(
        KINDS_CONFIG.replace('language = "en"', f'language = "{lang}"'), "staywatch.toml"
    )
    person = config.person("bishnu-tamang")
    assert person is not None
    messages = []
    for occurrence in plan(config, date(2026, 1, 1), date(2028, 12, 31), people=[person.id]):
        for reminder in occurrence.reminders[:per_occurrence]:
            messages.append(
                render_reminder(
                    config,
                    person,
                    occurrence,
                    reminder,
                    now=reminder.due,
                    ack_url="https://staywatch.example.org/act/t",
                    feed_url="https://staywatch.example.org/calendar/t.ics",
                )
            )
    return messages


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_every_reminder_subject_of_every_kind_arrives_as_rendered(lang: str) -> None:
    messages = _every_kind_rendered(lang)
    for message in messages:
        back = email.message_from_bytes(message_bytes(message), policy=policy.default)
        assert back["Subject"] == message["Subject"], message["X-Staywatch-Key"]
    assert len(messages) > 20


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
async def test_a_message_sealed_ahead_lands_in_the_maildir_byte_for_byte(
    lang: str, tmp_path: Path
) -> None:
    """Reminders rendered ahead of a burst are kept as SMTP bytes; the Maildir file is the same."""
    messages = _every_kind_rendered(lang, per_occurrence=2)
    direct, sealed = MaildirTransport(tmp_path / "direct"), MaildirTransport(tmp_path / "sealed")
    for message in messages:
        await direct.send(message)
        await sealed.send(seal(message))

    def files(root: Path) -> list[bytes]:
        return sorted(p.read_bytes() for p in (root / "new").iterdir())

    assert len(messages) > 10
    assert files(tmp_path / "direct") == files(tmp_path / "sealed")
    assert len(files(tmp_path / "sealed")) == len(messages)
