"""service.i18n: the language of a rendering, catalogs, and Babel dates.

The language in force is a ContextVar: two renderings in different languages
at once (asyncio tasks of one event loop) must never borrow each other's words.
Thai dates are in the Buddhist era, which Babel does not do by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service import i18n
from service.config import parse_config
from service.feed import build_feed
from service.i18n import (
    BUDDHIST_ERA_OFFSET,
    _,
    current_language,
    format_day,
    format_list,
    format_number,
    format_percent,
    ngettext,
    pgettext,
    rendering_language,
    use_locale,
)
from service.kinds import LANGUAGES
from service.plan import plan
from service.render import render_reminder
from service.tokens import installation_id
from tests.fixtures.mail import html_of, text_of

# -- Thai: the Buddhist era ---------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("long", "วันอาทิตย์ที่ 14 มีนาคม พ.ศ. 2570"),
        ("month", "มีนาคม 2570"),
        ("numeric", "14/3/2570"),
    ],
)
def test_thai_years_are_buddhist_era_years(style: i18n.DayStyle, expected: str) -> None:
    assert format_day(date(2027, 3, 14), "th", style) == expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_every_thai_date_carries_its_buddhist_year_and_never_the_gregorian(day: date) -> None:
    for style in ("long", "month", "numeric", "short_year"):
        text = format_day(day, "th", style)  # type: ignore[arg-type]
        assert str(day.year + BUDDHIST_ERA_OFFSET) in text, (style, text)
        assert str(day.year) not in text.replace(str(day.year + BUDDHIST_ERA_OFFSET), ""), (
            style,
            text,
        )
    # The era name is Thai's own (พ.ศ.), not CLDR's "A.D." (ค.ศ.).
    assert "ค.ศ." not in format_day(day, "th", "long")


def test_other_languages_keep_gregorian_years() -> None:
    day = date(2027, 3, 14)
    for lang in LANGUAGES:
        if lang == "th":
            continue
        assert "2570" not in format_day(day, lang, "long")
        assert "2027" in format_day(day, lang, "long")


def test_thai_quoted_literals_stay_as_they_are() -> None:
    assert i18n._buddhist("d 'y' MMMM y", 2027) == "d 'y' MMMM '2570'"


# -- numbers and lists ----------------------------------------------------------------


def test_numbers_percents_and_lists_follow_the_locale() -> None:
    assert format_number(60000, "en") == "60,000"
    assert format_number(60000, "ru") == "60\xa0000"
    assert format_percent(0.2, "en") == "20%"
    assert format_list(["A", "B", "C"], "en") == "A, B and C"
    assert format_list(["A", "B"], "zh") == "A和B"
    assert format_list(["10월 10일(일)", "11일(월)"], "ko") == "10월 10일(일)·11일(월)"


# -- the language of a rendering ---------------------------------------------------------


def test_use_locale_sets_and_restores_the_language() -> None:
    assert current_language() == "en"
    with use_locale("ko") as outer:
        assert outer == "ko"
        with use_locale("zh"):
            assert current_language() == "zh"
            assert _("What to do") == "需要做什么"
        assert current_language() == "ko"
        assert _("What to do") == "해야 할 일"
    assert current_language() == "en"


@pytest.fixture
def without_catalogs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The catalogs are not there (a language shipped before its translation)."""
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.has_catalog.cache_clear()
    i18n.translations.cache_clear()
    yield
    monkeypatch.undo()
    i18n.has_catalog.cache_clear()
    i18n.translations.cache_clear()


@pytest.mark.parametrize("lang", ["vi", "ru"])
@pytest.mark.usefixtures("without_catalogs")
def test_a_language_without_a_catalog_renders_english(lang: str) -> None:
    assert rendering_language(lang) == "en"
    with use_locale(lang) as used:
        assert used == "en"
        assert _("What to do") == "What to do"
        assert ngettext("%(num)d day left", "%(num)d days left", 2) == "2 days left"
        assert pgettext("status", "overdue") == "overdue"


def test_unknown_messages_fall_back_to_the_english_id() -> None:
    with use_locale("ko"):
        assert _("A sentence nobody translated, %(name)s.", name="Ana") == (
            "A sentence nobody translated, Ana."
        )
        assert ngettext("%(num)d new thing", "%(num)d new things", 3) == "3 new things"


async def _render_in(lang: str, rounds: int, seen: list[tuple[str, str, str]]) -> None:
    for _round in range(rounds):
        with use_locale(lang) as used:
            first = _("What to do")
            await asyncio.sleep(0)  # the other task runs here, in its own language
            second = pgettext("status", "overdue")
            await asyncio.sleep(0)
            seen.append((used, first, second))


async def test_two_concurrent_renderings_keep_their_own_language() -> None:
    seen: list[tuple[str, str, str]] = []
    await asyncio.gather(_render_in("ko", 50, seen), _render_in("zh", 50, seen))
    assert set(seen) == {
        ("ko", "해야 할 일", "기한 지남"),
        ("zh", "需要做什么", "已逾期"),
    }
    assert current_language() == "en"


CONFIG = """
[[person]]
id = "mai"
name = "Mai"
email = ["mai@example.org"]
language = "ko"

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-03-12

[[person]]
id = "fang"
name = "Fang"
email = ["fang@example.org"]
language = "zh"

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-03-12
"""


async def test_concurrent_emails_through_one_template_environment_do_not_mix() -> None:
    config = parse_config(CONFIG)
    occurrences = {o.person: o for o in plan(config, date(2027, 1, 1), date(2027, 12, 31))}

    async def mail(person_id: str) -> list[str]:
        person = config.person(person_id)
        assert person is not None
        occurrence = occurrences[person_id]
        texts = []
        for reminder in occurrence.reminders:
            # Renders interleave at every await: the jinja environment is shared.
            message = await asyncio.to_thread(
                render_reminder,
                config,
                person,
                occurrence,
                reminder,
                now=reminder.due,
                ack_url="https://x/act/1",
                feed_url=None,
            )
            texts.append(text_of(message) + html_of(message))
            await asyncio.sleep(0)
        return texts

    korean, chinese = await asyncio.gather(mail("mai"), mail("fang"))
    # The acknowledge paragraph is in every one of them, before and after the date.
    assert all("이미 처리하셨다면" in t and "已经办好了吗" not in t for t in korean)
    assert all("已经办好了吗" in t and "이미 처리하셨다면" not in t for t in chinese)


@pytest.mark.parametrize("lang", ["ne", "th"])
@pytest.mark.usefixtures("without_catalogs")
def test_a_person_without_a_catalog_gets_english_mail_and_calendar(lang: str) -> None:
    config = parse_config(CONFIG.replace('language = "ko"', f'language = "{lang}"'))
    person = config.people[0]
    occurrences = plan(config, date(2027, 1, 1), date(2027, 12, 31), people=[person.id])
    for occurrence in occurrences:
        for reminder in occurrence.reminders:
            message = render_reminder(
                config,
                person,
                occurrence,
                reminder,
                now=reminder.due,
                ack_url="https://x/act/1",
                feed_url="https://x/calendar/t.ics",
            )
            assert message["Content-Language"] == "en"
            assert "What to do" in text_of(message) or reminder.overdue
            assert '<html lang="en">' in html_of(message)
    body = build_feed(
        config,
        [person],
        occurrences,
        acknowledged=set(),
        sequences={},
        stamp=datetime.fromisoformat("2027-01-01T00:00:00+00:00"),
        name="staywatch: Mai",
        language=lang,
        installation=installation_id(b"the secret of the test installation"),
    )
    assert b"SUMMARY:Visa (period of stay) expires" in body


def test_a_compiled_catalog_is_readable_by_everyone_and_an_unreadable_one_is_recompiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ko" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / "staywatch.po"
    po.write_bytes(i18n.catalog_path("ko").read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        assert i18n.translations("ko").gettext("What to do") == "해야 할 일"
        mo = folder / "staywatch.mo"
        assert mo.stat().st_mode & 0o777 == 0o644
        # A .mo this process cannot read (another user's, private): compiled again.
        i18n.translations.cache_clear()
        real_read = Path.read_bytes

        def unreadable(self: Path) -> bytes:
            if self == mo:
                raise PermissionError(13, "Permission denied", str(self))
            return real_read(self)

        monkeypatch.setattr(Path, "read_bytes", unreadable)
        assert i18n.translations("ko").gettext("What to do") == "해야 할 일"
    finally:
        monkeypatch.undo()
        i18n.translations.cache_clear()
