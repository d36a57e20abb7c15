"""Config edits (service.configedit): comments and layout kept, bad results refused.

The input is a frozen copy of config/example.toml (tests/data/edit/input.toml), so
that later changes to the example do not rewrite these goldens. Regenerate the
goldens with ``STAYWATCH_UPDATE_GOLDEN=1`` and read the diff before committing.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from service import configedit
from service.config import parse_config
from service.errors import ConfigError, StaywatchError, UnknownDeadline, UnknownPerson
from tests.fixtures.golden import check_golden

DATA = Path(__file__).resolve().parents[1] / "data" / "edit"
INPUT = (DATA / "input.toml").read_text(encoding="utf-8")
KST = timezone(timedelta(hours=9))


def comments(text: str) -> list[str]:
    """Every comment in the text (whole-line and end-of-line), outside strings."""
    found = []
    for line in text.splitlines():
        quote = None
        for i, char in enumerate(line):
            if quote:
                quote = None if char == quote else quote
            elif char in "\"'":
                quote = char
            elif char == "#":
                found.append(line[i:].rstrip())
                break
    return found


# -- golden files ----------------------------------------------------------------------

EDITS: dict[str, Callable[[str], str]] = {
    "add-person.toml": lambda text: configedit.add_person(
        text,
        "jamie-lee",
        name="Jamie Lee",
        emails=["jamie@example.org", "office@example.org"],
        language="ko",
        timezone="America/New_York",
    ),
    "add-deadline.toml": lambda text: configedit.add_deadline(
        text, "wang-fang", "arc", kind="arc_expiry", fields={"date": date(2028, 2, 1)}
    ),
    "add-deadline-custom.toml": lambda text: configedit.add_deadline(
        text,
        "nguyen-van-an",
        "lease",
        kind="custom",
        fields={
            "note": 'Landlord: "Kim"',
            "remind": ["P7D", 1],
            "at": datetime(2027, 2, 1, 10, 0, tzinfo=KST),
            "title": "Renew the lease",
            "roll": None,
        },
    ),
    "set-deadline.toml": lambda text: configedit.set_values(
        text, "wang-fang/visa", ["date=2027-09-14", "note=D-2, extended", "remind=[30, 7]"]
    ),
    "set-person.toml": lambda text: configedit.set_values(
        text,
        "maria-schmidt",
        ["name=Maria Schmidt-Kim", 'email=["maria@example.org", "kim@example.org"]', "tags=[]"],
    ),
    "remove-person.toml": lambda text: configedit.remove(text, "wang-fang"),
    "remove-last-person.toml": lambda text: configedit.remove(text, "maria-schmidt"),
    "remove-deadline.toml": lambda text: configedit.remove(text, "nguyen-van-an/arc"),
    "remove-last-deadline.toml": lambda text: configedit.remove(text, "wang-fang/sim"),
}

# Comments that go with the removed tables; every other comment must survive.
GONE = {
    "remove-person.toml": [
        "# A graduate student on a D-2 visa who writes in Chinese.",
        '# "period of stay" on the residence card',
        "# due on the 25th for the next month, rolled to a business day",
    ],
    "remove-last-person.toml": [
        "# A permanent resident (F-5) who lives in Berlin half the year.",
        "# a Sunday and Memorial Day: offices are closed",
        "# F-5: due on the 10th of the following month",
    ],
    "remove-deadline.toml": ["# date of entry: register within 90 days"],
}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_golden(name: str) -> None:
    result = EDITS[name](INPUT)
    check_golden(DATA / name, result)
    parse_config(result, name)
    expected = comments(INPUT)
    for gone in GONE.get(name, []):
        expected.remove(gone)
    assert comments(result) == expected


def test_goldens_change_what_they_say() -> None:
    added = parse_config(EDITS["add-person.toml"](INPUT))
    jamie = added.person("jamie-lee")
    assert jamie is not None
    assert (jamie.name, jamie.email, jamie.language) == (
        "Jamie Lee",
        ("jamie@example.org", "office@example.org"),
        "ko",
    )
    assert [p.id for p in added.people][-1] == "jamie-lee"

    custom = parse_config(EDITS["add-deadline-custom.toml"](INPUT)).person("nguyen-van-an")
    assert custom is not None
    assert [d.id for d in custom.deadlines] == ["arc", "move", "visa", "nhis", "lease"]

    visa = parse_config(EDITS["set-deadline.toml"](INPUT)).person("wang-fang")
    assert visa is not None
    assert visa.deadlines[0].model_dump()["date"] == date(2027, 9, 14)

    removed = parse_config(EDITS["remove-person.toml"](INPUT))
    assert [p.id for p in removed.people] == ["nguyen-van-an", "maria-schmidt"]


def test_input_is_still_the_example_layout() -> None:
    # The goldens rely on the input validating as it is.
    assert len(parse_config(INPUT).people) == 3


# -- set: values and comments ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2027-03-14", date(2027, 3, 14)),
        ("true", True),
        ("3", 3),
        ('["a@x.org"]', ["a@x.org"]),
        ('"quoted"', "quoted"),
        ("Wang Fang", "Wang Fang"),
        ("  spaced  ", "spaced"),
        ("fr", "fr"),
        ("2027-02-30", "2027-02-30"),
        ("2027-01-05T10:00:00+09:00", datetime(2027, 1, 5, 10, 0, tzinfo=KST)),
        ("a = b", "a = b"),
        ("1 # typed comment", 1),
    ],
)
def test_set_reads_toml_values_else_text(raw: str, expected: object) -> None:
    result = configedit.set_values(INPUT, "wang-fang/visa", [f"note={raw}"])
    deadline = tomllib.loads(result)["person"][0]["deadline"][0]
    assert deadline["note"] == expected


def test_set_keeps_the_end_of_line_comment_in_its_column() -> None:
    result = configedit.set_values(INPUT, "maria-schmidt/nhis", ["schedule=foreigner"])
    assert '  schedule = "foreigner"     # F-5: due on the 10th of the following month\n' in result
    assert '  schedule = "national"      # F-5' in INPUT


def test_set_adds_a_missing_key_after_the_last_value_not_after_the_next_comment() -> None:
    result = configedit.set_values(INPUT, "wang-fang/sim", ["note=prepaid"])
    assert '  roll = "none"\n  note = "prepaid"\n\n\n# A newly arrived engineer' in result


def test_set_refuses_tables() -> None:
    with pytest.raises(StaywatchError, match="deadline is a table"):
        configedit.set_values(INPUT, "wang-fang", ["deadline=1"])


@pytest.mark.parametrize("assignment", ["date", "=3", "a.b=1", "na me=x", ""])
def test_malformed_assignment_is_named(assignment: str) -> None:
    with pytest.raises(StaywatchError) as info:
        configedit.set_values(INPUT, "wang-fang", [assignment])
    assert str(info.value) == (
        f"'{assignment}' is not KEY=VALUE; write e.g. date=2027-03-14 or name=\"Wang Fang\""
    )


@pytest.mark.parametrize("target", ["a/b/c", "/visa", "wang-fang/", ""])
def test_malformed_target(target: str) -> None:
    with pytest.raises(StaywatchError, match="is not PERSON or PERSON/DEADLINE"):
        configedit.remove(INPUT, target)


# -- references ------------------------------------------------------------------------


def test_unknown_person() -> None:
    with pytest.raises(UnknownPerson) as info:
        configedit.set_values(INPUT, "nobody", ["name=X"])
    assert str(info.value) == (
        "no person 'nobody' in the config; known: wang-fang, nguyen-van-an, maria-schmidt"
    )
    with pytest.raises(UnknownPerson):
        configedit.remove(INPUT, "nobody")
    with pytest.raises(UnknownPerson):
        configedit.add_deadline(INPUT, "nobody", "visa", kind="stay_expiry", fields={})


def test_unknown_deadline() -> None:
    with pytest.raises(UnknownDeadline) as info:
        configedit.remove(INPUT, "wang-fang/arc")
    assert str(info.value) == (
        "person 'wang-fang' has no deadline 'arc'; wang-fang has: visa, nhis, passport, sim"
    )
    with pytest.raises(UnknownDeadline):
        configedit.set_values(INPUT, "wang-fang/arc", ["date=2027-01-01"])


def test_duplicate_person() -> None:
    with pytest.raises(StaywatchError) as info:
        configedit.add_person(
            INPUT, "wang-fang", name="W", emails=["w@example.org"], language=None, timezone=None
        )
    assert str(info.value) == (
        "person 'wang-fang' already exists; use `staywatch set wang-fang KEY=VALUE` to change it"
    )


def test_duplicate_deadline() -> None:
    with pytest.raises(StaywatchError) as info:
        configedit.add_deadline(
            INPUT, "wang-fang", "visa", kind="stay_expiry", fields={"date": date(2028, 1, 1)}
        )
    assert str(info.value) == (
        "person 'wang-fang' already has a deadline 'visa'; "
        "use `staywatch set wang-fang/visa KEY=VALUE` to change it"
    )


# -- layouts other than the example's ------------------------------------------------

BARE = """\
# People we look after.
[[person]]
id = "ana"
name = "Ana"
email = ["ana@example.org"]
"""


def test_first_deadline_in_a_file_gets_the_two_space_style() -> None:
    result = configedit.add_deadline(
        BARE, "ana", "visa", kind="stay_expiry", fields={"date": date(2027, 3, 14)}
    )
    assert result == BARE + (
        '\n  [[person.deadline]]\n  id = "visa"\n  kind = "stay_expiry"\n  date = 2027-03-14\n'
    )
    parse_config(result)


def test_add_person_to_a_file_without_people() -> None:
    text = '[service]\ntimezone = "Asia/Seoul"\n\n'
    result = configedit.add_person(
        text, "ana", name="Ana", emails=["ana@example.org"], language=None, timezone=None
    )
    assert result == (
        '[service]\ntimezone = "Asia/Seoul"\n\n[[person]]\nid = "ana"\nname = "Ana"\n'
        'email = ["ana@example.org"]\n'
    )
    parse_config(result)


def test_a_free_standing_comment_survives_removal_of_the_person_above_it() -> None:
    text = (
        BARE
        + '\n  [[person.deadline]]\n  id = "visa"\n  kind = "stay_expiry"\n  date = 2027-03-14\n'
        + "  # checked with the office on 2026-10-01\n"
        + "\n# ---- staff below ----\n\n"
        + '[[person]]\nid = "bo"\nname = "Bo"\nemail = ["bo@example.org"]\n'
    )
    result = configedit.remove(text, "ana")
    assert result == (
        "# ---- staff below ----\n\n"
        '[[person]]\nid = "bo"\nname = "Bo"\nemail = ["bo@example.org"]\n'
    )


def test_header_lookalikes_inside_strings_and_arrays_are_not_tables() -> None:
    ana = (
        '[[person]]\nid = "ana"\nname = "Ana"\nemail = [\n  "ana@example.org",\n]\n'
        'note = """\n[[person]]\n"""\n'
    )
    bo = '[[person]]\nid = "bo"\nname = "Bo"\nemail = ["bo@example.org"]\n'
    # note is not a person key; the edit only needs the layout.
    assert configedit.remove(ana + "\n" + bo, "bo") == ana
    assert configedit.remove(ana + "\n" + bo, "ana") == bo


def test_crlf_files_stay_crlf() -> None:
    text = BARE.replace("\n", "\r\n")
    result = configedit.add_deadline(
        text, "ana", "visa", kind="stay_expiry", fields={"date": date(2027, 3, 14)}
    )
    result = configedit.set_values(result, "ana", ["language=ko"])
    assert result.count("\n") == result.count("\r\n")
    parse_config(result)


def test_inline_people_are_refused() -> None:
    text = 'person = [{id = "ana", name = "Ana", email = ["ana@example.org"]}]\n'
    with pytest.raises(StaywatchError, match="edit the file by hand"):
        configedit.remove(text, "ana")


# -- apply_edit: validate, then replace atomically ---------------------------------------


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "staywatch.toml"
    path.write_text(INPUT, encoding="utf-8")
    path.chmod(0o640)
    return path


def test_apply_edit_writes_keeps_mode_and_leaves_no_temp_files(config_file: Path) -> None:
    config = configedit.apply_edit(config_file, EDITS["set-deadline.toml"])
    assert config_file.read_text(encoding="utf-8") == (DATA / "set-deadline.toml").read_text(
        encoding="utf-8"
    )
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o640
    assert sorted(os.listdir(config_file.parent)) == ["staywatch.toml"]
    assert config.path == config_file
    wang = config.person("wang-fang")
    assert wang is not None
    assert wang.deadlines[0].model_dump()["date"] == date(2027, 9, 14)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file away")
def test_apply_edit_as_root_keeps_the_owner(config_file: Path) -> None:
    os.chown(config_file, 1234, 5678)
    configedit.apply_edit(config_file, lambda t: configedit.remove(t, "wang-fang/sim"))
    info = config_file.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1234, 5678, 0o640)


def test_apply_edit_through_a_symlink_replaces_the_target(
    tmp_path: Path, config_file: Path
) -> None:
    link = tmp_path / "link.toml"
    link.symlink_to(config_file.name)
    configedit.apply_edit(link, lambda t: configedit.remove(t, "wang-fang/sim"))
    assert link.is_symlink()
    assert config_file.read_text(encoding="utf-8") == (
        DATA / "remove-last-deadline.toml"
    ).read_text(encoding="utf-8")


INVALID: dict[str, tuple[Callable[[str], str], str]] = {
    "impossible date": (
        lambda t: configedit.set_values(t, "wang-fang/visa", ["date=2027-02-30"]),
        "person 'wang-fang' deadline 'visa': date 2027-02-30 is not a date",
    ),
    "unsupported language": (
        lambda t: configedit.set_values(t, "wang-fang", ["language=fr"]),
        "person 'wang-fang': language 'fr' is not supported; "
        "use one of en, ko, zh, vi, ne, uz, km, th, mn, ru, id",
    ),
    "missing input": (
        lambda t: configedit.add_deadline(t, "wang-fang", "arc", kind="arc_expiry", fields={}),
        "person 'wang-fang' deadline 'arc': date is required for kind arc_expiry",
    ),
    "unknown kind": (
        lambda t: configedit.add_deadline(
            t, "wang-fang", "x", kind="visa", fields={"date": date(2027, 1, 1)}
        ),
        "kind 'visa' is not a known kind",
    ),
    "bad email": (
        lambda t: configedit.add_person(
            t, "jo", name="Jo", emails=["not-an-address"], language=None, timezone=None
        ),
        "'not-an-address' is not a valid e-mail address",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_result_is_refused_and_the_file_untouched(config_file: Path, case: str) -> None:
    edit, message = INVALID[case]
    before = config_file.stat()
    with pytest.raises(ConfigError) as info:
        configedit.apply_edit(config_file, edit)
    assert message in str(info.value)
    after = config_file.stat()
    assert config_file.read_text(encoding="utf-8") == INPUT
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert sorted(os.listdir(config_file.parent)) == ["staywatch.toml"]


def test_unknown_person_through_apply_edit_leaves_the_file(config_file: Path) -> None:
    with pytest.raises(UnknownPerson):
        configedit.apply_edit(config_file, lambda t: configedit.remove(t, "nobody"))
    assert config_file.read_text(encoding="utf-8") == INPUT


def test_a_concurrent_change_is_not_overwritten(config_file: Path) -> None:
    def edit(text: str) -> str:
        # Another editor saves while ours is working.
        config_file.write_text(text + "# theirs\n", encoding="utf-8")
        return configedit.remove(text, "wang-fang/sim")

    with pytest.raises(StaywatchError, match="changed by someone else"):
        configedit.apply_edit(config_file, edit)
    assert config_file.read_text(encoding="utf-8") == INPUT + "# theirs\n"
    assert sorted(os.listdir(config_file.parent)) == ["staywatch.toml"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        configedit.apply_edit(tmp_path / "nope.toml", lambda t: t)


PEOPLE = ["wang-fang", "nguyen-van-an", "maria-schmidt"]


@pytest.mark.parametrize("person", PEOPLE)
def test_add_then_remove_gives_back_the_same_bytes(person: str) -> None:
    added = configedit.add_deadline(
        INPUT, person, "extra", kind="passport_expiry", fields={"date": date(2030, 1, 1)}
    )
    assert configedit.remove(added, f"{person}/extra") == INPUT
    added = configedit.add_person(
        INPUT, "extra", name="E", emails=["e@example.org"], language=None, timezone=None
    )
    assert configedit.remove(added, "extra") == INPUT


@pytest.mark.parametrize(
    "target",
    [
        *PEOPLE,
        *(f"{p.id}/{d.id}" for p in parse_config(INPUT).people for d in p.deadlines),
    ],
)
def test_every_removal_validates_and_removes_only_its_target(target: str) -> None:
    result = parse_config(configedit.remove(INPUT, target))
    before = {(p.id, d.id) for p in parse_config(INPUT).people for d in p.deadlines}
    after = {(p.id, d.id) for p in result.people for d in p.deadlines}
    person, _, deadline = target.partition("/")
    assert before - after == {k for k in before if k[0] == person and deadline in ("", k[1])}
