"""The HTTP validators of the calendar routes, as pure functions (RFC 9110)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.web import accepts_gzip, if_none_match

OURS = frozenset({'"3f2a"', '"3f2a-gz"'})


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ('"3f2a"', True),
        ('W/"3f2a"', True),
        ('W/"3f2a-gz"', True),
        ('"x", "3f2a"', True),
        ('"x",W/"3f2a"', True),
        ("  *  ", True),
        ('"x"', False),
        ('W/"x", "y"', False),
        ("3f2a", False),  # not quoted: not an entity-tag
        ('"3F2A"', False),  # opaque tags compare exactly
        ('"3f2a', False),
        ("", False),
        ("W/", False),
    ],
)
def test_if_none_match(header: str, matches: bool) -> None:
    assert if_none_match(header, OURS) is matches


tags = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12).map(lambda t: f'"{t}"')


@given(
    others=st.lists(tags, max_size=5),
    ours=st.lists(st.sampled_from(sorted(OURS)), max_size=2),
    weak=st.lists(st.booleans(), min_size=7, max_size=7),
    data=st.data(),
)
def test_if_none_match_finds_ours_anywhere_in_a_list(
    others: list[str], ours: list[str], weak: list[bool], data: st.DataObject
) -> None:
    listed = data.draw(st.permutations([t for t in others if t not in OURS] + ours))
    header = ", ".join(("W/" if w else "") + tag for tag, w in zip(listed, weak, strict=False))

    assert if_none_match(header, OURS) is bool(ours)


@pytest.mark.parametrize(
    ("header", "gzip"),
    [
        (None, False),  # no header: identity, which every client reads
        ("", False),
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("*", True),
        ("x-gzip", True),
        ("identity;q=0.5, gzip", True),
        ("gzip;q=0.5, identity;q=0.5", True),  # a tie: the smaller body
        ("gzip;q=0, identity", False),
        ("gzip;q=0", False),
        ("gzip ; q=0.0", False),
        ("*;q=0, identity", False),
        ("*;q=0", False),
        ("gzip;q=0.4, identity", False),
        ("gzip;q=oops", False),
        ("gzip;q=2", False),
        ("deflate", False),
        ("identity", False),
        ("identity;q=0", False),  # nothing acceptable: identity rather than a 406
    ],
)
def test_accepts_gzip(header: str | None, gzip: bool) -> None:
    assert accepts_gzip(header) is gzip


def test_the_dashboard_row_names_a_channel_that_did_not_deliver() -> None:
    from datetime import date

    from markupsafe import Markup

    from service.i18n import use_locale
    from service.offices import OfficeRow
    from service.web import page_environment

    row = OfficeRow(
        person="wang",
        name="Wang Fang",
        tags=(),
        deadline="visa",
        kind="stay_expiry",
        what="Visa",
        date=date(2027, 3, 16),
        days_left=7,
        status="sent",
        occurrence="wang/visa/2027-03-16",
        covers=None,
        failed_channels=("telegram",),
    )
    for lang, words in (("en", "Not delivered: telegram"), ("ko", "telegram")):
        with use_locale(lang):
            html = (
                page_environment()
                .get_template("office.html")
                .render(
                    lang=lang,
                    office=None,
                    today=date(2027, 3, 9),
                    rows=[row],
                    total=1,
                    counts={"sent": 1},
                    statuses=["sent"],
                    kinds=[],
                    tags=[],
                    kind="",
                    status="",
                    tag="",
                    token="t",
                    query={},
                    days_left=str,
                    status_label=str,
                    covered=lambda what, covers: what,
                    strong=lambda value: Markup("<strong>%s</strong>") % value,
                )
            )
        cell = html.split('data-person="wang"', 1)[1].split("</tr>", 1)[0]
        assert 'class="channels-failed"' in cell
        assert words in cell
