"""The pages a link leads to, in the reader's language, against a running daemon.

An expired link and a link to a reminder that no longer exists are genuine (the
signature matched), so they say whose they were: the page is in that person's
language. A link whose person is not known any more reads English and Korean.
"""

from __future__ import annotations

from datetime import timedelta

from service.texts import status_label, ui
from tests.fixtures.web import WebDaemon
from tests.integration.test_office_web import office_daemon, office_url, table_rows
from tests.integration.test_web import act_link, occurrence_key

__all__ = ["office_daemon"]  # the fixture, used by name below


async def test_an_expired_link_says_so_in_the_persons_language(web_daemon: WebDaemon) -> None:
    now = web_daemon.clock.now()
    expired = await act_link(
        web_daemon, occurrence_key(web_daemon, "li-wei"), expires=now - timedelta(seconds=1)
    )
    reply = await web_daemon.request("GET", expired)
    assert reply.status == 410
    assert '<html lang="zh">' in reply.text
    assert ui("link_expired", "zh") in reply.text
    assert ui("link_expired", "en") not in reply.text


async def test_a_gone_reminder_says_its_date_changed_or_it_was_removed(
    web_daemon: WebDaemon,
) -> None:
    now = web_daemon.clock.now()
    gone = await act_link(web_daemon, "li-wei/stay/2020-01-01", expires=now + timedelta(days=9))
    reply = await web_daemon.request("GET", gone)
    assert reply.status == 410
    assert ui("link_gone", "zh") in reply.text
    assert ui("link_gone", "en") == (
        "This reminder no longer exists: its date was changed or it was removed."
    )
    # Somebody no longer in the config: English and Korean.
    stranger = await act_link(web_daemon, "nobody/visa/2027-01-01", expires=now + timedelta(days=9))
    reply = await web_daemon.request("GET", stranger)
    assert reply.status == 410
    assert '<html lang="en">' in reply.text
    assert ui("link_gone", "en") in reply.text
    assert ui("link_gone", "ko") in reply.text
    assert '<h1 lang="ko">' in reply.text


async def test_the_confirmation_page_names_the_date_in_words(web_daemon: WebDaemon) -> None:
    key = occurrence_key(web_daemon, "ana-lima")
    reply = await web_daemon.request("GET", await act_link(web_daemon, key))
    assert reply.status == 200
    day = web_daemon.today + timedelta(days=10)
    assert f"Deadline: {day:%A}, {day.day} {day:%B %Y}" in reply.text


async def test_the_dashboard_of_a_korean_office_is_in_korean(office_daemon: WebDaemon) -> None:
    url = await office_url(office_daemon, "lab")
    reply = await office_daemon.request("GET", url, {"Accept-Encoding": "identity"})
    assert reply.status == 200
    html = reply.text
    assert '<html lang="ko">' in html
    assert "Lab Office: 기한 현황" in html
    statuses = {row["data-status"] for row in table_rows(html)}
    assert statuses
    for status in statuses:
        # The same word as in the office's digests.
        assert f'<span class="badge">{status_label(status, "ko")}</span>' in html
    assert "Nothing matches" not in html
    assert "Deadline" not in html
    assert "일 후" in html
