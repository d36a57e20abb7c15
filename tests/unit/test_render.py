"""Reminder emails: golden files, header safety, determinism.

Golden files live in tests/data/mail/*.txt: the message's headers (sorted,
decoded) and its text part, as they read after a round trip through bytes.
Regenerate them with ``STAYWATCH_UPDATE_GOLDEN=1 pytest tests/unit/test_render.py``
and review the diff.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path

import pytest

from service import texts
from service.config import Config, Person, parse_config
from service.kinds import KINDS, LANGUAGES
from service.plan import Occurrence, Reminder, plan
from service.render import (
    cc_message_id_for,
    header_text,
    message_id_for,
    render_reminder,
    render_test,
    sender_domain,
)
from service.rules import KIND_RULES, OFFICE_VISIT_KINDS, BusinessCalendar
from tests.fixtures.golden import check_golden
from tests.fixtures.mail import EXPECTED_HEADERS, dump, html_of, reparse, text_of

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "mail"
ACK = "https://staywatch.example.org/act/v1.Zm9vYmFy.c2lnbmF0dXJl"
FEED = "https://staywatch.example.org/calendar/Q2FsZW5kYXJUb2tlbjEyMzQ1.ics"

CONFIG = """
[service]
timezone = "Asia/Seoul"
send_time = "09:00"

[mail]
from = "staywatch <reminders@staywatch.example.org>"

[[person]]
id = "wang-fang"
name = "Wang Fang"
email = ["wang.fang@example.org"]
language = "zh"

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-03-12
  note = "D-10"
  recipients = ["intl-office@uni.example.ac.kr"]

  [[person.deadline]]
  id = "nhis"
  kind = "nhis_premium"
  start = 2026-12-01
  until = 2027-02-01

[[person]]
id = "tran-thi-mai"
name = "Trần Thị Mai"
email = ["mai@example.org"]
language = "ko"

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-03-12
  note = "E-7, 회사 인사팀에 서류 요청"

[[person]]
id = "nguyen-van-an"
name = "Nguyễn Văn An"
email = ["an@example.org", "an.nguyen@work.example.com"]
language = "en"

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-03-12
  note = "D-2 student; ask the international office for the enrolment letter"

  [[person.deadline]]
  id = "f5-visa"
  kind = "stay_expiry"
  date = 2027-03-14

  [[person.deadline]]
  id = "dentist"
  kind = "custom"
  title = "Dentist (Dr. Lee, Sinchon)"
  at = 2027-01-05T10:00:00+09:00

  [[person.deadline]]
  id = "nhis"
  kind = "nhis_premium"
  start = 2026-12-01
  until = 2027-01-01
  autopay = true
"""


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG, "staywatch.toml")


@pytest.fixture(scope="module")
def occurrences(config: Config) -> tuple[Occurrence, ...]:
    return plan(config, date(2026, 1, 1), date(2027, 12, 31))


def _find(
    config: Config, occurrences: tuple[Occurrence, ...], person: str, deadline: str, offset: str
) -> tuple[Person, Occurrence, Reminder]:
    found = config.person(person)
    assert found is not None
    for occurrence in occurrences:
        if occurrence.person == person and occurrence.deadline == deadline:
            for reminder in occurrence.reminders:
                if reminder.offset == offset or offset == "first":
                    return found, occurrence, reminder
    raise AssertionError(f"no reminder {person}/{deadline}/*/{offset} in the plan")


def _render(
    config: Config,
    person: Person,
    occurrence: Occurrence,
    reminder: Reminder,
    *,
    now: datetime | None = None,
    ack_url: str | None = ACK,
    feed_url: str | None = FEED,
) -> EmailMessage:
    return render_reminder(
        config,
        person,
        occurrence,
        reminder,
        now=now or reminder.due,
        ack_url=ack_url,
        feed_url=feed_url,
    )


#: One person per language with a deadline of every kind, for the golden mails.
#: One reader per language: language, person id, name as it is written.
GOLDEN_READERS = (
    ("en", "nguyen-van-an", "Nguyễn Văn An"),
    ("ko", "tran-thi-mai", "Trần Thị Mai"),
    ("zh", "wang-fang", "Wang Fang"),
    ("vi", "le-thi-hoa", "Lê Thị Hoa"),
    ("ne", "bishnu-tamang", "Bishnu Tamang"),
    ("uz", "aziz-karimov", "Aziz Karimov"),
    ("km", "sok-dara", "Sok Dara"),
    ("th", "somchai-wongsa", "Somchai Wongsa"),
    ("mn", "bat-erdene", "Бат-Эрдэнэ Дорж"),
    ("ru", "aigerim-nurlanova", "Айгерим Нурланова"),
    ("id", "siti-rahayu", "Siti Rahayu"),
)
GOLDEN_PEOPLE = {lang: pid for lang, pid, _ in GOLDEN_READERS}
GOLDEN_DEADLINES = """
  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-03-14

  [[person.deadline]]
  id = "registration"
  kind = "arc_registration"
  entry = 2027-01-10

  [[person.deadline]]
  id = "f5-card"
  kind = "arc_expiry"
  date = 2027-06-21

  [[person.deadline]]
  id = "address"
  kind = "address_report"
  moved = 2027-02-01

  [[person.deadline]]
  id = "nhis"
  kind = "nhis_premium"
  start = 2026-12-01
  until = 2027-02-01

  [[person.deadline]]
  id = "passport"
  kind = "passport_expiry"
  date = 2027-09-30

  [[person.deadline]]
  id = "dentist"
  kind = "custom"
  title = "Dentist (Dr. Lee, Sinchon)"
  at = 2027-01-05T10:00:00+09:00

  [[person.deadline]]
  id = "trip"
  kind = "reentry"
  departed = 2026-10-01

  [[person.deadline]]
  id = "name-change"
  kind = "registration_change"
  changed = 2027-04-05
  what = "name"

  [[person.deadline]]
  id = "new-passport"
  kind = "registration_change"
  changed = 2027-05-03

  [[person.deadline]]
  id = "baby"
  kind = "newborn_status"
  born = 2027-02-10

  [[person.deadline]]
  id = "son"
  kind = "arc_at_17"
  born = 2010-06-01

  [[person.deadline]]
  id = "job"
  kind = "workplace_change"
  ended = 2027-01-31

  [[person.deadline]]
  id = "next-job"
  kind = "workplace_change"
  ended = 2027-03-31
  applied = 2027-04-12

  [[person.deadline]]
  id = "nhis-join"
  kind = "nhis_enrolment"
  entry = 2027-01-10
"""
GOLDEN_CONFIG = "".join(
    f'''
[[person]]
id = "{pid}"
name = "{name}"
email = ["{pid}@example.org"]
language = "{lang}"
{GOLDEN_DEADLINES}'''
    for lang, pid, name in GOLDEN_READERS
)
#: name: (deadline, offset): one reminder of each kind, and the cases readers flagged.
GOLDEN_CASES = {
    "stay_expiry": ("visa", "P30D"),
    "arc_registration": ("registration", "P14D"),
    "arc_expiry": ("f5-card", "P30D"),
    "address_report": ("address", "P3D"),
    "nhis_premium": ("nhis", "P3D"),
    "passport_expiry": ("passport", "P90D"),
    "custom": ("dentist", "P1D"),
    # The day after the date: no window, no closed-day line, no online filing.
    "stay_expiry-day-after": ("visa", "-P1D"),
    "arc_expiry-day-after": ("f5-card", "-P1D"),
    # The last working day before a Sunday deadline: "apply by" in the subject.
    "stay_expiry-offices-closed": ("visa", "P2D"),
    # The newer kinds: the first reminder of each ("first" is the largest lead).
    "reentry": ("trip", "first"),
    "registration_change": ("name-change", "first"),
    "registration_change-passport": ("new-passport", "first"),
    "newborn_status": ("baby", "first"),
    "arc_at_17": ("son", "first"),
    "workplace_change": ("job", "first"),
    "workplace_change-permit": ("next-job", "first"),
    "nhis_enrolment": ("nhis-join", "first"),
}


@pytest.fixture(scope="module")
def golden_config() -> Config:
    return parse_config(CONFIG.split("[[person]]", 1)[0] + GOLDEN_CONFIG, "staywatch.toml")


@pytest.mark.parametrize("lang", sorted(GOLDEN_PEOPLE))
@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden(name: str, lang: str, golden_config: Config) -> None:
    occurrences = plan(golden_config, date(2026, 1, 1), date(2027, 12, 31))
    person, occurrence, reminder = _find(
        golden_config, occurrences, GOLDEN_PEOPLE[lang], *GOLDEN_CASES[name]
    )
    message = _render(golden_config, person, occurrence, reminder)
    assert message["Content-Language"] == lang
    check_golden(GOLDEN / lang / f"{name}.txt", dump(message))


def test_golden_files_have_no_strays() -> None:
    # The language folders only: office/ (and any other folder) belongs to other tests.
    found = {
        p.relative_to(GOLDEN).as_posix()
        for p in GOLDEN.glob("*/*.txt")
        if p.parent.name in LANGUAGES
    }
    assert found == {f"{lang}/{name}.txt" for lang in GOLDEN_PEOPLE for name in GOLDEN_CASES}
    assert not list(GOLDEN.glob("*.txt"))


# -- what the message says --------------------------------------------------------


def test_subjects_say_what_when_and_how_long(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    subjects = {
        key: str(_render(config, *_find(config, occurrences, *key))["Subject"])
        for key in [
            ("nguyen-van-an", "visa", "P30D"),
            ("nguyen-van-an", "visa", "P1D"),
            ("nguyen-van-an", "visa", "PT0S"),
            ("nguyen-van-an", "visa", "-P1D"),
            ("tran-thi-mai", "visa", "P30D"),
            ("tran-thi-mai", "visa", "PT0S"),
            ("wang-fang", "visa", "P30D"),
            ("wang-fang", "visa", "-P1D"),
        ]
    }
    assert list(subjects.values()) == [
        "Visa expires Fri 12 Mar — 30 days left",
        "Visa expires Fri 12 Mar — 1 day left",
        "Visa expires Fri 12 Mar — today",
        "Visa expired Fri 12 Mar — 1 day overdue",
        "[D-30] 체류기간 만료 3월 12일(금)",
        "[오늘 만료] 체류기간 만료 3월 12일(금)",
        "【还剩30天】滞留期间3月12日（周五）到期",
        "【已逾期1天】滞留期间3月12日（周五）已到期",
    ]


def test_the_korean_nhis_subject_reads_as_a_korean_bill_would() -> None:
    config = parse_config(
        CONFIG.split("[[person]]", 1)[0]
        + """
[[person]]
id = "mai"
name = "Mai"
email = ["mai@example.org"]
language = "ko"

  [[person.deadline]]
  id = "nhis"
  kind = "nhis_premium"
  start = 2027-01-01
  until = 2027-01-31
"""
    )
    [occurrence] = plan(config, date(2027, 1, 1), date(2027, 1, 31))
    reminder = next(r for r in occurrence.reminders if r.offset == "P7D")
    message = _render(config, config.people[0], occurrence, reminder)
    assert str(message["Subject"]) == "[D-7] 2월분 건강보험료 납부 기한 1월 25일(월)"
    english = _render(
        config, config.people[0].model_copy(update={"language": "en"}), occurrence, reminder
    )
    assert str(english["Subject"]) == "NHIS premium for February due Mon 25 Jan — 7 days left"


#: The longest a subject's days-left form may be: a phone's inbox shows about 40
#: characters, and 60 is where the countdown is sure to be cut off.
SUBJECT_MAX = 60


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_subject_fits_a_phone_in_every_language(lang: str, golden_config: Config) -> None:
    # A custom deadline's subject is as long as its title: give it an ordinary one.
    config = golden_config.model_copy(
        update={
            "people": tuple(
                p.model_copy(
                    update={
                        "language": lang,
                        "deadlines": tuple(
                            d.model_copy(update={"title": "Gym membership"})
                            if d.kind == "custom"
                            else d
                            for d in p.deadlines
                        ),
                    }
                )
                for p in golden_config.people[:1]
            )
        }
    )
    person = config.people[0]
    kinds_seen = set()
    for occurrence in plan(config, date(2026, 1, 1), date(2027, 12, 31)):
        for reminder in occurrence.reminders:
            if reminder.closed_notice:
                continue  # the "apply by" form, not the days-left one
            message = _render(config, person, occurrence, reminder)
            subject = str(message["Subject"])
            assert len(subject) < SUBJECT_MAX, (reminder.key, subject)
            assert message["Content-Language"] == texts.language(lang)
            kinds_seen.add(occurrence.kind)
    assert kinds_seen == set(KINDS)


def test_days_left_count_from_when_it_is_sent(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    person, occurrence, reminder = _find(config, occurrences, "nguyen-van-an", "visa", "P30D")
    # Sent late (the daemon was down): 20 days before, at 23:30 Seoul time.
    late = datetime(2027, 2, 20, 14, 30, tzinfo=UTC)
    message = _render(config, person, occurrence, reminder, now=late)
    assert str(message["Subject"]).endswith("— 20 days left")
    assert "That is 20 days from today." in text_of(message)
    assert message["Date"] == "Sat, 20 Feb 2027 23:30:00 +0900"


def test_offices_closed_notice(config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    person, occurrence, reminder = _find(config, occurrences, "nguyen-van-an", "f5-visa", "P30D")
    assert occurrence.closed == "Sunday"
    message = _render(config, person, occurrence, reminder)
    # An ordinary reminder keeps its countdown in the subject but explains in the body.
    assert str(message["Subject"]).endswith("— 30 days left")
    assert "are closed on Sunday, 14 March 2027, and HiKorea" in text_of(message)
    assert "The last working day before it is Friday, 12 March 2027" in text_of(message)
    last = _render(config, *_find(config, occurrences, "nguyen-van-an", "f5-visa", "P2D"))
    assert str(last["Subject"]) == "Visa expires Sun 14 Mar — apply by Fri 12 Mar"


#: The texts keys of the kinds done at an office, variants included.
OFFICE_VISIT_KEYS = sorted(
    OFFICE_VISIT_KINDS
    | {key for key in texts.KIND_TEXTS if texts.base_kind(key) in OFFICE_VISIT_KINDS}
)
#: Who to call past the date, by the kind's contact.
HELP_LINE = {"immigration": "1345", "eps": "1350"}


@pytest.mark.parametrize("lang", sorted(GOLDEN_PEOPLE))
@pytest.mark.parametrize("key", OFFICE_VISIT_KEYS)
def test_past_the_date_an_office_visit_kind_says_only_what_to_do_today(
    key: str, lang: str, golden_config: Config
) -> None:
    occurrences = plan(golden_config, date(2026, 1, 1), date(2027, 12, 31))
    person = golden_config.person(GOLDEN_PEOPLE[lang])
    assert person is not None
    occurrence = next(o for o in occurrences if o.person == person.id and o.texts_key == key)
    after = next(r for r in occurrence.reminders if r.overdue)
    before = next(r for r in occurrence.reminders if not r.overdue and r.offset != "PT0S")
    text = text_of(_render(golden_config, person, occurrence, after))
    earlier = text_of(_render(golden_config, person, occurrence, before))
    # No window line, no "offices are closed, act by" line, no online filing steps.
    for step in texts.advice(key, lang):
        assert step in earlier
        assert step not in text
    if occurrence.window_start is not None:
        line = texts.window_line(key, occurrence.window_start, occurrence.date, lang)
        assert line is not None
        assert line in earlier
        assert line not in text
    contact = KIND_RULES[occurrence.kind].contact
    assert contact is not None
    if occurrence.closed is not None:
        last_open = BusinessCalendar.for_config(golden_config).last_business_day_before(
            occurrence.date
        )
        notice = texts.closed_notice(key, occurrence.date, occurrence.closed, last_open, lang)
        assert notice in earlier
        assert notice not in text
    overdue = texts.overdue_advice(key, lang)
    assert overdue is not None
    assert overdue in text
    assert HELP_LINE[contact] in overdue
    body = text.split("\n-- \n")[0]
    line = texts.contact_line(contact, lang)
    assert line is not None
    assert body.replace(line, "").lower().count("hikorea") == 0
    assert "하이코리아" not in body.replace(line, "")


def test_the_day_after_email_for_a_visa_says_what_domain_says(golden_config: Config) -> None:
    occurrences = plan(golden_config, date(2026, 1, 1), date(2027, 12, 31))
    person, occurrence, reminder = _find(
        golden_config, occurrences, "nguyen-van-an", "visa", "-P1D"
    )
    message = _render(golden_config, person, occurrence, reminder)
    text = text_of(message)
    assert str(message["Subject"]) == "Visa expired Sun 14 Mar — 1 day overdue"
    assert "Your period of stay ended on Sunday, 14 March 2027, unless you extended it." in text
    assert "If you have not applied, call 1345 or go to your immigration office today." in text
    for gone in (
        "act by",
        "apply by",
        "Extension window",
        "e-Application",
        "closed on",
    ):
        assert gone not in text


def test_nhis_names_the_month_and_autopay_changes_the_advice(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    person, occurrence, reminder = _find(config, occurrences, "nguyen-van-an", "nhis", "P3D")
    message = _render(config, person, occurrence, reminder)
    assert str(message["Subject"]) == "NHIS premium for January due Mon 28 Dec — 3 days left"
    text = text_of(message)
    # The headline names the month; nothing repeats it.
    assert "Your NHIS premium for January 2027 is due on Monday, 28 December 2026." in text
    assert text.count("January 2027") == 1
    assert "The amount is on your NHIS bill and in The건강보험 app." in text
    assert (
        "Friday 25 December (Christmas Day), Saturday 26 December and Sunday 27 December "
        "are days off, so the deadline moves to Monday, 28 December 2026." in text
    )
    assert "Auto-debit is set up: make sure the account holds enough" in text
    assert "Pay in The건강보험 app" not in text
    body = text.split("\n-- \n")[0].rstrip()
    assert body.endswith(
        "NHIS (www.nhis.or.kr, The건강보험 app) · 1577-1000 · foreign languages 033-811-2000"
    )


def test_custom_at_deadline_shows_the_time(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    person, occurrence, reminder = _find(config, occurrences, "nguyen-van-an", "dentist", "PT0S")
    message = _render(config, person, occurrence, reminder)
    assert str(message["Subject"]) == (
        "Dentist (Dr. Lee, Sinchon) due Tue 5 Jan, 10:00 KST — today"
    )
    after = _render(
        config, person, occurrence, reminder, now=datetime(2027, 1, 5, 1, 1, tzinfo=UTC)
    )
    assert str(after["Subject"]) == (
        "Dentist (Dr. Lee, Sinchon) was due Tue 5 Jan, 10:00 KST — today"
    )
    assert "we have no record that this was done" in text_of(after)
    # A personal deadline has no office to call.
    assert "1345" not in text_of(after)


def test_the_contact_line_links_the_site_in_html(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    html = html_of(_render(config, *_find(config, occurrences, "wang-fang", "visa", "P7D")))
    assert '<a href="https://www.hikorea.go.kr">www.hikorea.go.kr</a>' in html


def test_korean_html_breaks_between_words_and_chinese_as_usual(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    ko = html_of(_render(config, *_find(config, occurrences, "tran-thi-mai", "visa", "P7D")))
    zh = html_of(_render(config, *_find(config, occurrences, "wang-fang", "visa", "P7D")))
    assert "word-break:keep-all;overflow-wrap:anywhere;" in ko
    assert "keep-all" not in zh


def test_links_are_optional(config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    person, occurrence, reminder = _find(config, occurrences, "nguyen-van-an", "visa", "P7D")
    with_links = _render(config, person, occurrence, reminder)
    assert ACK in text_of(with_links)
    assert f'href="{ACK}"' in html_of(with_links)
    assert "I have done this" in html_of(with_links)
    assert "opens a confirmation page" in text_of(with_links)
    assert FEED in text_of(with_links)
    bare = _render(config, person, occurrence, reminder, ack_url=None, feed_url=None)
    assert "act/" not in text_of(bare)
    assert "calendar" not in text_of(bare)
    assert 'href="https://staywatch' not in html_of(bare)


def test_html_escapes_what_people_wrote(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    person, occurrence, reminder = _find(config, occurrences, "nguyen-van-an", "dentist", "P1D")
    person = person.model_copy(update={"name": "<b>An</b> & co"})
    occurrence = dataclasses.replace(
        occurrence, title="<img src=x onerror=alert(1)>", note="<script>alert(1)</script>"
    )
    message = _render(config, person, occurrence, reminder)
    html = html_of(message)
    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>An</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;An&lt;/b&gt; &amp; co" in html
    # The text part shows exactly what was typed.
    assert "Note: <script>alert(1)</script>" in text_of(message)


def test_rendering_is_deterministic(config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    picked = _find(config, occurrences, "wang-fang", "nhis", "P1D")
    first = _render(config, *picked).as_bytes()
    second = _render(config, *picked).as_bytes()
    assert first == second


# -- headers ---------------------------------------------------------------------


def test_headers(config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    person, occurrence, reminder = _find(config, occurrences, "wang-fang", "visa", "P14D")
    parsed = reparse(_render(config, person, occurrence, reminder))
    # The deadline's recipients get copies of their own (test_recipient_copy), not a Cc.
    assert set(parsed.keys()) == EXPECTED_HEADERS
    assert parsed["Message-ID"] == "<wang-fang/visa/2027-03-12/P14D@staywatch.example.org>"
    assert parsed["X-Staywatch-Key"] == "wang-fang/visa/2027-03-12/P14D"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["From"] == "staywatch <reminders@staywatch.example.org>"
    assert parsed["Date"] == "Fri, 26 Feb 2027 09:00:00 +0900"
    assert parsed.get_content_type() == "multipart/alternative"
    assert "List-Unsubscribe" not in parsed


def test_recipient_copy(config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    """A ``recipients`` address gets its own copy: to it alone, no calendar link, own id."""
    person, occurrence, reminder = _find(config, occurrences, "wang-fang", "visa", "P14D")
    office = "intl-office@uni.example.ac.kr"
    copy_link = "https://staywatch.example.org/act/v1.Y29weQ.c2lnbmF0dXJl"
    message = render_reminder(
        config,
        person,
        occurrence,
        reminder,
        now=reminder.due,
        ack_url=copy_link,
        feed_url=FEED,
        recipient=office,
    )
    parsed = reparse(message)
    assert set(parsed.keys()) == EXPECTED_HEADERS
    assert [a.addr_spec for a in parsed["To"].addresses] == [office]
    assert re.fullmatch(
        r"<wang-fang/visa/2027-03-12/P14D\+cc-[0-9a-f]{8}@staywatch\.example\.org>",
        str(parsed["Message-ID"]),
    )
    assert parsed["Message-ID"] == cc_message_id_for(reminder.key, office, config.mail.sender)
    assert parsed["X-Staywatch-Key"] == reminder.key
    own = reparse(_render(config, person, occurrence, reminder))
    assert parsed["Message-ID"] != own["Message-ID"]
    assert parsed["Subject"] == own["Subject"]
    for body in (text_of(parsed), html_of(parsed)):
        assert copy_link in body
        assert ACK not in body
        assert "Q2FsZW5kYXJUb2tlbjEyMzQ1" not in body  # the person's calendar token
        assert "webcal://" not in body
    assert "webcal://" in html_of(own)
    # Two recipients of one deadline get different Message-IDs, each stable.
    assert cc_message_id_for(reminder.key, "a@x.org", "s <s@y.org>") != cc_message_id_for(
        reminder.key, "b@x.org", "s <s@y.org>"
    )
    assert cc_message_id_for(reminder.key, "A@X.org", "s <s@y.org>") == cc_message_id_for(
        reminder.key, "a@x.org", "s <s@y.org>"
    )


def test_non_ascii_names_are_rfc2047_encoded(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    person, occurrence, reminder = _find(config, occurrences, "nguyen-van-an", "visa", "P7D")
    message = _render(config, person, occurrence, reminder)
    raw = message.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # every header line is 7-bit
    assert b"=?utf-8?" in head
    parsed = reparse(message)
    assert [(a.display_name, a.addr_spec) for a in parsed["To"].addresses] == [
        ("Nguyễn Văn An", "an@example.org"),
        ("Nguyễn Văn An", "an.nguyen@work.example.com"),
    ]
    assert "Cc" not in parsed


INJECTIONS = [
    "\r\nBcc: evil@example.org",
    "\nX-Evil: 1",
    "\rX-Evil: 1",
    "\r\n\r\nX-Evil: 1",
    "\u2028X-Evil: 1",
    "\u2029X-Evil: 1",
    "\x85X-Evil: 1",
    "\x0bX-Evil: 1",
    "\x0cX-Evil: 1",
    "\x1cX-Evil: 1",
    "\x00X-Evil: 1",
    "\u202eX-Evil: 1",
    "=?utf-8?q?=0D=0ABcc:_evil@example.org?=",
    'Evil" <evil@example.org>, "x',
    "evil@example.org, Bcc: evil@example.org",
]


def _header_names(raw: bytes) -> list[str]:
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0] for line in head.split("\n") if line and line[0] not in " \t"]


@pytest.mark.parametrize("evil", INJECTIONS)
def test_names_titles_and_notes_never_make_headers(
    evil: str, config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    person, occurrence, reminder = _find(config, occurrences, "wang-fang", "visa", "P7D")
    person = person.model_copy(update={"name": f"Wang Fang{evil}"})
    occurrence = dataclasses.replace(
        occurrence,
        kind="custom",
        title=f"Visa{evil}",
        note=f"note{evil}",
    )
    reminder = dataclasses.replace(reminder, kind="custom")
    message = _render(config, person, occurrence, reminder)
    raw = message.as_bytes()

    names = _header_names(raw)
    assert sorted(names) == sorted(EXPECTED_HEADERS)
    for parser_policy in (policy.default, policy.compat32):
        parsed: Message = BytesParser(policy=parser_policy).parsebytes(raw)
        assert sorted(parsed.keys()) == sorted(EXPECTED_HEADERS)
        assert parsed.get_all("Bcc") is None
        assert parsed.get_all("X-Evil") is None
    modern = reparse(message)
    assert [a.addr_spec for a in modern["To"].addresses] == ["wang.fang@example.org"]
    assert "Cc" not in modern
    subject = str(modern["Subject"])
    assert "\n" not in subject
    assert "\r" not in subject
    assert subject.startswith("【还剩7天】Visa")


def test_a_custom_title_with_a_line_separator_from_the_config(tmp_path: Path) -> None:
    # The config refuses CR and LF in titles but lets U+2028 through: render must cope.
    config = parse_config(
        """
        [[person]]
        id = "an"
        name = "An"
        email = ["an@example.org"]

          [[person.deadline]]
          id = "x"
          kind = "custom"
          title = "Top up SIM\\u2028Bcc: evil@example.org"
          date = 2027-01-05
        """
    )
    [occurrence] = plan(config, date(2027, 1, 1), date(2027, 1, 31))
    reminder = occurrence.reminders[0]
    message = render_reminder(
        config,
        config.people[0],
        occurrence,
        reminder,
        now=reminder.due,
        ack_url=None,
        feed_url=None,
    )
    parsed = reparse(message)
    assert parsed.get_all("Bcc") is None
    assert str(parsed["Subject"]).startswith("Top up SIM Bcc: evil@example.org due Tue 5 Jan")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        ("a\r\nBcc: b", "a Bcc: b"),
        ("  many   spaces\t\there ", "many spaces here"),
        ("line\u2028sep\u2029para\x85nel", "line sep para nel"),
        ("bidi\u202egnirts", "bidignirts"),
        ("Nguyễn Văn An", "Nguyễn Văn An"),
        ("체류기간\x00만료", "체류기간 만료"),
    ],
)
def test_header_text(value: str, expected: str) -> None:
    assert header_text(value) == expected


@pytest.mark.parametrize(
    ("sender", "domain"),
    [
        ("staywatch <reminders@staywatch.example.org>", "staywatch.example.org"),
        ("staywatch@Example.ORG", "example.org"),
        ("staywatch <staywatch@localhost>", "localhost"),
        ("staywatch <me@bücher.example>", "xn--bcher-kva.example"),
        ("nobody", "localhost"),
    ],
)
def test_sender_domain(sender: str, domain: str) -> None:
    assert sender_domain(sender) == domain


def test_message_id_for() -> None:
    assert (
        message_id_for("wang-fang/nhis/2026-12-28/-P3D", "s <s@example.org>")
        == "<wang-fang/nhis/2026-12-28/-P3D@example.org>"
    )
    assert message_id_for("a b\r\n<c>", "s@example.org") == "<a-b---c-@example.org>"


def test_render_test(config: Config) -> None:
    now = datetime(2027, 1, 5, 0, 30, tzinfo=UTC)
    message = render_test(config, "ops@example.org", now=now)
    again = render_test(config, "ops@example.org", now=now)
    assert message.as_bytes() == again.as_bytes()
    parsed = reparse(message)
    assert parsed["Subject"] == "staywatch test message"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["ops@example.org"]
    assert parsed["Date"] == "Tue, 05 Jan 2027 09:30:00 +0900"
    assert parsed["Message-ID"].endswith("@staywatch.example.org>")
    later = render_test(config, "ops@example.org", now=now + timedelta(seconds=1))
    assert later["Message-ID"] != message["Message-ID"]
    text = text_of(parsed)
    assert "sent 2027-01-05 09:30 KST" in text
    assert "테스트 메일" in text
    assert "测试邮件" in text


def test_naive_now_is_refused(config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    person, occurrence, reminder = _find(config, occurrences, "wang-fang", "visa", "P7D")
    with pytest.raises(ValueError, match="naive"):
        _render(config, person, occurrence, reminder, now=datetime(2027, 3, 5, 9, 0))
