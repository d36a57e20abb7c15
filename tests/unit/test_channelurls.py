"""Channel URLs per person: what Apprise makes of them, without any network.

For each service the README names, the URL built for a person (``{to}`` filled
in from ``notify``) parses in Apprise to that service and that person's target.
Secrets in URLs are registered with the log redaction as they are read.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from service.channelurls import fill, holds_secret, instantiate, shown, target_is_secret
from service.config import load_config
from service.logs import RedactingFilter, redact

BOT = "7781234567:AAF-bot-token-for-tests_0"

# (channel id, URL in its file, person's target, Apprise service name, attribute, expected)
SERVICES = [
    ("telegram", f"tgram://{BOT}/{{to}}", "987654321", "Telegram", "targets", [(987654321, None)]),
    (
        "tg-group",
        f"tgram://{BOT}/{{to}}",
        "-1001234567890",
        "Telegram",
        "targets",
        [(-1001234567890, None)],
    ),
    ("ntfy", "ntfy://{to}", "wang-fang-x7q", "ntfy", "topics", ["wang-fang-x7q"]),
    ("ntfys", "ntfys://ntfy.example.org/{to}", "wang-fang", "ntfy", "topics", ["wang-fang"]),
    (
        # A WeCom group bot's key is its secret: the whole URL is the channel's file.
        "wecom",
        "wecombot://a1b2c3d4-e5f6-7788-99aa-bbccddeeff00",
        "",
        "WeCom Bot",
        "key",
        "a1b2c3d4-e5f6-7788-99aa-bbccddeeff00",
    ),
    (
        "line",
        "line://LINE-CHANNEL-ACCESS-TOKEN-xyz/{to}",
        "U4af4980629a1b2c3d4e5f6a7b8c9d0e1",
        "Line",
        "targets",
        ["U4af4980629a1b2c3d4e5f6a7b8c9d0e1"],
    ),
    (
        "slack",
        "slack://T1AAAAAAA/B2BBBBBBB/C3CCCCCCCCCCCCCCCCCCCC/{to}",
        "#intl-office",
        "Slack",
        "channels",
        ["#intl-office"],
    ),
    ("slack-dm", "slack://xoxb-1234-5678-abcdefgh/{to}", "@wang", "Slack", "channels", ["@wang"]),
    (
        "teams",
        "workflows://prod-00.koreacentral.logic.azure.com:443/WFID123/SIGabc456",
        "",
        "Power Automate / Workflows (for MSTeams)",
        "workflow",
        "WFID123",
    ),
]


@pytest.fixture
def config(tmp_path: Path):  # type: ignore[no-untyped-def]
    channels = []
    notify = []
    for cid, url, target, *_ in SERVICES:
        (tmp_path / f"{cid}.url").write_text(url + "\n", encoding="utf-8")
        channels.append(f'[[channel]]\nid = "{cid}"\nurl_file = "{cid}.url"\n')
        notify.append(f'{cid} = "{target}"')
    text = "\n".join(channels) + (
        '\n[[person]]\nid = "wang-fang"\nname = "Wang Fang"\nemail = ["w@example.org"]\n'
        f"notify = {{ {', '.join(notify)} }}\n"
    )
    (tmp_path / "staywatch.toml").write_text(text, encoding="utf-8")
    return load_config(tmp_path / "staywatch.toml", environ={})


@pytest.mark.parametrize(
    ("cid", "service", "attribute", "expected"),
    [(s[0], s[3], s[4], s[5]) for s in SERVICES],
    ids=[s[0] for s in SERVICES],
)
def test_url_built_for_a_person_parses_to_the_service_and_target(
    config, cid: str, service: str, attribute: str, expected: object
) -> None:  # type: ignore[no-untyped-def]
    person = config.people[0]
    url = fill(config.channel_url(cid), person.notify[cid])
    plugin = instantiate(url)
    assert plugin is not None
    assert plugin.service_name == service
    assert getattr(plugin, attribute) == expected


def test_fill_quotes_the_target() -> None:
    assert fill("json://h/{to}", "a b/c?d#e") == "json://h/a%20b%2Fc%3Fd%23e"
    assert fill("tgram://t/{to}", "@channel") == "tgram://t/@channel"


def test_holds_secret() -> None:
    assert holds_secret(f"tgram://{BOT}/{{to}}")
    assert holds_secret("json://user:pass1234@127.0.0.1/{to}")
    assert holds_secret("ntfys://user:pass1234@ntfy.sh/{to}")
    assert not holds_secret("json://127.0.0.1:8080/{to}")
    assert not holds_secret("form://127.0.0.1:8080/{to}")
    assert not holds_secret("ntfy://{to}")


def test_shown_is_scheme_and_masked_host() -> None:
    assert shown(f"tgram://{BOT}/42") == "tgram://7...0"
    assert shown("json://127.0.0.1:8080/x") == "json://127.0.0.1"
    assert shown("nosuch://secret-host/x") == "nosuch://"


def test_secrets_read_are_redacted_from_logs(config, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    assert config.channel_url("telegram")
    assert BOT not in redact(f"POST https://api.telegram.org/bot{BOT}/sendMessage")
    assert "LINE-CHANNEL-ACCESS-TOKEN-xyz" not in redact("token LINE-CHANNEL-ACCESS-TOKEN-xyz")
    record = logging.LogRecord(
        "apprise", logging.WARNING, "", 0, "url %s", (f"tgram://{BOT}/1",), None
    )
    RedactingFilter().filter(record)
    assert BOT not in record.getMessage()


def test_target_is_secret() -> None:
    assert target_is_secret("wecombot://{to}", "a1b2c3d4-e5f6-7788-99aa-bbccddeeff00")
    assert not target_is_secret(f"tgram://{BOT}/{{to}}", "987654321")
    assert not target_is_secret("ntfy://{to}", "wang-fang-x7q")
    assert not target_is_secret("json://127.0.0.1:1/{to}", "wang")
    assert not target_is_secret("slack://T1AAAAAAA/B2BBBBBBB/C3CCCCCCCCCCCCCCCCCCCC/{to}", "#hr")
