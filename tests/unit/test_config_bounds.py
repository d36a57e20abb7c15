"""Values the config refuses because planning could not handle them: dates outside
1900-01-01 .. 2199-12-31 and lead times, overdue repeats or escalations over ten years.

Each gets one located message that says what to write instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main
from service.config import EARLIEST, LATEST, parse_config
from service.errors import ConfigError, ConfigProblem

PERSON = '[[person]]\nid = "kim"\nname = "Kim"\nemail = ["kim@example.org"]\n'
RANGE = f"staywatch plans dates from {EARLIEST} to {LATEST}"
TOO_LONG = 'is longer than 10 years; lead times, overdue repeats and escalations are at most "P10Y"'


def deadline(*lines: str) -> str:
    return PERSON + '\n  [[person.deadline]]\n  id = "d"\n' + "".join(f"  {x}\n" for x in lines)


def the_problem(text: str, key: str) -> ConfigProblem:
    """The one problem of ``text``, located on the line that sets ``key``."""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.toml")
    (problem,) = info.value.problems
    assert problem.line == next(
        n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith(key)
    )
    return problem


@pytest.mark.parametrize(
    ("lines", "key", "message"),
    [
        (
            ['kind = "stay_expiry"', "date = 9999-12-31"],
            "date",
            f"date 9999-12-31 is out of range; {RANGE}: write the real date, or leave the "
            "deadline out if it never expires",
        ),
        (['kind = "passport_expiry"', "date = 0001-01-01"], "date", "date 0001-01-01 is out"),
        (['kind = "passport_expiry"', "date = 1899-12-31"], "date", "date 1899-12-31 is out"),
        (['kind = "passport_expiry"', "date = 2200-01-01"], "date", "date 2200-01-01 is out"),
        (['kind = "arc_registration"', "entry = 9999-12-01"], "entry", "entry 9999-12-01 is out"),
        (['kind = "address_report"', "moved = 0001-01-01"], "moved", "moved 0001-01-01 is out"),
        (['kind = "nhis_premium"', "start = 9999-01-01"], "start", "start 9999-01-01 is out"),
        (
            ['kind = "nhis_premium"', "start = 2027-01-01", "until = 9999-12-01"],
            "until",
            "until 9999-12-01 is out",
        ),
        (
            ['kind = "custom"', 'title = "t"', "at = 9999-12-31T23:00:00+09:00"],
            "at",
            f"at 9999-12-31T23:00:00+09:00 is out of range; staywatch plans instants from "
            f"{EARLIEST} to {LATEST}: write the real date and time",
        ),
        (
            ['kind = "custom"', 'title = "t"', "at = 0001-01-01T05:00:00+09:00"],
            "at",
            "at 0001-01-01T05:00:00+09:00 is out of range",
        ),
        (
            ['kind = "custom"', 'title = "t"', 'rrule = "FREQ=YEARLY"', "start = 0001-01-01"],
            "start",
            "start 0001-01-01 is out",
        ),
        (
            ['kind = "custom"', 'title = "t"', "date = 2027-01-01", 'remind = ["P100000Y"]'],
            "remind",
            f"remind[1] 'P100000Y' {TOO_LONG} (3653 days)",
        ),
        (
            [
                'kind = "custom"',
                'title = "t"',
                "date = 2027-01-01",
                'remind = ["P99999999999999999999D"]',
            ],
            "remind",
            f"remind[1] 'P99999999999999999999D' {TOO_LONG}",
        ),
        (
            ['kind = "custom"', 'title = "t"', "date = 2027-01-01", "remind = [99999999999999999]"],
            "remind",
            f"remind[1] 99999999999999999 days {TOO_LONG}",
        ),
        (
            ['kind = "custom"', 'title = "t"', "date = 2027-01-01", "remind = [7, 3654]"],
            "remind",
            f"remind[2] 3654 days {TOO_LONG}",
        ),
        (
            ['kind = "custom"', 'title = "t"', "date = 2027-01-01", 'remind = ["P10Y1M"]'],
            "remind",
            f"remind[1] 'P10Y1M' {TOO_LONG}",
        ),
        (
            ['kind = "custom"', 'title = "t"', "date = 2027-01-01", 'remind = ["PT87673H"]'],
            "remind",
            f"remind[1] 'PT87673H' {TOO_LONG}",
        ),
        (
            ['kind = "stay_expiry"', "date = 2027-01-01", 'overdue = ["P11Y"]'],
            "overdue",
            f"overdue[1] 'P11Y' {TOO_LONG}",
        ),
        (
            ['kind = "stay_expiry"', "date = 2027-01-01", "overdue = [-5000]"],
            "overdue",
            f"overdue[1] 5000 days {TOO_LONG}",
        ),
        (
            ['kind = "stay_expiry"', "date = 2027-01-01", 'escalate = "P20Y"'],
            "escalate",
            f"escalate 'P20Y' {TOO_LONG}",
        ),
        (
            ['kind = "stay_expiry"', "date = 2027-01-01", 'remind = ["P' + "9" * 5000 + 'D"]'],
            "remind",
            TOO_LONG,
        ),
    ],
)
def test_out_of_range_values_are_located_errors(lines: list[str], key: str, message: str) -> None:
    problem = the_problem(deadline(*lines), key)
    assert problem.where == "person 'kim' deadline 'd'"
    assert message in problem.message


@pytest.mark.parametrize(
    "text",
    [
        "[service]\nextra_holidays = [9999-12-31]\n",
        '[reminders]\nstay_expiry = ["P11Y"]\n',
    ],
)
def test_service_wide_values_are_bounded_too(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.toml")
    (problem,) = info.value.problems
    assert problem.line == 2
    assert "out of range" in problem.message or TOO_LONG in problem.message


def test_the_edges_themselves_are_accepted() -> None:
    config = parse_config(
        deadline(
            'kind = "custom"',
            'title = "t"',
            f"date = {LATEST}",
            'remind = ["P10Y", 3653, "P120M", "PT87672H"]',
            'overdue = ["P10Y", 3653]',
            'escalate = "P10Y"',
        )
        + f'\n  [[person.deadline]]\n  id = "e"\n  kind = "passport_expiry"\n  date = {EARLIEST}\n',
        "x.toml",
    )
    assert [d.id for d in config.people[0].deadlines] == ["d", "e"]


def test_import_says_to_leave_the_cell_empty(tmp_path: Path) -> None:
    config = tmp_path / "staywatch.toml"
    config.write_text("", encoding="utf-8")
    sheet = tmp_path / "staff.csv"
    sheet.write_text(
        "id,name,email,visa_expiry,passport_expiry\n"
        "kim,Kim,kim@example.org,9999-12-31,2030-01-01\n"
        "lee,Lee,lee@example.org,2027-01-01,0001/01/01\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["import", str(sheet), "-c", str(config)])
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        f"{sheet}:2:visa_expiry: 9999-12-31 is out of range; {RANGE}: write the real date, "
        "or leave the cell empty for no expiry",
        f"{sheet}:3:passport_expiry: 0001-01-01 is out of range; {RANGE}: write the real date, "
        "or leave the cell empty for no expiry",
    ]
    assert not (tmp_path / "people").exists()


@pytest.mark.parametrize("option", ["--from", "--until"])
@pytest.mark.parametrize("day", ["0001-01-02", "9999-12-31"])
def test_deadlines_takes_dates_in_the_range_only(tmp_path: Path, option: str, day: str) -> None:
    config = tmp_path / "staywatch.toml"
    config.write_text(PERSON, encoding="utf-8")
    result = CliRunner().invoke(main, ["deadlines", option, day, "-c", str(config)])
    assert result.exit_code == 2
    assert f"{day} is out of range; give a date from {EARLIEST} to {LATEST}" in result.output
    assert "Traceback" not in result.output
