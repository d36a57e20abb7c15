from __future__ import annotations

import string
from datetime import date, datetime
from zoneinfo import ZoneInfo

import holidays
import pytest

from service import texts
from service.config import KINDS
from service.texts import (
    KIND_TEXTS,
    LANGUAGES,
    UI,
    action_label,
    advice,
    closed_notice,
    consequence,
    countdown,
    countdown_sentence,
    day_off,
    days_left_phrase,
    headline,
    kind_name,
    long_date,
    long_instant,
    month_label,
    moved_notice,
    reason_label,
    ui,
    what_it_is,
    window_label,
)

CHECK = {
    "en": "Check HiKorea or call 1345 (immigration) / 1577-1000 (NHIS).",
    "ko": "1345",
    "zh": "1345",
}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


#: Texts of the occurrences that read differently from their kind's (Occurrence.texts_key).
VARIANTS = {"registration_change:passport", "workplace_change:permit"}


def test_every_kind_has_every_language() -> None:
    assert set(KIND_TEXTS) == set(KINDS) | VARIANTS
    for kind, by_language in KIND_TEXTS.items():
        assert set(by_language) == set(LANGUAGES), kind


@pytest.mark.parametrize("kind", sorted({*KINDS, *VARIANTS} - {"custom"}))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_built_in_kinds_explain_themselves(kind: str, lang: str) -> None:
    assert what_it_is(kind, lang)
    assert consequence(kind, lang)
    steps = advice(kind, lang)
    assert len(steps) >= 2
    assert CHECK[lang] in steps[-1]
    assert "1577-1000" in steps[-1]
    if lang != "en":
        # Not English left behind by mistake: the sentences are in the language.
        assert not any(step.isascii() for step in steps)


@pytest.mark.parametrize("kind", sorted({*KINDS, *VARIANTS}))
def test_templates_use_the_same_placeholders_in_every_language(kind: str) -> None:
    by_language = KIND_TEXTS[kind]
    for attribute in ("due", "past", "action"):
        fields = {lang: _fields(getattr(by_language[lang], attribute)) for lang in LANGUAGES}
        assert fields["en"] == fields["ko"] == fields["zh"], (kind, attribute)


@pytest.mark.parametrize("name", sorted(UI))
def test_ui_strings_exist_in_every_language_with_the_same_placeholders(name: str) -> None:
    assert set(UI[name]) == set(LANGUAGES)
    fields = {lang: _fields(UI[name][lang]) for lang in LANGUAGES}
    assert fields["en"] == fields["ko"] == fields["zh"]


@pytest.mark.parametrize(
    ("lang", "name"),
    [
        ("en", "Period of stay (visa) expiry"),
        ("ko", "체류기간 만료"),
        ("zh", "居留期限到期"),
    ],
)
def test_kind_names(lang: str, name: str) -> None:
    assert kind_name("stay_expiry", lang) == name


def test_custom_deadlines_use_their_title() -> None:
    assert kind_name("custom", "ko", "Top up prepaid SIM") == "Top up prepaid SIM"
    assert kind_name("custom", "en") == "Personal deadline"
    assert advice("custom", "en") == []
    assert what_it_is("custom", "zh") is None
    assert headline("custom", "en", when="2027-01-01", title="Top up SIM") == (
        "Top up SIM due 2027-01-01"
    )


def test_unknown_language_falls_back_to_english() -> None:
    assert kind_name("passport_expiry", "fr") == "Passport expiry"
    assert ui("what_to_do", "") == "What to do"


@pytest.mark.parametrize(
    ("kind", "lang", "label"),
    [
        ("stay_expiry", "en", "Extension window open"),
        ("arc_registration", "en", "Registration window open"),
        ("address_report", "en", "Address report window open"),
        ("stay_expiry", "ko", "체류기간 연장 신청 기간"),
        ("address_report", "zh", "可申报居留地变更"),
        ("arc_expiry", "en", None),
        ("nhis_premium", "ko", None),
        ("passport_expiry", "zh", None),
        ("custom", "en", None),
    ],
)
def test_window_labels(kind: str, lang: str, label: str | None) -> None:
    assert window_label(kind, lang) == label


@pytest.mark.parametrize(
    ("days", "en", "ko", "zh"),
    [
        (30, "in 30 days", "30일 후", "30天后"),
        (2, "in 2 days", "2일 후", "2天后"),
        (1, "tomorrow", "내일", "明天"),
        (0, "today", "오늘", "今天"),
        (-1, "1 day overdue", "1일 지남", "已逾期1天"),
        (-7, "7 days overdue", "7일 지남", "已逾期7天"),
    ],
)
def test_days_left_phrase(days: int, en: str, ko: str, zh: str) -> None:
    assert [days_left_phrase(days, lang) for lang in LANGUAGES] == [en, ko, zh]


@pytest.mark.parametrize(
    ("days", "en", "ko", "zh"),
    [
        (30, "30 days left", "30일 남음", "还剩30天"),
        (1, "tomorrow", "내일 마감", "明天截止"),
        (0, "today", "오늘 마감", "今天截止"),
        (-3, "3 days overdue", "3일 지남", "已逾期3天"),
    ],
)
def test_countdown(days: int, en: str, ko: str, zh: str) -> None:
    assert [countdown(days, lang) for lang in LANGUAGES] == [en, ko, zh]


@pytest.mark.parametrize(
    ("days", "en"),
    [
        (14, "That is 14 days from today."),
        (1, "That is tomorrow."),
        (0, "That is today."),
        (-1, "That was 1 day ago."),
        (-2, "That was 2 days ago."),
    ],
)
def test_countdown_sentence(days: int, en: str) -> None:
    assert countdown_sentence(days, "en") == en


@pytest.mark.parametrize(
    ("kind", "lang", "covers", "title", "label"),
    [
        ("nhis_premium", "en", "2027-01", None, "Mark NHIS premium for 2027-01 as paid"),
        ("nhis_premium", "ko", "2027-01", None, "2027년 1월분 건강보험료 납부 완료로 표시"),
        ("nhis_premium", "zh", "2027-01", None, "将2027年1月的健康保险费标记为已缴纳"),
        (
            "stay_expiry",
            "en",
            None,
            None,
            "Mark the visa (period of stay) ending 2026-12-28 as handled",
        ),
        ("custom", "en", None, "Top up SIM", "Mark “Top up SIM” (2026-12-28) as done"),
        ("custom", "zh", None, "Top up SIM", "将“Top up SIM”（2026-12-28）标记为已完成"),
    ],
)
def test_action_label(
    kind: str, lang: str, covers: str | None, title: str | None, label: str
) -> None:
    assert action_label(kind, lang, date(2026, 12, 28), covers, title=title) == label


def test_headlines_switch_tense_once_the_date_has_passed() -> None:
    assert headline("stay_expiry", "en", when="2027-03-14") == (
        "Visa (period of stay) expires 2027-03-14"
    )
    assert headline("stay_expiry", "en", when="2027-03-14", past=True) == (
        "Visa (period of stay) expired 2027-03-14"
    )
    assert headline("nhis_premium", "ko", when="2026-12-28", covers="2027-01") == (
        "2027년 1월분 건강보험료 납부 기한은 2026-12-28입니다"
    )
    assert headline("arc_registration", "zh", when="2027-03-14", past=True) == (
        "外国人登录期限2027-03-14已过"
    )


def test_nhis_autopay_advice() -> None:
    steps = advice("nhis_premium", "en", autopay=True)
    assert steps[0].startswith("Auto-debit is set up")
    assert steps[-1] == CHECK["en"]
    assert not any("Pay in The건강보험 app" in step for step in steps)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Sunday, 14 March 2027"),
        ("ko", "2027년 3월 14일(일)"),
        ("zh", "2027年3月14日（星期日）"),
    ],
)
def test_long_date(lang: str, expected: str) -> None:
    assert long_date(date(2027, 3, 14), lang) == expected


def test_long_instant() -> None:
    when = datetime(2027, 1, 5, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    assert long_instant(when, "en") == "Tuesday, 5 January 2027, 10:00 KST"
    assert long_instant(when, "ko") == "2027년 1월 5일(화) 10:00 KST"


@pytest.mark.parametrize(
    ("lang", "expected"), [("en", "January 2027"), ("ko", "2027년 1월"), ("zh", "2027年1月")]
)
def test_month_label(lang: str, expected: str) -> None:
    assert month_label("2027-01", lang) == expected


@pytest.mark.parametrize(
    ("reason", "ko", "zh"),
    [
        ("Sunday", "일요일", "星期日"),
        ("Chuseok", "추석", "中秋节"),
        ("Alternative holiday for Chuseok", "추석 대체공휴일", "中秋节补休日"),
        ("Chuseok; National Foundation Day", "추석, 개천절", "中秋节、开天节"),
        ("extra holiday", "휴일", "休息日"),
        ("Some New Holiday", "공휴일", "公休日"),
    ],
)
def test_reason_label(reason: str, ko: str, zh: str) -> None:
    assert reason_label(reason, "ko") == ko
    assert reason_label(reason, "zh") == zh
    assert reason_label(reason, "en") == ("holiday" if reason == "extra holiday" else reason)


def test_every_korean_holiday_name_is_translated() -> None:
    names: set[str] = set()
    for year in range(2020, 2031):
        names.update(holidays.country_holidays("KR", years=year, language="en_US").values())
    for name in names:
        for lang in ("ko", "zh"):
            assert reason_label(name, lang) not in {"공휴일", "公休日"}, name


def test_closed_and_moved_notices() -> None:
    sunday, friday = date(2027, 3, 14), date(2027, 3, 12)
    assert closed_notice(sunday, "Sunday", friday, "en") == (
        "Immigration offices and HiKorea online applications are closed on Sunday, "
        "14 March 2027. The last business day before it is Friday, 12 March 2027: act by then."
    )
    assert "2027년 3월 12일(금)까지" in closed_notice(sunday, "Sunday", friday, "ko")
    christmas, monday = date(2026, 12, 25), date(2026, 12, 28)
    assert moved_notice(christmas, monday, "Christmas Day", "en") == (
        "Friday, 25 December 2026 (Christmas Day) is a day off, so the deadline moves to "
        "Monday, 28 December 2026."
    )
    assert moved_notice(christmas, monday, "Christmas Day", "ko") == (
        "휴일이라 기한이 바뀌었습니다: 2026년 12월 25일(금, 성탄절) → 2026년 12월 28일(월)"
    )
    assert day_off(christmas, "Christmas Day", "zh") == "2026年12月25日（星期五，圣诞节）"


def test_ui_fills_values() -> None:
    assert ui("greeting", "ko", name="Wang Fang") == "Wang Fang 님, 안녕하세요."
    assert ui("note", "zh", note="D-10") == "备注：D-10"
    with pytest.raises(KeyError):
        ui("no such string", "en")


def test_language_helper() -> None:
    assert [texts.language(v) for v in ("en", "ko", "zh", "ja", None)] == [
        "en",
        "ko",
        "zh",
        "en",
        "en",
    ]
