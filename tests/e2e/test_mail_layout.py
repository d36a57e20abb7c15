"""How the HTML mails lay out on a phone, in headless Chromium at 360 px.

Korean must break lines between words, never inside one ("입니/다"); a digest's
list of acknowledgements must fit the screen without scrolling sideways. The
pages are the real rendered mails, opened from files; screenshots are kept in
tests/artifacts/.
"""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

import pytest

from service.config import parse_config
from service.plan import plan
from service.render import render_digest, render_reminder
from tests.e2e.test_browser import ARTIFACTS, DevTools, browser
from tests.fixtures.mail import html_of
from tests.unit import test_render_office as office_mails

pytestmark = pytest.mark.e2e

__all__ = ["browser"]  # the fixture, used by name below

PHONE = 360

#: Every Hangul word of the page on one line? Returns the words split across lines.
SPLIT_WORDS = """
(() => {
  const split = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    const word = /[\\uac00-\\ud7a3][^\\s]*/g;
    for (let m = word.exec(text); m; m = word.exec(text)) {
      if (m[0].length > 14) continue;  // a long token may wrap anywhere, as it must
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
      if (tops.size > 1) split.push(m[0]);
    }
  }
  return split;
})()
"""


async def _open(browser: DevTools, path: Path) -> str:
    target = await browser.send("Target.createTarget", {"url": "about:blank"})
    attached = await browser.send(
        "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
    )
    page: str = attached["sessionId"]
    await browser.send("Page.enable", session=page)
    await browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE, "height": 740, "deviceScaleFactor": 1, "mobile": True},
        session=page,
    )
    await browser.send("Page.navigate", {"url": path.as_uri()}, session=page)
    await browser.event("Page.loadEventFired", page)
    return page


async def _shot(browser: DevTools, page: str, name: str) -> None:
    shot = await browser.send(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=page
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_bytes(base64.b64decode(shot["data"]))


def _korean_reminder_html() -> str:
    config = parse_config(
        office_mails.CONFIG.replace('language = "zh"\ntags', 'language = "ko"\ntags')
    )
    person = config.person("wang-fang")
    assert person is not None
    occurrence = next(
        o for o in plan(config, date(2027, 1, 1), date(2027, 12, 31)) if o.deadline == "visa"
    )
    reminder = next(r for r in occurrence.reminders if r.offset == "P30D")
    message = render_reminder(
        config,
        person,
        occurrence,
        reminder,
        now=reminder.due,
        ack_url="https://staywatch.example.org/act/v1.Zm9vYmFy.c2lnbmF0dXJl",
        feed_url="https://staywatch.example.org/calendar/Q2FsZW5kYXJUb2tlbjEyMzQ1.ics",
    )
    return html_of(message)


async def test_korean_words_are_never_broken_in_two(browser: DevTools, tmp_path: Path) -> None:
    html = _korean_reminder_html()
    assert "word-break:keep-all" in html
    mail = tmp_path / "ko.html"
    mail.write_text(html, encoding="utf-8")
    page = await _open(browser, mail)
    await _shot(browser, page, "mail-ko-360.png")
    assert await browser.evaluate(page, SPLIT_WORDS) == []
    # The check has teeth: without keep-all the same mail breaks words at 360 px.
    loose = tmp_path / "ko-loose.html"
    loose.write_text(html.replace("word-break:keep-all;", ""), encoding="utf-8")
    loose_page = await _open(browser, loose)
    assert await browser.evaluate(loose_page, SPLIT_WORDS)


@pytest.mark.parametrize("office", ["hr", "intl", "cn-desk"])
async def test_a_digest_fits_a_phone(browser: DevTools, tmp_path: Path, office: str) -> None:
    config = parse_config(office_mails.CONFIG)
    chosen = config.office(office)
    assert chosen is not None
    message = render_digest(
        config,
        office_mails._content(chosen),
        now=office_mails.NOW,
        dashboard_url=office_mails.DASHBOARD,
    )
    mail = tmp_path / f"digest-{office}.html"
    mail.write_text(html_of(message), encoding="utf-8")
    page = await _open(browser, mail)
    await _shot(browser, page, f"digest-{office}-360.png")
    width = await browser.evaluate(page, "document.documentElement.scrollWidth")
    box = await browser.evaluate(
        page,
        "JSON.stringify(document.querySelector('[data-section=acknowledged]')"
        ".getBoundingClientRect())",
    )
    assert json.loads(box)["right"] <= PHONE
    assert width <= PHONE
