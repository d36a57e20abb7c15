"""The command line as a user drives it: exit codes, messages, --json shapes."""

from __future__ import annotations

import email
import json
import os
import re
import shutil
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from service.cli import main
from service.tokens import installation_id

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example.toml"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of the example config (its var/ state lands in tmp_path)."""
    target = tmp_path / "staywatch.toml"
    shutil.copy(EXAMPLE, target)
    return target


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_check_accepts_the_example(example: Path) -> None:
    result = run("check", "-c", str(example))
    assert result.exit_code == 0
    assert result.stdout.startswith(f"{example}: ok (7 people, 21 deadlines")


def test_check_lists_every_error_with_its_line_and_no_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        "[service]\n"
        'send_time = "25:00"\n'
        "\n"
        "[[person]]\n"
        'id = "wang-fang"\n'
        'name = "Wang Fang"\n'
        'email = ["wang@example.org"]\n'
        "\n"
        "  [[person.deadline]]\n"
        '  id = "visa"\n'
        '  kind = "stay_expiry"\n'
        "  date = 2027-02-30\n",
        encoding="utf-8",
    )
    result = run("check", "-c", str(broken))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        "Error: 2 problems in the config:",
        f"{broken}:2: [service]: send_time '25:00' is not a time of day; write it as HH:MM, "
        'e.g. "09:00"',
        f"{broken}:12: person 'wang-fang' deadline 'visa': date 2027-02-30 is not a date; "
        "write a real calendar date as YYYY-MM-DD",
    ]


def test_a_missing_config_says_what_to_do(tmp_path: Path) -> None:
    result = run("check", "-c", str(tmp_path / "nope.toml"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'nope.toml'}: no such file" in result.stderr


def test_config_comes_from_the_environment_and_options_go_anywhere(example: Path) -> None:
    from_env = run("deadlines", "--json", env={"STAYWATCH_CONFIG": str(example)})
    before = run("-c", str(example), "deadlines", "--json")
    after = run("deadlines", "--json", "-c", str(example))
    assert from_env.exit_code == before.exit_code == after.exit_code == 0
    assert from_env.stdout == before.stdout == after.stdout


def test_deadlines_json_is_sorted_and_rolls_nhis_over_christmas(example: Path) -> None:
    result = run(
        "deadlines", "-c", str(example), "--from", "2026-12-01", "--until", "2027-01-31", "--json"
    )
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    order = [(r["date"], r["person"], r["deadline"]) for r in rows]
    assert order == sorted(order)
    nhis = next(r for r in rows if r["person"] == "wang-fang" and r["deadline"] == "nhis")
    assert (nhis["nominal"], nhis["date"]) == ("2026-12-25", "2026-12-28")
    assert {"key", "due"} <= set(nhis["reminders"][0])
    assert all(r["key"].startswith("wang-fang/nhis/2026-12-28/") for r in nhis["reminders"])


def test_deadlines_from_after_until_is_refused(example: Path) -> None:
    result = run("deadlines", "-c", str(example), "--from", "2027-01-02", "--until", "2027-01-01")
    assert result.exit_code == 1
    assert "--until 2027-01-01 is before --from 2027-01-02" in result.stderr


def test_a_bad_date_option_names_the_option(example: Path) -> None:
    result = run("deadlines", "-c", str(example), "--from", "2027-13-01")
    assert result.exit_code == 2
    assert "'2027-13-01' is not a date" in result.stderr
    assert "--from" in result.stderr


def test_an_unknown_person_lists_the_known_ones(example: Path) -> None:
    result = run("upcoming", "-c", str(example), "--person", "nobody")
    assert result.exit_code == 1
    assert "no person 'nobody' in the config; known: wang-fang, nguyen-van-an, maria-schmidt" in (
        result.stderr
    )


def test_done_acknowledges_and_upcoming_shows_it(example: Path) -> None:
    result = run("done", "wang-fang/nhis/2027-01-25", "-c", str(example))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Acknowledged wang-fang/nhis/2027-01-25: ")
    listing = run("upcoming", "-c", str(example), "--from", "2027-01-18", "--days", "3", "--json")
    statuses = {r["key"]: r["status"] for r in json.loads(listing.stdout)}
    assert statuses["wang-fang/nhis/2027-01-25/P7D"] == "acknowledged"
    again = run("done", "wang-fang/nhis/2027-01-25", "-c", str(example))
    assert again.stdout.strip() == "wang-fang/nhis/2027-01-25 was already acknowledged."


def test_done_refuses_a_date_that_is_not_an_occurrence(example: Path) -> None:
    result = run("done", "wang-fang/nhis/2027-01-24", "-c", str(example))
    assert result.exit_code == 1
    assert "wang-fang/nhis has no occurrence on 2027-01-24; nearby: " in result.stderr


def test_feed_url_is_one_line_stable_and_rotates(example: Path) -> None:
    first = run("feed-url", "wang-fang", "-c", str(example))
    second = run("feed-url", "-c", str(example), "wang-fang")
    assert first.exit_code == 0
    assert first.stdout == second.stdout
    assert first.stdout.count("\n") == 1
    url = first.stdout.strip()
    assert url.startswith("http://127.0.0.1:8780/calendar/")
    assert url.endswith(".ics")
    rotated = run("feed-url", "--rotate", "wang-fang", "-c", str(example)).stdout.strip()
    assert rotated != url
    assert run("feed-url", "wang-fang", "-c", str(example)).stdout.strip() == rotated
    everyone = run("feed-url", "--all", "-c", str(example)).stdout.strip()
    assert everyone not in {url, rotated}
    assert run("feed-url", "-c", str(example)).exit_code == 1


def test_feed_export_writes_a_calendar(example: Path, tmp_path: Path) -> None:
    target = tmp_path / "wang.ics"
    result = run("feed", "export", "wang-fang", "-o", str(target), "-c", str(example))
    assert result.exit_code == 0
    body = target.read_bytes()
    assert body.startswith(b"BEGIN:VCALENDAR")
    installation = installation_id((tmp_path / "var" / "secret").read_bytes().strip())
    assert f"UID:wang-fang/visa@{installation}.staywatch".encode() in body


def test_feed_export_before_any_state_is_stamped_with_the_configs_last_change(
    example: Path, tmp_path: Path
) -> None:
    changed = datetime(2026, 11, 20, 8, 15, 30, tzinfo=UTC)
    os.utime(example, (changed.timestamp(), changed.timestamp()))
    first, second = tmp_path / "1.ics", tmp_path / "2.ics"

    for target in (first, second):
        assert (
            run("feed", "export", "wang-fang", "-o", str(target), "-c", str(example)).exit_code == 0
        )

    assert not (tmp_path / "var" / "staywatch.db").exists()  # nothing ran yet
    assert first.read_bytes() == second.read_bytes()
    stamps = set(re.findall(rb"\r\nDTSTAMP:(\w+)\r\n", first.read_bytes()))
    assert stamps == {b"20261120T081530Z"}
    assert b"20000101T000000Z" not in first.read_bytes()


def test_send_test_through_the_maildir(example: Path) -> None:
    result = run("send-test", "me@example.org", "-c", str(example))
    assert result.exit_code == 0
    assert result.stdout.startswith("Sent a test message to me@example.org via maildir ")
    files = list((example.parent / "var" / "mail" / "new").iterdir())
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == "me@example.org"
    assert run("send-test", "not-an-address", "-c", str(example)).exit_code == 1


def test_status_json_has_the_fixed_core(example: Path) -> None:
    result = run("status", "--json", "-c", str(example))
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["config_ok"] is True
    assert data["config_errors"] == []
    for key in ("pending", "sent", "failed", "last_reload"):
        assert key in data


def test_status_json_reports_a_broken_config(example: Path) -> None:
    example.write_text(example.read_text().replace('send_time = "09:00"', 'send_time = "9h"'))
    data = json.loads(run("status", "--json", "-c", str(example)).stdout)
    assert data["config_ok"] is False
    assert data["config_errors"] == [
        f"{example}:12: [service]: send_time '9h' is not a time of day; write it as HH:MM, "
        'e.g. "09:00"'
    ]


def test_edit_commands_keep_comments_and_refuse_invalid_results(example: Path) -> None:
    added = run(
        "add",
        "person",
        "jamie-lee",
        "--name",
        "Jamie Lee",
        "--email",
        "jamie@example.org",
        "--language",
        "ko",
        "-c",
        str(example),
    )
    assert added.exit_code == 0, added.output
    deadline = run(
        "add",
        "deadline",
        "jamie-lee/visa",
        "--kind",
        "stay_expiry",
        "--date",
        "2027-09-30",
        "-c",
        str(example),
    )
    assert deadline.exit_code == 0, deadline.output
    text = example.read_text()
    assert "# A graduate student on a D-2 visa who writes in Chinese." in text
    listing = json.loads(
        run(
            "deadlines",
            "--json",
            "--person",
            "jamie-lee",
            "--from",
            "2027-01-01",
            "--until",
            "2027-12-31",
            "-c",
            str(example),
        ).stdout
    )
    assert [(r["deadline"], r["date"]) for r in listing] == [("visa", "2027-09-30")]

    before = example.read_bytes()
    refused = run("set", "jamie-lee/visa", "date=2027-02-30", "-c", str(example))
    assert refused.exit_code == 1
    assert "date 2027-02-30 is not a date" in refused.stderr
    assert example.read_bytes() == before

    assert run("remove", "jamie-lee", "-c", str(example)).exit_code == 0
    assert "jamie-lee" not in example.read_text()


def test_every_command_has_help() -> None:
    for command in main.list_commands(None):  # type: ignore[arg-type]
        result = run(command, "--help")
        assert result.exit_code == 0, command
        assert "Usage:" in result.stdout


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("staywatch, version ")
