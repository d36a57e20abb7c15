"""Channels in the config: ``[[channel]]``, ``notify`` and ``email_reminders`` (service.config).

Every mistake is one located message; no message shows a channel's URL beyond
its scheme and (masked) host.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import load_config, parse_config
from service.configedit import set_values
from service.errors import ConfigError, ConfigProblem

TOKEN = "7781234567:AAF-secret-bot-token_xyz"

PERSON = """\
[[person]]
id = "wang-fang"
name = "Wang Fang"
email = ["wang.fang@example.org"]
"""


def problems(text: str, path: Path, environ: dict[str, str] | None = None) -> list[ConfigProblem]:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=environ or {})
    return list(info.value.problems)


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_channels_notify_and_email_reminders_are_read(tmp_path: Path) -> None:
    (tmp_path / "telegram.url").write_text(f"tgram://{TOKEN}/{{to}}\n", encoding="utf-8")
    text = f"""\
[[channel]]
id = "telegram"
url_file = "telegram.url"

[[channel]]
id = "hook"
url = "json://127.0.0.1:8999/{{to}}"
format = "full"

[[channel]]
id = "hr-hook"
url_env = "HR_HOOK"

{PERSON}notify = {{ telegram = "123456789", hook = "wang fang/1" }}
email_reminders = false

[[office]]
id = "hr"
name = "HR"
email = ["hr@example.org"]
people = ["*"]
notify = {{ hr-hook = "" }}
"""
    path = tmp_path / "staywatch.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path, environ={"HR_HOOK": "jsons://hr.example.org/hook"})
    person = config.people[0]
    assert person.notify == {"telegram": "123456789", "hook": "wang fang/1"}
    assert person.email_reminders is False
    assert config.offices[0].notify == {"hr-hook": ""}
    assert [c.format for c in config.channels] == ["short", "full", "short"]
    assert config.channel_url("telegram") == f"tgram://{TOKEN}/{{to}}"
    assert config.channel_url("hr-hook") == "jsons://hr.example.org/hook"
    # The URL is no field: it is in no dump and no repr.
    assert TOKEN not in repr(config)
    assert TOKEN not in repr(config.model_dump())


def test_defaults_without_channels(tmp_path: Path) -> None:
    config = parse_config(PERSON, tmp_path / "x.toml")
    assert config.people[0].notify == {}
    assert config.people[0].email_reminders is True
    assert config.channels == ()


def test_url_file_bare_name_comes_from_credentials_directory(tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "telegram.url").write_text(f"tgram://{TOKEN}/{{to}}", encoding="utf-8")
    path = tmp_path / "staywatch.toml"
    path.write_text('[[channel]]\nid = "telegram"\nurl_file = "telegram.url"\n', encoding="utf-8")
    config = load_config(path, environ={"CREDENTIALS_DIRECTORY": str(creds)})
    assert config.channel_url("telegram").startswith("tgram://")


CASES = [
    # (id, text, needle for the line, where, message start)
    (
        "unknown-channel",
        f'[[channel]]\nid = "hook"\nurl = "json://127.0.0.1:1/{{to}}"\n\n{PERSON}'
        'notify = { hok = "wang" }\n',
        "notify",
        "person 'wang-fang'",
        "notify.hok: there is no channel 'hok' (channels: hook)",
    ),
    (
        "target-without-to",
        f'[[channel]]\nid = "hr"\nurl = "json://127.0.0.1:1/hr"\n\n{PERSON}'
        'notify = { hr = "wang" }\n',
        "notify",
        "person 'wang-fang'",
        "notify.hr: channel 'hr' takes no target (its URL has no {to})",
    ),
    (
        "to-without-target",
        f'[[channel]]\nid = "hook"\nurl = "json://127.0.0.1:1/{{to}}"\n\n{PERSON}'
        'notify = { hook = "" }\n',
        "notify",
        "person 'wang-fang'",
        "notify.hook: channel 'hook' needs a target (its URL has {to})",
    ),
    (
        "url-file-missing",
        '[[channel]]\nid = "telegram"\nurl_file = "telegram.url"\n',
        "url_file",
        "channel 'telegram'",
        "url_file: ",
    ),
    (
        "env-unset",
        '[[channel]]\nid = "telegram"\nurl_env = "TELEGRAM_URL"\n',
        "url_env",
        "channel 'telegram'",
        "url_env: the environment variable TELEGRAM_URL is not set",
    ),
    (
        "unparsable",
        '[[channel]]\nid = "x"\nurl = "nosuchservice://host/{to}"\n',
        "url =",
        "channel 'x'",
        "url: the URL (nosuchservice://): Apprise cannot use this nosuchservice:// URL",
    ),
    (
        "not-a-url",
        '[[channel]]\nid = "x"\nurl = "hello"\n',
        "url =",
        "channel 'x'",
        "url: the URL (?://): it is not an Apprise URL",
    ),
    (
        "msteams-retired",
        '[[channel]]\nid = "teams"\nurl = "msteams://team/tokenA/tokenB/tokenC"\n',
        "url =",
        "channel 'teams'",
        "url: the URL (msteams://): Apprise 2 no longer has msteams://",
    ),
    (
        "secret-inline",
        f'[[channel]]\nid = "telegram"\nurl = "tgram://{TOKEN}/{{to}}"\n',
        "url =",
        "channel 'telegram'",
        "url: this tgram:// URL holds a secret",
    ),
    (
        "password-inline",
        '[[channel]]\nid = "hook"\nurl = "json://user:hunter2222@127.0.0.1:1/{to}"\n',
        "url =",
        "channel 'hook'",
        "url: this json:// URL holds a secret",
    ),
    (
        "no-url",
        '[[channel]]\nid = "hook"\n',
        "[[channel]]",
        "channel 'hook'",
        'has no URL; add url_file = "hook.url"',
    ),
    (
        "two-urls",
        '[[channel]]\nid = "hook"\nurl = "json://127.0.0.1:1/a"\nurl_env = "X"\n',
        "url_env",
        "channel 'hook'",
        "has both url and url_env; keep only one",
    ),
    (
        "duplicate-id",
        '[[channel]]\nid = "hook"\nurl = "json://127.0.0.1:1/a"\n\n'
        '[[channel]]\nid = "hook"  # again\nurl = "json://127.0.0.1:1/b"\n',
        "# again",
        "channel 'hook'",
        "id 'hook' is used by another channel",
    ),
    (
        "bad-format",
        '[[channel]]\nid = "hook"\nurl = "json://127.0.0.1:1/a"\nformat = "long"\n',
        "format",
        "channel 'hook'",
        "format 'long' is not allowed",
    ),
    (
        "unknown-key",
        '[[channel]]\nid = "hook"\nurl = "json://127.0.0.1:1/a"\nformt = "short"\n',
        "formt",
        "channel 'hook'",
        "unknown key 'formt'; did you mean 'format'?",
    ),
    (
        "no-email-no-channel",
        f"{PERSON}email_reminders = false\n",
        "email_reminders",
        "person 'wang-fang'",
        "email_reminders = false but notify names no channel",
    ),
    (
        "office-unknown-channel",
        f'{PERSON}\n[[office]]\nid = "hr"\nname = "HR"\nemail = ["hr@example.org"]\n'
        'people = ["*"]\nnotify = { teams = "" }\n',
        "notify",
        "office 'hr'",
        "notify.teams: there is no channel 'teams' (channels: none yet)",
    ),
]


@pytest.mark.parametrize(
    ("text", "needle", "where", "start"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_one_mistake_one_located_message(
    tmp_path: Path, text: str, needle: str, where: str, start: str
) -> None:
    path = tmp_path / "staywatch.toml"
    found = problems(text, path)
    assert len(found) == 1, [str(p) for p in found]
    problem = found[0]
    assert problem.path == str(path)
    assert problem.line == line_of(text, needle), str(problem)
    assert problem.where == where
    assert problem.message.startswith(start), problem.message


def test_messages_never_show_the_token(tmp_path: Path) -> None:
    (tmp_path / "bad.url").write_text(f"tgram://{TOKEN}/{{to}}/extra?x=\x01", encoding="utf-8")
    text = (
        f'[[channel]]\nid = "a"\nurl = "tgram://{TOKEN}/{{to}}"\n\n'
        '[[channel]]\nid = "b"\nurl_file = "bad.url"\n\n'
        f'[[channel]]\nid = "c"\nurl = "nosuch://{TOKEN}@host/{{to}}"\n'
    )
    found = problems(text, tmp_path / "staywatch.toml")
    assert found
    for problem in found:
        assert TOKEN not in str(problem)
        assert "AAF-secret" not in str(problem)


def test_set_writes_notify_and_email_reminders(tmp_path: Path) -> None:
    text = f'[[channel]]\nid = "hook"\nurl = "json://127.0.0.1:1/{{to}}"\n\n{PERSON}'
    edited = set_values(text, "wang-fang", ['notify={ hook = "wang" }', "email_reminders=false"])
    config = parse_config(edited, tmp_path / "x.toml")
    assert config.people[0].notify == {"hook": "wang"}
    assert config.people[0].email_reminders is False


def test_a_target_that_is_the_secret_is_refused(tmp_path: Path) -> None:
    text = (
        f'[[channel]]\nid = "wecom"\nurl_env = "WECOM"\n\n{PERSON}'
        'notify = { wecom = "a1b2c3d4-e5f6-7788-99aa-bbccddeeff00" }\n'
    )
    [problem] = problems(text, tmp_path / "staywatch.toml", {"WECOM": "wecombot://{to}"})
    assert problem.line == line_of(text, "notify")
    assert problem.message.startswith("notify.wecom: this target is a secret for wecombot://")
