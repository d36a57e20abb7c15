"""A config that does not parse is an error, always, and every problem in it is listed.

Invalid dates (``date = 2027-02-29``) are TOML syntax errors that the reader turns
into located validation errors; however many there are, in the main file or in
an included one, the config never reads as empty.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import MAX_NESTING, _loads, load_config, parse_config
from service.errors import SHOWN_PROBLEMS, ConfigError

BAD = "2027-02-29"


def people_with_bad_dates(people: int, bad: int) -> tuple[str, list[int]]:
    """``people`` people with ``bad`` impossible dates spread over them, and their lines."""
    lines: list[str] = []
    bad_lines: list[int] = []
    for p in range(people):
        lines += ["[[person]]", f'id = "p{p}"', f'name = "Person {p}"', f'email = ["p{p}@x.org"]']
        share = bad // people + (1 if p < bad % people else 0)
        for d in range(max(share, 1)):
            lines += ["  [[person.deadline]]", f'  id = "d{d}"', '  kind = "stay_expiry"']
            if d < share:
                lines.append(f"  date = {BAD}")
                bad_lines.append(len(lines))
            else:
                lines.append("  date = 2027-02-28")
    return "\n".join(lines) + "\n", bad_lines


def check_listing(error: ConfigError, path: str, bad_lines: list[int]) -> None:
    assert [(p.path, p.line) for p in error.problems] == [(path, n) for n in bad_lines]
    assert all(f"date {BAD} is not a date" in p.message for p in error.problems)
    text = str(error)
    count = len(bad_lines)
    assert text.startswith(f"{count} problem{'s' if count > 1 else ''} in the config:\n")
    shown = text.splitlines()[1:]
    assert shown[: min(len(bad_lines), SHOWN_PROBLEMS)] == [
        str(p) for p in error.problems[:SHOWN_PROBLEMS]
    ]
    rest = len(bad_lines) - SHOWN_PROBLEMS
    if rest > 0:
        assert shown[-1] == f"... and {rest} more problem{'s' if rest > 1 else ''}"
        assert len(shown) == SHOWN_PROBLEMS + 1
    else:
        assert len(shown) == len(bad_lines)


@pytest.mark.parametrize("bad", [1, 199, 200, 201, 1000])
def test_many_bad_dates_in_the_main_file_are_all_errors(bad: int) -> None:
    text, bad_lines = people_with_bad_dates(3, bad)
    with pytest.raises(ConfigError) as info:
        parse_config(text, "staywatch.toml")
    check_listing(info.value, "staywatch.toml", bad_lines)


@pytest.mark.parametrize("bad", [200, 1000])
def test_many_bad_dates_in_an_included_300_person_file_are_all_errors(
    bad: int, tmp_path: Path
) -> None:
    people, bad_lines = people_with_bad_dates(300, bad)
    (tmp_path / "people.toml").write_text(people, encoding="utf-8")
    main = tmp_path / "staywatch.toml"
    main.write_text('include = ["people.toml"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(main)
    check_listing(info.value, str(tmp_path / "people.toml"), bad_lines)


def test_the_same_files_with_real_dates_load_every_person(tmp_path: Path) -> None:
    people, _ = people_with_bad_dates(300, 1000)
    (tmp_path / "people.toml").write_text(people.replace(BAD, "2028-02-29"), encoding="utf-8")
    main = tmp_path / "staywatch.toml"
    main.write_text('include = ["people.toml"]\n', encoding="utf-8")
    config = load_config(main)
    assert len(config.people) == 300
    assert sum(len(p.deadlines) for p in config.people) == 1000


def test_a_syntax_error_among_bad_dates_is_named_at_its_line() -> None:
    text, _ = people_with_bad_dates(2, 300)
    lines = text.splitlines()
    lines.insert(500, 'note = "unterminated')
    with pytest.raises(ConfigError) as info:
        parse_config("\n".join(lines) + "\n", "x.toml")
    (problem,) = info.value.problems
    assert problem.line == 501
    assert problem.message.startswith("TOML syntax error: ")


def test_a_date_mentioned_inside_a_string_is_kept_as_written() -> None:
    text = (
        '[[person]]\nid = "a"\nname = "A"\nemail = ["a@x.org"]\n'
        "  [[person.deadline]]\n"
        '  id = "visa"\n  kind = "stay_expiry"\n  date = 2027-02-30\n'
        '  note = """Moved from\n2027-02-30 to 2027-03-02 by the office."""\n'
        '  [[person.deadline]]\n  id = "x"\n  kind = "custom"\n  title = "x"\n'
        "  date = 2027-13-01\n"
    )
    raw, found = _loads(text, "x.toml")
    assert found == []
    deadlines = raw["person"][0]["deadline"]
    assert deadlines[0]["date"] == "2027-02-30"
    assert deadlines[0]["note"] == "Moved from\n2027-02-30 to 2027-03-02 by the office."
    assert deadlines[1]["date"] == "2027-13-01"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.toml")
    assert [p.line for p in info.value.problems] == [8, 15]


@pytest.mark.parametrize("value", ["[" * 2000 + "]" * 2000, "{ a = " * 2000 + "1" + " }" * 2000])
def test_deeply_nested_values_are_a_located_error(value: str) -> None:
    text = f'[service]\ntimezone = "Asia/Seoul"\nextra_holidays = {value}\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.toml")
    (problem,) = info.value.problems
    assert problem.line == 3
    assert f"nested more than {MAX_NESTING} levels deep" in problem.message


def test_a_number_with_thousands_of_digits_is_a_located_error() -> None:
    text = "[service]\n\nhorizon_days = " + "9" * 5000 + "\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.toml")
    (problem,) = info.value.problems
    assert (problem.line, problem.message) == (
        3,
        "a number has thousands of digits; write a real value",
    )


PERSON = '[[person]]\nid = "{pid}"\nname = "P"\nemail = ["{pid}@example.org"]\n'


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (".", "include[1] '.' is a folder; name the files in it, e.g. \"./*.toml\""),
        ("people", "include[1] 'people' is a folder; name the files in it, e.g. \"people/*.toml\""),
        ("", "include[1] '' is empty; write a path or a pattern, e.g. \"people/*.toml\""),
        ("people/nobody.toml", "include[1] 'people/nobody.toml' does not exist"),
    ],
)
def test_an_include_that_names_no_file_is_a_located_error(
    pattern: str, message: str, tmp_path: Path
) -> None:
    (tmp_path / "people").mkdir()
    main = tmp_path / "staywatch.toml"
    main.write_text(f'include = ["{pattern}"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(main)
    (problem,) = info.value.problems
    assert problem.line == 1
    assert problem.message.startswith(message)


def test_absolute_include_patterns_and_a_file_named_twice(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    for pid in ("ana", "bob"):
        (folder / f"{pid}.toml").write_text(PERSON.format(pid=pid), encoding="utf-8")
    main = tmp_path / "etc" / "staywatch.toml"
    main.parent.mkdir()
    main.write_text(
        f'include = ["{folder}/*.toml", "../elsewhere/ana.toml", "*.toml"]\n', encoding="utf-8"
    )
    config = load_config(main)
    assert [p.id for p in config.people] == ["ana", "bob"]
    assert config.sources == (main.absolute(), folder / "ana.toml", folder / "bob.toml")
