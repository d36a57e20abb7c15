"""Bulk import and export of people as CSV, the way spreadsheets write it.

``staywatch import FILE.csv`` reads a UTF-8 CSV (with or without the BOM that
spreadsheets add), maps its columns to people and their deadlines, and writes or
updates them in an *included* people file (``people/imported.toml`` by default),
never in the main config. Every row is checked first and every problem is
reported as ``FILE.csv:ROW:COLUMN: problem`` (ROW is the spreadsheet's row
number, the header is row 1); nothing is written while any row is wrong.

Validation uses the real validators: the people file as it would be written is
appended to the main config (whose ``include`` list is pointed at every other
included file) and the whole text goes through :func:`service.config.parse_config`,
so per-field checks and cross-file checks (duplicate ids) are exactly those of
``staywatch check``. Each problem's line is mapped back to the CSV row and column
it came from.

Updates are merges: columns in the CSV replace those values (an empty cell
removes the value or the deadline), columns not in the CSV and keys no column
covers (notes, lead times, other deadlines) are kept, and people in the file but
not in the CSV stay. Only people whose data changes are rewritten (with tomlkit,
so the rest of the file keeps its comments and layout); importing the same CSV
again writes nothing.

``staywatch export --csv`` writes the same columns for everyone in the config,
plus the next occurrence (``next_deadline``, ``next_date``, ``days_left``), which
import ignores so an export can be edited and imported again.
"""

from __future__ import annotations

import copy
import csv
import difflib
import fnmatch
import glob
import io
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT

from service.config import (
    NO_EXPIRY_HINT,
    Config,
    Deadline,
    NhisEnrolment,
    Person,
    RegistrationChange,
    index_lines,
    load_config,
    parse_config,
)
from service.configedit import (
    DEADLINE_ORDER,
    PERSON_ORDER,
    apply_edit,
    fsync_dir,
    scan_lines,
    write_atomically,
)
from service.errors import ConfigError, ConfigProblem, StaywatchError
from service.includes import include_matches
from service.plan import plan
from service.spreadsheet import spreadsheet_cell, unguarded_cell

#: The default import target, relative to the config's folder.
DEFAULT_TARGET = "people/imported.toml"

#: Person columns and the key each one sets.
PERSON_COLUMNS = ("id", "name", "email", "language", "timezone", "tags")
#: Deadline columns: column -> the deadlines it fills, each (deadline id, kind, input key).
DEADLINE_COLUMNS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "visa_expiry": (("visa", "stay_expiry", "date"),),
    "entry": (("arc", "arc_registration", "entry"),),
    "moved": (("address", "address_report", "moved"),),
    "passport_expiry": (("passport", "passport_expiry", "date"),),
    "arc_expiry": (("arc-card", "arc_expiry", "date"),),
    "nhis_start": (("nhis", "nhis_premium", "start"),),
    "departed": (("reentry", "reentry", "departed"),),
    "passport_changed": (("passport-change", "registration_change", "changed"),),
    # A child born in Korea: a status of stay within 90 days, registration at 17.
    "born": (("newborn", "newborn_status", "born"), ("arc-at-17", "arc_at_17", "born")),
    "contract_end": (("workplace-change", "workplace_change", "ended"),),
}
#: Option columns: column -> (the deadline column it needs, deadline id, key).
OPTION_COLUMNS: dict[str, tuple[str, str, str]] = {
    "nhis_schedule": ("nhis_start", "nhis", "schedule"),
    "nhis_autopay": ("nhis_start", "nhis", "autopay"),
    "change_applied": ("contract_end", "workplace-change", "applied"),
}
#: ``nhis_enrolment = yes``: a deadline of this id and kind whose ``entry`` is the
#: entry column's date.
ENROLMENT_COLUMN, ENROLMENT_ID = "nhis_enrolment", "nhis-enrolment"
#: Every column import understands, in the order export writes them.
COLUMNS = (
    *PERSON_COLUMNS,
    *list(DEADLINE_COLUMNS)[:6],
    "nhis_schedule",
    "nhis_autopay",
    *list(DEADLINE_COLUMNS)[6:],
    "change_applied",
    ENROLMENT_COLUMN,
)
_DATE_COLUMNS = frozenset({*DEADLINE_COLUMNS, "change_applied"})
_BOOL_COLUMNS = frozenset({"nhis_autopay", ENROLMENT_COLUMN})
#: Written by export, ignored by import.
EXPORT_ONLY = ("next_deadline", "next_date", "days_left")
REQUIRED = ("id", "name", "email")
#: What to do with an out-of-range date in a spreadsheet ("9999-12-31" for "never").
IMPORT_NO_EXPIRY_HINT = "leave the cell empty for no expiry"

_DATE = re.compile(r"\A(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})\.?\Z")
_TRUE = {"true", "yes", "y", "1", "o", "on"}
_FALSE = {"false", "no", "n", "0", "x", "off"}
_SPLIT = re.compile(r"[;,]")
_HEADER = (
    "# People written by `staywatch import`. Importing a CSV again updates them:\n"
    "# the CSV's columns are replaced, everything else here is kept.\n"
)


class ImportProblems(StaywatchError):
    """The CSV has problems; nothing was written."""

    def __init__(self, source: Path | str, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in {source}; nothing was written"
        super().__init__(head + ":\n" + "\n".join(self.problems))


# -- reading the CSV -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row: its spreadsheet row number and its cells by column name."""

    number: int
    cells: Mapping[str, str]
    extra: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CsvTable:
    """A parsed CSV: the known columns in file order and the non-blank rows."""

    path: Path
    columns: tuple[str, ...]
    rows: tuple[CsvRow, ...]


def _column_name(text: str) -> str:
    return re.sub(r"[\s-]+", "_", text.strip().lower())


def _letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index (A, B, ..., Z, AA, ...)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        hint = "save it as CSV UTF-8 (Excel: Save As > CSV UTF-8; LibreOffice: Unicode (UTF-8))"
        try:
            data.decode("cp949")
        except UnicodeDecodeError:
            problem = f"is not UTF-8 text; {hint}"
        else:
            problem = f"looks like Korean EUC-KR/CP949 text, not UTF-8; {hint}"
        raise ImportProblems(path, [f"{path}:{row}: {problem}"]) from None


def read_csv(path: Path) -> CsvTable:
    """Read and check the header of an import CSV; raise ImportProblems or StaywatchError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StaywatchError(f"{path}: no such file; check the name") from None
    except IsADirectoryError:
        raise StaywatchError(f"{path} is a folder; give a .csv file") from None
    except OSError as exc:
        raise StaywatchError(f"cannot read {path}: {exc.strerror}") from None
    text = _decode(path, data)
    first = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first:
        delimiter = ";" if ";" in first else "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            records.append((number, record))
    except csv.Error as exc:
        raise ImportProblems(path, [f"{path}:{number + 1}: {exc}; fix the quoting"]) from None
    if not records or not any(cell.strip() for cell in records[0][1]):
        raise ImportProblems(
            path,
            [f"{path}:1: the first row must name the columns, e.g. {','.join(COLUMNS[:5])}"],
        )
    header = [_column_name(cell) for cell in records[0][1]]
    while header and not header[-1]:
        header.pop()  # spreadsheets keep trailing empty columns
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, name in enumerate(header):
        place = f"{path}:1:{name or _letter(index)}"
        if not name:
            problems.append(f"{place}: this column has no name; name it or delete it")
        elif name in seen:
            problems.append(f"{place}: column {name} appears twice; keep one")
        elif name not in COLUMNS and name not in EXPORT_ONLY:
            close = difflib.get_close_matches(name, COLUMNS, n=1)
            hint = f"did you mean {close[0]}?" if close else f"use {', '.join(COLUMNS)}"
            problems.append(f"{place}: unknown column '{name}'; {hint}")
        seen.setdefault(name, index)
    missing = [name for name in REQUIRED if name not in seen]
    if missing:
        problems.append(
            f"{path}:1: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}; every person needs an id, a name and an email"
        )
    if problems:
        raise ImportProblems(path, problems)
    columns = tuple(name for name in header if name in COLUMNS)
    rows: list[CsvRow] = []
    for number, record in records[1:]:
        cells = [unguarded_cell(cell.strip()) for cell in record]
        if not any(cells):
            continue
        values = {
            name: cells[index] if index < len(cells) else ""
            for index, name in enumerate(header)
            if name in COLUMNS
        }
        extra = tuple(_letter(index) for index in range(len(header), len(cells)) if cells[index])
        rows.append(CsvRow(number, values, extra))
    return CsvTable(path, columns, tuple(rows))


# -- cells to config values ---------------------------------------------------------


def _date_value(text: str) -> date | str:
    """A date from YYYY-MM-DD, YYYY/MM/DD or YYYY.MM.DD; else the text for the validator."""
    match = _DATE.match(text)
    if not match:
        return text
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return f"{year:04d}-{month:02d}-{day:02d}"


def _bool_value(text: str) -> bool | str:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return text


def _list_value(text: str) -> list[str]:
    return [part.strip() for part in _SPLIT.split(text) if part.strip()]


def _cell_value(column: str, text: str) -> object:
    if column in ("email", "tags"):
        return _list_value(text)
    if column in _DATE_COLUMNS:
        return _date_value(text)
    if column in _BOOL_COLUMNS:
        return _bool_value(text)
    return text


def _merge(old: Mapping[str, Any] | None, row: CsvRow, columns: Sequence[str]) -> dict[str, Any]:
    """The person's data after applying the row's cells (empty cell: remove)."""
    person: dict[str, Any] = copy.deepcopy(dict(old)) if old else {}
    person["id"] = row.cells["id"]
    for column in PERSON_COLUMNS[1:]:
        if column not in columns:
            continue
        text = row.cells[column]
        if text:
            person[column] = _cell_value(column, text)
        else:
            person.pop(column, None)
    deadlines: list[dict[str, Any]] = [dict(d) for d in person.get("deadline", [])]

    def find(ident: str) -> int | None:
        return next((i for i, d in enumerate(deadlines) if d.get("id") == ident), None)

    def put(ident: str, kind: str, key: str, value: object) -> None:
        index = find(ident)
        if index is not None and deadlines[index].get("kind") == kind:
            deadlines[index][key] = value
        elif index is not None:
            deadlines[index] = {"id": ident, "kind": kind, key: value}
        else:
            deadlines.append({"id": ident, "kind": kind, key: value})

    def drop(ident: str) -> None:
        index = find(ident)
        if index is not None:
            deadlines.pop(index)

    for column, targets in DEADLINE_COLUMNS.items():
        if column not in columns:
            continue
        text = row.cells[column]
        for ident, kind, key in targets:
            if text:
                put(ident, kind, key, _cell_value(column, text))
            else:
                drop(ident)
    if ENROLMENT_COLUMN in columns:
        wanted = _bool_value(row.cells[ENROLMENT_COLUMN]) if row.cells[ENROLMENT_COLUMN] else False
        entry = row.cells["entry"] if "entry" in columns else ""
        if wanted is True and entry:
            put(ENROLMENT_ID, "nhis_enrolment", "entry", _cell_value("entry", entry))
        elif wanted is False:
            drop(ENROLMENT_ID)
    for column, (_, ident, key) in OPTION_COLUMNS.items():
        index = find(ident)
        if column not in columns or index is None:
            continue
        text = row.cells[column]
        if text:
            deadlines[index][key] = _cell_value(column, text)
        else:
            deadlines[index].pop(key, None)
    # The re-entry exemption never outlasts the period of stay.
    reentry = find("reentry")
    if reentry is not None and "departed" in columns and "visa_expiry" in columns:
        if row.cells["visa_expiry"]:
            deadlines[reentry]["until"] = _cell_value("visa_expiry", row.cells["visa_expiry"])
        else:
            deadlines[reentry].pop("until", None)
    if deadlines:
        person["deadline"] = deadlines
    else:
        person.pop("deadline", None)
    return person


def _render_value(value: object) -> str:
    try:
        return tomlkit.item(value).as_string()
    except (TOMLKitError, TypeError, ValueError) as exc:
        raise StaywatchError(f"{value!r} cannot be written as a TOML value ({exc})") from None


def _ordered(values: Mapping[str, Any], order: Sequence[str]) -> list[tuple[str, Any]]:
    known = [(key, values[key]) for key in order if key in values]
    return known + [(k, v) for k, v in values.items() if k not in order]


def render_person(person: Mapping[str, Any]) -> str:
    """A ``[[person]]`` table with its deadlines as TOML text, keys in a fixed order."""
    lines = ["[[person]]"]
    for key, value in _ordered(person, PERSON_ORDER):
        if key != "deadline":
            lines.append(f"{_bare(key)} = {_render_value(value)}")
    for deadline in person.get("deadline", []):
        lines.append("")
        lines.append("  [[person.deadline]]")
        for key, value in _ordered(deadline, DEADLINE_ORDER):
            lines.append(f"  {_bare(key)} = {_render_value(value)}")
    return "\n".join(lines) + "\n"


def _bare(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _render_value(key)


# -- the include list -------------------------------------------------------------


def _matches(pattern: str, relative: str) -> bool:
    """Whether a glob ``pattern`` of ``include`` (with ``**``) names the path ``relative``."""

    def walk(parts: list[str], names: list[str]) -> bool:
        if not parts:
            return not names
        if parts[0] == "**":
            return any(walk(parts[1:], names[i:]) for i in range(len(names) + 1))
        return (
            bool(names) and fnmatch.fnmatchcase(names[0], parts[0]) and walk(parts[1:], names[1:])
        )

    clean = [p for p in pattern.replace("\\", "/").split("/") if p not in ("", ".")]
    return walk(clean, relative.split("/"))


def _include_pattern(relative: str) -> str:
    """What to add to ``include`` for a target: its folder's ``*.toml``, or the file itself."""
    folder, _, name = relative.rpartition("/")
    if folder and name.endswith(".toml"):
        return f"{glob.escape(folder)}/*.toml"
    return glob.escape(relative)


def add_include(text: str, pattern: str) -> str:
    """The main config text with ``pattern`` added to ``include`` (comments are kept).

    A config without ``include`` gets the line just above its first table (and
    the comment lines attached to that table's header).
    """
    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise StaywatchError(f"the config is not valid TOML ({exc}); fix it first") from None
    current = doc.get("include")
    if isinstance(current, list):
        current.append(pattern)
        return tomlkit.dumps(doc)
    if current is not None:
        raise StaywatchError('include in the config is not a list; write include = ["..."]')
    lines, headers = scan_lines(text)
    line = f"include = [{_render_value(pattern)}]  # more [[person]] files"
    at = headers[0][0] if headers else len(lines.lines)
    while at > 0 and lines.comment(at - 1):
        at -= 1
    out = list(lines.lines)
    if out and not out[-1].endswith("\n"):
        out[-1] += lines.newline
    above = [lines.newline] if at > 0 and out[at - 1].strip() else []
    below = [lines.newline] if at < len(out) else []
    out[at:at] = [*above, line + lines.newline, *below]
    result = "".join(out)
    if tomlkit.parse(result).get("include") != [pattern]:
        raise StaywatchError(
            f'could not add include = ["{pattern}"] to the config safely; add it by hand'
        )
    return result


# -- planning an import -------------------------------------------------------------


@dataclass
class ImportResult:
    """What an import would write (nothing is written until :func:`write_import`)."""

    csv_path: Path
    config_path: Path
    target: Path
    old_text: str | None
    new_text: str
    include_pattern: str | None = None
    #: The people file as it was read (a change after that refuses the write).
    target_stat: os.stat_result | None = None
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when the people file (or the main config's include) would change."""
        return self.old_text != self.new_text or self.include_pattern is not None

    def diff(self) -> str:
        """A unified diff of every file the import would change."""
        out: list[str] = []
        if self.include_pattern is not None:
            main = self.config_path.read_text(encoding="utf-8").removeprefix("\ufeff")
            out.extend(
                difflib.unified_diff(
                    main.splitlines(keepends=True),
                    add_include(main, self.include_pattern).splitlines(keepends=True),
                    str(self.config_path),
                    str(self.config_path),
                )
            )
        if self.old_text != self.new_text:
            out.extend(
                difflib.unified_diff(
                    (self.old_text or "").splitlines(keepends=True),
                    self.new_text.splitlines(keepends=True),
                    str(self.target) if self.old_text is not None else "/dev/null",
                    str(self.target),
                )
            )
        return "".join(line if line.endswith("\n") else line + "\n" for line in out)

    def summary(self) -> str:
        """One line: how many people were added, updated and left as they were."""
        total = len(self.added) + len(self.updated) + len(self.unchanged)
        return (
            f"{self.target}: {len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged ({total} in the CSV)"
        )


@dataclass
class _Sources:
    """Where each person of the config is defined."""

    by_id: dict[str, Path]


def _people_by_file(config: Config) -> _Sources:
    found: dict[str, Path] = {}
    for source in config.sources or (config.path,):
        try:
            raw = tomllib.loads(source.read_text(encoding="utf-8").removeprefix("\ufeff"))
        except (OSError, ValueError, RecursionError):  # reported by load_config
            continue
        for person in raw.get("person", []) if isinstance(raw.get("person"), list) else []:
            if isinstance(person, dict) and isinstance(person.get("id"), str):
                found.setdefault(person["id"], source)
    return _Sources(found)


def _read_target(target: Path) -> str | None:
    try:
        return target.read_bytes().decode("utf-8").removeprefix("\ufeff")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise StaywatchError(f"{target} is not UTF-8 text; fix or move it first") from None
    except OSError as exc:
        raise StaywatchError(f"cannot read {target}: {exc.strerror}") from None


def _show_path(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return str(path)


def plan_import(
    config_path: Path,
    csv_path: Path,
    into: str = DEFAULT_TARGET,
    *,
    today: date | None = None,
) -> ImportResult:
    """Check every row of ``csv_path`` and work out the new people file.

    With ``today``, the result is checked as ``staywatch check`` checks it on that
    day (a birth after it is refused). Raises :class:`ImportProblems` listing every
    bad row, or :class:`ConfigError` when the config itself does not validate now.
    """
    config = load_config(config_path)
    base = config_path.absolute().parent
    target = Path(os.path.normpath(base / into))
    relative = os.path.relpath(target, base).replace(os.sep, "/")
    if target.suffix != ".toml":
        raise StaywatchError(f"--into {into}: the people file must end in .toml")
    if os.path.normpath(config_path.absolute()) == str(target):
        raise StaywatchError(
            f"--into {into} is the main config; give a separate file, e.g. {DEFAULT_TARGET}"
        )
    table = read_csv(csv_path)
    sources = _people_by_file(config)
    old_text = _read_target(target)
    target_stat = os.stat(target) if old_text is not None else None

    main_text = config_path.read_text(encoding="utf-8").removeprefix("\ufeff")
    patterns = list(config.include)
    include_pattern = None
    if not any(_matches(p, relative) for p in patterns):
        include_pattern = _include_pattern(relative)
        patterns.append(include_pattern)

    problems: list[tuple[int, int, str]] = []

    def report(row: int, column: str, message: str) -> None:
        order = COLUMNS.index(column) if column in COLUMNS else len(COLUMNS)
        problems.append((row, order, f"{csv_path}:{row}:{column}: {message}"))

    # Checks the TOML validators cannot make: cells that must not be empty, ids
    # used twice in the CSV or defined in another file, options without their deadline.
    first_row: dict[str, int] = {}
    stand_ins: dict[int, str] = {}
    for row in table.rows:
        for letter in row.extra:
            report(
                row.number,
                letter,
                "has a value but its column has no name; name it or delete the value",
            )
        for column in REQUIRED:
            if not row.cells[column]:
                report(row.number, column, f"is empty; every person needs {_article(column)}")
        pid = row.cells["id"]
        defined = sources.by_id.get(pid)
        if pid and pid in first_row:
            report(
                row.number,
                "id",
                f"'{pid}' is also on row {first_row[pid]}; give each person one row",
            )
            stand_ins[row.number] = pid
        elif defined is not None and os.path.normpath(defined) != str(target):
            report(
                row.number,
                "id",
                f"'{pid}' is defined in {_show_path(defined, base)}, "
                "edit it there (or remove this row)",
            )
            stand_ins[row.number] = pid
        elif pid:
            first_row[pid] = row.number
        if not row.cells["id"]:
            stand_ins[row.number] = ""
        for column, (parent, _, _) in OPTION_COLUMNS.items():
            if (
                column in table.columns
                and row.cells[column]
                and not (parent in table.columns and row.cells[parent])
            ):
                report(
                    row.number,
                    column,
                    f"only applies with {parent}; fill in {parent} or clear this cell",
                )
        if ENROLMENT_COLUMN in table.columns and row.cells[ENROLMENT_COLUMN]:
            wanted = _bool_value(row.cells[ENROLMENT_COLUMN])
            if not isinstance(wanted, bool):
                report(
                    row.number,
                    ENROLMENT_COLUMN,
                    f"'{wanted}' is not yes or no; write yes to plan the NHIS enrolment "
                    "from the entry date",
                )
            elif wanted and not ("entry" in table.columns and row.cells["entry"]):
                report(
                    row.number,
                    ENROLMENT_COLUMN,
                    "only applies with entry; fill in entry (the date of entry) or clear this cell",
                )

    new_text, people_index, result = _build_text(
        target, old_text, table, table.rows, stand_ins, config
    )
    result.csv_path, result.config_path = csv_path, config_path
    result.include_pattern, result.target_stat = include_pattern, target_stat

    mapped = _validate(
        config_path, main_text, base, target, patterns, new_text, people_index, today
    )
    reported = {(row, order) for row, order, _ in problems}
    for number, column, message in mapped:
        if number is None:
            problems.append((0, 0, message))
            continue
        order = COLUMNS.index(column) if column in COLUMNS else len(COLUMNS)
        if (number, order) not in reported:
            reported.add((number, order))
            report(number, column, message)
    if problems:
        problems.sort(key=lambda item: item[:2])
        raise ImportProblems(csv_path, [text for *_, text in problems])
    return result


def _article(column: str) -> str:
    return {"id": "an id", "name": "a name", "email": "an e-mail address"}[column]


def _stand_in(row: int, taken: Iterable[str]) -> str:
    """A unique id for validating a row whose own id cannot be used."""
    used = set(taken)
    candidate = f"zz-import-row-{row}"
    while candidate in used:
        candidate += "-x"
    return candidate


def _build_text(
    target: Path,
    old_text: str | None,
    table: CsvTable,
    rows: Sequence[CsvRow],
    stand_ins: Mapping[int, str],
    config: Config,
) -> tuple[str, dict[int, int], ImportResult]:
    """The new people file, the index of each row's person in it, and the counts."""
    doc: tomlkit.TOMLDocument | None = None
    old: dict[str, tuple[int, dict[str, Any]]] = {}
    aot: AoT | None = None
    if old_text is not None and old_text.strip():
        try:
            doc = tomlkit.parse(old_text)
        except TOMLKitError as exc:
            raise StaywatchError(
                f"{target} is not valid TOML ({exc}); fix it by hand first"
            ) from None
        stray = [key for key in doc if key not in ("person", "office")]
        if stray:
            raise StaywatchError(
                f"{target}: '{stray[0]}' cannot be set in an included file; only [[person]] "
                "and [[office]] tables belong there"
            )
        people = doc.get("person")
        if people is not None and not isinstance(people, AoT):
            raise StaywatchError(f"{target}: person is not written as [[person]] tables")
        aot = people
        for index, item in enumerate(aot.body if aot is not None else []):
            data = item.unwrap()
            if isinstance(data.get("id"), str):
                old.setdefault(data["id"], (index, data))
    result = ImportResult(Path(), Path(), target, old_text, "")
    index_of: dict[int, int] = {}
    appended: list[str] = []
    replaced: dict[int, str] = {}
    count = len(aot.body) if aot is not None else 0
    taken = {p.id for p in config.people}
    for row in rows:
        if row.number in stand_ins:
            stand_in = _stand_in(row.number, taken)
            taken.add(stand_in)
            data = _merge(None, row, table.columns)
            data["id"] = stand_in
            appended.append(render_person(data))
            index_of[row.number] = count + len(appended) - 1
            continue
        pid = row.cells["id"]
        if pid in old:
            index, before = old[pid]
            after = _merge(before, row, table.columns)
            index_of[row.number] = index
            if after == before:
                result.unchanged.append(pid)
                continue
            replaced[index] = render_person(after)
            result.updated.append(pid)
        else:
            appended.append(render_person(_merge(None, row, table.columns)))
            index_of[row.number] = count + len(appended) - 1
            result.added.append(pid)
    if doc is None:
        text = _HEADER + ("\n" + "\n".join(appended) if appended else "")
        if old_text is not None and not appended:
            text = old_text
    else:
        assert old_text is not None
        text = _replace_tables(doc, aot, old_text, replaced) if replaced else old_text
        if appended:
            text = text.rstrip("\n") + "\n\n" + "\n".join(appended)
    result.new_text = text
    return text, index_of, result


def _replace_tables(
    doc: tomlkit.TOMLDocument, aot: AoT | None, old_text: str, replaced: Mapping[int, str]
) -> str:
    """The file with the ``[[person]]`` tables at the given indexes replaced by new text.

    Each table's lines (up to the comment lines attached to the next header) are
    replaced and the blank lines after it kept; everything else stays byte for
    byte. When the headers in the text do not line up with tomlkit's reading,
    tomlkit replaces the tables instead.
    """
    assert aot is not None
    lines, headers = scan_lines(old_text)
    starts = [line for line, name in headers if name == "person"]
    if len(starts) == len(aot.body):
        # A person's table runs until the next header that is not one of its own.
        boundaries = [
            line for line, name in headers if not name.startswith(("person.", "[person."))
        ]
        following = dict(zip(boundaries, [*boundaries[1:], len(lines.lines)], strict=True))
        ends: list[int] = []
        for start in starts:
            end = following[start]
            while end > start + 1 and lines.comment(end - 1):
                end -= 1
            ends.append(end)
        out = list(lines.lines)
        for index in sorted(replaced, reverse=True):
            start, end = starts[index], ends[index]
            blank = end
            while blank > start + 1 and lines.blank(blank - 1):
                blank -= 1
            tail = out[blank:end] or ([lines.newline] if end < len(out) else [])
            out[start:end] = [replaced[index], *tail]
        return "".join(out)
    for index, snippet in replaced.items():
        last = index == len(aot.body) - 1
        table = tomlkit.parse(snippet + ("" if last else "\n"))["person"]
        assert isinstance(table, AoT)
        aot[index] = table.body[0]
    return tomlkit.dumps(doc)


_DEADLINE_COLUMN = {
    ident: column for column, targets in DEADLINE_COLUMNS.items() for ident, _, _ in targets
} | {ENROLMENT_ID: ENROLMENT_COLUMN}
#: (deadline id, key) -> the column a key of a deadline comes from, when not its own.
_KEY_COLUMN = {(ident, key): column for column, (_, ident, key) in OPTION_COLUMNS.items()} | {
    ("reentry", "until"): "visa_expiry",
    (ENROLMENT_ID, "entry"): "entry",
}


def _column_for(
    path: Sequence[str | int], message: str, deadline_ids: Sequence[object]
) -> str | None:
    """The CSV column a location inside one person's table comes from (None: no column)."""
    if not path:
        first = message.split(" ", 1)[0].split("[", 1)[0]
        return first if first in PERSON_COLUMNS else "id"
    key = path[0]
    if key != "deadline":
        return str(key) if key in PERSON_COLUMNS else None
    if len(path) < 2 or not isinstance(path[1], int) or path[1] >= len(deadline_ids):
        return None
    ident = str(deadline_ids[path[1]])
    column = _DEADLINE_COLUMN.get(ident)
    if column is not None and len(path) > 2:
        return _KEY_COLUMN.get((ident, str(path[2])), column)
    return column


def _validate(
    config_path: Path,
    main_text: str,
    base: Path,
    target: Path,
    patterns: Sequence[str],
    new_text: str,
    index_of: Mapping[int, int],
    today: date | None,
) -> list[tuple[int | None, str, str]]:
    """Run parse_config on the whole result; each problem as (row, column, message).

    The main config gets the new people file appended and its ``include`` pointed
    at every other file the (new) include list names, so nothing is written.
    """
    others: list[str] = []
    for pattern in patterns:
        try:
            matches = include_matches(base, pattern)
        except ValueError:
            matches = []  # parse_config reports the pattern
        for file in matches:
            if file.is_file() and os.path.normpath(file) != str(target):
                others.append(glob.escape(os.path.relpath(file, base).replace(os.sep, "/")))
    doc = tomlkit.parse(main_text)
    if "include" in doc or others:
        doc["include"] = others
    head = tomlkit.dumps(doc).rstrip("\n") + "\n\n"
    offset = head.count("\n")
    try:
        parse_config(head + new_text, config_path, today=today)
    except ConfigError as exc:
        problems = list(exc.problems)
    else:
        return []
    row_of = {index: row for row, index in index_of.items()}
    where = _line_owners(new_text, row_of)
    people = tomllib.loads(new_text).get("person", [])
    shown = str(config_path)
    out: list[tuple[int | None, str, str]] = []
    for problem in problems:
        local = (problem.line or 0) - offset
        if problem.path == shown and local > 0:
            owner = where.get(local)
            if owner is not None:
                row, index, path = owner
                deadlines = people[index].get("deadline", []) if index < len(people) else []
                column = _column_for(path, problem.message, [d.get("id") for d in deadlines])
                if column is not None:
                    message = problem.message.replace(NO_EXPIRY_HINT, IMPORT_NO_EXPIRY_HINT)
                    out.append((row, column, _without_key(message, path)))
                    continue
            moved = ConfigProblem(str(target), local, problem.where, problem.message)
            out.append((None, "", str(moved)))
        else:
            out.append((None, "", str(problem)))
    return out


def _line_owners(
    text: str, row_of: Mapping[int, int]
) -> dict[int, tuple[int, int, tuple[str | int, ...]]]:
    """line -> (CSV row, person index, location inside the person) for the rows' persons."""
    owners: dict[int, tuple[int, int, tuple[str | int, ...]]] = {}
    for path, line in index_lines(text).items():
        if len(path) < 2 or path[0] != "person" or not isinstance(path[1], int):
            continue
        row = row_of.get(path[1])
        if row is None:
            continue
        inner = tuple(path[2:])
        current = owners.get(line)
        if current is None or len(inner) > len(current[2]):
            owners[line] = (row, path[1], inner)
    return owners


def _without_key(message: str, path: Sequence[str | int]) -> str:
    """``date 2027-02-30 is not a date`` -> ``2027-02-30 is not a date`` (the column says it)."""
    key = path[-1] if path and isinstance(path[-1], str) else None
    if key is None:
        return message
    if key == "tags":
        message = message.replace("is not a valid id;", "is not a valid tag;")
    return re.sub(rf"^{re.escape(key)}(\[\d+\])? ", "", message)


# -- writing ----------------------------------------------------------------------------


def write_import(result: ImportResult) -> None:
    """Write the people file atomically, then add the include to the main config if needed."""
    target = result.target
    try:
        if result.old_text != result.new_text:
            data = result.new_text.encode("utf-8")
            if result.old_text is None or result.target_stat is None:
                _create_file(target, data, result.config_path)
            else:
                real = Path(os.path.realpath(target))
                write_atomically(real, data, result.target_stat)
        if result.include_pattern is not None:
            pattern = result.include_pattern
            try:
                apply_edit(result.config_path, lambda text: add_include(text, pattern))
            except (StaywatchError, OSError):
                if result.old_text is None:
                    target.unlink(missing_ok=True)
                raise
    except OSError as exc:
        where = exc.filename or target
        raise StaywatchError(f"cannot write {where}: {exc.strerror}") from None


def _create_file(target: Path, data: bytes, like: Path) -> None:
    """A new file with the main config's mode, owner and group, written to a temp file
    and linked in place. Folders made for it get the config's owner and group too."""
    try:
        config = os.stat(like)
        missing = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
        target.parent.mkdir(parents=True, exist_ok=True)
        owner = (config.st_uid, config.st_gid)
        # Root importing for a root:staywatch 0640 config must not leave a file (or a
        # folder) the daemon cannot read, or that `staywatch set` cannot replace.
        chown = os.geteuid() == 0 and owner != (os.geteuid(), os.getegid())
        if chown:
            for folder in reversed(missing):
                os.chown(folder, *owner)
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise StaywatchError(f"cannot create {target}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), config.st_mode & 0o777)
            if chown:
                os.fchown(handle.fileno(), *owner)
            os.fsync(handle.fileno())
        try:
            os.link(temp, target)
        except FileExistsError:
            raise StaywatchError(
                f"{target} was created by someone else during the import; nothing was "
                "written, run the command again"
            ) from None
    finally:
        Path(temp).unlink(missing_ok=True)
    fsync_dir(target.parent)


# -- export -------------------------------------------------------------------------------


def export_rows(config: Config, today: date) -> list[dict[str, str]]:
    """One row per person: the import columns and the next occurrence from ``today``."""
    upcoming = plan(
        config, today, today + timedelta(days=config.service.horizon_days), singles_unbounded=True
    )
    first: dict[str, tuple[str, date]] = {}
    for occurrence in upcoming:
        first.setdefault(occurrence.person, (occurrence.deadline, occurrence.date))
    rows = []
    for person in config.people:
        row = _person_row(person)
        deadline, day = first.get(person.id, ("", None))
        row["next_deadline"] = deadline
        row["next_date"] = day.isoformat() if day else ""
        row["days_left"] = str((day - today).days) if day else ""
        rows.append(row)
    return rows


def _person_row(person: Person) -> dict[str, str]:
    given = person.model_fields_set
    row = {
        "id": person.id,
        "name": person.name,
        "email": "; ".join(person.email),
        "language": person.language if "language" in given else "",
        "timezone": person.timezone or "",
        "tags": "; ".join(person.tags),
    }
    chosen: dict[str, Deadline | None] = {}
    for column, targets in DEADLINE_COLUMNS.items():
        found = None
        for ident, kind, _ in targets:
            found = _first_of_kind(person, ident, kind)
            if found is not None:
                break
        chosen[column] = found
        key = next((key for ident, kind, key in targets if found and found.kind == kind), "")
        row[column] = _cell_text(getattr(found, key, None) if found is not None else None)
    for column, (parent, _, key) in OPTION_COLUMNS.items():
        owner = chosen[parent]
        fields = owner.model_fields_set if owner is not None else set()
        row[column] = _cell_text(getattr(owner, key, None)) if key in fields else ""
    enrolment = next((d for d in person.deadlines if isinstance(d, NhisEnrolment)), None)
    row[ENROLMENT_COLUMN] = "yes" if enrolment is not None else ""
    if enrolment is not None and not row["entry"]:
        row["entry"] = enrolment.entry.isoformat()
    return row


def _first_of_kind(person: Person, ident: str, kind: str) -> Deadline | None:
    """The deadline a column exports: the one with the column's id, else the first of its kind.

    A registration change counts only when it reports a passport.
    """
    matching = [
        d
        for d in person.deadlines
        if d.kind == kind and not (isinstance(d, RegistrationChange) and d.what != "passport")
    ]
    return next((d for d in matching if d.id == ident), matching[0] if matching else None)


def _cell_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if value is not None else ""


def export_csv(config: Config, today: date, *, bom: bool = False) -> str:
    """The export as CSV text (``\\r\\n`` line ends, as spreadsheets write them)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, *EXPORT_ONLY], lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(
        {column: spreadsheet_cell(value) for column, value in row.items()}
        for row in export_rows(config, today)
    )
    return ("\ufeff" if bom else "") + out.getvalue()
