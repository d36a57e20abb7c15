"""What a reminder says about where it came from and where its calendar is.

The List-Id of a deployment's mail (RFC 2919, from ``[feed] public_url``), and
the calendar part: a link to the subscribe page, the address printed, and in
HTML that address as a ``webcal://`` link a phone subscribes to in one tap.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.config import Config, parse_config
from service.plan import Occurrence
from service.render import list_id, render_test
from tests.fixtures.mail import html_of, reparse, text_of
from tests.unit.test_render import FEED, _find, _render, config, occurrences

__all__ = ["config", "occurrences"]  # fixtures, used by name below

#: RFC 2919: "<" dot-atom-text ">" with at least two atoms (label "." namespace).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"^<{_ATEXT}(\.{_ATEXT})+>$")


@pytest.mark.parametrize(
    ("public_url", "expected"),
    [
        ("https://staywatch.example.org", "<staywatch.staywatch.example.org>"),
        ("https://Calendar.Example.ORG:8443/staywatch/", "<staywatch.calendar.example.org>"),
        ("https://example.org.", "<staywatch.example.org>"),
        ("https://bücher.example", "<staywatch.xn--bcher-kva.example>"),
        ("http://127.0.0.1:8780", "<staywatch-127-0-0-1.localhost>"),
        ("http://10.0.0.5", "<staywatch-10-0-0-5.localhost>"),
        ("http://[::1]:8780", "<staywatch-1.localhost>"),
        ("http://[2001:db8::7]", "<staywatch-2001-db8--7.localhost>"),
        ("http://localhost:8780", "<staywatch.localhost>"),
        ("http://intranet", "<staywatch-intranet.localhost>"),
    ],
)
def test_list_id(public_url: str, expected: str) -> None:
    assert list_id(public_url) == expected


@given(
    host=st.one_of(
        st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
        st.from_regex(
            r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?){0,3}",
            fullmatch=True,
        ),
    ),
    port=st.one_of(st.none(), st.integers(min_value=1, max_value=65535)),
)
def test_list_id_is_always_a_dot_atom(host: str, port: int | None) -> None:
    url = f"https://{host}" + (f":{port}" if port else "") + "/x"

    found = list_id(url)

    assert _DOT_ATOM.match(found), found
    assert found.startswith("<staywatch")


def test_every_message_says_which_deployment_sent_it() -> None:
    config = parse_config(
        '[feed]\npublic_url = "https://staywatch.example.org"\n'
        '[mail]\nfrom = "staywatch <reminders@example.org>"\n'
    )

    message = render_test(config, "me@example.org", now=datetime(2027, 1, 1, tzinfo=UTC))

    assert message["List-Id"] == "<staywatch.staywatch.example.org>"


@pytest.mark.parametrize("person", ["nguyen-van-an", "wang-fang"])
def test_a_reminder_links_the_subscribe_page_and_prints_the_address(
    config: Config, occurrences: tuple[Occurrence, ...], person: str
) -> None:
    found, occurrence, reminder = _find(config, occurrences, person, "visa", "P30D")
    message = reparse(_render(config, found, occurrence, reminder))
    page = FEED.removesuffix(".ics")
    webcal = "webcal://" + FEED.split("://", 1)[1]

    text = text_of(message)
    assert f"\n{page}\n" in text
    assert f"\n{FEED}\n" in text
    html = html_of(message)
    assert f'<a href="{page}"' in html
    assert f'<a href="{webcal}"' in html
    assert f">{FEED}</a>" in html
    assert message["List-Id"] == "<staywatch-127-0-0-1.localhost>"  # the default public_url


def test_the_english_words_of_the_calendar_part(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    found, occurrence, reminder = _find(config, occurrences, "nguyen-van-an", "visa", "P30D")
    text = text_of(reparse(_render(config, found, occurrence, reminder)))

    page = FEED.removesuffix(".ics")
    assert (
        f"Add these dates to your phone's calendar:\n{page}\n"
        f"Calendar address, to subscribe in any calendar app:\n{FEED}\n"
    ) in text


def test_no_calendar_part_without_a_feed(
    config: Config, occurrences: tuple[Occurrence, ...]
) -> None:
    found, occurrence, reminder = _find(config, occurrences, "nguyen-van-an", "visa", "P30D")
    message = reparse(_render(config, found, occurrence, reminder, feed_url=None))

    assert "/calendar/" not in text_of(message)
    assert "webcal:" not in html_of(message)
