"""The acknowledge link from a real email, opened and clicked in headless Chromium.

The real ``staywatch run`` daemon delivers a reminder into its Maildir; the test
takes the ``/act/`` link from the mail's text part, opens it in Debian's chromium
(driven over the DevTools protocol on a websocket: no Playwright, no downloads),
checks that merely opening it recorded nothing, clicks the button, waits for the
result page and keeps a screenshot in tests/artifacts/act-confirmed.png.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from service.texts import ui
from tests.fixtures.web import DaemonProcess, maildir_messages, poll, run_cli, wait_healthy

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    "--window-size=900,700",
    "--remote-debugging-port=0",
]


def chromium_binary() -> str:
    """Debian's chromium, or skip saying how to get it."""
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        reason = "chromium not installed: apt-get install chromium"
        print(reason)
        pytest.skip(reason)
    return found


class DevTools:
    """A minimal Chrome DevTools Protocol client over one browser websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._next = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            future = self._pending.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                if "error" in data:
                    future.set_exception(RuntimeError(f"DevTools: {data['error']}"))
                else:
                    future.set_result(data.get("result", {}))
            elif "method" in data:
                self._events.put_nowait(data)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("DevTools websocket closed"))

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        """One command; its result (raises on a protocol error)."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._next] = future
        await self.ws.send_str(json.dumps(message))
        async with asyncio.timeout(30):
            return await future

    async def event(self, method: str, session: str, within: float = 15) -> dict[str, Any]:
        """The next event ``method`` of ``session`` (earlier other events are dropped)."""
        async with asyncio.timeout(within):
            while True:
                data = await self._events.get()
                if data["method"] == method and data.get("sessionId") == session:
                    return data

    async def evaluate(self, session: str, expression: str) -> Any:
        """The value of a JavaScript expression in the page (None while it navigates)."""
        try:
            result = await self.send(
                "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
            )
        except RuntimeError:
            return None  # the execution context went away with a navigation
        return result.get("result", {}).get("value")

    async def close(self) -> None:
        """Close the socket and stop reading."""
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[DevTools]:
    """Headless chromium with DevTools on an OS-chosen port; killed at teardown."""
    binary = chromium_binary()
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    log_path = tmp_path / "chromium.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            binary,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "about:blank",
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    session = aiohttp.ClientSession()
    tools: DevTools | None = None
    try:
        active = profile / "DevToolsActivePort"

        async def endpoint() -> str | None:
            if process.returncode is not None:
                raise AssertionError(
                    f"chromium exited with {process.returncode}: {log_path.read_text()[-2000:]}"
                )
            lines = active.read_text().split("\n") if active.exists() else []
            if len(lines) >= 2 and lines[0].strip() and lines[1].strip():
                return f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
            return None

        url = await poll(endpoint, what="chromium to open its DevTools port", within=30)
        ws = await session.ws_connect(url, max_msg_size=0)
        tools = DevTools(ws)
        yield tools
    finally:
        if tools is not None:
            with contextlib.suppress(Exception):
                await tools.send("Browser.close")
            await tools.close()
        await session.close()
        try:
            async with asyncio.timeout(15):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


def act_link_from_mail(daemon: DaemonProcess, person_address: str) -> tuple[str, str]:
    """(acknowledge URL, reminder key) from the mail delivered to ``person_address``."""
    for message in maildir_messages(daemon.maildir):
        if person_address not in str(message["To"]):
            continue
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        found = re.search(r"(https?://\S+/act/[A-Za-z0-9_.=-]+)", text)
        assert found, text
        return found.group(1), str(message["X-Staywatch-Key"])
    raise AssertionError(f"no mail for {person_address} in {daemon.maildir}")


async def statuses(daemon: DaemonProcess) -> dict[str, str]:
    """key -> status from ``staywatch upcoming --json``."""
    done = await run_cli(daemon.config_path, "upcoming", "--json", "--days", "60")
    assert done.returncode == 0, done.stderr
    return {row["key"]: row["status"] for row in json.loads(done.stdout)}


async def test_the_action_link_is_confirmed_with_a_click(
    daemon_process: DaemonProcess, browser: DevTools
) -> None:
    daemon = daemon_process
    await wait_healthy(daemon.base, daemon.process, daemon.log)

    async def mailed() -> bool:
        return any("ana@example.org" in str(m["To"]) for m in maildir_messages(daemon.maildir))

    await poll(mailed, what="the reminder mail in the Maildir", within=30)
    link, key = act_link_from_mail(daemon, "ana@example.org")
    assert link.startswith(f"{daemon.base}/act/")
    occurrence = key.rsplit("/", 1)[0]
    later = [k for k in await statuses(daemon) if k.startswith(occurrence + "/")]
    assert later, "the occurrence should still have reminders to stop"

    target = await browser.send("Target.createTarget", {"url": "about:blank"})
    attached = await browser.send(
        "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
    )
    page = attached["sessionId"]
    await browser.send("Page.enable", session=page)
    await browser.send("Runtime.enable", session=page)

    navigated = await browser.send("Page.navigate", {"url": link}, session=page)
    assert "errorText" not in navigated, navigated
    await browser.event("Page.loadEventFired", page)
    text = await browser.evaluate(page, "document.body.innerText")
    assert ui("confirm_question", "en") in text
    assert ui("confirm_button", "en") in text
    assert await browser.evaluate(page, "document.querySelector('#confirm') !== null") is True
    assert await browser.evaluate(page, "document.querySelector('form').method") == "post"
    assert await browser.evaluate(page, "document.querySelector('#state')") is None
    # Opening the link (what a mail scanner does) recorded nothing.
    before = await statuses(daemon)
    assert all(before[k] == "pending" for k in later), before

    await browser.evaluate(page, "document.querySelector('#confirm').click()")

    async def confirmed() -> str | None:
        value = await browser.evaluate(
            page, "(e => e ? e.innerText : null)(document.querySelector('#state'))"
        )
        return value if isinstance(value, str) and value else None

    state = await poll(confirmed, what="the result page with #state", within=15)
    assert state == ui("done", "en")
    body = await browser.evaluate(page, "document.body.innerText")
    assert ui("confirmed", "en") in body
    assert await browser.evaluate(page, "location.href") == link

    shot = await browser.send("Page.captureScreenshot", {"format": "png"}, session=page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    picture = ARTIFACTS / "act-confirmed.png"
    picture.write_bytes(base64.b64decode(shot["data"]))
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    after = await statuses(daemon)
    assert all(after[k] == "acknowledged" for k in later), after
    others = [k for k in after if not k.startswith(occurrence + "/")]
    assert others
    assert all(after[k] == "pending" for k in others), after
