"""README stays true: every command is documented, and its --json examples are real."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = re.compile(r"<!-- (example|example-keys): (.+?) -->\n```json\n(.*?)```", re.DOTALL)


def _commands() -> list[str]:
    names = []
    for name in main.list_commands(None):  # type: ignore[arg-type]
        command = main.get_command(None, name)  # type: ignore[arg-type]
        subcommands = getattr(command, "commands", None)
        if subcommands:
            names.extend(f"{name} {sub}" for sub in subcommands)
        else:
            names.append(name)
    return names


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"`staywatch {command}" in README, f"README does not document `staywatch {command}`"


def test_the_readme_has_json_examples() -> None:
    kinds = [m.group(2).split()[1] for m in EXAMPLE.finditer(README)]
    assert kinds == ["deadlines", "upcoming", "status"]


@pytest.mark.parametrize(
    ("mode", "command", "shown"),
    [m.groups() for m in EXAMPLE.finditer(README)],
    ids=[m.group(2).split()[1] for m in EXAMPLE.finditer(README)],
)
def test_readme_json_examples_match_real_output(
    mode: str, command: str, shown: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").mkdir()
    shutil.copy(ROOT / "config" / "example.toml", tmp_path / "config" / "example.toml")
    monkeypatch.chdir(tmp_path)
    args = shlex.split(command)
    assert args[0] == "staywatch"
    result = CliRunner().invoke(main, args[1:], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    real = json.loads(result.stdout)
    documented = json.loads(shown)
    if mode == "example":
        assert real == documented
    else:
        assert set(real) == set(documented)
