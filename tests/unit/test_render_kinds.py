"""Reminder emails of the newer kinds, each in two languages: golden files.

The files are tests/data/mail/kinds/*.txt (headers sorted and decoded, then the
text part), written by ``STAYWATCH_UPDATE_GOLDEN=1 pytest tests/unit/test_render_kinds.py``;
read the diff before committing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from service.config import Config, Person, parse_config
from service.plan import Occurrence, Reminder, plan
from service.render import render_reminder
from tests.fixtures.golden import check_golden
from tests.fixtures.mail import dump, html_of, text_of

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "mail" / "kinds"
ACK = "https://staywatch.example.org/act/v1.Zm9vYmFy.c2lnbmF0dXJl"
FEED = "https://staywatch.example.org/calendar/Q2FsZW5kYXJUb2tlbjEyMzQ1.ics"

DEADLINES = """
  [[person.deadline]]
  id = "trip"
  kind = "reentry"
  departed = 2027-01-28
  until = 2027-03-14

  [[person.deadline]]
  id = "name-change"
  kind = "registration_change"
  changed = 2027-01-04
  what = "name"

  [[person.deadline]]
  id = "new-passport"
  kind = "registration_change"
  changed = 2027-01-04

  [[person.deadline]]
  id = "baby"
  kind = "newborn_status"
  born = 2026-11-10

  [[person.deadline]]
  id = "son"
  kind = "arc_at_17"
  born = 2010-03-15

  [[person.deadline]]
  id = "job"
  kind = "workplace_change"
  ended = 2027-01-31

  [[person.deadline]]
  id = "next-job"
  kind = "workplace_change"
  ended = 2027-01-31
  applied = 2027-02-10

  [[person.deadline]]
  id = "nhis-join"
  kind = "nhis_enrolment"
  entry = 2026-11-16
  status = "D-2"
  registered = 2026-12-04
"""
CONFIG = f"""
[mail]
from = "staywatch <reminders@staywatch.example.org>"

[[person]]
id = "bishnu-tamang"
name = "Bishnu Tamang"
email = ["bishnu@example.org"]
language = "en"
{DEADLINES}
[[person]]
id = "tran-thi-mai"
name = "Trần Thị Mai"
email = ["mai@example.org"]
language = "ko"
{DEADLINES}
[[person]]
id = "wang-fang"
name = "Wang Fang"
email = ["wang.fang@example.org"]
language = "zh"
{DEADLINES}"""
PEOPLE = {"en": "bishnu-tamang", "ko": "tran-thi-mai", "zh": "wang-fang"}

GOLDEN_CASES = {
    # name: (language, deadline, offset)
    "reentry_stay_en": ("en", "trip", "P14D"),
    "reentry_stay_zh": ("zh", "trip", "P14D"),
    "registration_change_name_en": ("en", "name-change", "P7D"),
    "registration_change_name_ko": ("ko", "name-change", "P7D"),
    "registration_change_passport_en": ("en", "new-passport", "P14D"),
    "registration_change_passport_zh": ("zh", "new-passport", "P14D"),
    "newborn_status_p30d_en": ("en", "baby", "P30D"),
    "newborn_status_offices_closed_ko": ("ko", "baby", "P2D"),
    "arc_at_17_birthday_en": ("en", "son", "P89D"),
    "arc_at_17_birthday_ko": ("ko", "son", "P89D"),
    "workplace_change_apply_en": ("en", "job", "P27D"),
    "workplace_change_apply_ko": ("ko", "job", "P27D"),
    "workplace_change_permit_en": ("en", "next-job", "P30D"),
    "workplace_change_permit_ko": ("ko", "next-job", "P30D"),
    "nhis_enrolment_en": ("en", "nhis-join", "P14D"),
    "nhis_enrolment_zh": ("zh", "nhis-join", "P14D"),
}


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG, "staywatch.toml")


@pytest.fixture(scope="module")
def occurrences(config: Config) -> tuple[Occurrence, ...]:
    return plan(config, date(2026, 1, 1), date(2028, 12, 31))


def _find(
    config: Config, occurrences: tuple[Occurrence, ...], lang: str, deadline: str, offset: str
) -> tuple[Person, Occurrence, Reminder]:
    person = config.person(PEOPLE[lang])
    assert person is not None
    for occurrence in occurrences:
        if occurrence.person == person.id and occurrence.deadline == deadline:
            for reminder in occurrence.reminders:
                if reminder.offset == offset:
                    return person, occurrence, reminder
    raise AssertionError(f"no reminder {person.id}/{deadline}/*/{offset} in the plan")


def _mail(config: Config, occurrences: tuple[Occurrence, ...], name: str) -> str:
    person, occurrence, reminder = _find(config, occurrences, *GOLDEN_CASES[name])
    message = render_reminder(
        config, person, occurrence, reminder, now=reminder.due, ack_url=ACK, feed_url=FEED
    )
    return dump(message)


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden(name: str, config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    check_golden(GOLDEN / f"{name}.txt", _mail(config, occurrences, name))


def test_golden_files_have_no_strays() -> None:
    assert {p.stem for p in GOLDEN.glob("*.txt")} == set(GOLDEN_CASES)


@pytest.mark.parametrize(
    ("lang", "deadline", "offset", "subject"),
    [
        ("en", "job", "P27D", "Workplace change application due Sat 27 Feb — 27 days left"),
        ("en", "next-job", "P30D", "New workplace permission due Sun 9 May — 30 days left"),
        ("en", "new-passport", "P14D", "New passport report due Mon 18 Jan — 14 days left"),
        ("en", "name-change", "P7D", "Registration change report due Mon 18 Jan — 7 days left"),
        ("en", "next-job", "P2D", "New workplace permission due Sun 9 May — get it by Fri 7 May"),
        ("ko", "job", "P27D", "[D-27] 사업장 변경 신청 기한 2월 27일(토)"),
        ("ko", "next-job", "P30D", "[D-30] 근무처 변경허가 기한 5월 9일(일)"),
        ("ko", "new-passport", "P14D", "[D-14] 새 여권 신고 기한 1월 18일(월)"),
        ("zh", "trip", "P14D", "【还剩14天】再入境：3月14日（周日）截止"),
        ("zh", "name-change", "P7D", "【还剩7天】登录事项变更申报：1月18日（周一）截止"),
    ],
)
def test_each_step_and_variant_has_its_own_subject(
    config: Config,
    occurrences: tuple[Occurrence, ...],
    lang: str,
    deadline: str,
    offset: str,
    subject: str,
) -> None:
    person, occurrence, reminder = _find(config, occurrences, lang, deadline, offset)
    message = render_reminder(
        config, person, occurrence, reminder, now=reminder.due, ack_url=ACK, feed_url=FEED
    )
    assert message["Subject"] == subject
    assert message["X-Staywatch-Key"] == reminder.key


def test_the_newborn_on_korean_new_year_is_told_to_act_by_friday(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    person, occurrence, reminder = _find(config, occurrences, "en", "baby", "P2D")
    assert reminder.closed_notice
    message = render_reminder(
        config, person, occurrence, reminder, now=reminder.due, ack_url=None, feed_url=None
    )
    text = text_of(message)
    assert "Friday, 5 February 2027" in text
    assert "Friday, 5 February 2027" in html_of(message)


@pytest.mark.parametrize("lang", ["en", "ko", "zh"])
def test_a_workplace_change_on_a_closed_day_names_the_employment_center(
    config: Config, occurrences: tuple[Occurrence, ...], lang: str
) -> None:
    # 27 February 2027 is a Saturday: the Employment Center, not immigration, is closed.
    person, occurrence, reminder = _find(config, occurrences, lang, "job", "P27D")
    assert occurrence.closed == "Saturday"
    text = text_of(
        render_reminder(
            config, person, occurrence, reminder, now=reminder.due, ack_url=None, feed_url=None
        )
    )
    body = text.split("\n-- \n")[0]
    assert "고용센터" in body.split("\n\n")[2]
    for immigration in ("Immigration offices", "HiKorea", "하이코리아", "출입국", "出入境"):
        assert immigration not in body
    assert "1350" in body


#: The period of stay ends first / after the year / is not given: what the mail says.
_REENTRY_CASES = [
    ("until = 2027-03-14", "Your period of stay ends first, so this date is its last day."),
    ("until = 2029-06-30", "Your period of stay ends later, so this date is the last day"),
    ("", "This date is whichever comes first."),
]


@pytest.mark.parametrize(("given", "said"), _REENTRY_CASES)
def test_a_reentry_mail_says_which_end_applies(given: str, said: str) -> None:
    config = parse_config(
        CONFIG.split("[[person]]")[0]
        + '[[person]]\nid = "a"\nname = "A"\nemail = ["a@example.org"]\n'
        + f'[[person.deadline]]\nid = "trip"\nkind = "reentry"\ndeparted = 2027-01-28\n{given}\n',
        "staywatch.toml",
    )
    (occurrence,) = plan(config, date(2027, 1, 1), date(2029, 12, 31))
    person = config.person("a")
    assert person is not None
    reminder = occurrence.reminders[0]
    message = render_reminder(
        config, person, occurrence, reminder, now=reminder.due, ack_url=ACK, feed_url=FEED
    )
    text = " ".join(text_of(message).split())
    assert said in text
    others = {s for _, s in _REENTRY_CASES} - {said}
    assert not any(o in text for o in others)
