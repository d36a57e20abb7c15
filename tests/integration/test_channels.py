"""Channel messages through Apprise to a real HTTP receiver (service.channels).

One request per (channel, target); replies classified: 2xx delivered, 5xx and
429 transient, 400/401/403/404 permanent; a slow service times out
(transient); a refused connection is transient. Reasons never hold a secret.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from service.channels import ChannelMessage, ChannelSender
from service.config import Config, parse_config
from tests.fixtures.receiver import Receiver

MESSAGE = ChannelMessage("Period of stay ends 2027-03-14", "Apply for an extension. 30 days left.")


def config_for(tmp_path: Path, port: int, *, extra: str = "") -> Config:
    text = f"""\
[[channel]]
id = "hook"
url = "json://127.0.0.1:{port}/hook/{{to}}"

[[channel]]
id = "form"
url = "form://127.0.0.1:{port}/form/{{to}}"
{extra}
"""
    return parse_config(text, tmp_path / "staywatch.toml")


async def test_json_one_request_per_target_with_title_and_body(
    tmp_path: Path, receiver: Receiver
) -> None:
    sender = ChannelSender(config_for(tmp_path, receiver.port))
    results = await asyncio.gather(
        sender.send("hook", "wang", MESSAGE), sender.send("hook", "nguyen van/a", MESSAGE)
    )
    assert [r.outcome for r in results] == ["delivered", "delivered"]
    assert sorted(receiver.paths()) == ["/hook/nguyen%20van%2Fa", "/hook/wang"]
    body = receiver.requests[0].body
    assert body["title"] == MESSAGE.title
    assert body["message"] == MESSAGE.body


async def test_form_posts_a_form(tmp_path: Path, receiver: Receiver) -> None:
    sender = ChannelSender(config_for(tmp_path, receiver.port))
    result = await sender.send("form", "wang", MESSAGE)
    assert result.delivered
    assert receiver.paths() == ["/form/wang"]
    assert receiver.requests[0].body["message"] == MESSAGE.body


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_clear_refusals_are_permanent(
    tmp_path: Path, receiver: Receiver, status: int
) -> None:
    receiver.script("/hook/wang", status)
    result = await ChannelSender(config_for(tmp_path, receiver.port)).send("hook", "wang", MESSAGE)
    assert (result.outcome, result.code) == ("permanent", status)
    assert f"error={status}" in result.reason
    assert len(receiver.requests) == 1, "Apprise must not retry by itself"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_trouble_is_transient(tmp_path: Path, receiver: Receiver, status: int) -> None:
    receiver.script("/hook/wang", status)
    result = await ChannelSender(config_for(tmp_path, receiver.port)).send("hook", "wang", MESSAGE)
    assert (result.outcome, result.code) == ("transient", status)
    assert len(receiver.requests) == 1


async def test_refused_connection_is_transient(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await ChannelSender(config_for(tmp_path, port)).send("hook", "wang", MESSAGE)
    assert result.outcome == "transient"
    assert result.code is None


async def test_a_slow_service_times_out_as_transient(tmp_path: Path, receiver: Receiver) -> None:
    receiver.delay = 1.5
    text = f"""\
[[channel]]
id = "hook"
url = "json://127.0.0.1:{receiver.port}/hook/{{to}}"
timeout = 0.5
"""
    config = parse_config(text, tmp_path / "staywatch.toml")
    result = await ChannelSender(config).send("hook", "wang", MESSAGE)
    assert result.outcome == "transient"


async def test_concurrency_is_bounded_per_channel(tmp_path: Path, receiver: Receiver) -> None:
    receiver.delay = 0.2
    text = f"""\
[[channel]]
id = "hook"
url = "json://127.0.0.1:{receiver.port}/hook/{{to}}"
concurrency = 2
"""
    sender = ChannelSender(parse_config(text, tmp_path / "staywatch.toml"))
    await asyncio.gather(*(sender.send("hook", f"p{i}", MESSAGE) for i in range(6)))
    assert len(receiver.requests) == 6
    answered = sorted(r.at for r in receiver.requests)
    # With 2 in flight and 0.2 s each, 6 requests take at least 3 rounds.
    assert answered[-1] - answered[0] >= 0.35


async def test_channels_do_not_share_a_small_thread_pool(
    tmp_path: Path, receiver: Receiver
) -> None:
    # Apprise's own pool has about as many threads as the machine has cores plus four;
    # two channels of four slots each must still send eight messages at once.
    receiver.delay = 0.5
    text = "".join(
        f'[[channel]]\nid = "{cid}"\nurl = "json://127.0.0.1:{receiver.port}/{cid}/{{to}}"\n'
        "concurrency = 4\n"
        for cid in ("a", "b")
    )
    sender = ChannelSender(parse_config(text, tmp_path / "staywatch.toml"))
    results = await asyncio.gather(
        *(sender.send(cid, f"p{i}", MESSAGE) for cid in ("a", "b") for i in range(4))
    )
    sender.close()
    assert all(r.delivered for r in results)
    assert receiver.most_in_flight == 8


async def test_unknown_channel_is_permanent(tmp_path: Path, receiver: Receiver) -> None:
    result = await ChannelSender(config_for(tmp_path, receiver.port)).send("nope", "x", MESSAGE)
    assert result.outcome == "permanent"
    assert receiver.requests == []
