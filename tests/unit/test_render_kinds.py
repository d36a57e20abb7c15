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
        ("en", "job", "P27D", "Apply for a change of workplace by 2027-02-27 — 27 days left"),
        (
            "en",
            "next-job",
            "P30D",
            "Get the permission for your new workplace by 2027-05-09 — 30 days left",
        ),
        ("en", "new-passport", "P14D", "Report your new passport by 2027-01-18 — 14 days left"),
        (
            "en",
            "name-change",
            "P7D",
            "Report the change of your registration by 2027-01-18 — 7 days left",
        ),
        ("ko", "next-job", "P30D", "근무처 변경허가 기한은 2027-05-09입니다 (30일 남음)"),
        ("zh", "trip", "P14D", "请在2027-03-14前返回韩国（还剩14天）"),
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
