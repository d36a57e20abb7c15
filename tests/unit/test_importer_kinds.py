"""CSV columns of the newer kinds: import, export and the round trip between them."""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner, Result

from service.cli import main
from service.config import load_config
from service.importer import COLUMNS
from service.plan import plan

MAIN = """\
[service]
timezone = "Asia/Seoul"
"""
NEW_COLUMNS = [
    "departed",
    "passport_changed",
    "born",
    "contract_end",
    "change_applied",
    "nhis_enrolment",
]
HEADER = ["id", "name", "email", "visa_expiry", "entry", *NEW_COLUMNS]
ROWS = [
    # An E-9 worker between employers, and one who has applied already.
    {"id": "bishnu", "name": "Bishnu", "email": "b@example.org", "contract_end": "2027/01/31"},
    {
        "id": "sita",
        "name": "Sita",
        "email": "s@example.org",
        "contract_end": "2027-01-31",
        "change_applied": "2027.2.10",
    },
    # A student on a trip home: the visa ends before the exemption does.
    {
        "id": "wang",
        "name": "Wang",
        "email": "w@example.org",
        "visa_expiry": "2027-03-14",
        "departed": "2027-01-28",
    },
    # A mother with a new passport and a child born in Korea.
    {
        "id": "lan",
        "name": "Lan",
        "email": "l@example.org",
        "passport_changed": "2026-11-26",
        "born": "2026-11-10",
    },
    # A new student: registration and NHIS enrolment from the same entry date.
    {
        "id": "aziz",
        "name": "Aziz",
        "email": "a@example.org",
        "entry": "2026-11-16",
        "nhis_enrolment": "yes",
    },
]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write_csv(path: Path, rows: Sequence[dict[str, str]], header: Sequence[str] = HEADER) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(("\ufeff" + out.getvalue()).encode("utf-8"))
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "staywatch.toml"
    path.write_text(MAIN, encoding="utf-8")
    return path


def _d(text: str) -> date:
    return date.fromisoformat(text)


def imported(tmp_path: Path) -> dict[str, list[dict[str, Any]]]:
    data = tomllib.loads((tmp_path / "people" / "imported.toml").read_text(encoding="utf-8"))
    return {p["id"]: p.get("deadline", []) for p in data["person"]}


def test_the_columns_are_known_and_exported_after_the_old_ones() -> None:
    assert list(COLUMNS[-6:]) == [
        "departed",
        "passport_changed",
        "born",
        "contract_end",
        "change_applied",
        "nhis_enrolment",
    ]


def test_import_makes_the_deadlines_of_each_column(config: Path, tmp_path: Path) -> None:
    result = run("import", str(write_csv(tmp_path / "in.csv", ROWS)), "-c", str(config))
    assert result.exit_code == 0, result.output
    assert "5 added" in result.stdout
    d = imported(tmp_path)
    assert d["bishnu"] == [
        {"id": "workplace-change", "kind": "workplace_change", "ended": _d("2027-01-31")}
    ]
    assert d["sita"] == [
        {
            "id": "workplace-change",
            "kind": "workplace_change",
            "ended": _d("2027-01-31"),
            "applied": _d("2027-02-10"),
        }
    ]
    assert d["wang"] == [
        {"id": "visa", "kind": "stay_expiry", "date": _d("2027-03-14")},
        {
            "id": "reentry",
            "kind": "reentry",
            "departed": _d("2027-01-28"),
            "until": _d("2027-03-14"),
        },
    ]
    assert d["lan"] == [
        {"id": "passport-change", "kind": "registration_change", "changed": _d("2026-11-26")},
        {"id": "newborn", "kind": "newborn_status", "born": _d("2026-11-10")},
        {"id": "arc-at-17", "kind": "arc_at_17", "born": _d("2026-11-10")},
    ]
    assert d["aziz"] == [
        {"id": "arc", "kind": "arc_registration", "entry": _d("2026-11-16")},
        {"id": "nhis-enrolment", "kind": "nhis_enrolment", "entry": _d("2026-11-16")},
    ]
    dates = {
        (o.person, o.deadline): (o.date.isoformat(), o.step, o.limit)
        for o in plan(load_config(config), _d("2026-11-01"), _d("2044-12-31"))
    }
    assert dates[("bishnu", "workplace-change")] == ("2027-02-27", "apply", None)
    assert dates[("sita", "workplace-change")] == ("2027-05-09", "permit", None)
    assert dates[("wang", "reentry")] == ("2027-03-14", None, "stay")
    assert dates[("lan", "passport-change")] == ("2026-12-10", None, None)
    assert dates[("lan", "newborn")] == ("2027-02-07", None, None)
    assert dates[("lan", "arc-at-17")] == ("2044-02-07", None, None)
    assert dates[("aziz", "nhis-enrolment")] == ("2027-05-16", None, None)


def test_export_and_import_again_is_a_round_trip(config: Path, tmp_path: Path) -> None:
    assert (
        run("import", str(write_csv(tmp_path / "in.csv", ROWS)), "-c", str(config)).exit_code == 0
    )
    target = tmp_path / "people" / "imported.toml"
    before = target.read_bytes()
    exported = run("export", "--csv", "-c", str(config))
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    by_id = {r["id"]: r for r in rows}
    assert {k: by_id["sita"][k] for k in ("contract_end", "change_applied")} == {
        "contract_end": "2027-01-31",
        "change_applied": "2027-02-10",
    }
    assert (by_id["wang"]["departed"], by_id["wang"]["visa_expiry"]) == (
        "2027-01-28",
        "2027-03-14",
    )
    assert (by_id["lan"]["born"], by_id["lan"]["passport_changed"]) == (
        "2026-11-10",
        "2026-11-26",
    )
    assert (by_id["aziz"]["entry"], by_id["aziz"]["nhis_enrolment"]) == ("2026-11-16", "yes")
    assert by_id["bishnu"]["nhis_enrolment"] == ""
    # The exported file goes back in unchanged, and the people file stays byte for byte.
    back = write_csv(tmp_path / "back.csv", rows, header=list(rows[0]))
    again = run("import", str(back), "-c", str(config))
    assert again.exit_code == 0, again.output
    assert "0 added, 0 updated, 5 unchanged" in again.stdout
    assert target.read_bytes() == before


def test_empty_cells_remove_what_they_made(config: Path, tmp_path: Path) -> None:
    assert (
        run("import", str(write_csv(tmp_path / "in.csv", ROWS)), "-c", str(config)).exit_code == 0
    )
    changed = [dict(r) for r in ROWS]
    changed[1]["change_applied"] = ""  # Sita: back to the application step
    changed[3]["born"] = ""
    changed[4]["nhis_enrolment"] = "no"
    changed[2]["visa_expiry"] = ""  # Wang: no period of stay to cap the exemption
    result = run("import", str(write_csv(tmp_path / "in2.csv", changed)), "-c", str(config))
    assert result.exit_code == 0, result.output
    d = imported(tmp_path)
    assert d["sita"] == [
        {"id": "workplace-change", "kind": "workplace_change", "ended": _d("2027-01-31")}
    ]
    assert [x["id"] for x in d["lan"]] == ["passport-change"]
    assert [x["id"] for x in d["aziz"]] == ["arc"]
    assert d["wang"] == [{"id": "reentry", "kind": "reentry", "departed": _d("2027-01-28")}]


def test_problems_name_the_row_and_the_column(config: Path, tmp_path: Path) -> None:
    rows = [
        {"id": "a", "name": "A", "email": "a@example.org", "change_applied": "2027-02-10"},
        {
            "id": "b",
            "name": "B",
            "email": "b@example.org",
            "contract_end": "2027-01-31",
            "change_applied": "2027-01-20",
        },
        {"id": "c", "name": "C", "email": "c@example.org", "nhis_enrolment": "yes"},
        {
            "id": "d",
            "name": "D",
            "email": "d@example.org",
            "entry": "2026-11-16",
            "nhis_enrolment": "maybe",
        },
        {
            "id": "e",
            "name": "E",
            "email": "e@example.org",
            "visa_expiry": "2027-01-10",
            "departed": "2027-01-28",
        },
        {"id": "f", "name": "F", "email": "f@example.org", "born": "2026-02-30"},
    ]
    source = write_csv(tmp_path / "bad.csv", rows)
    result = run("import", str(source), "-c", str(config))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [
        f"{source}:2:change_applied: only applies with contract_end; fill in contract_end or "
        "clear this cell",
        f"{source}:3:change_applied: 2027-01-20 is before ended 2027-01-31; applied is the day "
        "the change of workplace was requested at the Employment Center, after the contract "
        "ended",
        f"{source}:4:nhis_enrolment: only applies with entry; fill in entry (the date of entry) "
        "or clear this cell",
        f"{source}:5:nhis_enrolment: 'maybe' is not yes or no; write yes to plan the NHIS "
        "enrolment from the entry date",
        f"{source}:6:visa_expiry: 2027-01-10 is before departed 2027-01-28; until is the last "
        "day of the period of stay (the date on the residence card)",
        f"{source}:7:born: 2026-02-30 is not a date; write a real calendar date as YYYY-MM-DD",
    ]
    assert not (tmp_path / "people").exists()


@time_machine.travel(datetime(2026, 12, 2, 9, 0, tzinfo=UTC), tick=False)
def test_a_birth_after_today_is_refused_as_check_refuses_it(config: Path, tmp_path: Path) -> None:
    # What import writes must pass `staywatch check`, which refuses a birth after today.
    rows = [
        {"id": "g", "name": "G", "email": "g@example.org", "born": "2027-12-01"},
        {"id": "h", "name": "H", "email": "h@example.org", "born": "2026-12-02"},
    ]
    source = write_csv(tmp_path / "future.csv", rows)
    result = run("import", str(source), "-c", str(config))
    assert result.exit_code == 1, result.output
    problems = result.stderr.splitlines()[1:]
    assert problems == [
        f"{source}:2:born: 2027-12-01 is in the future; give the day the child was born "
        "(add this deadline after the birth)"
    ]
    assert not (tmp_path / "people").exists()
    # Born today (a day that has begun somewhere on Earth) is fine.
    rows.pop(0)
    result = run("import", str(write_csv(tmp_path / "today.csv", rows)), "-c", str(config))
    assert result.exit_code == 0, result.output
    assert run("check", "-c", str(config)).exit_code == 0
