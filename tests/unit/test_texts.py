"""The words people read: kind texts, dates, counts and notices, in every language.

The words live in the catalogs (tests/unit/test_catalogs.py checks those); these
tests check what the texts say, as a reader would, and that every language,
with a catalog or without one, gets whole sentences.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service import texts
from service.kinds import KINDS, LANGUAGES
from service.offices import ConfigChangeRecord
from service.plan import Move
from service.rules import KIND_RULES, OFFICE_VISIT_KINDS
from service.texts import (
    action_label,
    advice,
    body_headline,
    change_line,
    closed_notice,
    consequence,
    contact_line,
    countdown,
    countdown_sentence,
    day_off,
    days_left_phrase,
    digest_counts,
    event_label,
    headline,
    kind_name,
    long_date,
    long_instant,
    month_label,
    moved_days_notice,
    moved_notice,
    overdue_advice,
    reason_label,
    status_label,
    ui,
    what_it_is,
    window_label,
    window_line,
)

#: The languages with a catalog today.
WRITTEN = texts.LANGUAGES
BUILT_IN = [k for k in KINDS if k != "custom"]


def test_english_korean_and_chinese_have_catalogs() -> None:
    assert set(WRITTEN) >= {"en", "ko", "zh"}


#: Texts of the occurrences that read differently from their kind's (Occurrence.texts_key).
VARIANTS = {
    "registration_change:passport",
    "workplace_change:permit",
    "reentry:stay",
    "reentry:exemption",
}


def test_every_kind_has_its_texts() -> None:
    assert set(texts.KIND_TEXTS) == set(KINDS) | VARIANTS


@pytest.mark.parametrize("kind", [*BUILT_IN, *sorted(VARIANTS)])
@pytest.mark.parametrize("lang", WRITTEN)
def test_built_in_kinds_explain_themselves(kind: str, lang: str) -> None:
    assert what_it_is(kind, lang)
    assert consequence(kind, lang)
    steps = advice(kind, lang)
    assert len(steps) >= 2
    if lang != "en":
        # No English left behind: every sentence is in the language. Compared with
        # the English sentences, not by script: Indonesian or Uzbek (Latin) text
        # is plain ASCII too.
        english = {what_it_is(kind, "en"), consequence(kind, "en"), *advice(kind, "en")}
        for text in (what_it_is(kind, lang), consequence(kind, lang), *steps):
            assert text is not None
            assert text not in english, text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", WRITTEN)
def test_each_kind_ends_with_its_own_contact_line(kind: str, lang: str) -> None:
    contact = KIND_RULES[kind].contact
    line = contact_line(contact, lang)
    if contact is None:
        assert line is None
    elif contact == "immigration":
        assert line is not None
        assert "www.hikorea.go.kr" in line
        assert "1345" in line
        assert "1577-1000" not in line
    elif contact == "nhis":
        assert line is not None
        assert "www.nhis.or.kr" in line
        assert "1577-1000" in line
        assert "033-811-2000" in line
        assert "1345" not in line
    elif contact == "eps":
        assert line is not None
        assert "www.eps.go.kr" in line
        assert "1350" in line
        assert "1345" in line
        assert "hikorea" not in line.lower()
        assert "1577-1000" not in line
    else:
        raise AssertionError(f"{kind}: no test for the contact {contact!r}")


def test_the_contact_lines_read_as_domain_gives_them() -> None:
    assert contact_line("immigration", "en") == (
        "HiKorea (www.hikorea.go.kr) · Immigration Contact Center 1345 (20 languages)"
    )
    assert contact_line("nhis", "en") == (
        "NHIS (www.nhis.or.kr, The건강보험 app) · 1577-1000 · foreign languages 033-811-2000"
    )
    assert contact_line("eps", "en") == (
        "EPS (www.eps.go.kr) · Employment Center · 1350 (Ministry of Employment and Labor) · 1345"
    )


@pytest.mark.parametrize(
    ("lang", "name"),
    [("en", "Period of stay (visa)"), ("ko", "체류기간"), ("zh", "滞留期间")],
)
def test_kind_names(lang: str, name: str) -> None:
    assert kind_name("stay_expiry", lang) == name


def test_the_f5_card_has_one_english_name() -> None:
    name = "Permanent Resident Card (F-5)"
    assert kind_name("arc_expiry", "en") == name
    assert event_label("arc_expiry", "en") == f"{name} expires"
    assert body_headline("arc_expiry", "en", when="x").startswith(f"Your {name} expires")
    for text in (what_it_is("arc_expiry", "en"), *advice("arc_expiry", "en")):
        assert text is not None
        assert "permanent residence card" not in text.lower()


def test_custom_deadlines_use_their_title() -> None:
    assert kind_name("custom", "ko", "Top up prepaid SIM") == "Top up prepaid SIM"
    assert kind_name("custom", "en") == "Personal deadline"
    assert advice("custom", "en") == []
    assert what_it_is("custom", "zh") is None
    assert contact_line(KIND_RULES["custom"].contact, "en") is None
    assert headline("custom", "en", when="Fri 1 Jan", title="Top up SIM") == (
        "Top up SIM due Fri 1 Jan"
    )


@pytest.mark.parametrize("lang", ["fr", "", None, "pt-BR"])
def test_an_unknown_language_reads_english(lang: str | None) -> None:
    assert texts.language(lang) == "en"
    assert kind_name("passport_expiry", lang or "") == "Passport"
    assert ui("what_to_do", lang or "") == "What to do"
    # Dates too: a Vietnamese date inside an English sentence would read as a mistake.
    assert long_date(date(2027, 3, 14), lang or "") == "Sunday, 14 March 2027"


def test_a_language_whose_catalog_is_missing_reads_english(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A new language ships before its catalog: English words and English dates.
    from service import i18n

    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.has_catalog.cache_clear()
    try:
        assert texts.language("vi") == "en"
        assert kind_name("passport_expiry", "vi") == "Passport"
        assert long_date(date(2027, 3, 14), "vi") == "Sunday, 14 March 2027"
    finally:
        monkeypatch.undo()
        i18n.has_catalog.cache_clear()
    assert texts.language("vi") == "vi"


@pytest.mark.parametrize(
    ("kind", "lang", "label"),
    [
        ("stay_expiry", "en", "Extension window open"),
        ("arc_registration", "en", "Registration window open"),
        ("address_report", "en", "Address report window open"),
        ("stay_expiry", "ko", "체류기간 연장 신청 기간"),
        ("address_report", "zh", "可申报滞留地变更"),
        ("arc_expiry", "en", None),
        ("nhis_premium", "ko", None),
        ("passport_expiry", "zh", None),
        ("custom", "en", None),
    ],
)
def test_window_labels(kind: str, lang: str, label: str | None) -> None:
    assert window_label(kind, lang) == label


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_sentence_that_already_ends_gets_no_second_end_mark(lang: str) -> None:
    for ended in ("Done.", "完成。", "Done?", "រួចរាល់។", "រួចរាល់៕"):
        assert texts.sentence(ended, lang) == ended


def test_the_window_is_a_sentence() -> None:
    start, end = date(2026, 11, 12), date(2027, 3, 12)
    assert window_line("stay_expiry", start, end, "en") == (
        "You can apply for an extension from Thursday, 12 November 2026 to Friday, 12 March 2027."
    )
    assert window_line("stay_expiry", start, end, "ko") == (
        "2026년 11월 12일(목)부터 2027년 3월 12일(금)까지 연장을 신청할 수 있습니다."
    )
    assert window_line("passport_expiry", start, end, "en") is None


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
    assert [days_left_phrase(days, lang) for lang in ("en", "ko", "zh")] == [en, ko, zh]


@pytest.mark.parametrize(
    ("days", "expiry", "en", "ko", "zh"),
    [
        (30, False, "30 days left", "D-30", "还剩30天"),
        (1, False, "1 day left", "D-1", "还剩1天"),
        (0, False, "today", "오늘 마감", "今天截止"),
        (0, True, "today", "오늘 만료", "今天到期"),
        (-3, False, "3 days overdue", "3일 지남", "已逾期3天"),
    ],
)
def test_countdown(days: int, expiry: bool, en: str, ko: str, zh: str) -> None:
    got = [countdown(days, lang, expiry=expiry) for lang in ("en", "ko", "zh")]
    assert got == [en, ko, zh]


@pytest.mark.parametrize(
    ("days", "en", "ko"),
    [
        (14, "That is 14 days from today.", "기한까지 14일 남았습니다."),
        (1, "That is tomorrow.", "바로 내일입니다."),
        (0, "That is today.", "바로 오늘입니다."),
        (-1, "That was 1 day ago.", "기한이 1일 지났습니다."),
        (-2, "That was 2 days ago.", "기한이 2일 지났습니다."),
    ],
)
def test_countdown_sentence(days: int, en: str, ko: str) -> None:
    assert countdown_sentence(days, "en") == en
    assert countdown_sentence(days, "ko") == ko


@pytest.mark.parametrize(
    ("kind", "lang", "covers", "title", "label"),
    [
        ("nhis_premium", "en", "2027-01", None, "Mark the NHIS premium for January 2027 as paid"),
        ("nhis_premium", "ko", "2027-01", None, "2027년 1월분 건강보험료 납부 완료로 표시"),
        ("nhis_premium", "zh", "2027-01", None, "将2027年1月的健康保险费标记为已缴纳"),
        (
            "stay_expiry",
            "en",
            None,
            None,
            "Mark the period of stay ending Monday, 28 December 2026 as extended",
        ),
        (
            "custom",
            "en",
            None,
            "Top up SIM",
            "Mark “Top up SIM” (Monday, 28 December 2026) as done",
        ),
        (
            "custom",
            "zh",
            None,
            "Top up SIM",
            "将“Top up SIM”（2026年12月28日（星期一））标记为已完成",
        ),
    ],
)
def test_action_label(
    kind: str, lang: str, covers: str | None, title: str | None, label: str
) -> None:
    assert action_label(kind, lang, date(2026, 12, 28), covers, title=title) == label


def test_headlines_switch_tense_once_the_date_has_passed() -> None:
    assert headline("stay_expiry", "en", when="Sun 14 Mar") == "Visa expires Sun 14 Mar"
    assert headline("stay_expiry", "en", when="Sun 14 Mar", past=True) == (
        "Visa expired Sun 14 Mar"
    )
    assert headline("nhis_premium", "ko", when="1월 25일(월)", covers="2027-02") == (
        "2월분 건강보험료 납부 기한 1월 25일(월)"
    )
    assert body_headline("stay_expiry", "en", when="Friday, 12 March 2027", past=True) == (
        "Your period of stay ended on Friday, 12 March 2027, unless you extended it."
    )


@pytest.mark.parametrize("lang", WRITTEN)
def test_nhis_says_where_the_amount_is_and_to_check_the_payment(lang: str) -> None:
    what = what_it_is("nhis_premium", lang)
    assert what is not None
    assert "The건강보험" in what
    if lang == "en":
        assert "The amount is on your NHIS bill and in The건강보험 app." in what
        steps = advice("nhis_premium", lang)
        assert any("Check that the payment went through" in s for s in steps)
        assert not any("balance" in s for s in steps)


def test_nhis_autopay_advice() -> None:
    steps = advice("nhis_premium", "en", autopay=True)
    assert steps[0].startswith("Auto-debit is set up")
    assert not any("Pay in The건강보험 app" in step for step in steps)


@pytest.mark.parametrize("kind", [*BUILT_IN, *sorted(VARIANTS)])
def test_an_office_reads_about_them_not_about_you(kind: str) -> None:
    for step in advice(kind, "en", office=True):
        assert "your" not in step.lower().split(), step
        assert " you " not in f" {step.lower()} ", step
    past = overdue_advice(kind, "en", office=True)
    if past is not None:
        assert " you " not in f" {past.lower()} "
    assert any("their" in step for step in advice("passport_expiry", "en", office=True))


#: Past the date, the number to call today, by the kind's contact.
HELP_LINE = {"immigration": "1345", "eps": "1350"}


@pytest.mark.parametrize(
    "kind",
    sorted(OFFICE_VISIT_KINDS | {v for v in VARIANTS if v.split(":")[0] in OFFICE_VISIT_KINDS}),
)
@pytest.mark.parametrize("lang", WRITTEN)
def test_past_the_date_office_visit_kinds_say_call_1345_or_go_today(kind: str, lang: str) -> None:
    # No window, no online filing: the steps that held before the date are gone.
    assert advice(kind, lang, past=True) == []
    contact = KIND_RULES[kind.split(":")[0]].contact
    assert contact is not None
    for office in (False, True):
        text = overdue_advice(kind, lang, office=office)
        assert text is not None
        assert HELP_LINE[contact] in text
        assert "HiKorea" not in text
        assert "하이코리아" not in text
        if contact == "eps":
            # The Employment Center, not immigration, handles a workplace change.
            assert "1345" not in text
            assert "고용센터" in text


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
    ("reason", "en", "ko", "zh"),
    [
        ("Sunday", "Sunday", "일요일", "星期日"),
        ("Chuseok", "Chuseok", "추석", "中秋节"),
        (
            "Alternative holiday for Chuseok",
            "Alternative holiday for Chuseok",
            "추석 대체공휴일",
            "中秋节补休日",
        ),
        (
            "Chuseok; National Foundation Day",
            "Chuseok and National Foundation Day",
            "추석·개천절",
            "中秋节和开天节",
        ),
        ("extra holiday", "holiday", "휴일", "休息日"),
        ("Some New Holiday", "Some New Holiday", "공휴일", "公休日"),
    ],
)
def test_reason_label(reason: str, en: str, ko: str, zh: str) -> None:
    assert [reason_label(reason, lang) for lang in ("en", "ko", "zh")] == [en, ko, zh]


def test_every_korean_holiday_name_is_in_the_catalog() -> None:
    names: set[str] = set()
    for year in range(2020, 2031):
        names.update(holidays.country_holidays("KR", years=year, language="en_US").values())
    for name in sorted(names):
        for part in name.split(";"):
            part = part.strip().removeprefix("Alternative holiday for ")
            assert part in texts.HOLIDAY_NAMES, part
            for lang in ("ko", "zh"):
                assert reason_label(part, lang) not in {"공휴일", "公休日"}, (part, lang)


def test_closed_notice() -> None:
    sunday, friday = date(2027, 3, 14), date(2027, 3, 12)
    assert closed_notice("stay_expiry", sunday, "Sunday", friday, "en") == (
        "Immigration offices are closed on Sunday, 14 March 2027, and HiKorea takes no online "
        "applications that day. The last working day before it is Friday, 12 March 2027: "
        "please act by then."
    )
    assert closed_notice("stay_expiry", sunday, "Sunday", friday, "ko") == (
        "기한인 2027년 3월 14일(일)에는 출입국·외국인관서가 문을 닫고 하이코리아 전자민원도 "
        "접수하지 않습니다. 그 전 마지막 근무일인 2027년 3월 12일(금)까지 처리하세요."
    )
    # The issue with "之前": "by" must not read as "before": the last day itself counts.
    zh = closed_notice("stay_expiry", sunday, "Sunday", friday, "zh")
    assert "最晚请于这一天办好" in zh
    assert "之前" not in zh
    christmas = date(2026, 12, 25)
    assert "Friday, 25 December 2026 (Christmas Day)" in closed_notice(
        "arc_registration", christmas, "Christmas Day", date(2026, 12, 24), "en"
    )


@pytest.mark.parametrize("kind", ["workplace_change", "workplace_change:permit"])
def test_a_workplace_change_names_the_employment_center_when_it_is_closed(kind: str) -> None:
    saturday, friday = date(2027, 2, 27), date(2027, 2, 26)
    assert closed_notice(kind, saturday, "Saturday", friday, "en") == (
        "Employment Centers (고용센터) are closed on Saturday, 27 February 2027. The last "
        "working day before it is Friday, 26 February 2027: please act by then."
    )
    for lang in WRITTEN:
        text = closed_notice(kind, saturday, "Saturday", friday, lang)
        assert "고용센터" in text
        assert "HiKorea" not in text
        assert "하이코리아" not in text
        assert "Immigration" not in text
        assert "출입국" not in text
        assert "出入境" not in text


@pytest.mark.parametrize(
    "kind", sorted(k for k in OFFICE_VISIT_KINDS if KIND_RULES[k].contact == "immigration")
)
def test_an_immigration_kind_names_immigration_and_hikorea_when_closed(kind: str) -> None:
    text = closed_notice(kind, date(2027, 2, 27), "Saturday", date(2027, 2, 26), "en")
    assert text.startswith("Immigration offices are closed")
    assert "HiKorea" in text


def test_a_moved_deadline_names_every_skipped_day() -> None:
    skipped = [
        Move(date(2027, 10, 9), "Hangul Day"),
        Move(date(2027, 10, 10), "Sunday"),
        Move(date(2027, 10, 11), "Alternative holiday for Hangul Day"),
    ]
    tuesday = date(2027, 10, 12)
    assert moved_days_notice(skipped, tuesday, "en") == (
        "Saturday 9 October (Hangul Day), Sunday 10 October and Monday 11 October "
        "(Alternative holiday for Hangul Day) are days off, so the deadline moves to "
        "Tuesday, 12 October 2027."
    )
    assert moved_days_notice(skipped[1:], tuesday, "ko") == (
        "10월 10일(일)·11일(월, 한글날 대체공휴일)이 휴일이어서 기한이 2027년 10월 12일(화)"
        "까지로 늦춰졌습니다."
    )
    assert moved_days_notice(skipped[1:], tuesday, "zh") == (
        "10月10日（周日）和11日（周一，韩文日补休日）为休息日，期限顺延至2027年10月12日（星期二）。"
    )
    christmas, monday = date(2026, 12, 25), date(2026, 12, 28)
    assert moved_notice(christmas, monday, "Christmas Day", "en") == (
        "Friday 25 December (Christmas Day) is a day off, so the deadline moves to "
        "Monday, 28 December 2026."
    )


@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 1)),
    length=st.integers(min_value=1, max_value=6),
    lang=st.sampled_from(WRITTEN),
)
def test_every_skipped_day_is_in_the_notice(start: date, length: int, lang: str) -> None:
    skipped = [Move(start + timedelta(days=i), "Temporary Public Holiday") for i in range(length)]
    text = moved_days_notice(skipped, start + timedelta(days=length), lang)
    for move in skipped:
        assert day_off(move.day, move.reason, lang, same_month=True) in text


def test_status_words_are_shared_and_translated() -> None:
    assert [status_label(s, "en") for s in ("overdue", "failed", "pending", "sent")] == [
        "overdue",
        "delivery failed",
        "not reminded yet",
        "reminded",
    ]
    assert status_label("acknowledged", "ko") == "완료"
    assert status_label("something new", "zh") == "something new"


def test_ui_fills_values() -> None:
    assert ui("greeting", "ko", name="Wang Fang") == "Wang Fang 님, 안녕하세요."
    assert ui("note", "zh", note="D-10") == "备注：D-10"
    with pytest.raises(KeyError):
        ui("no such string", "en")


def test_digest_counts_are_plural_aware() -> None:
    assert digest_counts(1, 3, 60, 1, "en") == (
        "1 overdue, 3 due in the next 60 days, 1 failed delivery"
    )
    assert (
        digest_counts(0, 0, 1, 2, "en") == "0 overdue, 0 due in the next 1 day, 2 failed deliveries"
    )
    assert digest_counts(1, 3, 30, 1, "zh") == "已逾期1项，30天内到期3项，发送失败1项"


def test_config_changes_are_worded_in_each_language() -> None:
    change = ConfigChangeRecord(
        people_added=("nguyen-van-an",), deadlines_changed=tuple(f"p{i}/visa" for i in range(7))
    )
    assert change_line(change, "en") == (
        "1 person added (nguyen-van-an); 7 deadlines changed "
        "(p0/visa, p1/visa, p2/visa, p3/visa, p4/visa and 2 more)"
    )
    assert change_line(change, "ko") == (
        "1명 추가(nguyen-van-an); 기한 7건 변경(p0/visa, p1/visa, p2/visa, p3/visa, p4/visa 외 2건)"
    )
    assert change_line(change, "zh").startswith("新增1人（nguyen-van-an）；修改7项期限")
    assert change_line(ConfigChangeRecord(service_changed=True), "en") == (
        "service settings changed: everyone re-planned"
    )
    # A line an older version stored as text stays as it was.
    assert change_line("people added: ana", "ko") == "people added: ana"


def test_languages_accepted_in_config_all_render() -> None:
    for lang in LANGUAGES:
        assert countdown(3, lang)
        assert ui("footer", lang, key="k")


@pytest.mark.parametrize("lang", WRITTEN)
def test_an_office_visit_kind_without_its_own_words_still_says_call_1345_past_the_date(
    lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A kind whose texts are not written yet (it reads as a personal deadline), done at
    # an office: past the date it must not keep pointing to steps that no longer hold.
    unwritten = {
        k: v for k, v in texts.KIND_TEXTS.items() if texts.base_kind(k) != "newborn_status"
    }
    monkeypatch.setattr(texts, "KIND_TEXTS", unwritten)
    assert kind_name("newborn_status", "en") == "Personal deadline"
    assert advice("newborn_status", lang, past=True) == []
    for office in (False, True):
        text = overdue_advice("newborn_status", lang, office=office)
        assert text is not None
        assert "1345" in text
    assert overdue_advice("passport_expiry", lang) is None


def test_a_sentence_ending_in_a_danda_gets_no_second_stop() -> None:
    # Nepali ends a sentence with the danda (।); adding the language's own stop to
    # it again would print "।।".
    ended = "पासपोर्टको म्याद सकिन्छ।"
    assert texts.sentence(ended, "ne") == ended
    assert texts.sentence("भिसाको म्याद सकिने मिति", "ne") == "भिसाको म्याद सकिने मिति।"
    headline = body_headline("stay_expiry", "ne", when="2027 मार्च 14, आइतबार")
    assert not texts.sentence(headline, "ne").endswith("।।")
