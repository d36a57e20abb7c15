"""The office dashboard in headless Chromium, served by the real ``staywatch run``.

Twenty people in every status (reminders already sent at start, overdue,
pending, and acknowledged with the real ``staywatch done``); the page from
``staywatch feed-url --office hr`` is opened in Debian's chromium over the
DevTools protocol (the client and fixture of tests/e2e/test_browser.py), a status
is picked in the filter form and submitted, and only matching rows must remain.
Screenshots are kept in tests/artifacts/ (dashboard.png, dashboard-phone.png).
"""

from __future__ import annotations

import asyncio
import base64
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.test_browser import ARTIFACTS, DevTools, browser
from tests.fixtures.web import free_port, logged_daemon, poll, run_cli, service_today, wait_healthy
from tests.integration.test_office_web import expected_status, office_config

pytestmark = pytest.mark.e2e

__all__ = ["browser"]  # the fixture, used by name below

PEOPLE = 20


@dataclass
class Running:
    """A ``staywatch run`` subprocess on the office config."""

    config: Path
    base: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def office_process(tmp_path: Path) -> Iterator[Running]:
    """The real daemon on 20 people and two offices; SIGTERM at teardown."""
    port = free_port()
    config = office_config(tmp_path, port, service_today(), people=PEOPLE)
    log = tmp_path / "daemon.log"
    with logged_daemon(config, log) as process:
        yield Running(config, f"http://127.0.0.1:{port}", process, log)


def statuses_in(html: str) -> dict[str, str]:
    """person -> status of every row of the dashboard HTML."""
    return dict(re.findall(r'data-person="([^"]+)"[^>]*?data-status="([^"]+)"', html, re.S))


async def ready_dashboard(daemon: Running) -> str:
    """Acknowledge the ``done`` people, wait until every row has its expected status."""
    await wait_healthy(daemon.base, daemon.process, daemon.log.read_text)
    async with aiohttp.ClientSession() as http:
        for i in range(PEOPLE):
            if expected_status(i) == "acknowledged":
                done = await run_cli(daemon.config, "done", f"p-{i:02d}/report")
                assert done.returncode == 0, done.stderr
        url = (await run_cli(daemon.config, "feed-url", "--office", "hr")).stdout.strip()
        assert url.startswith(f"{daemon.base}/office/")
        wanted = {f"p-{i:02d}": expected_status(i) for i in range(PEOPLE)}

        async def settled() -> bool:
            async with http.get(url) as reply:
                return reply.status == 200 and statuses_in(await reply.text()) == wanted

        await poll(settled, what="every dashboard row in its expected status", within=30)
    return url


async def open_page(tools: DevTools, url: str) -> str:
    """A new tab showing ``url``; its session id."""
    target = await tools.send("Target.createTarget", {"url": "about:blank"})
    attached = await tools.send(
        "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
    )
    page: str = attached["sessionId"]
    await tools.send("Page.enable", session=page)
    await tools.send("Runtime.enable", session=page)
    navigated = await tools.send("Page.navigate", {"url": url}, session=page)
    assert "errorText" not in navigated, navigated
    await tools.event("Page.loadEventFired", page)
    return page


async def screenshot(tools: DevTools, page: str, name: str) -> Path:
    """The whole page as PNG in tests/artifacts/NAME."""
    metrics = await tools.send("Page.getLayoutMetrics", session=page)
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = await tools.send(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
        session=page,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    picture = ARTIFACTS / name
    picture.write_bytes(base64.b64decode(shot["data"]))
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return picture


ROWS_JS = (
    "Array.from(document.querySelectorAll('#rows tbody tr'))"
    ".map(r => [r.dataset.person, r.dataset.status])"
)


async def test_the_dashboard_filters_by_status_in_a_real_browser(
    office_process: Running, browser: DevTools
) -> None:
    url = await ready_dashboard(office_process)
    page = await open_page(browser, url)

    rows = await browser.evaluate(page, ROWS_JS)
    assert len(rows) == PEOPLE
    assert {status for _, status in rows} == {"overdue", "sent", "pending", "acknowledged"}
    assert rows[0][1] == "overdue"  # most urgent first
    # Overdue rows are highlighted.
    colour = await browser.evaluate(
        page, "getComputedStyle(document.querySelector('tr.status-overdue')).backgroundColor"
    )
    assert colour not in ("rgba(0, 0, 0, 0)", "transparent"), colour
    counts = await browser.evaluate(
        page,
        "Object.fromEntries(Array.from(document.querySelectorAll('#counts a'))"
        ".map(a => [a.dataset.status, a.querySelector('strong').innerText]))",
    )
    assert counts == {
        "overdue": "4",
        "failed": "0",
        "pending": "8",
        "sent": "4",
        "acknowledged": "4",
    }

    # Pick "pending" in the form and submit it, as a person would.
    await browser.evaluate(page, "document.querySelector('#status').value = 'pending'")
    await browser.evaluate(page, "document.querySelector('#apply').click()")
    await browser.event("Page.loadEventFired", page)

    async def filtered() -> list[list[str]] | None:
        if "status=pending" not in str(await browser.evaluate(page, "location.search")):
            return None
        found = await browser.evaluate(page, ROWS_JS)
        return found if isinstance(found, list) else None

    rows = await poll(filtered, what="the filtered page", within=15)
    expected = sorted(f"p-{i:02d}" for i in range(PEOPLE) if expected_status(i) == "pending")
    assert sorted(person for person, _ in rows) == expected
    assert {status for _, status in rows} == {"pending"}
    assert await browser.evaluate(page, "document.querySelector('#status').value") == "pending"
    # The CSV link carries the same filter.
    href = await browser.evaluate(page, "document.querySelector('#csv').href")
    assert href.endswith(".csv?status=pending")
    await screenshot(browser, page, "dashboard.png")

    # On a phone-sized screen the unfiltered page needs no sideways scrolling.
    await browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True},
        session=page,
    )
    await browser.send("Page.navigate", {"url": url}, session=page)
    await browser.event("Page.loadEventFired", page)
    await asyncio.sleep(0)
    width = await browser.evaluate(page, "document.documentElement.scrollWidth")
    assert width <= 390, width
    await screenshot(browser, page, "dashboard-phone.png")
