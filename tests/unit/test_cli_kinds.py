"""The command line with the newer kinds: add each, the passport hint, check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner, Result

from service.cli import main
from service.config import load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example.toml"
NOW = "2026-12-01T10:00:00+09:00"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    target = tmp_path / "staywatch.toml"
    shutil.copy(EXAMPLE, target)
    return target


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def deadlines_of(config: Path, person: str, start: str, end: str) -> list[dict[str, object]]:
    result = run(
        "deadlines",
        "--json",
        "--person",
        person,
        "--from",
        start,
        "--until",
        end,
        "-c",
        str(config),
    )
    assert result.exit_code == 0, result.output
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


# (kind, options, expected TOML lines, (date, extra JSON field and value))
ADDS = [
    (
        "reentry",
        ["--departed", "2027-01-28", "--until", "2027-03-14"],
        ["departed = 2027-01-28", "until = 2027-03-14"],
        ("2027-03-14", "limit", "stay"),
    ),
    (
        "reentry",
        ["--departed", "2027-01-28", "--permanent"],
        ["departed = 2027-01-28", "permanent = true"],
        ("2029-01-27", "limit", "exemption"),
    ),
    (
        "registration_change",
        ["--changed", "2027-01-04", "--what", "passport"],
        ["changed = 2027-01-04", 'what = "passport"'],
        ("2027-01-18", "what", "passport"),
    ),
    (
        "registration_change",
        ["--changed", "2027-01-04", "--what", "school"],
        ["changed = 2027-01-04", 'what = "school"'],
        ("2027-01-18", "what", "school"),
    ),
    ("newborn_status", ["--born", "2026-11-10"], ["born = 2026-11-10"], ("2027-02-07", None, None)),
    ("arc_at_17", ["--born", "2010-03-15"], ["born = 2010-03-15"], ("2027-06-12", None, None)),
    (
        "workplace_change",
        ["--ended", "2027-01-31"],
        ["ended = 2027-01-31"],
        ("2027-02-27", "step", "apply"),
    ),
    (
        "workplace_change",
        ["--ended", "2027-01-31", "--applied", "2027-02-10"],
        ["ended = 2027-01-31", "applied = 2027-02-10"],
        ("2027-05-09", "step", "permit"),
    ),
    (
        "nhis_enrolment",
        ["--entry", "2026-11-16", "--status", "D-2", "--registered", "2026-12-04"],
        ["entry = 2026-11-16", 'status = "D-2"', "registered = 2026-12-04"],
        ("2026-12-04", None, None),
    ),
    (
        "nhis_enrolment",
        ["--entry", "2026-08-31"],
        ["entry = 2026-08-31"],
        ("2027-02-28", None, None),
    ),
]


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("kind", "options", "lines", "expected"),
    ADDS,
    ids=[f"{a[0]}-{i}" for i, a in enumerate(ADDS)],
)
def test_add_deadline_of_each_kind(
    example: Path,
    kind: str,
    options: list[str],
    lines: list[str],
    expected: tuple[str, str | None, str | None],
) -> None:
    result = run(
        "add", "deadline", "maria-schmidt/new", "--kind", kind, *options, "-c", str(example)
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{example}: added deadline maria-schmidt/new (7 people); a running daemon reloads it.\n"
    )
    text = example.read_text(encoding="utf-8")
    block = text[text.index('  id = "new"') :]
    assert block.splitlines()[: 2 + len(lines)] == [
        '  id = "new"',
        f'  kind = "{kind}"',
        *(f"  {line}" for line in lines),
    ]
    day, field, value = expected
    listing = [
        o
        for o in deadlines_of(example, "maria-schmidt", "2026-01-01", "2030-12-31")
        if o["deadline"] == "new"
    ]
    assert [(o["kind"], o["date"]) for o in listing] == [(kind, day)]
    if field is not None:
        assert listing[0][field] == value


@time_machine.travel(NOW, tick=False)
def test_add_refuses_an_impossible_combination_and_writes_nothing(example: Path) -> None:
    before = example.read_bytes()
    result = run(
        "add",
        "deadline",
        "bishnu-tamang/job2",
        "--kind",
        "workplace_change",
        "--ended",
        "2027-01-31",
        "--applied",
        "2027-01-15",
        "-c",
        str(example),
    )
    assert result.exit_code == 1
    assert "applied 2027-01-15 is before ended 2027-01-31" in result.stderr
    assert example.read_bytes() == before


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("kind", ["newborn_status", "arc_at_17"])
def test_add_and_check_refuse_a_birth_after_today(example: Path, kind: str) -> None:
    before = example.read_bytes()
    refused = run(
        "add",
        "deadline",
        "pham-thi-lan/next",
        "--kind",
        kind,
        "--born",
        "2026-12-25",
        "-c",
        str(example),
    )
    assert refused.exit_code == 1
    assert "born 2026-12-25 is in the future; give the day the child was born" in refused.stderr
    assert example.read_bytes() == before
    # The same date written by hand: check says so with the line; other commands still run.
    example.write_text(
        before.decode("utf-8")
        + f'\n  [[person.deadline]]\n  id = "next"\n  kind = "{kind}"\n  born = 2026-12-25\n',
        encoding="utf-8",
    )
    line = len(example.read_text(encoding="utf-8").splitlines())
    checked = run("check", "-c", str(example))
    assert checked.exit_code == 1
    assert (
        f"{example}:{line}: person 'aziz-karimov' deadline 'next': born 2026-12-25 is in the "
        "future" in checked.stderr
    )
    assert run("deadlines", "-c", str(example)).exit_code == 0


@time_machine.travel(NOW, tick=False)
def test_check_accepts_the_example_with_every_new_kind(example: Path) -> None:
    result = run("check", "-c", str(example))
    assert result.exit_code == 0, result.output
    kinds = {d.kind for p in load_config(example).people for d in p.deadlines}
    assert kinds >= {
        "reentry",
        "registration_change",
        "newborn_status",
        "arc_at_17",
        "workplace_change",
        "nhis_enrolment",
    }


@time_machine.travel(NOW, tick=False)
def test_a_new_passport_date_prints_how_to_add_its_report(example: Path) -> None:
    result = run("set", "maria-schmidt/passport", "date=2036-11-20", "-c", str(example))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "A new passport must be reported to immigration within 15 days (Immigration Act "
        "art. 35). To be reminded of it, add the report (--changed is the day the new "
        "passport was issued):",
        "  staywatch add deadline maria-schmidt/passport-report --kind registration_change "
        "--changed 2026-12-01 --what passport",
    ]
    # The printed command works as it is.
    command = result.stdout.splitlines()[2].split()[1:]
    added = run(*command, "-c", str(example))
    assert added.exit_code == 0, added.output
    listing = deadlines_of(example, "maria-schmidt", "2026-12-01", "2026-12-31")
    assert [(o["date"], o["what"]) for o in listing if o["deadline"] == "passport-report"] == [
        ("2026-12-15", "passport")
    ]
    # With the report in place, the next change of the date says nothing more.
    again = run("set", "maria-schmidt/passport", "date=2036-11-21", "-c", str(example))
    assert again.exit_code == 0
    assert len(again.stdout.splitlines()) == 1


@time_machine.travel(NOW, tick=False)
def test_other_changes_print_no_passport_hint(example: Path) -> None:
    for target, assignment in [
        ("maria-schmidt/passport", "note=renewed"),
        ("maria-schmidt/card", "date=2037-06-05"),
        ("maria-schmidt", "language=ko"),
    ]:
        result = run("set", target, assignment, "-c", str(example))
        assert result.exit_code == 0, result.output
        assert len(result.stdout.splitlines()) == 1, target


@time_machine.travel(NOW, tick=False)
def test_the_hint_picks_an_unused_id(example: Path) -> None:
    assert (
        run(
            "add",
            "deadline",
            "wang-fang/passport-report",
            "--kind",
            "custom",
            "--title",
            "x",
            "--date",
            "2027-01-01",
            "-c",
            str(example),
        ).exit_code
        == 0
    )
    result = run("set", "wang-fang/passport", "date=2037-01-20", "-c", str(example))
    assert "staywatch add deadline wang-fang/passport-report-2 " in result.stdout


@time_machine.travel(NOW, tick=False)
def test_done_acknowledges_the_current_workplace_step_by_id_or_date(example: Path) -> None:
    done = run("done", "bishnu-tamang/job", "-c", str(example))
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("Acknowledged bishnu-tamang/job/2026-12-29:")
    again = run("done", "sita-gurung/job/2027-01-19", "-c", str(example))
    assert again.stdout.startswith("Acknowledged sita-gurung/job/2027-01-19:")
    wrong = run("done", "sita-gurung/job/2026-11-19", "-c", str(example))
    assert wrong.exit_code == 1
    assert "sita-gurung/job has no occurrence on 2026-11-19" in wrong.stderr
