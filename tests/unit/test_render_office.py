"""Office emails: escalations and digests (golden files, headers, ordering).

Golden files live in tests/data/mail/office/*.txt (a folder of their own, so
that test_render.py's check for stray reminder files stays exact): headers
(sorted, decoded) and the text part after a round trip through bytes.
Regenerate with ``STAYWATCH_UPDATE_GOLDEN=1 pytest tests/unit/test_render_office.py``
and review the diff.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path

import pytest

from service import texts
from service.config import Config, Office, Person, parse_config
from service.offices import ConfigChangeRecord, DigestContent, OfficeRow
from service.plan import Occurrence, Reminder, plan
from service.render import digest_key, render_digest, render_escalation
from service.store.records import DeliveryRow, ReminderRow
from tests.fixtures.golden import check_golden
from tests.fixtures.mail import EXPECTED_HEADERS, dump, html_of, reparse, text_of

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "mail" / "office"
ACK = "https://staywatch.example.org/act/v1.Zm9vYmFy.c2lnbmF0dXJl"
DASHBOARD = "https://staywatch.example.org/office/hr/RGFzaGJvYXJkVG9rZW4"

CONFIG = """
[service]
timezone = "Asia/Seoul"
send_time = "09:00"

[mail]
from = "staywatch <reminders@staywatch.example.org>"

[[office]]
id = "hr"
name = "HR Office"
email = ["hr@uni.example.ac.kr", "hr-lead@uni.example.ac.kr"]
people = ["*"]

[[office]]
id = "intl"
name = "국제처"
email = ["intl@uni.example.ac.kr"]
language = "ko"
people = ["wang-fang"]

[[office]]
id = "cn-desk"
name = "中国学生服务处"
email = ["cn@uni.example.ac.kr"]
language = "zh"
timezone = "Asia/Shanghai"
tags = ["cn"]
digest = "daily 08:30"
digest_days = 30

[[person]]
id = "wang-fang"
name = "Wang Fang"
email = ["wang.fang@example.org"]
language = "zh"
tags = ["cn"]

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-03-14
  note = "D-2, needs the enrolment letter"

  [[person.deadline]]
  id = "nhis"
  kind = "nhis_premium"
  start = 2027-01-01
  until = 2027-04-01

[[person]]
id = "nguyen-van-an"
name = "Nguyễn Văn An"
email = ["an@example.org"]

  [[person.deadline]]
  id = "passport"
  kind = "passport_expiry"
  date = 2027-04-20

  [[person.deadline]]
  id = "gym"
  kind = "custom"
  title = "Gym <membership> & locker"
  date = 2027-03-20
"""


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(CONFIG, "staywatch.toml")


@pytest.fixture(scope="module")
def occurrences(config: Config) -> tuple[Occurrence, ...]:
    return plan(config, date(2027, 1, 1), date(2027, 12, 31))


def _office(config: Config, office_id: str) -> Office:
    office = config.office(office_id)
    assert office is not None
    return office


def _find(
    config: Config,
    occurrences: tuple[Occurrence, ...],
    person: str,
    deadline: str,
    office: str,
    day: date | None = None,
) -> tuple[Person, Occurrence, Reminder]:
    found = config.person(person)
    assert found is not None
    for occurrence in occurrences:
        if occurrence.person != person or occurrence.deadline != deadline:
            continue
        if day is not None and occurrence.date != day:
            continue
        for escalation in occurrence.escalations:
            if escalation.office == office:
                return found, occurrence, escalation
    raise AssertionError(f"no escalation {person}/{deadline}/*+{office} in the plan")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


HISTORY = [
    DeliveryRow(
        4,
        "wang-fang/visa/2027-03-14/P30D",
        _at("2027-02-12T09:00:03+09:00"),
        "smtp",
        "failed",
        550,
        "5.1.1 <wang.fang@example.org>:\r\n Recipient address rejected",
        None,
    ),
    DeliveryRow(
        1,
        "wang-fang/visa/2027-03-14/P4M",
        _at("2026-11-14T09:00:01+09:00"),
        "smtp",
        "sent",
        250,
        "2.0.0 Ok: queued",
        "<wang-fang/visa/2027-03-14/P4M@staywatch.example.org>",
    ),
    DeliveryRow(
        2,
        "wang-fang/visa/2027-03-14/P60D",
        _at("2027-01-13T09:00:02+09:00"),
        "smtp",
        "retry",
        451,
        "4.7.1 Try again later",
        None,
    ),
    DeliveryRow(
        3,
        "wang-fang/visa/2027-03-14/P60D",
        _at("2027-01-13T09:05:02+09:00"),
        "smtp",
        "sent",
        250,
        "2.0.0 Ok: queued",
        "<wang-fang/visa/2027-03-14/P60D@staywatch.example.org>",
    ),
]


def _escalate(
    config: Config,
    office: Office,
    person: Person,
    occurrence: Occurrence,
    escalation: Reminder,
    *,
    history: list[DeliveryRow] | None = None,
    ack_url: str | None = ACK,
    dashboard_url: str | None = DASHBOARD,
) -> EmailMessage:
    return render_escalation(
        config,
        office,
        person,
        occurrence,
        escalation,
        now=escalation.due,
        history=HISTORY if history is None else history,
        ack_url=ack_url,
        dashboard_url=dashboard_url,
    )


def _check_golden(name: str, message: EmailMessage) -> None:
    check_golden(GOLDEN / f"{name}.txt", dump(message))


def _row(
    person: str,
    name: str,
    deadline: str,
    kind: str,
    what: str,
    day: date,
    days_left: int,
    status: str,
    covers: str | None = None,
) -> OfficeRow:
    return OfficeRow(
        person=person,
        name=name,
        tags=(),
        deadline=deadline,
        kind=kind,
        what=what,
        date=day,
        days_left=days_left,
        status=status,
        occurrence=f"{person}/{deadline}/{day.isoformat()}",
        covers=covers,
    )


def _failure(key: str, error: str) -> ReminderRow:
    person, deadline, day, offset = key.split("/")
    occurrence_day = date.fromisoformat(day)
    return ReminderRow(
        key=key,
        person=person,
        deadline=deadline,
        kind="stay_expiry",
        occurrence=key.rpartition("/")[0] + ("+" + offset.split("+")[1] if "+" in offset else ""),
        occurrence_date=occurrence_day,
        offset=offset,
        due=_at("2027-02-12T09:00:00+09:00"),
        ends=_at("2027-03-15T00:00:00+09:00"),
        overdue=False,
        closed_notice=False,
        status="failed",
        reason=error,
        attempts=1,
        next_attempt=None,
        last_error=error,
        claimed_by=None,
        claimed_until=None,
        claim_token=None,
        sent_at=None,
        created_at=_at("2027-01-01T00:00:00+09:00"),
        updated_at=_at("2027-02-12T09:00:03+09:00"),
    )


PERIOD = datetime.fromisoformat("2027-03-01T09:00:00+09:00")
SINCE = datetime.fromisoformat("2027-02-22T09:00:00+09:00")
NOW = datetime.fromisoformat("2027-03-01T09:00:04+09:00")


def _content(office: Office) -> DigestContent:
    # Rows as office_rows() hands them out: most urgent first, named in the office's language.
    content = DigestContent(office, PERIOD, SINCE)
    content.overdue = [
        _row(
            "wang-fang",
            "Wang Fang",
            "nhis",
            "nhis_premium",
            texts.kind_name("nhis_premium", office.language),
            date(2027, 2, 25),
            -4,
            "overdue",
            covers="2027-03",
        ),
    ]
    content.upcoming = [
        _row(
            "wang-fang",
            "Wang Fang",
            "visa",
            "stay_expiry",
            texts.kind_name("stay_expiry", office.language),
            date(2027, 3, 14),
            13,
            "failed",
        ),
        _row(
            "nguyen-van-an",
            "Nguyễn Văn An",
            "gym",
            "custom",
            "Gym <membership> & locker",
            date(2027, 3, 20),
            19,
            "sent",
        ),
        _row(
            "wang-fang",
            "Wang Fang",
            "nhis",
            "nhis_premium",
            texts.kind_name("nhis_premium", office.language),
            date(2027, 3, 25),
            24,
            "pending",
            covers="2027-04",
        ),
    ]
    content.acknowledged = [
        ("nguyen-van-an/gym/2027-02-20", _at("2027-02-23T18:12:00+09:00"), "web"),
        ("left-already/visa/2027-02-28", _at("2027-02-24T10:00:00+09:00"), "cli:admin"),
    ]
    content.failures = [
        _failure(
            "wang-fang/visa/2027-03-14/P30D",
            "550 5.1.1 <wang.fang@example.org>: Recipient address rejected",
        )
    ]
    content.changes = [
        (
            _at("2027-02-26T14:30:00+09:00"),
            ConfigChangeRecord(
                people_added=("nguyen-van-an",), deadlines_changed=("wang-fang/nhis",)
            ),
        ),
        # What an older version stored: English text, shown as it is.
        (_at("2027-02-27T10:00:00+09:00"), "deadlines changed: wang-fang/visa"),
    ]
    return content


# -- golden files ----------------------------------------------------------------


#: The office that reads each language: hr (en), intl (ko), cn-desk (zh); the other
#: languages read through a copy of intl under their own name.
OFFICES = {"en": "hr", "ko": "intl", "zh": "cn-desk"}
OTHER_OFFICES = {
    "vi": "Phòng Quốc tế",
    "ne": "अन्तर्राष्ट्रिय कार्यालय",
    "uz": "Xalqaro boʻlim",
    "km": "ការិយាល័យអន្តរជាតិ",
    "th": "สำนักงานต่างประเทศ",
    "mn": "Гадаад харилцааны алба",
    "ru": "Международный отдел",
    "id": "Kantor Internasional",
}
GOLDEN_LANGUAGES = sorted([*OFFICES, *OTHER_OFFICES])


def _office_of(config: Config, lang: str) -> Office:
    if lang in OFFICES:
        return _office(config, OFFICES[lang])
    return _office(config, "intl").model_copy(
        update={"name": OTHER_OFFICES[lang], "language": lang}
    )


@pytest.mark.parametrize("lang", GOLDEN_LANGUAGES)
def test_golden_escalation(lang: str, config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    office = _office_of(config, lang)
    person, occurrence, escalation = _find(config, occurrences, "wang-fang", "visa", office.id)
    assert escalation.key == f"wang-fang/visa/2027-03-14/P14D+{office.id}"
    _check_golden(f"escalation-{lang}", _escalate(config, office, person, occurrence, escalation))


@pytest.mark.parametrize("lang", GOLDEN_LANGUAGES)
def test_golden_escalation_after_the_date(
    lang: str, config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    office = _office_of(config, lang)
    person, occurrence, escalation = _find(config, occurrences, "wang-fang", "visa", office.id)
    # The same escalation, sent late: the day after the date.
    late = dataclasses.replace(escalation, due=escalation.due + timedelta(days=15))
    message = render_escalation(
        config,
        office,
        person,
        occurrence,
        late,
        now=late.due,
        history=HISTORY,
        ack_url=ACK,
        dashboard_url=DASHBOARD,
    )
    _check_golden(f"escalation-{lang}-day-after", message)


@pytest.mark.parametrize("lang", GOLDEN_LANGUAGES)
def test_golden_digest(lang: str, config: Config) -> None:
    office = _office_of(config, lang)
    _check_golden(
        f"digest-{lang}", render_digest(config, _content(office), now=NOW, dashboard_url=DASHBOARD)
    )


def test_golden_files_have_no_strays() -> None:
    found = {p.stem for p in GOLDEN.glob("*.txt")}
    assert found == {
        f"{name}-{lang}{suffix}"
        for lang in GOLDEN_LANGUAGES
        for name, suffix in (("escalation", ""), ("escalation", "-day-after"), ("digest", ""))
    }


# -- escalations -----------------------------------------------------------------


def test_escalation_headers(config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    person, occurrence, escalation = _find(config, occurrences, "wang-fang", "visa", "hr")
    parsed = reparse(_escalate(config, _office(config, "hr"), person, occurrence, escalation))
    assert set(parsed.keys()) == EXPECTED_HEADERS
    assert "Cc" not in parsed
    assert [(a.display_name, a.addr_spec) for a in parsed["To"].addresses] == [
        ("HR Office", "hr@uni.example.ac.kr"),
        ("HR Office", "hr-lead@uni.example.ac.kr"),
    ]
    assert parsed["From"] == "staywatch <reminders@staywatch.example.org>"
    assert parsed["Message-ID"] == "<wang-fang/visa/2027-03-14/P14D+hr@staywatch.example.org>"
    assert parsed["X-Staywatch-Key"] == "wang-fang/visa/2027-03-14/P14D+hr"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert parsed["Content-Language"] == "en"
    assert parsed["Date"] == "Sun, 28 Feb 2027 09:00:00 +0900"
    assert parsed["Subject"] == (
        "Not confirmed: Wang Fang — Visa expires Sun 14 Mar (14 days left)"
    )


def test_escalation_is_in_the_offices_language_and_zone(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    person, occurrence, escalation = _find(config, occurrences, "wang-fang", "visa", "cn-desk")
    parsed = reparse(_escalate(config, _office(config, "cn-desk"), person, occurrence, escalation))
    assert parsed["Subject"] == "未确认：Wang Fang，滞留期间3月14日（周日）到期（还剩14天）"
    assert parsed["Content-Language"] == "zh"
    # Shanghai is an hour behind Seoul: delivery times and Date are the office's.
    assert parsed["Date"] == "Sun, 28 Feb 2027 08:00:00 +0800"
    text = text_of(parsed)
    assert "- 2026-11-14 08:00 CST：已发送" in text
    ko = reparse(
        _escalate(
            config,
            _office(config, "intl"),
            *_find(config, occurrences, "wang-fang", "visa", "intl"),
        )
    )
    assert ko["Subject"] == "처리 확인 없음: Wang Fang 님, 체류기간 만료 3월 14일(일) (D-14)"


def test_escalation_says_who_what_and_what_was_sent(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    person, occurrence, escalation = _find(config, occurrences, "wang-fang", "visa", "hr")
    message = _escalate(config, _office(config, "hr"), person, occurrence, escalation)
    text = text_of(message)
    assert "Who: Wang Fang (wang-fang)" in text
    assert "Email: wang.fang@example.org" in text
    assert "Visa expires Sunday, 14 March 2027. That is 14 days from today." in text
    assert "Note: D-2, needs the enrolment letter" in text
    # 14 March 2027 is a Sunday: the office hears when the person must act by.
    assert "The last working day before it is Friday, 12 March 2027" in text
    # One line per attempt, oldest first, in the office's zone; replies for failures only.
    history = text.split("Reminders sent so far\n", 1)[1].split("\n\n", 1)[0]
    assert history.splitlines() == [
        "- 2026-11-14 09:00 KST: sent",
        "- 2027-01-13 09:00 KST: not delivered, will retry",
        "  server said: 451 4.7.1 Try again later",
        "- 2027-01-13 09:05 KST: sent",
        "- 2027-02-12 09:00 KST: not delivered, given up",
        "  server said: 550 5.1.1 <wang.fang@example.org>: Recipient address rejected",
    ]
    assert "What Wang Fang has to do\n1. Apply on HiKorea" in text
    # Written about the person, to the office: "their", never "your".
    steps = text.split("What Wang Fang has to do\n", 1)[1].split("\n\n", 1)[0]
    assert "their immigration office" in steps
    assert "your" not in steps.lower()
    assert f"{ACK}\n(The link opens a confirmation page" in text
    assert DASHBOARD in text
    html = html_of(message)
    assert f'href="{ACK}"' in html
    assert f'href="{DASHBOARD}"' in html
    assert "&lt;wang.fang@example.org&gt;" in html


def test_escalation_without_deliveries_or_links(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    person, occurrence, escalation = _find(config, occurrences, "wang-fang", "visa", "hr")
    message = _escalate(
        config,
        _office(config, "hr"),
        person,
        occurrence,
        escalation,
        history=[],
        ack_url=None,
        dashboard_url=None,
    )
    text = text_of(message)
    assert "Reminders sent so far\nNo reminder was delivered yet." in text
    assert "staywatch.example.org" not in text
    assert 'href="https://staywatch' not in html_of(message)


def test_nhis_escalates_after_the_date_as_overdue(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    person, occurrence, escalation = _find(
        config, occurrences, "wang-fang", "nhis", "hr", day=date(2027, 2, 25)
    )
    assert escalation.offset == "-P1D+hr"
    message = _escalate(config, _office(config, "hr"), person, occurrence, escalation, history=[])
    assert str(message["Subject"]) == (
        "Overdue: Wang Fang — NHIS premium for March due Thu 25 Feb (1 day overdue)"
    )
    text = text_of(message)
    assert "The deadline below has passed" in text
    assert "NHIS premium for March 2027 due Thursday, 25 February 2027. That was 1 day ago." in text
    assert message["X-Staywatch-Key"] == "wang-fang/nhis/2027-02-25/-P1D+hr"


def test_escalation_is_deterministic(config: Config, occurrences: tuple[Occurrence, ...]) -> None:
    picked = _find(config, occurrences, "wang-fang", "visa", "hr")
    office = _office(config, "hr")
    assert (
        _escalate(config, office, *picked).as_bytes()
        == _escalate(config, office, *picked).as_bytes()
    )


INJECTIONS = [
    "\r\nBcc: evil@example.org",
    "\nX-Evil: 1",
    "\rX-Evil: 1",
    "\r\n\r\nX-Evil: 1",
    "\u2028X-Evil: 1",
    "\x85X-Evil: 1",
    "\u202eX-Evil: 1",
    "=?utf-8?q?=0D=0ABcc:_evil@example.org?=",
    'Evil" <evil@example.org>, "x',
]


def _header_names(raw: bytes) -> list[str]:
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0] for line in head.split("\n") if line and line[0] not in " \t"]


def _assert_clean_headers(message: EmailMessage, to: list[str]) -> None:
    raw = message.as_bytes()
    assert sorted(_header_names(raw)) == sorted(EXPECTED_HEADERS)
    for parser_policy in (policy.default, policy.compat32):
        parsed: Message = BytesParser(policy=parser_policy).parsebytes(raw)
        assert sorted(parsed.keys()) == sorted(EXPECTED_HEADERS)
        assert parsed.get_all("Bcc") is None
        assert parsed.get_all("X-Evil") is None
    modern = reparse(message)
    assert [a.addr_spec for a in modern["To"].addresses] == to
    subject = str(modern["Subject"])
    assert "\n" not in subject
    assert "\r" not in subject


@pytest.mark.parametrize("evil", INJECTIONS)
def test_names_never_make_headers(
    evil: str, config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    person, occurrence, escalation = _find(config, occurrences, "wang-fang", "visa", "hr")
    person = person.model_copy(update={"name": f"Wang Fang{evil}"})
    office = _office(config, "hr").model_copy(update={"name": f"HR{evil}"})
    message = _escalate(config, office, person, occurrence, escalation)
    _assert_clean_headers(message, ["hr@uni.example.ac.kr", "hr-lead@uni.example.ac.kr"])
    assert str(reparse(message)["Subject"]).startswith("Not confirmed: Wang Fang")

    digest = render_digest(config, _content(office), now=NOW, dashboard_url=None)
    _assert_clean_headers(digest, ["hr@uni.example.ac.kr", "hr-lead@uni.example.ac.kr"])
    assert str(reparse(digest)["Subject"]).startswith("staywatch digest for HR")


# -- digests ---------------------------------------------------------------------


def test_digest_headers(config: Config) -> None:
    office = _office(config, "hr")
    content = _content(office)
    assert digest_key(content) == "digest/hr/2027-03-01T09:00"
    parsed = reparse(render_digest(config, content, now=NOW, dashboard_url=DASHBOARD))
    assert set(parsed.keys()) == EXPECTED_HEADERS
    assert "Cc" not in parsed
    assert [(a.display_name, a.addr_spec) for a in parsed["To"].addresses] == [
        ("HR Office", "hr@uni.example.ac.kr"),
        ("HR Office", "hr-lead@uni.example.ac.kr"),
    ]
    assert parsed["Message-ID"] == "<digest/hr/2027-03-01T09-00@staywatch.example.org>"
    assert parsed["X-Staywatch-Key"] == "digest/hr/2027-03-01T09:00"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Subject"] == (
        "staywatch digest for HR Office: 1 overdue, 3 due in the next 60 days, 1 failed delivery"
    )


def test_digest_subject_in_other_languages(config: Config) -> None:
    intl = render_digest(config, _content(_office(config, "intl")), now=NOW, dashboard_url=None)
    assert str(intl["Subject"]) == (
        "staywatch 요약(국제처): 기한 지남 1건, 60일 이내 기한 3건, 전달 실패 1건"
    )
    cn = render_digest(config, _content(_office(config, "cn-desk")), now=NOW, dashboard_url=None)
    assert str(cn["Subject"]) == (
        "staywatch摘要（中国学生服务处）：已逾期1项，30天内到期3项，发送失败1项"
    )


def test_digest_lists_overdue_before_upcoming(config: Config) -> None:
    message = render_digest(
        config, _content(_office(config, "hr")), now=NOW, dashboard_url=DASHBOARD
    )
    text = text_of(message)
    order = [
        text.index("Overdue (1)"),
        text.index("Due in the next 60 days (3)"),
        text.index("Marked as done since the last digest (2)"),
        text.index("Reminders that could not be delivered (1)"),
        text.index("Changes to the configuration since the last digest (2)"),
        text.index(DASHBOARD),
    ]
    assert order == sorted(order)
    # The overdue NHIS premium comes before every upcoming row.
    assert text.index("2027-02-25") < text.index("2027-03-14") < text.index("2027-03-20")
    html = html_of(message)
    assert html.index("2027-02-25") < html.index("2027-03-14") < html.index("2027-03-20")


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def test_digest_text_is_aligned_and_html_escaped(config: Config) -> None:
    message = render_digest(
        config, _content(_office(config, "cn-desk")), now=NOW, dashboard_url=DASHBOARD
    )
    text = text_of(message)
    block = text.split("30天内到期（3）\n", 1)[1].split("\n\n", 1)[0].splitlines()
    # Wide (CJK) characters take two columns: the date column starts at the same place.
    columns = {_columns(line[: line.index("2027-0")]) for line in block[2:]}
    assert len(columns) == 1
    html = html_of(message)
    assert "Gym &lt;membership&gt; &amp; locker" in html
    assert "<membership>" not in html
    assert "Gym <membership> & locker" in text


def test_digest_resolves_acknowledgements_and_explains_failures(config: Config) -> None:
    text = text_of(
        render_digest(config, _content(_office(config, "hr")), now=NOW, dashboard_url=None)
    )
    acknowledged = text.split("Marked as done since the last digest (2)\n", 1)[1]
    rows = [re.split(r"  +", line) for line in acknowledged.split("\n\n", 1)[0].splitlines()]
    assert rows[2:] == [
        ["Nguyễn Văn An", "Gym <membership> & locker", "2027-02-20", "2027-02-23 18:12 KST", "web"],
        ["left-already/visa/2027-02-28", "2027-02-24 10:00 KST", "cli:admin"],
    ]
    assert "left-already/visa/2027-02-28" in text
    assert "correct it in the config" in text
    assert "Reminder: wang-fang/visa/2027-03-14/P30D" in text
    assert "Addresses: wang.fang@example.org" in text
    assert "Reply: 550 5.1.1 <wang.fang@example.org>: Recipient address rejected" in text
    assert (
        "2027-02-26 14:30 KST  1 person added (nguyen-van-an); 1 deadline changed (wang-fang/nhis)"
        in text
    )
    assert "2027-02-27 10:00 KST  deadlines changed: wang-fang/visa" in text


def test_empty_sections_are_left_out(config: Config) -> None:
    office = _office(config, "hr")
    content = _content(office)
    content.acknowledged = []
    content.failures = []
    content.changes = []
    text = text_of(render_digest(config, content, now=NOW, dashboard_url=None))
    assert "Marked as done" not in text
    assert "could not be delivered" not in text
    assert "Changes to the configuration" not in text
    empty = render_digest(config, DigestContent(office, PERIOD, None), now=NOW, dashboard_url=None)
    assert (
        str(empty["Subject"])
        == "staywatch digest for HR Office: 0 overdue, 0 due in the next 60 days"
    )
    assert "Nothing to report." in text_of(empty)


def test_digest_is_deterministic(config: Config) -> None:
    office = _office(config, "hr")
    first = render_digest(config, _content(office), now=NOW, dashboard_url=DASHBOARD)
    second = render_digest(config, _content(office), now=NOW, dashboard_url=DASHBOARD)
    assert first.as_bytes() == second.as_bytes()


def test_chinese_offices_read_full_width_punctuation(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    office = _office(config, "cn-desk")
    escalation = _escalate(
        config, office, *_find(config, occurrences, "wang-fang", "visa", "cn-desk")
    )
    assert "当事人：Wang Fang（wang-fang）" in text_of(escalation)
    digest = text_of(render_digest(config, _content(office), now=NOW, dashboard_url=None))
    assert "- Wang Fang，滞留期间 2027-03-14" in digest
    assert ", " not in digest.split("未能送达的提醒", 1)[1].split("\n\n", 2)[1].splitlines()[0]


@pytest.mark.parametrize("lang", sorted(OFFICES))
def test_digest_status_words_are_the_dashboards(lang: str, config: Config) -> None:
    office = _office(config, OFFICES[lang])
    content = _content(office)
    text = text_of(render_digest(config, content, now=NOW, dashboard_url=None))
    for row in (*content.overdue, *content.upcoming):
        assert texts.status_label(row.status, lang) in text
    if lang != "en":
        assert "not reminded yet" not in text
