"""Config reading and validation (service.config).

Every user mistake gets one located message ``FILE:LINE: <where>: <message>``
(DESIGN.md, Config). Expected lines are found in the input text, not copied
from the output.
"""

from __future__ import annotations

import os
from datetime import date, time
from pathlib import Path

import pytest

from service.config import Config, Custom, NhisPremium, load_config, parse_config
from service.errors import ConfigError, ConfigProblem
from service.keys import Duration
from tests.fixtures.golden import check_golden

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"

PERSON = """\
[[person]]
id = "wang-fang"
name = "Wang Fang"
email = ["wang.fang@example.org"]
"""


def problems(text: str, path: str = "x.toml") -> tuple[ConfigProblem, ...]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, path)
    return info.value.problems


def only_problem(text: str, path: str = "x.toml") -> ConfigProblem:
    found = problems(text, path)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based number of the ``occurrence``-th line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def deadline(body: str, did: str = "d") -> str:
    return f'{PERSON}\n  [[person.deadline]]\n  id = "{did}"\n{body}\n'


# -- one mistake, one message --------------------------------------------------------

CASES = [
    # (id, text, needle for the line, where, message start)
    (
        "wrong-type",
        '[service]\nhorizon_days = "soon"\n',
        "horizon_days",
        "[service]",
        "horizon_days 'soon' should be a whole number",
    ),
    (
        "horizon-out-of-range",
        "[service]\nhorizon_days = 0\n",
        "horizon_days",
        "[service]",
        "horizon_days 0 is out of range",
    ),
    (
        "bad-time-zone",
        '[service]\ntimezone = "Asia/Seul"\n',
        "timezone",
        "[service]",
        "timezone 'Asia/Seul' is not a known time zone; use an IANA name like Asia/Seoul",
    ),
    (
        "bad-person-time-zone",
        PERSON + 'timezone = "Europe/Berln"\n',
        "timezone",
        "person 'wang-fang'",
        "timezone 'Europe/Berln' is not a known time zone",
    ),
    (
        "bad-send-time",
        '[service]\nsend_time = "25:00"\n',
        "send_time",
        "[service]",
        "send_time '25:00' is not a time of day; write it as HH:MM",
    ),
    (
        "bad-language",
        PERSON + 'language = "fr"\n',
        "language",
        "person 'wang-fang'",
        "language 'fr' is not supported; use one of en, ko, zh, vi, ne, uz, km, th, mn, ru, id",
    ),
    (
        "invalid-email",
        PERSON.replace("wang.fang@example.org", "wang.fang.example.org"),
        "email",
        "person 'wang-fang'",
        "email[1] 'wang.fang.example.org' is not a valid e-mail address",
    ),
    (
        "invalid-recipient",
        deadline('  kind = "passport_expiry"\n  date = 2028-01-20\n  recipients = ["hr@"]'),
        "recipients",
        "person 'wang-fang' deadline 'd'",
        "recipients[1] 'hr@' is not a valid e-mail address",
    ),
    (
        "empty-email",
        PERSON.replace('["wang.fang@example.org"]', "[]"),
        "email",
        "person 'wang-fang'",
        "email must not be empty",
    ),
    (
        "unknown-kind",
        deadline('  kind = "visa_expiry"\n  date = 2027-03-14'),
        "kind =",
        "person 'wang-fang' deadline 'd'",
        "kind 'visa_expiry' is not a known kind; use one of stay_expiry, arc_registration",
    ),
    (
        "missing-kind",
        deadline("  date = 2027-03-14"),
        "[[person.deadline]]",
        "person 'wang-fang' deadline 'd'",
        "kind is missing; add kind = one of stay_expiry",
    ),
    (
        "missing-entry",
        deadline('  kind = "arc_registration"'),
        "[[person.deadline]]",
        "person 'wang-fang' deadline 'd'",
        "entry is required for kind arc_registration; add entry = YYYY-MM-DD",
    ),
    (
        "missing-moved",
        deadline('  kind = "address_report"'),
        "[[person.deadline]]",
        "person 'wang-fang' deadline 'd'",
        "moved is required for kind address_report; add moved = YYYY-MM-DD",
    ),
    (
        "missing-start",
        deadline('  kind = "nhis_premium"\n  autopay = true'),
        "[[person.deadline]]",
        "person 'wang-fang' deadline 'd'",
        "start is required for kind nhis_premium; add start = YYYY-MM-DD",
    ),
    (
        "missing-date",
        deadline('  kind = "stay_expiry"\n  note = "D-2"'),
        "[[person.deadline]]",
        "person 'wang-fang' deadline 'd'",
        "date is required for kind stay_expiry; add date = YYYY-MM-DD",
    ),
    (
        "impossible-date",
        deadline('  kind = "passport_expiry"\n  date = 2027-02-29'),
        "date =",
        "person 'wang-fang' deadline 'd'",
        "date 2027-02-29 is not a date",
    ),
    (
        "impossible-extra-holiday",
        "[service]\nextra_holidays = [2027-05-03, 2027-02-29]\n",
        "extra_holidays",
        "[service]",
        "extra_holidays[2] 2027-02-29 is not a date",
    ),
    (
        "date-with-time",
        deadline('  kind = "stay_expiry"\n  date = 2027-03-14T09:00:00'),
        "date =",
        "person 'wang-fang' deadline 'd'",
        "date 2027-03-14T09:00:00 is a date and time; write only the date",
    ),
    (
        "bad-duration",
        deadline('  kind = "stay_expiry"\n  date = 2027-03-14\n  remind = [30, "P3X"]'),
        "remind",
        "person 'wang-fang' deadline 'd'",
        "remind[2] 'P3X' is not an ISO 8601 duration; write e.g. P30D",
    ),
    (
        "bad-rrule",
        deadline('  kind = "custom"\n  title = "SIM"\n  rrule = "FREQ=SOMETIMES"'),
        "rrule",
        "person 'wang-fang' deadline 'd'",
        "rrule 'FREQ=SOMETIMES' is not a valid RFC 5545 RRULE",
    ),
    (
        "rrule-too-often",
        deadline('  kind = "custom"\n  title = "SIM"\n  rrule = "FREQ=HOURLY"'),
        "rrule",
        "person 'wang-fang' deadline 'd'",
        "rrule 'FREQ=HOURLY' repeats more often than daily",
    ),
    (
        "custom-without-title",
        deadline('  kind = "custom"\n  date = 2027-01-15'),
        "[[person.deadline]]",
        "person 'wang-fang' deadline 'd'",
        'title is required for kind custom; add title = "what is due"',
    ),
    (
        "custom-without-date",
        deadline('  kind = "custom"\n  title = "Tax"'),
        "[[person.deadline]]",
        "person 'wang-fang' deadline 'd'",
        "custom deadline needs one of date, at or rrule",
    ),
    (
        "custom-date-and-at",
        deadline(
            '  kind = "custom"\n  title = "Exam"\n  date = 2027-04-18\n'
            "  at = 2027-04-18T09:00:00+09:00"
        ),
        "at =",
        "person 'wang-fang' deadline 'd'",
        "custom deadline has both date and at; keep only one",
    ),
    (
        "start-without-rrule",
        deadline('  kind = "custom"\n  title = "Tax"\n  date = 2027-01-15\n  start = 2027-01-01'),
        "start =",
        "person 'wang-fang' deadline 'd'",
        "start only applies to rrule",
    ),
    (
        "at-without-offset",
        deadline('  kind = "custom"\n  title = "Call"\n  at = 2027-01-05T10:00:00'),
        "at =",
        "person 'wang-fang' deadline 'd'",
        "at 2027-01-05T10:00:00 has no UTC offset; add one, e.g. 2027-01-05T10:00:00+09:00",
    ),
    (
        "until-before-start",
        deadline('  kind = "nhis_premium"\n  start = 2027-05-01\n  until = 2027-01-01'),
        "until =",
        "person 'wang-fang' deadline 'd'",
        "until 2027-01-01 is before start 2027-05-01",
    ),
    (
        "unknown-service-key",
        '[service]\nsendtime = "09:00"\n',
        "sendtime",
        "[service]",
        "unknown key 'sendtime'; did you mean 'send_time'?",
    ),
    (
        "unknown-person-key",
        PERSON + 'timzone = "Asia/Seoul"\n',
        "timzone",
        "person 'wang-fang'",
        "unknown key 'timzone'; did you mean 'timezone'?",
    ),
    (
        "unknown-deadline-key",
        deadline('  kind = "nhis_premium"\n  start = 2027-01-01\n  autopy = true'),
        "autopy",
        "person 'wang-fang' deadline 'd'",
        "unknown key 'autopy'; did you mean 'autopay'?",
    ),
    (
        "unknown-section",
        '[servce]\ntimezone = "Asia/Seoul"\n',
        "[servce]",
        "",
        "unknown key 'servce'; did you mean 'service'?",
    ),
    (
        "password-in-mail",
        '[mail]\ntransport = "smtp"\npassword = "hunter2"\n',
        "password",
        "[mail]",
        "password must not be written in the config; put it in a file (password_file) or an "
        "environment variable (password_env)",
    ),
    (
        "negative-remind-days",
        deadline('  kind = "stay_expiry"\n  date = 2027-03-14\n  remind = [7, -1]'),
        "remind",
        "person 'wang-fang' deadline 'd'",
        "remind[2] -1 is negative; lead times count days before the deadline",
    ),
    (
        "negative-remind-duration",
        deadline('  kind = "stay_expiry"\n  date = 2027-03-14\n  remind = ["-P1D"]'),
        "remind",
        "person 'wang-fang' deadline 'd'",
        "remind[1] '-P1D' is negative",
    ),
    (
        "negative-config-reminders",
        "[reminders]\nnhis_premium = [3, -1]\n",
        "nhis_premium",
        "[reminders]",
        "nhis_premium[2] -1 is negative",
    ),
    (
        "bad-roll",
        deadline('  kind = "custom"\n  title = "x"\n  date = 2027-01-15\n  roll = "next"'),
        "roll",
        "person 'wang-fang' deadline 'd'",
        "roll 'next' is not allowed; use 'none', 'preceding' or 'following'",
    ),
    (
        "bad-slug",
        PERSON.replace('"wang-fang"', '"Wang Fang"'),
        "id =",
        "person 'Wang Fang'",
        "id 'Wang Fang' is not a valid id; use lower-case letters",
    ),
    (
        "bad-sender",
        '[mail]\nfrom = "staywatch"\n',
        "from",
        "[mail]",
        "from 'staywatch' has no e-mail address",
    ),
    (
        "bad-listen",
        '[feed]\nlisten = "8780"\n',
        "listen",
        "[feed]",
        "listen '8780' is not HOST:PORT",
    ),
]


@pytest.mark.parametrize(
    ("text", "needle", "where", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_each_mistake_gets_one_located_message(
    text: str, needle: str, where: str, message: str
) -> None:
    problem = only_problem(text, "config/x.toml")
    line = line_of(text, needle)
    assert (problem.path, problem.line, problem.where) == ("config/x.toml", line, where)
    assert problem.message.startswith(message)
    prefix = f"config/x.toml:{line}: {where}: " if where else f"config/x.toml:{line}: "
    assert str(problem) == prefix + problem.message


def test_design_example_impossible_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [f"# line {n}" for n in range(1, 14)]
    lines += [
        "[[person]]",
        'id = "wang-fang"',
        'name = "Wang Fang"',
        'email = ["wang.fang@example.org"]',
        'language = "zh"',
        "",
        "  [[person.deadline]]",
        '  id = "visa"',
        '  kind = "stay_expiry"',
        "  date = 2027-02-30",
    ]
    assert lines.index("  date = 2027-02-30") + 1 == 23
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "x.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("config/x.toml")
    assert str(info.value.problems[0]).startswith(
        "config/x.toml:23: person 'wang-fang' deadline 'visa': date 2027-02-30 is not a date"
    )
    assert len(info.value.problems) == 1
    assert str(info.value).startswith("1 problem in the config:\n")


def test_duplicate_person_id_points_at_the_second_person() -> None:
    text = PERSON + "\n" + PERSON.replace("Wang Fang", "Another Wang")
    problem = only_problem(text)
    assert problem.line == line_of(text, 'id = "wang-fang"', occurrence=2)
    assert problem.where == "person 'wang-fang'"
    assert problem.message.startswith("id 'wang-fang' is used by person #1 already")


def test_duplicate_deadline_id_points_at_the_second_deadline() -> None:
    body = '  kind = "passport_expiry"\n  date = 2028-01-20\n'
    text = deadline(body, "pass") + '\n  [[person.deadline]]\n  id = "pass"\n' + body
    problem = only_problem(text)
    assert problem.line == line_of(text, 'id = "pass"', occurrence=2)
    assert problem.where == "person 'wang-fang' deadline 'pass'"
    assert problem.message.startswith("id 'pass' is used twice for this person")


def test_same_deadline_id_for_two_people_is_fine() -> None:
    body = '  kind = "passport_expiry"\n  date = 2028-01-20\n'
    other = PERSON.replace("wang-fang", "an").replace("Wang Fang", "An")
    text = deadline(body, "pass") + other + '  [[person.deadline]]\n  id = "pass"\n' + body
    config = parse_config(text)
    assert [d.id for p in config.people for d in p.deadlines] == ["pass", "pass"]


def test_errors_in_the_second_person_find_the_second_persons_lines() -> None:
    first = deadline('  kind = "stay_expiry"\n  date = 2027-03-14', "visa")
    second = PERSON.replace("wang-fang", "an").replace("Wang Fang", "An")
    text = first + second + '  [[person.deadline]]\n  id = "visa"\n  kind = "stay_expiry"\n'
    text += "  date = 2027-02-30\n"
    problem = only_problem(text)
    assert problem.line == line_of(text, "2027-02-30")
    assert problem.where == "person 'an' deadline 'visa'"


@pytest.mark.parametrize(
    ("text", "needle", "reason"),
    [
        ('[service]\ntimezone = "Asia/Seoul"\nsend_time = "09:00\n', "send_time", "illegal"),
        ('[service]\ntimezone = "Asia/Seoul"\ntimezone = "UTC"\n', 'timezone = "UTC"', "overwrite"),
        ("[service]\n\nhorizon_days = \n", "horizon_days", "invalid value"),
    ],
)
def test_toml_syntax_error_names_its_line(text: str, needle: str, reason: str) -> None:
    problem = only_problem(text)
    assert problem.line == line_of(text, needle)
    assert problem.message.startswith("TOML syntax error: ")
    assert reason in problem.message


def test_all_errors_are_listed_at_once() -> None:
    text = (
        '[service]\ntimezone = "Nowhere/City"\nsend_time = "noon"\n\n'
        + PERSON
        + 'language = "fr"\n'
    )
    found = problems(text)
    assert [p.line for p in found] == [
        line_of(text, "timezone"),
        line_of(text, "send_time"),
        line_of(text, "language"),
    ]
    assert str(ConfigError(found)).startswith("3 problems in the config:\n")


# -- golden file: every kind of mistake in one file ------------------------------------


def test_many_errors_golden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)
    golden = DATA / "check" / "many-errors.txt"
    with pytest.raises(ConfigError) as info:
        load_config("check/many-errors.toml")
    text = str(info.value) + "\n"
    check_golden(golden, text)
    # Every problem names the file relative to where it was loaded from, and a line.
    for problem in info.value.problems:
        assert str(problem).startswith(f"check/many-errors.toml:{problem.line}: ")
        assert problem.line is not None


# -- files -----------------------------------------------------------------------------


def test_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("config/missing.toml")
    (problem,) = info.value.problems
    assert problem.line is None
    assert str(problem).startswith("config/missing.toml: no such file;")
    assert "-c FILE" in str(problem)


def test_folder_instead_of_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("config")
    assert str(info.value.problems[0]).startswith("config: is a folder, not a file")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "x.toml"
    file.write_text("", encoding="utf-8")
    file.chmod(0)
    monkeypatch.chdir(tmp_path)
    if os.access(file, os.R_OK):
        pytest.skip("this user (root) can read a mode-000 file; permission errors cannot happen")
    with pytest.raises(ConfigError) as info:
        load_config("x.toml")
    assert str(info.value.problems[0]) == (
        "x.toml: cannot be read (permission denied); check its owner and mode"
    )


def test_not_utf8_names_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.toml").write_bytes(
        b'[service]\ntimezone = "Asia/Seoul"\nsend_time = "09:00" # caf\xe9\n'
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("x.toml")
    assert [str(p) for p in info.value.problems] == [
        "x.toml:3: is not UTF-8 text; save the file as UTF-8"
    ]


def test_bom_is_accepted_and_lines_still_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("ok.toml").write_bytes(b'\xef\xbb\xbf[service]\ntimezone = "Europe/Berlin"\n')
    assert load_config("ok.toml").service.timezone == "Europe/Berlin"
    Path("bad.toml").write_bytes(b'\xef\xbb\xbf[service]\ntimezone = "Europe/Berln"\n')
    with pytest.raises(ConfigError) as info:
        load_config("bad.toml")
    assert str(info.value.problems[0]).startswith("bad.toml:2: [service]: timezone 'Europe/Berln'")


# -- what a valid config gives ------------------------------------------------------------


def test_example_config_loads_cleanly() -> None:
    config = load_config(REPO / "config" / "example.toml")
    assert [p.id for p in config.people] == [
        "wang-fang",
        "nguyen-van-an",
        "maria-schmidt",
        "pham-thi-lan",
        "bishnu-tamang",
        "sita-gurung",
        "aziz-karimov",
    ]
    assert [d.id for d in config.people[0].deadlines] == [
        "visa",
        "nhis",
        "passport",
        "trip",
        "sim",
    ]
    assert config.people[2].timezone == "Europe/Berlin"
    nhis = config.people[2].deadlines[1]
    assert isinstance(nhis, NhisPremium)
    assert nhis.schedule == "national"
    assert config.base_dir == REPO / "config"


def test_defaults_are_applied() -> None:
    config = parse_config(
        PERSON + '  [[person.deadline]]\n  id = "n"\n  kind = "nhis_premium"\n'
        "  start = 2027-01-01\n"
    )
    service = config.service
    assert service.timezone == "Asia/Seoul"
    assert service.send_time == time(9, 0)
    assert service.horizon_days == 400
    assert service.holidays == "KR"
    assert service.database == "sqlite:///var/staywatch.db"
    assert service.secret_file == "var/secret"
    assert (service.extra_holidays, service.not_holidays) == ((), ())
    assert config.mail.transport == "maildir"
    assert config.mail.sender == "staywatch <staywatch@localhost>"
    assert config.mail.security == "starttls"
    assert config.mail.effective_port == 587
    assert config.feed.listen == "127.0.0.1:8780"
    assert config.feed.public_url == "http://127.0.0.1:8780"
    assert config.reminders == {}
    person = config.people[0]
    assert (person.language, person.timezone) == ("en", None)
    assert str(config.zone_of(person)) == "Asia/Seoul"
    nhis = person.deadlines[0]
    assert isinstance(nhis, NhisPremium)
    assert nhis.schedule == "foreigner"
    assert nhis.autopay is False
    assert (nhis.remind, nhis.roll, nhis.overdue, nhis.recipients) == (None, None, None, ())


def test_values_are_converted() -> None:
    text = (
        '[service]\nsend_time = "7:30"\nextra_holidays = [2027-05-04]\n'
        '[reminders]\nstay_expiry = ["P4M", 60, "PT0S"]\n'
        + deadline(
            '  kind = "custom"\n  title = "x"\n  at = 2027-01-05T10:00:00+09:00\n'
            '  remind = ["PT2H", 1]\n  overdue = [1, "P3D", "-P7D"]'
        )
    )
    config = parse_config(text)
    assert config.service.send_time == time(7, 30)
    assert config.service.extra_holidays == (date(2027, 5, 4),)
    assert [d.iso() for d in config.reminders["stay_expiry"]] == ["P4M", "P60D", "PT0S"]
    custom = config.people[0].deadlines[0]
    assert isinstance(custom, Custom)
    assert custom.at is not None
    assert custom.at.isoformat() == "2027-01-05T10:00:00+09:00"
    assert custom.remind == (Duration(seconds=7200), Duration.of_days(1))
    # Overdue repeats are stored as negative offsets whichever way they are written.
    assert isinstance(custom.overdue, tuple)
    assert [d.iso() for d in custom.overdue] == ["-P1D", "-P3D", "-P7D"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///var/staywatch.db", "sqlite:///{base}/var/staywatch.db"),
        ("sqlite+aiosqlite:///state.db", "sqlite+aiosqlite:///{base}/state.db"),
        ("sqlite:////srv/staywatch.db", "sqlite:////srv/staywatch.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql+asyncpg://sw@127.0.0.1/sw", "postgresql+asyncpg://sw@127.0.0.1/sw"),
    ],
)
def test_database_url_resolves_relative_sqlite_paths_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "x.toml").write_text(
        f'[service]\ndatabase = "{url}"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    config = load_config("config/x.toml")
    base = (tmp_path / "config").resolve()
    assert config.database_url == expected.format(base=base)
    assert config.resolve("var/secret") == base / "var" / "secret"
    assert config.resolve("/etc/secret") == Path("/etc/secret")


def test_config_is_frozen() -> None:
    config = parse_config("")
    with pytest.raises(ValueError, match="frozen"):
        config.service.timezone = "UTC"  # type: ignore[misc]
    assert isinstance(config, Config)


# -- bugs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[service]\nhorizon_days = true\n", "horizon_days"),
        ("[mail]\nport = true\n", "port"),
        (deadline('  kind = "nhis_premium"\n  start = 2027-01-01\n  autopay = "yes"'), "autopay"),
        (PERSON + "hide_details = 1\n", "hide_details"),
    ],
)
def test_wrong_scalar_type_is_an_error(text: str, key: str) -> None:
    problem = only_problem(text)
    assert problem.line == line_of(text, key)
    assert problem.message.startswith(key)


def test_top_level_path_is_an_unknown_key() -> None:
    problem = only_problem('path = "other.toml"\n')
    assert problem.line == 1
    assert problem.message.startswith("unknown key 'path'")


def test_dotted_key_is_located() -> None:
    problem = only_problem('service.timezone = "Mars/Base"\n')
    assert problem.line == 1
    assert problem.where == "[service]"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3", "overdue 3 should be a list"),
        ("[0]", "overdue[1] 0 is the deadline itself; list it in remind, not overdue"),
        ('["P1X"]', "overdue[1] 'P1X' is not an ISO 8601 duration"),
    ],
)
def test_bad_overdue_gets_one_message(value: str, message: str) -> None:
    text = deadline(f'  kind = "stay_expiry"\n  date = 2027-03-14\n  overdue = {value}')
    problem = only_problem(text)
    assert problem.line == line_of(text, "overdue")
    assert problem.message.startswith(message)


def test_overdue_negative_days_mean_days_after() -> None:
    text = deadline('  kind = "stay_expiry"\n  date = 2027-03-14\n  overdue = [-1, "-P3D", 7]')
    custom = parse_config(text).people[0].deadlines[0]
    assert isinstance(custom.overdue, tuple)
    assert [d.iso() for d in custom.overdue] == ["-P1D", "-P3D", "-P7D"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("date = 2027-13-01", "date 2027-13-01 is not a date"),
        ("date = 2027-02-32", "date 2027-02-32 is not a date"),
        ("extra_holidays = [2027-05-03, 2027-13-01]", "extra_holidays[2] 2027-13-01 is not a date"),
    ],
)
def test_impossible_month_or_day_names_key_and_value(line: str, message: str) -> None:
    if line.startswith("extra"):
        text = f"[service]\n{line}\n"
    else:
        text = deadline(f'  kind = "stay_expiry"\n  {line}')
    problem = only_problem(text)
    assert problem.line == line_of(text, line)
    assert problem.message.startswith(message)


def test_impossible_datetime_names_key_and_value() -> None:
    text = '[service]\ntimezone = "Nowhere"\n' + deadline(
        '  kind = "custom"\n  title = "Exam"\n  at = 2027-02-30T10:00:00+09:00'
    )
    found = problems(text)
    assert [p.line for p in found] == [line_of(text, "timezone"), line_of(text, "at =")]
    assert found[1].message.startswith("at '2027-02-30T10:00:00+09:00' is not a date and time")


def test_database_url_does_not_depend_on_a_later_chdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "config" / "x.toml").write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    config = load_config("config/x.toml")
    monkeypatch.chdir(tmp_path / "elsewhere")
    expected = (tmp_path / "config" / "var" / "staywatch.db").resolve()
    assert config.database_url == f"sqlite:///{expected}"


@pytest.mark.parametrize("end", ["\\n", "\\r\\n", "\\u2028", "\\u0085"])  # TOML escapes
@pytest.mark.parametrize("key", ["person", "deadline", "tag", "office"])
def test_an_id_with_a_trailing_line_end_is_refused(key: str, end: str) -> None:
    ident = f'"nl{end}"'
    text = {
        "person": PERSON.replace('id = "wang-fang"', f"id = {ident}"),
        "deadline": deadline('  kind = "custom"\n  title = "t"\n  date = 2027-01-01', "x").replace(
            'id = "x"', f"id = {ident}"
        ),
        "tag": PERSON + f"tags = [{ident}]\n",
        "office": PERSON
        + f'\n[[office]]\nid = {ident}\nname = "O"\nemail = ["o@example.org"]\npeople = ["*"]\n',
    }[key]
    problem = only_problem(text)
    assert "is not a valid id" in problem.message
    # The message stays one line: the id's line end is shown, not printed.
    assert str(problem).splitlines() == [str(problem)]
