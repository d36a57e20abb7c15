"""The texts channels send (service.render): ``short`` and ``full``.

short: the email's subject as title; one line with what, date and days left
in the person's language, one with the acknowledge link, and the subscribe
page once, in the first reminder of an occurrence. full: the subject and the
email's text part, unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from service.config import Config
from service.plan import Occurrence
from service.render import plain_text, render_channel_test, render_reminder_short
from tests.fixtures.mail import text_of
from tests.unit.test_render import ACK, FEED, _find, _render, config, occurrences

__all__ = ["config", "occurrences"]  # fixtures, used by name below

NOW = datetime(2027, 2, 10, 0, 0, tzinfo=UTC)  # 09:00 in Seoul, 30 days before 2027-03-12


def _short(config: Config, occurrences: tuple[Occurrence, ...], person: str, offset: str):  # type: ignore[no-untyped-def]
    who, occurrence, reminder = _find(config, occurrences, person, "visa", offset)
    return render_reminder_short(
        config, who, occurrence, reminder, now=reminder.due, ack_url=ACK, feed_url=FEED
    ), _render(config, who, occurrence, reminder, now=reminder.due)


def test_short_in_chinese_has_what_date_days_left_and_the_link(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    short, email = _short(config, occurrences, "wang-fang", "P30D")
    assert short.title == email["Subject"]
    lines = short.body.split("\n")
    assert len(lines) == 2, short.body
    assert "滞留期间" in lines[0]
    assert "2027" in lines[0]
    assert "30" in lines[0]
    assert lines[1].endswith(ACK)
    assert lines[1].startswith("已经办好了吗")
    assert "/calendar/" not in short.body


def test_short_in_korean(config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    short, email = _short(config, occurrences, "tran-thi-mai", "P30D")
    assert short.title == email["Subject"]
    first, link = short.body.split("\n")
    assert "체류기간" in first
    assert "30" in first
    assert link == f"이미 처리하셨다면 여기에서 알려 주세요: {ACK}"


def test_the_first_reminder_of_an_occurrence_links_the_subscribe_page_once(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    who, occurrence, _ = _find(config, occurrences, "nguyen-van-an", "visa", "P30D")
    texts = [
        render_reminder_short(
            config, who, occurrence, r, now=r.due, ack_url=ACK, feed_url=FEED
        ).body
        for r in occurrence.reminders
    ]
    with_page = [t for t in texts if "/calendar/" in t]
    assert with_page == [texts[0]]
    assert texts[0].split("\n")[-1] == (
        "These dates in your phone's calendar: "
        "https://staywatch.example.org/calendar/Q2FsZW5kYXJUb2tlbjEyMzQ1"
    )


def test_full_is_the_emails_text_part(config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    _, email = _short(config, occurrences, "wang-fang", "P30D")
    full = plain_text(email)
    assert full.title == email["Subject"]
    assert full.body == text_of(email).replace("\r\n", "\n").rstrip("\n")


def test_channel_test_message_has_every_language() -> None:
    text = render_channel_test(NOW, ZoneInfo("Asia/Seoul"))
    assert text.title
    assert len(text.body.split("\n")) >= 3
