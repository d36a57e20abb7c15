"""The subscribe page, reached from a real reminder, on a phone-sized headless Chromium.

The real ``staywatch run`` daemon mails a reminder; the test takes the
"Add these dates to your phone's calendar" link from its text part, opens it
at 360 px wide (the DevTools client and fixture of tests/e2e/test_browser.py),
checks the three one-tap links, the address to copy and that nothing needs
sideways scrolling, then again with JavaScript switched off. The QR code is
read back from the screenshot itself (zxing-cpp) and must give the webcal
address. Screenshots stay in tests/artifacts/ (subscribe-phone.png).
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.test_browser import ARTIFACTS, DevTools, browser
from tests.e2e.test_dashboard_browser import open_page
from tests.fixtures.web import DaemonProcess, maildir_messages, poll, run_cli, wait_healthy

pytestmark = pytest.mark.e2e

__all__ = ["browser"]  # the fixture, used by name below

PHONE = {"width": 360, "height": 760, "deviceScaleFactor": 2, "mobile": True}
LINKS_JS = """JSON.stringify(Object.fromEntries(
  [...document.querySelectorAll("a[id]")].map(a => [a.id, {
    href: a.getAttribute("href"), text: a.innerText,
    width: a.getBoundingClientRect().width, height: a.getBoundingClientRect().height}])))"""


def calendar_lines(daemon: DaemonProcess, address: str) -> tuple[str, str]:
    """(subscribe page, feed address) as the text part of ``address``'s reminder prints them."""
    for message in maildir_messages(daemon.maildir):
        if address not in str(message["To"]):
            continue
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        lines = body.get_content().splitlines()
        page = lines[lines.index("Add these dates to your phone's calendar:") + 1]
        feed = lines[lines.index("Calendar address, to subscribe in any calendar app:") + 1]
        return page, feed
    raise AssertionError(f"no mail for {address} in {daemon.maildir}")


def decode_qr(png: bytes) -> list[str]:
    """Every QR code zxing-cpp finds in a PNG picture."""
    zxingcpp = pytest.importorskip("zxingcpp", reason="pip install zxing-cpp (dev dependency)")
    image_module = pytest.importorskip("PIL.Image", reason="pip install pillow (dev dependency)")
    picture = image_module.open(io.BytesIO(png))
    return [found.text for found in zxingcpp.read_barcodes(picture)]


async def full_page(tools: DevTools, page: str) -> bytes:
    """The whole page as PNG bytes (beyond the phone's viewport)."""
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
    return base64.b64decode(shot["data"])


async def test_a_reminder_leads_to_one_tap_subscribing_on_a_phone(
    daemon_process: DaemonProcess, browser: DevTools
) -> None:
    daemon = daemon_process
    await wait_healthy(daemon.base, daemon.process, daemon.log)

    async def mailed() -> bool:
        return any("ana@example.org" in str(m["To"]) for m in maildir_messages(daemon.maildir))

    await poll(mailed, what="the reminder mail in the Maildir", within=30)
    page_url, feed_url = calendar_lines(daemon, "ana@example.org")
    # `feed-url` still prints the feed itself; the page is the same path without .ics.
    printed = await run_cli(daemon.config_path, "feed-url", "ana-lima")
    assert printed.stdout == feed_url + "\n"
    assert page_url == feed_url.removesuffix(".ics")
    webcal = "webcal://" + feed_url.split("://", 1)[1]

    page = await open_page(browser, "about:blank")
    await browser.send("Emulation.setDeviceMetricsOverride", PHONE, session=page)
    await browser.send("Page.navigate", {"url": page_url}, session=page)
    await browser.event("Page.loadEventFired", page)

    links: dict[str, Any] = json.loads(await browser.evaluate(page, LINKS_JS))
    assert links["apple"]["href"] == webcal
    assert links["apple"]["text"] == "Add to Apple Calendar / iPhone"
    assert links["google"]["href"] == (
        "https://calendar.google.com/calendar/r?cid=" + quote(webcal, safe="")
    )
    assert links["google"]["text"] == "Add to Google Calendar"
    assert links["outlook"]["href"].startswith(
        "https://outlook.live.com/calendar/0/addfromweb?url=" + quote(feed_url, safe="")
    )
    assert links["outlook"]["text"] == "Add to Outlook"
    for name in ("apple", "google", "outlook"):
        # Full-width buttons, big enough for a thumb.
        assert 300 <= links[name]["width"] <= 360, links[name]
        assert links[name]["height"] >= 44, links[name]
    assert await browser.evaluate(page, "document.getElementById('url').value") == feed_url
    assert await browser.evaluate(page, "document.documentElement.scrollWidth") <= 360
    # http://127.0.0.1 is a secure context: the clipboard works, so the copy button shows.
    assert await browser.evaluate(page, "document.getElementById('copy').hidden") is False

    picture = await full_page(browser, page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "subscribe-phone.png").write_bytes(picture)
    assert decode_qr(picture) == [webcal]

    # Without JavaScript everything but the copy button is there, and still fits.
    await browser.send("Emulation.setScriptExecutionDisabled", {"value": True}, session=page)
    await browser.send("Page.reload", {"ignoreCache": True}, session=page)
    await browser.event("Page.loadEventFired", page)
    again = await full_page(browser, page)
    (ARTIFACTS / "subscribe-phone-no-js.png").write_bytes(again)
    assert decode_qr(again) == [webcal]
    no_js = await browser.send(
        "Runtime.evaluate",
        {"expression": "document.getElementById('copy').offsetParent === null"},
        session=page,
    )
    assert no_js["result"]["value"] is True
