"""The config watcher of a running daemon never dies: real file edits, one after another.

Each broken edit (an include pattern that names a folder, TOML nested a thousand
levels deep, a plan that fails for an unexpected reason) keeps the last good
config in force, is logged, turns ``/healthz`` to 503 and shows in
``staywatch status``; every later good edit is applied, included files with an
absolute path too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from service import sync
from service.config import Config
from service.logs import RedactingFilter
from service.plan import plan
from service.tokens import sign_action
from tests.fixtures.web import WebDaemon, poll

ZED = '\n[[person]]\nid = "zed"\nname = "Zed"\nemail = ["zed@example.org"]\n'


async def health(daemon: WebDaemon) -> tuple[int, dict[str, Any]]:
    reply = await daemon.request("GET", "/healthz")
    return reply.status, json.loads(reply.body)


async def edit(daemon: WebDaemon, text: str) -> None:
    """Write the config and wait until the daemon has taken it in (applied or refused)."""
    assert daemon.daemon is not None
    before = (daemon.daemon.config, list(daemon.daemon.config_errors))
    daemon.config_path.write_text(text, encoding="utf-8")

    async def noticed() -> bool:
        assert daemon.daemon is not None
        return (daemon.daemon.config, daemon.daemon.config_errors) != before

    await poll(noticed, what="the daemon to notice the edit")


async def refused(daemon: WebDaemon, text: str, needle: str) -> str:
    """Edit; the daemon refuses it, stays on its config, and says so everywhere."""
    assert daemon.daemon is not None
    kept = daemon.daemon.config
    await edit(daemon, text)
    assert daemon.daemon.config is kept
    (problem,) = daemon.daemon.config_errors
    assert needle in problem
    status, body = await health(daemon)
    assert (status, body["config_ok"]) == (503, False)
    cli = json.loads(await daemon.cli("status", "--json"))
    assert cli["config_ok"] is False
    assert any(needle in e for e in cli["config_errors"])
    return problem


async def applied(daemon: WebDaemon, text: str, people: Iterable[str]) -> None:
    await edit(daemon, text)
    assert daemon.daemon is not None
    assert daemon.daemon.config_errors == []
    assert [p.id for p in daemon.daemon.config.people] == list(people)
    status, body = await health(daemon)
    assert (status, body["config_ok"]) == (200, True)
    cli = json.loads(await daemon.cli("status", "--json"))
    assert (cli["config_ok"], cli["config_errors"]) == (True, [])


async def test_every_failed_reload_keeps_the_config_and_a_later_edit_applies(
    web_daemon: WebDaemon,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = web_daemon.config_path.read_text(encoding="utf-8")
    everyone = ["ana-lima", "li-wei", "carol-ng"]
    people = tmp_path / "elsewhere" / "people.toml"
    people.parent.mkdir()
    people.write_text(ZED.replace("zed", "yan").replace("Zed", "Yan"), encoding="utf-8")
    with_include = f'include = ["{people.parent}/*.toml"]\n' + good

    # An absolute include path works, and an edit of the included file is seen too.
    await applied(web_daemon, with_include, [*everyone, "yan"])
    people.write_text(people.read_text(encoding="utf-8") + ZED, encoding="utf-8")

    async def zed_in() -> bool:
        assert web_daemon.daemon is not None
        return web_daemon.daemon.config.person("zed") is not None

    await poll(zed_in, what="the edit of the included file to apply")
    people.write_text(ZED.replace("zed", "yan").replace("Zed", "Yan"), encoding="utf-8")
    await applied(web_daemon, with_include, [*everyone, "yan"])

    # A pattern that names a folder, and TOML nested a thousand levels deep.
    await refused(web_daemon, 'include = ["."]\n' + good, "include[1] '.' is a folder")
    deep = good.replace(
        "[service]\n", "[service]\nextra_holidays = " + "[" * 1000 + "]" * 1000 + "\n"
    )
    await refused(web_daemon, deep, "nested more than 100 levels deep")
    await applied(web_daemon, good, everyone)

    # A failure nobody foresaw while planning the new config (its message holds a signed
    # link): logged with its traceback, redacted; the watcher goes on.
    assert web_daemon.daemon is not None
    link = "/act/" + sign_action(
        web_daemon.daemon.secret, occurrence="zed/x/2027-01-01", expires=web_daemon.clock.now()
    )

    def failing_plan(config: Config, *args: Any, **kwargs: Any) -> Any:
        if config.person("zed") is not None:
            raise RuntimeError(f"planning broke near {link}")
        return plan(config, *args, **kwargs)

    monkeypatch.setattr(sync, "plan", failing_plan)
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RedactingFilter())  # as `staywatch run` logs
    problem = await refused(web_daemon, good + ZED, "the reload failed unexpectedly (RuntimeError")
    assert link not in problem
    failed = [r for r in caplog.records if "failed unexpectedly" in r.getMessage()]
    assert failed
    assert failed[0].exc_info is not None
    logged = caplog.text
    assert "RuntimeError: planning broke near /act/<redacted>" in logged
    assert link not in logged
    # The old config is in force, and it still plans: zed's rows were put back.
    rows = {r.person for r in await web_daemon.store.reminders()}
    assert "zed" not in rows

    # The next good edit applies, with zed once planning works again.
    monkeypatch.setattr(sync, "plan", plan)
    await applied(web_daemon, good + ZED, [*everyone, "zed"])
