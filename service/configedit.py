"""Edit the config file in place: add, set and remove people and deadlines.

Every function but :func:`apply_edit` is pure: config text in, config text out.
Values are read and written with tomlkit, so comments at the end of a line and
the file's layout survive. Whole tables are placed and removed line by line
instead: tomlkit attaches the comment lines above a ``[[person]]`` header to
the table *before* it, so moving tables with tomlkit would carry one person's
comment into another person's block. The line work is checked against tomlkit's
reading of the same text before and after, so a layout it cannot follow is
refused rather than guessed at.

Comment rules, the same for add and remove: comment lines directly above a
header (no blank line between) belong to that table, and so do comment lines
directly below its last line; a comment paragraph with blank lines on both sides
belongs to nobody and is never removed.

:func:`apply_edit` validates the result with :func:`service.config.parse_config`
and only then replaces the file atomically; a running daemon watches the
config's folder and reloads by itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import ParseError, TOMLKitError
from tomlkit.items import AoT, Item, Table

from service.config import Config, PassportExpiry, RegistrationChange, parse_config
from service.errors import (
    ConfigError,
    ConfigProblem,
    StaywatchError,
    UnknownDeadline,
    UnknownPerson,
)

__all__ = [
    "add_deadline",
    "add_person",
    "apply_edit",
    "passport_hint",
    "remove",
    "set_values",
    "split_target",
]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# Only tried on lines that start outside any value, where "[" can only open a header.
_HEADER_NAME = re.compile(r"^\s*(\[\[?)(.*?)(\]\]?)\s*(?:#.*)?$")

# New tables list their keys in this order, whatever order the caller used, so
# that the same command always writes the same text.
PERSON_ORDER = ("id", "name", "email", "language", "timezone", "hide_details", "tags")
DEADLINE_ORDER = (
    "id",
    "kind",
    "title",
    "date",
    "entry",
    "moved",
    "departed",
    "permanent",
    "changed",
    "what",
    "born",
    "ended",
    "applied",
    "status",
    "registered",
    "at",
    "rrule",
    "start",
    "until",
    "schedule",
    "autopay",
    "remind",
    "roll",
    "overdue",
    "escalate",
    "recipients",
    "note",
)
# The example config indents deadline tables by two spaces; a file without any
# deadline yet gets the same.
_DEFAULT_DEADLINE_INDENT = "  "


# -- targets and assignments -------------------------------------------------------


def split_target(target: str) -> tuple[str, str | None]:
    """Split ``PERSON`` or ``PERSON/DEADLINE`` into its parts."""
    parts = target.strip().split("/")
    if len(parts) > 2 or not all(parts):
        raise StaywatchError(
            f"'{target}' is not PERSON or PERSON/DEADLINE; write e.g. wang-fang or wang-fang/visa"
        )
    return parts[0], parts[1] if len(parts) == 2 else None


def _parse_assignment(assignment: str) -> tuple[str, Item]:
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or not _BARE_KEY.fullmatch(key):
        raise StaywatchError(
            f"'{assignment}' is not KEY=VALUE; write e.g. date=2027-03-14 or name=\"Wang Fang\""
        )
    return key, _parse_value(raw.strip())


def _parse_value(raw: str) -> Item:
    """A TOML value when ``raw`` is one (date, bool, number, array, quoted string), else text."""
    try:
        parsed = tomlkit.parse(f"v = {raw}\n")
    except TOMLKitError:
        parsed = None
    value = parsed.item("v") if parsed is not None and list(parsed.keys()) == ["v"] else None
    if isinstance(value, Item):
        # A comment typed on the command line would replace the one in the file.
        value.trivia.comment = ""
        value.trivia.comment_ws = ""
        return value
    return tomlkit.item(raw)


def _render(value: object) -> str:
    try:
        return tomlkit.item(value).as_string()
    except (TOMLKitError, TypeError, ValueError) as exc:
        raise StaywatchError(f"{value!r} cannot be written as a TOML value ({exc})") from None


# -- reading the text: where tables start and end ---------------------------------------


@dataclass
class _Lines:
    """The text as lines, and for each line whether it starts inside a value."""

    lines: list[str]
    inside: list[bool]
    newline: str

    def blank(self, i: int) -> bool:
        return not self.inside[i] and not self.lines[i].strip()

    def comment(self, i: int) -> bool:
        return not self.inside[i] and self.lines[i].lstrip().startswith("#")

    def indent(self, i: int) -> str:
        line = self.lines[i]
        return line[: len(line) - len(line.lstrip())]


def scan_lines(text: str) -> tuple[_Lines, list[tuple[int, str]]]:
    """Split into lines and find the table headers, skipping multi-line strings and arrays."""
    lines = text.splitlines(keepends=True)
    inside: list[bool] = []
    headers: list[tuple[int, str]] = []
    string: str | None = None  # the closing quotes of an open multi-line string
    depth = 0
    for number, line in enumerate(lines):
        inside.append(string is not None or depth > 0)
        if not inside[-1]:
            header = _HEADER_NAME.match(line)
            if header:
                name = re.sub(r"[\s\"']", "", header.group(2))
                headers.append((number, name if header.group(1) == "[[" else f"[{name}]"))
                continue
        i = 0
        while i < len(line):
            if string is not None:
                if line.startswith(string, i):
                    i += 3
                    string = None
                elif string == '"""' and line[i] == "\\":
                    i += 2
                else:
                    i += 1
                continue
            char = line[i]
            if char == "#":
                break
            if line.startswith('"""', i) or line.startswith("'''", i):
                string = line[i : i + 3]
                i += 3
            elif char in "\"'":
                i = _end_of_string(line, i)
            else:
                depth += (char in "[{") - (char in "]}")
                i += 1
    newline = "\r\n" if "\r\n" in text else "\n"
    return _Lines(lines, inside, newline), headers


def _end_of_string(line: str, start: int) -> int:
    quote = line[start]
    i = start + 1
    while i < len(line):
        if quote == '"' and line[i] == "\\":
            i += 2
            continue
        if line[i] == quote:
            return i + 1
        i += 1
    return i


@dataclass
class _Block:
    """One table in the text: ``start`` includes the comment lines attached above it."""

    start: int
    header: int
    end: int = 0  # exclusive; after the last line of the table and its attached comments
    ident: str | None = None
    deadlines: list[_Block] = field(default_factory=list)

    @property
    def region_end(self) -> int:
        """End of the person with all of its deadlines."""
        return self.deadlines[-1].end if self.deadlines else self.end


@dataclass
class _Layout:
    text: _Lines
    people: list[_Block]
    deadline_indent: str | None

    def person(self, person_id: str) -> _Block:
        for block in self.people:
            if block.ident == person_id:
                return block
        raise UnknownPerson(person_id, [p.ident for p in self.people if p.ident])

    def deadline(self, person_id: str, deadline_id: str) -> _Block:
        person = self.person(person_id)
        for block in person.deadlines:
            if block.ident == deadline_id:
                return block
        raise UnknownDeadline(
            person_id, deadline_id, [d.ident for d in person.deadlines if d.ident]
        )


def _parse(text: str) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        raise StaywatchError(
            f"the config is not valid TOML (line {exc.line}: {exc}); fix it by hand first "
            "(`staywatch check` lists the problems)"
        ) from None


def _tables(container: Container | Table, key: str) -> list[Table]:
    found = container.get(key)
    if found is None:
        return []
    if not isinstance(found, AoT):
        raise StaywatchError(
            f"'{key}' is not written as [[{'person' if key == 'person' else 'person.deadline'}]] "
            "tables; edit the file by hand"
        )
    return list(found.body)


def _ids(text: str) -> list[tuple[str | None, list[str | None]]]:
    """(person id, [deadline id, ...]) in file order, as tomlkit reads the text."""

    def ident(table: Table) -> str | None:
        value = table.get("id")
        return str(value) if isinstance(value, str) else None

    doc = _parse(text)
    return [
        (ident(person), [ident(d) for d in _tables(person, "deadline")])
        for person in _tables(doc, "person")
    ]


def _layout(text: str) -> _Layout:
    ids = _ids(text)
    lines, headers = scan_lines(text)
    blocks: list[_Block] = []
    people: list[_Block] = []
    for line, name in headers:
        start = line
        while start > 0 and lines.comment(start - 1):
            start -= 1
        block = _Block(start=start, header=line)
        if name == "person":
            people.append(block)
        elif (
            name == "person.deadline"
            and people
            and blocks
            and blocks[-1].header >= people[-1].header
        ):
            people[-1].deadlines.append(block)
        blocks.append(block)
    for block, following in zip(blocks, [*blocks[1:], None], strict=True):
        block.end = _content_end(
            lines, block.header, following.start if following else len(lines.lines)
        )
    shape = [len(p.deadlines) for p in people]
    if shape != [len(deadlines) for _, deadlines in ids]:
        raise StaywatchError(
            "cannot follow the layout of this config (the [[person]] and [[person.deadline]] "
            "tables are not one after another); edit the file by hand"
        )
    for person, (person_id, deadline_ids) in zip(people, ids, strict=True):
        person.ident = person_id
        for deadline, deadline_id in zip(person.deadlines, deadline_ids, strict=True):
            deadline.ident = deadline_id
    indents = [lines.indent(d.header) for p in people for d in p.deadlines]
    return _Layout(lines, people, indents[-1] if indents else None)


def _content_end(lines: _Lines, header: int, limit: int) -> int:
    """End of a table: its last line, plus comment lines that touch it."""
    end = limit
    while True:
        while end > header + 1 and lines.blank(end - 1):
            end -= 1
        top = end
        while top > header + 1 and lines.comment(top - 1):
            top -= 1
        # A comment paragraph with a blank line above it is about what follows.
        if top < end and top > header + 1 and lines.blank(top - 1):
            end = top
            continue
        return end


def _blank_lines_above(lines: _Lines, index: int) -> int:
    count = 0
    while index - count > 0 and lines.blank(index - count - 1):
        count += 1
    return count


def _key_indent(lines: _Lines, header: int, fallback: str) -> str:
    for i in range(header + 1, len(lines.lines)):
        if lines.blank(i) or lines.comment(i):
            continue
        if lines.lines[i].lstrip().startswith("["):
            break
        return lines.indent(i)
    return fallback


def _insert(lines: _Lines, at: int, gap: int, header: str, keys: Iterable[str]) -> str:
    out = list(lines.lines)
    nl = lines.newline
    if at > 0 and not out[at - 1].endswith("\n"):
        out[at - 1] += nl
    new = [nl] * gap + [header + nl] + [key + nl for key in keys]
    if at < len(out) and not lines.blank(at):
        # Keep what followed (another table's comments, say) apart from the new table.
        new.append(nl)
    out[at:at] = new
    return "".join(out)


def _ordered(values: Mapping[str, object], order: Sequence[str]) -> list[tuple[str, object]]:
    known = [(key, values[key]) for key in order if key in values]
    rest = [(key, value) for key, value in values.items() if key not in order]
    items = [(key, value) for key, value in [*known, *rest] if value is not None]
    for key, _ in items:
        if not _BARE_KEY.fullmatch(key):
            raise StaywatchError(f"'{key}' is not a config key; use letters, digits, '-' and '_'")
    return items


def _expect(text: str, expected: list[tuple[str | None, list[str | None]]]) -> str:
    """Check that the line edit did to the tables exactly what tomlkit should now see."""
    if _ids(text) != expected:
        raise StaywatchError(
            "could not edit this config's layout safely (nothing was changed); edit it by hand"
        )
    return text


# -- the edits -------------------------------------------------------------------------


def add_person(
    text: str,
    person_id: str,
    *,
    name: str,
    emails: Sequence[str],
    language: str | None,
    timezone: str | None,
) -> str:
    """Append a ``[[person]]`` table after the last person, in the file's own style."""
    layout = _layout(text)
    if any(p.ident == person_id for p in layout.people):
        raise StaywatchError(
            f"person '{person_id}' already exists; use `staywatch set {person_id} KEY=VALUE` "
            "to change it"
        )
    lines = layout.text
    values: dict[str, object] = {
        "id": person_id,
        "name": name,
        "email": list(emails),
        "language": language,
        "timezone": timezone,
    }
    if layout.people:
        last = layout.people[-1]
        at, gap = last.region_end, max(1, _blank_lines_above(lines, last.start))
        indent = lines.indent(last.header)
        key_indent = _key_indent(lines, last.header, indent)
    else:
        # At the end, after any blank lines the file already ends with.
        at = len(lines.lines)
        gap = 1 if at and not lines.blank(at - 1) else 0
        indent = key_indent = ""
    keys = [f"{key_indent}{key} = {_render(v)}" for key, v in _ordered(values, PERSON_ORDER)]
    result = _insert(lines, at, gap, f"{indent}[[person]]", keys)
    return _expect(result, [*_ids(text), (person_id, [])])


def add_deadline(
    text: str,
    person_id: str,
    deadline_id: str,
    *,
    kind: str,
    fields: Mapping[str, object],
) -> str:
    """Append a ``[[person.deadline]]`` table after that person's last deadline.

    ``fields`` holds already-parsed values (date, datetime, bool, int, str, lists);
    ``None`` values are left out, so a caller can pass every option it has.
    """
    layout = _layout(text)
    person = layout.person(person_id)
    if any(d.ident == deadline_id for d in person.deadlines):
        raise StaywatchError(
            f"person '{person_id}' already has a deadline '{deadline_id}'; use "
            f"`staywatch set {person_id}/{deadline_id} KEY=VALUE` to change it"
        )
    lines = layout.text
    if person.deadlines:
        last = person.deadlines[-1]
        gap = max(1, _blank_lines_above(lines, last.start))
        indent = lines.indent(last.header)
        key_indent = _key_indent(lines, last.header, indent)
    else:
        gap = 1
        indent = (
            layout.deadline_indent
            if layout.deadline_indent is not None
            else (_DEFAULT_DEADLINE_INDENT)
        )
        key_indent = indent
    values = {**fields, "id": deadline_id, "kind": kind}
    keys = [f"{key_indent}{key} = {_render(v)}" for key, v in _ordered(values, DEADLINE_ORDER)]
    result = _insert(lines, person.region_end, gap, f"{indent}[[person.deadline]]", keys)
    expected = [
        (pid, [*dids, deadline_id] if pid == person_id else dids) for pid, dids in _ids(text)
    ]
    return _expect(result, expected)


def set_values(text: str, target: str, assignments: Sequence[str]) -> str:
    """Set ``KEY=VALUE`` pairs on a person or a deadline (``PERSON/DEADLINE``).

    VALUE is read as TOML when it is one (``2027-03-14``, ``true``, ``3``,
    ``["a@x.org"]``, ``"quoted"``) and as plain text otherwise, so ``name=Wang Fang``
    works. A comment at the end of the line stays where it was.
    """
    person_id, deadline_id = split_target(target)
    parsed = [_parse_assignment(a) for a in assignments]
    if not parsed:
        raise StaywatchError("nothing to set; give KEY=VALUE, e.g. date=2027-03-14")
    doc = _parse(text)
    table = _find_table(doc, person_id, deadline_id)
    for key, value in parsed:
        _set(table, key, value)
    return tomlkit.dumps(doc)


def _find_table(doc: tomlkit.TOMLDocument, person_id: str, deadline_id: str | None) -> Table:
    people = _tables(doc, "person")
    person = next((p for p in people if p.get("id") == person_id), None)
    if person is None:
        raise UnknownPerson(person_id, [str(p.get("id")) for p in people if "id" in p])
    if deadline_id is None:
        return person
    deadlines = _tables(person, "deadline")
    found = next((d for d in deadlines if d.get("id") == deadline_id), None)
    if found is None:
        raise UnknownDeadline(
            person_id, deadline_id, [str(d.get("id")) for d in deadlines if "id" in d]
        )
    return found


def _set(table: Table, key: str, value: Item) -> None:
    body = table.value.body
    if key in table:
        old = table.item(key)
        if not isinstance(old, Item) or isinstance(old, (Table, AoT)):
            raise StaywatchError(
                f"{key} is a table, not a value; use `staywatch add {key}` or `staywatch remove`"
            )
        if old.trivia.comment:
            # Keep the comment in its column while there is room for the new value.
            shift = len(value.as_string()) - len(old.as_string())
            value.trivia.comment_ws = " " * max(1, len(old.trivia.comment_ws) - shift)
        table[key] = value
        return
    last = None
    for index, (existing, item) in enumerate(body):
        if existing is not None and not isinstance(item, (Table, AoT)):
            last = (index, item)
    if last is None:
        table[key] = value
        return
    value.trivia.indent = last[1].trivia.indent
    value.trivia.trail = "\r\n" if last[1].trivia.trail.endswith("\r\n") else "\n"
    if last[0] == len(body) - 1:
        table[key] = value
        return
    # After the table's last value, not after the comments that follow it (those are
    # usually about the next table) and not after its sub-tables. tomlkit has no public
    # insert; ``_insert_at`` is the helper its releases from 0.13.3 to 0.15 all have
    # (0.15 dropped ``_insert_after``).
    table.value._insert_at(last[0] + 1, key, value)


def passport_hint(
    config: Config, target: str, assignments: Sequence[str], today: date
) -> str | None:
    """After ``set PERSON/DEADLINE date=...`` on a passport: how to add the 15-day report.

    None when the target is not a passport_expiry deadline, its date was not set, or
    the person already has a new-passport report that is still ahead.
    """
    person_id, deadline_id = split_target(target)
    person = config.person(person_id)
    if person is None or deadline_id is None:
        return None
    deadline = next((d for d in person.deadlines if d.id == deadline_id), None)
    keys = {a.partition("=")[0].strip() for a in assignments}
    if not isinstance(deadline, PassportExpiry) or "date" not in keys:
        return None
    for other in person.deadlines:
        if (
            isinstance(other, RegistrationChange)
            and other.what == "passport"
            and other.changed >= today - timedelta(days=REPORT_DAYS)
        ):
            return None
    taken = {d.id for d in person.deadlines}
    ident, number = "passport-report", 1
    while ident in taken:
        number += 1
        ident = f"passport-report-{number}"
    return (
        "A new passport must be reported to immigration within 15 days (Immigration Act "
        "art. 35). To be reminded of it, add the report (--changed is the day the new "
        "passport was issued):\n"
        f"  staywatch add deadline {person_id}/{ident} --kind registration_change "
        f"--changed {today.isoformat()} --what passport"
    )


#: How long after the change a registration change is still to be reported.
REPORT_DAYS = 14


def remove(text: str, target: str) -> str:
    """Remove a person with all of its deadlines, or one deadline (``PERSON/DEADLINE``).

    The table goes with the comment lines attached to it (directly above its header
    or directly below its last line) and the blank lines that separated it from the
    table before; every other comment stays.
    """
    person_id, deadline_id = split_target(target)
    layout = _layout(text)
    lines = layout.text
    expected = _ids(text)
    if deadline_id is None:
        block = layout.person(person_id)
        start, end = block.start, block.region_end
        expected = [(pid, dids) for pid, dids in expected if pid != person_id]
    else:
        block = layout.deadline(person_id, deadline_id)
        start, end = block.start, block.end
        expected = [
            (pid, [d for d in dids if d != deadline_id] if pid == person_id else dids)
            for pid, dids in expected
        ]
    start -= _blank_lines_above(lines, start)
    if start == 0:
        # Nothing above: drop the blank lines below instead, so the file does not
        # begin with them.
        while end < len(lines.lines) and lines.blank(end):
            end += 1
    out = lines.lines[:start] + lines.lines[end:]
    return _expect("".join(out), expected)


# -- writing -----------------------------------------------------------------------------


def apply_edit(path: Path, edit: Callable[[str], str], *, today: date | None = None) -> Config:
    """Apply ``edit`` to the config file, validate the result, then replace the file.

    A result that does not validate raises :class:`ConfigError` and leaves the file
    untouched; with ``today`` birth dates after it are refused too (see
    ``parse_config``). The new text goes to a temporary file in the same folder, is
    synced, gets the original mode (and owner, when running as root) and is renamed
    over the original, so readers see the old file or the new one, never half of one.
    """
    target = Path(os.path.realpath(path))
    try:
        original = target.read_bytes()
        before = os.stat(target)
    except FileNotFoundError:
        raise ConfigError(
            [ConfigProblem(str(path), None, "", "no such file; create it or pass -c FILE")]
        ) from None
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(str(path), None, "", f"cannot be read ({exc.strerror})")]
        ) from None
    try:
        text = original.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            [ConfigProblem(str(path), None, "", "is not UTF-8 text; save the file as UTF-8")]
        ) from None
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    new_text = edit(text.removeprefix(bom))
    config = parse_config(new_text, path, today=today)
    data = (bom + new_text).encode("utf-8")
    if data == original:
        return config
    write_atomically(target, data, before)
    return config


def write_atomically(target: Path, data: bytes, before: os.stat_result) -> None:
    """Replace ``target`` with ``data``: temp file in its folder, fsync, same mode, rename."""
    folder = target.parent
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), stat.S_IMODE(before.st_mode))
            owner = (before.st_uid, before.st_gid)
            if os.geteuid() == 0 and owner != (os.geteuid(), os.getegid()):
                # root editing a root:staywatch 0640 file must not make it unreadable
                # for the daemon.
                os.fchown(handle.fileno(), *owner)
            os.fsync(handle.fileno())
        if _changed(target, before):
            raise StaywatchError(
                f"{target} was changed by someone else during the edit; nothing was written, "
                "run the command again"
            )
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_dir(folder)


def _changed(target: Path, before: os.stat_result) -> bool:
    # Another editor saving between our read and our rename would lose its change.
    try:
        now = os.stat(target)
    except FileNotFoundError:
        return True
    return (now.st_mtime_ns, now.st_size, now.st_ino) != (
        before.st_mtime_ns,
        before.st_size,
        before.st_ino,
    )


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    # The rename is only durable once the folder's entry is on disk.
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
