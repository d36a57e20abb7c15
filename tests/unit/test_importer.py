"""``staywatch import`` and ``staywatch export --csv`` as a user drives them.

CSV files are written the way spreadsheets write them (UTF-8 with a BOM, CRLF,
dates as 2027/03/14 or 2027.03.14), checked in full before anything is written,
and merged into an included people file; importing the same file again writes
nothing. The 2,000-row runs print how long they took (measured, not asserted).
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest
import tomlkit
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.cli import main
from service.config import Config, load_config, parse_config
from service.errors import StaywatchError
from service.importer import (
    COLUMNS,
    export_csv,
    export_rows,
    plan_import,
    read_csv,
    spreadsheet_cell,
    unguarded_cell,
    write_import,
)
from service.web import _csv_cell

MAIN = """\
# The main config: service settings and one person kept by hand.
[service]
timezone = "Asia/Seoul"

[[office]]
id = "hr"
name = "HR"
email = ["hr@example.org"]
people = ["*"]

# Wang Fang is edited here, not imported.
[[person]]
id = "wang-fang"
name = "Wang Fang"
email = ["wang@example.org"]

  [[person.deadline]]
  id = "visa"
  kind = "stay_expiry"
  date = 2027-03-14
"""

HEADER = list(COLUMNS)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "staywatch.toml"
    path.write_text(MAIN, encoding="utf-8")
    return path


def row(i: int, **changes: str) -> dict[str, str]:
    """A valid row for person ``i`` (every column filled in, some deadlines left out)."""
    values = {
        "id": f"person-{i:04d}",
        "name": f"김 {i}" if i % 3 == 0 else f"Person {i}",
        "email": f"p{i}@example.org" + (f"; p{i}@home.example.org" if i % 4 == 0 else ""),
        "language": ("ko", "en", "zh", "")[i % 4],
        "timezone": "Asia/Seoul" if i % 5 == 0 else "",
        "tags": "d-2;lab" if i % 2 else "e-9",
        "visa_expiry": f"2027/{1 + i % 12:02d}/{1 + i % 28:02d}",
        "entry": f"2026.{1 + i % 12}.{1 + i % 28}" if i % 7 == 0 else "",
        "moved": "2026-10-20" if i % 11 == 0 else "",
        "passport_expiry": f"2030-{1 + i % 12:02d}-15",
        "arc_expiry": "2031-05-01" if i % 13 == 0 else "",
        "nhis_start": "2026-11-01" if i % 3 else "",
        "nhis_schedule": "national" if i % 3 == 1 else "",
        "nhis_autopay": "yes" if i % 3 == 2 else "",
    }
    values.update(changes)
    return values


def write_csv(
    path: Path, rows: Sequence[dict[str, str]], *, bom: bool = True, header: Sequence[str] = HEADER
) -> Path:
    """Rows as a spreadsheet exports them: UTF-8 (BOM), CRLF, quoted where needed."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes((("\ufeff" if bom else "") + out.getvalue()).encode("utf-8"))
    return path


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: bytes and mtime (to prove nothing was written)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# -- 2,000 rows ----------------------------------------------------------------------


def test_two_thousand_rows_with_bad_ones_report_every_problem_and_write_nothing(
    config: Path, tmp_path: Path
) -> None:
    rows = [row(i) for i in range(2000)]
    rows[8] = row(8, visa_expiry="2027-02-30")  # spreadsheet row 10
    rows[498] = row(498, email="not-an-address")  # row 500
    rows[1198] = row(1198, language="fr", tags="d-2;Night Shift")  # row 1200
    rows[1798] = row(1798, id="person-0000")  # row 1800: the id of row 2
    rows[1997] = row(1997, entry="14/03/2027", nhis_start="", nhis_autopay="no")
    rows[1999] = row(1999, name="", id="wang-fang")  # row 2001
    source = write_csv(tmp_path / "people.csv", rows)
    before = snapshot(tmp_path)

    started = time.perf_counter()
    result = run("import", str(source), "-c", str(config))
    took = time.perf_counter() - started
    print(f"\nimport of 2,000 rows with 6 bad ones: {took:.2f} s")

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines[0] == f"Error: 9 problems in {source}; nothing was written:"
    assert lines[1:] == [
        f"{source}:10:visa_expiry: 2027-02-30 is not a date; write a real calendar date as "
        "YYYY-MM-DD",
        f"{source}:500:email: 'not-an-address' is not a valid e-mail address (An email address "
        "must have an @-sign.)",
        f"{source}:1200:language: 'fr' is not supported; "
        "use one of en, ko, zh, vi, ne, uz, km, th, mn, ru, id",
        f"{source}:1200:tags: 'Night Shift' is not a valid tag; use lower-case letters, "
        "digits, '-' and '_' (e.g. wang-fang), at most 64 characters",
        f"{source}:1800:id: 'person-0000' is also on row 2; give each person one row",
        f"{source}:1999:entry: 14/03/2027 is not a date; write a real calendar date as YYYY-MM-DD",
        f"{source}:1999:nhis_autopay: only applies with nhis_start; fill in nhis_start or "
        "clear this cell",
        f"{source}:2001:id: 'wang-fang' is defined in staywatch.toml, edit it there (or "
        "remove this row)",
        f"{source}:2001:name: is empty; every person needs a name",
    ]
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "people").exists()


def test_two_thousand_clean_rows_import_once_and_again_change_nothing(
    config: Path, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "people.csv", [row(i) for i in range(2000)])

    started = time.perf_counter()
    first = run("import", str(source), "-c", str(config))
    took = time.perf_counter() - started
    print(f"\nimport of 2,000 new people: {took:.2f} s")
    assert first.exit_code == 0, first.output
    target = tmp_path / "people" / "imported.toml"
    assert first.stdout.splitlines() == [
        f'{config}: added include = ["people/*.toml"]',
        f"{target}: 2000 added, 0 updated, 0 unchanged (2000 in the CSV); a running daemon "
        "reloads it.",
    ]
    loaded = load_config(config)
    assert len(loaded.people) == 2001
    assert loaded.include == ("people/*.toml",)
    # The comments of the main config survived the include edit.
    assert "# Wang Fang is edited here, not imported." in config.read_text(encoding="utf-8")
    p0 = loaded.person("person-0000")
    assert p0 is not None
    assert p0.name == "김 0"
    assert p0.email == ("p0@example.org", "p0@home.example.org")
    assert p0.language == "ko"
    assert p0.tags == ("e-9",)
    assert {d.id: d.kind for d in p0.deadlines} == {
        "visa": "stay_expiry",
        "arc": "arc_registration",
        "address": "address_report",
        "passport": "passport_expiry",
        "arc-card": "arc_expiry",
    }
    p1 = loaded.person("person-0001")
    assert p1 is not None
    nhis = next(d for d in p1.deadlines if d.id == "nhis")
    assert (nhis.kind, getattr(nhis, "schedule", None)) == ("nhis_premium", "national")
    visa = next(d for d in p1.deadlines if d.id == "visa")
    assert getattr(visa, "date", None) == date(2027, 2, 2)  # from 2027/02/02
    p7 = loaded.person("person-0007")
    assert p7 is not None
    arc = next(d for d in p7.deadlines if d.id == "arc")
    assert getattr(arc, "entry", None) == date(2026, 8, 8)  # from 2026.8.8

    before = snapshot(tmp_path)
    started = time.perf_counter()
    again = run("import", str(source), "-c", str(config))
    took = time.perf_counter() - started
    print(f"re-import of the same 2,000 rows: {took:.2f} s")
    assert again.exit_code == 0, again.output
    assert again.stdout == (
        f"{target}: 0 added, 0 updated, 2000 unchanged (2000 in the CSV); nothing to write\n"
    )
    assert snapshot(tmp_path) == before


# -- reading CSV files -----------------------------------------------------------------


def test_spreadsheet_variants_are_read_alike(config: Path, tmp_path: Path) -> None:
    body = "ID;Name;E-mail;Visa expiry\nkim-a;Kim A;kim@example.org;2027.3.14.\n"
    source = tmp_path / "semicolons.csv"
    source.write_text(body, encoding="utf-8")
    result = run("import", str(source), "-c", str(config), "--into", "staff.toml")
    assert result.exit_code == 1  # "e_mail" is not a column
    assert f"{source}:1:e_mail: unknown column 'e_mail'; did you mean email?" in result.stderr

    source.write_text(body.replace("E-mail", "email"), encoding="utf-8")
    result = run("import", str(source), "-c", str(config), "--into", "staff.toml")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f'{config}: added include = ["staff.toml"]\n')
    person = load_config(config).person("kim-a")
    assert person is not None
    assert getattr(person.deadlines[0], "date", None) == date(2027, 3, 14)


def test_missing_columns_and_cp949_files_are_explained(config: Path, tmp_path: Path) -> None:
    source = tmp_path / "names.csv"
    source.write_text("id,name,phone\na,A,010\n", encoding="utf-8")
    result = run("import", str(source), "-c", str(config))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [
        f"{source}:1:phone: unknown column 'phone'; use {', '.join(COLUMNS)}",
        f"{source}:1: missing column email; every person needs an id, a name and an email",
    ]
    korean = tmp_path / "excel.csv"
    korean.write_bytes("id,name,email\nkim,김민수,kim@example.org\n".encode("cp949"))
    result = run("import", str(korean), "-c", str(config))
    assert result.exit_code == 1
    assert (
        f"{korean}:2: looks like Korean EUC-KR/CP949 text, not UTF-8; save it as CSV UTF-8"
        in result.stderr
    )
    result = run("import", str(tmp_path / "nope.csv"), "-c", str(config))
    assert result.exit_code == 1
    assert f"Error: {tmp_path / 'nope.csv'}: no such file; check the name" in result.stderr


# -- updating ------------------------------------------------------------------------------


def test_updates_replace_the_csv_columns_and_keep_everything_else(
    config: Path, tmp_path: Path
) -> None:
    columns = ["id", "name", "email", "visa_expiry", "passport_expiry"]
    first = [
        {"id": "ana", "name": "Ana", "email": "ana@example.org", "visa_expiry": "2027-01-10",
         "passport_expiry": "2030-01-01"},
        {"id": "bo", "name": "Bo", "email": "bo@example.org", "visa_expiry": "2027-02-10",
         "passport_expiry": ""},
    ]  # fmt: skip
    source = write_csv(tmp_path / "a.csv", first, header=columns)
    assert run("import", str(source), "-c", str(config)).exit_code == 0
    target = tmp_path / "people" / "imported.toml"
    # Somebody adds a note and a comment by hand.
    text = target.read_text(encoding="utf-8")
    text = text.replace(
        "  date = 2027-01-10\n", '  date = 2027-01-10\n  note = "renewal filed"  # by hand\n'
    )
    target.write_text(text + "# end of file\n", encoding="utf-8")

    second = [
        {"id": "ana", "name": "Ana Lima", "email": "ana@example.org", "visa_expiry": "2027/06/30",
         "passport_expiry": ""},
        {"id": "cy", "name": "Cy", "email": "cy@example.org", "visa_expiry": "",
         "passport_expiry": "2029-09-09"},
    ]  # fmt: skip
    again = write_csv(tmp_path / "b.csv", second, header=columns)
    dry = run("import", str(again), "-c", str(config), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"--- {target}\n+++ {target}\n" in dry.stdout
    assert '-name = "Ana"\n+name = "Ana Lima"\n' in dry.stdout
    assert dry.stdout.endswith("1 added, 1 updated, 0 unchanged (2 in the CSV); dry run, nothing "
                               "was written\n")  # fmt: skip
    assert target.read_text(encoding="utf-8") == text + "# end of file\n"

    result = run("import", str(again), "-c", str(config))
    assert result.exit_code == 0, result.output
    loaded = load_config(config)
    ana = loaded.person("ana")
    assert ana is not None
    assert ana.name == "Ana Lima"
    assert [(d.id, getattr(d, "date", None), d.note) for d in ana.deadlines] == [
        ("visa", date(2027, 6, 30), "renewal filed")  # the note stays; the empty cell removed
    ]
    assert loaded.person("bo") is not None  # not in the CSV: kept
    assert loaded.person("cy") is not None
    after = target.read_text(encoding="utf-8")
    assert "# end of file\n" in after
    assert after.index('id = "bo"') < after.index('id = "cy"')
    # Once more: nothing changes.
    mtime = target.stat().st_mtime_ns
    assert "0 added, 0 updated, 2 unchanged" in run("import", str(again), "-c", str(config)).stdout
    assert target.stat().st_mtime_ns == mtime


def test_people_of_the_main_config_are_refused(config: Path, tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "x.csv",
        [{"id": "wang-fang", "name": "W", "email": "w@example.org"}],
        header=["id", "name", "email"],
    )
    result = run("import", str(source), "-c", str(config))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [
        f"{source}:2:id: 'wang-fang' is defined in staywatch.toml, edit it there (or remove "
        "this row)"
    ]
    result = run("import", str(source), "-c", str(config), "--into", "staywatch.toml")
    assert result.exit_code == 1
    assert "is the main config; give a separate file" in result.stderr


def test_a_broken_config_is_reported_before_the_csv(config: Path, tmp_path: Path) -> None:
    config.write_text(MAIN.replace("2027-03-14", "2027-02-30"), encoding="utf-8")
    source = write_csv(tmp_path / "x.csv", [row(1)])
    result = run("import", str(source), "-c", str(config))
    assert result.exit_code == 1
    assert "1 problem in the config" in result.stderr
    assert "2027-02-30 is not a date" in result.stderr


# -- export ------------------------------------------------------------------------------


def test_export_writes_the_import_columns_and_the_next_occurrence(
    config: Path, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "people.csv", [row(i) for i in range(1, 6)])
    assert run("import", str(source), "-c", str(config)).exit_code == 0
    result = run("export", "--csv", "-c", str(config))
    assert result.exit_code == 0, result.output
    exported = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(exported[0]) == [*COLUMNS, "next_deadline", "next_date", "days_left"]
    assert [r["id"] for r in exported] == ["wang-fang", *(f"person-{i:04d}" for i in range(1, 6))]
    first = exported[1]
    assert first["email"] == "p1@example.org"
    assert first["visa_expiry"] == "2027-02-02"
    assert first["nhis_schedule"] == "national"
    if first["next_date"]:
        left = (date.fromisoformat(first["next_date"]) - date.today()).days
        assert abs(int(first["days_left"]) - left) <= 1
    # An export of imported people imports again without a change.
    output = tmp_path / "out.csv"
    written = run("export", "-c", str(config), "-o", str(output))
    assert written.exit_code == 0
    assert output.read_bytes().startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8-sig"))))
    write_csv(tmp_path / "back.csv", rows[1:], header=list(rows[0]))
    target = tmp_path / "people" / "imported.toml"
    before = target.read_bytes()
    back = run("import", str(tmp_path / "back.csv"), "-c", str(config))
    assert back.exit_code == 0, back.output
    assert "0 added, 0 updated, 5 unchanged" in back.stdout
    assert target.read_bytes() == before


def test_export_rows_count_days_from_today(config: Path) -> None:
    (wang,) = export_rows(load_config(config), date(2027, 3, 1))
    # Stay deadlines never roll, even onto a Sunday.
    assert (wang["next_deadline"], wang["next_date"], wang["days_left"]) == (
        "visa",
        "2027-03-14",
        "13",
    )
    assert (wang["visa_expiry"], wang["language"], wang["nhis_autopay"]) == ("2027-03-14", "", "")


def test_plan_import_touches_no_file(config: Path, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "x.csv", [row(3)])
    before = snapshot(tmp_path)
    result = plan_import(config, source)
    assert result.added == ["person-0003"]
    assert result.include_pattern == "people/*.toml"
    assert snapshot(tmp_path) == before
    assert os.path.exists(source)


def test_a_file_changed_during_the_import_is_not_overwritten(config: Path, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "x.csv", [row(3)])
    assert run("import", str(source), "-c", str(config)).exit_code == 0
    target = tmp_path / "people" / "imported.toml"
    result = plan_import(config, write_csv(tmp_path / "y.csv", [row(3, name="Renamed")]))
    assert result.updated == ["person-0003"]
    edited = target.read_text(encoding="utf-8") + "# someone else's edit\n"
    target.write_text(edited, encoding="utf-8")
    with pytest.raises(StaywatchError, match="was changed by someone else"):
        write_import(result)
    assert target.read_text(encoding="utf-8") == edited


# -- formulas ------------------------------------------------------------------------------

#: What spreadsheets (Excel, LibreOffice, Google Sheets) start a formula or a DDE call with;
#: some read the full-width forms as the ASCII ones.
FORMULA_STARTS = "=+-@\uff1d\uff0b\uff0d\uff20"
FORMULAS = [
    '=HYPERLINK("http://evil/","x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    " =1+1",
    "\t=1+1",
    "\u3000=1+1",
    '\uff1dHYPERLINK("http://evil/")',
    "\uff0b1",
    "\uff0d1",
    "\uff20SUM(1)",
    "'=already quoted",
]


def runs_as_formula(cell: str) -> bool:
    """How a spreadsheet reads a cell: a formula when it starts with one of those, after
    blanks, or with a tab or line break; a plain number stays a number."""
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", cell):
        return False
    first = cell.lstrip()[:1]
    return cell[:1] in ("\t", "\r", "\n") or (first != "" and first in FORMULA_STARTS)


def people_config(names: Sequence[str]) -> Config:
    text = "".join(
        f'[[person]]\nid = "p-{i}"\nname = {tomlkit.string(name).as_string()}\n'
        f'email = ["p{i}@example.org"]\n'
        for i, name in enumerate(names)
    )
    return parse_config(text, "names.toml")


#: Text a name may hold (one line).
LINE_TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\x00"))
NAMES = st.one_of(
    LINE_TEXT,
    st.builds(
        lambda blank, start, rest: blank + start + rest,
        st.sampled_from(["", " ", "  ", "\t", "\u3000", "'", "''"]),
        st.sampled_from(FORMULA_STARTS),
        LINE_TEXT,
    ),
)
# import strips the blanks around a cell: only a guard keeps leading ones
NAMES = NAMES.filter(
    lambda name: name.rstrip() == name and (name.lstrip() == name or spreadsheet_cell(name) != name)
)


@pytest.mark.parametrize("name", FORMULAS)
def test_export_never_writes_a_formula(name: str, tmp_path: Path) -> None:
    text = export_csv(people_config([name]), date(2027, 1, 1))
    (exported,) = list(csv.DictReader(io.StringIO(text)))
    assert not runs_as_formula(exported["name"])
    assert exported["name"].endswith(name.lstrip("'"))


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAMES.filter(lambda n: n.strip() != ""), min_size=1, max_size=5))
def test_an_exported_name_imports_back_unchanged(names: list[str], tmp_path: Path) -> None:
    config = people_config(names)
    path = tmp_path / "export.csv"
    path.write_text(export_csv(config, date(2027, 1, 1), bom=True), encoding="utf-8")
    table = read_csv(path)
    assert [row.cells["name"] for row in table.rows] == names
    with path.open(encoding="utf-8-sig", newline="") as handle:
        assert not any(runs_as_formula(r["name"]) for r in csv.DictReader(handle))


@given(st.text())
def test_the_dashboard_csv_uses_the_same_guard(text: str) -> None:
    cell = _csv_cell(text)
    assert cell == spreadsheet_cell(text)
    assert not runs_as_formula(str(cell))
    assert unguarded_cell(str(cell)) == text
    assert _csv_cell(-3) == -3


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give files to another owner")
def test_a_new_people_file_gets_the_configs_owner_group_and_mode(
    config: Path, tmp_path: Path
) -> None:
    # As deployed: root:staywatch 0640 (here nobody and a group that is not root's).
    owner, group = 65534, 50
    os.chown(config, owner, group)
    os.chmod(config, 0o640)
    source = write_csv(tmp_path / "x.csv", [row(1)])
    result = run("import", str(source), "-c", str(config))
    assert result.exit_code == 0, result.output
    target = tmp_path / "people" / "imported.toml"
    made = target.stat()
    assert (made.st_uid, made.st_gid, made.st_mode & 0o777) == (owner, group, 0o640)
    folder = target.parent.stat()
    assert (folder.st_uid, folder.st_gid) == (owner, group)
    # The main config, edited to include it, keeps its owner and mode as well.
    kept = config.stat()
    assert (kept.st_uid, kept.st_gid, kept.st_mode & 0o777) == (owner, group, 0o640)


def test_import_refuses_addresses_rendering_cannot_send(config: Path, tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "x.csv",
        [
            row(1, email="Bob <bob@corp.local>"),
            row(2, email="ünï@corp.local"),
            row(3, email="it@corp.local; HR@Bücher.de"),
        ],
    )
    result = run("import", str(source), "-c", str(config))
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        f"{source}:2:email: 'Bob <bob@corp.local>' is not a valid e-mail address; write only "
        "the address (bob@corp.local), without a name or <>",
        f"{source}:3:email: 'ünï@corp.local' is not a valid e-mail address (Internationalized "
        "characters before the @-sign are not supported: 'ï', 'ü'.)",
    ]
    good = write_csv(tmp_path / "y.csv", [row(3, email="it@corp.local; HR@Bücher.de")])
    assert run("import", str(good), "-c", str(config)).exit_code == 0
    (person,) = [p for p in load_config(config).people if p.id == "person-0003"]
    assert person.email == ("it@corp.local", "HR@xn--bcher-kva.de")
