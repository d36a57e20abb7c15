"""ISO 8601 durations and reminder keys (service.keys)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.keys import SLUG, Duration, ReminderKey, resolve_wall_time

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SEOUL = ZoneInfo("Asia/Seoul")


# -- Duration.parse / iso ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "months", "days", "seconds", "canonical"),
    [
        ("P30D", 0, 30, 0, "P30D"),
        ("P4M", 4, 0, 0, "P4M"),
        ("PT0S", 0, 0, 0, "PT0S"),
        ("P0D", 0, 0, 0, "PT0S"),
        ("-P1D", 0, -1, 0, "-P1D"),
        ("-P7D", 0, -7, 0, "-P7D"),
        ("P1DT2H", 0, 1, 7200, "P1DT2H"),
        ("PT2H", 0, 0, 7200, "PT2H"),
        ("PT90M", 0, 0, 5400, "PT1H30M"),
        ("PT1H0M5S", 0, 0, 3605, "PT1H5S"),
        ("P1W", 0, 7, 0, "P7D"),
        ("P2W3D", 0, 17, 0, "P17D"),
        ("P1Y", 12, 0, 0, "P12M"),
        ("P1Y2M10D", 14, 10, 0, "P14M10D"),
        ("p30d", 0, 30, 0, "P30D"),
        (" P3D ", 0, 3, 0, "P3D"),
    ],
)
def test_duration_parse_and_canonical_text(
    text: str, months: int, days: int, seconds: int, canonical: str
) -> None:
    duration = Duration.parse(text)
    assert (duration.months, duration.days, duration.seconds) == (months, days, seconds)
    assert duration.iso() == canonical
    assert str(duration) == canonical
    assert Duration.parse(canonical) == duration


@pytest.mark.parametrize(
    "text",
    ["", "P", "-P", "PT", "P1DT", "30", "30D", "P-1D", "P1.5D", "PT1.5H", "P1H", "1 day", "P1D2M"],
)
def test_duration_parse_rejects_non_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO 8601 duration"):
        Duration.parse(text)


def test_negative_marks_overdue_offsets_only() -> None:
    assert Duration.parse("-P1D").negative
    assert not Duration.parse("P1D").negative
    assert not Duration.parse("PT0S").negative
    assert -Duration.parse("P3D") == Duration.parse("-P3D")
    assert Duration.of_days(0) == Duration.parse("PT0S")


@given(
    months=st.integers(0, 48),
    days=st.integers(0, 400),
    seconds=st.integers(0, 3 * 86400),
    negative=st.booleans(),
)
def test_duration_iso_round_trips(months: int, days: int, seconds: int, negative: bool) -> None:
    duration = Duration(months, days, seconds)
    if negative:
        duration = -duration
    assert Duration.parse(duration.iso()) == duration


# -- before_date / before --------------------------------------------------------


@pytest.mark.parametrize(
    ("lead", "day", "expected"),
    [
        ("P4M", date(2027, 3, 14), date(2026, 11, 14)),
        ("P4M", date(2027, 6, 30), date(2027, 2, 28)),  # no 30 February: month end
        ("P1M", date(2028, 3, 31), date(2028, 2, 29)),
        ("P89D", date(2027, 2, 17), date(2026, 11, 20)),
        ("PT0S", date(2027, 1, 1), date(2027, 1, 1)),
        ("-P1D", date(2027, 12, 31), date(2028, 1, 1)),
    ],
)
def test_before_date(lead: str, day: date, expected: date) -> None:
    assert Duration.parse(lead).before_date(day) == expected


@pytest.mark.parametrize(
    ("tz", "anchor", "lead", "expected"),
    [
        # Days move the wall clock: 09:00 stays 09:00 across the change.
        (BERLIN, datetime(2027, 3, 29, 9, tzinfo=BERLIN), "P1D", "2027-03-28 09:00:00+02:00"),
        (BERLIN, datetime(2027, 3, 29, 9, tzinfo=BERLIN), "P2D", "2027-03-27 09:00:00+01:00"),
        (BERLIN, datetime(2026, 10, 26, 9, tzinfo=BERLIN), "P2D", "2026-10-24 09:00:00+02:00"),
        (BERLIN, datetime(2027, 3, 27, 9, tzinfo=BERLIN), "-P2D", "2027-03-29 09:00:00+02:00"),
        (NEW_YORK, datetime(2027, 3, 15, 9, tzinfo=NEW_YORK), "P1D", "2027-03-14 09:00:00-04:00"),
        (NEW_YORK, datetime(2027, 3, 15, 9, tzinfo=NEW_YORK), "P2D", "2027-03-13 09:00:00-05:00"),
        (NEW_YORK, datetime(2026, 11, 2, 9, tzinfo=NEW_YORK), "P1M", "2026-10-02 09:00:00-04:00"),
        # An anchor given in another zone is read on the wall clock of ``tz``.
        (SEOUL, datetime(2027, 1, 5, 1, tzinfo=UTC), "P1D", "2027-01-04 10:00:00+09:00"),
        # Hours are exact elapsed time when no DST change is crossed.
        (SEOUL, datetime(2027, 1, 5, 10, tzinfo=SEOUL), "PT2H", "2027-01-05 08:00:00+09:00"),
        (SEOUL, datetime(2027, 1, 5, 10, tzinfo=SEOUL), "P1DT2H", "2027-01-04 08:00:00+09:00"),
        # The fall-back fold: the earlier of the two 02:30s, once.
        (BERLIN, datetime(2026, 10, 26, 2, 30, tzinfo=BERLIN), "P1D", "2026-10-25 02:30:00+02:00"),
    ],
)
def test_before_keeps_wall_clock_across_dst(
    tz: ZoneInfo, anchor: datetime, lead: str, expected: str
) -> None:
    due = Duration.parse(lead).before(anchor, tz)
    assert str(due) == expected
    assert due.tzinfo is not None


def _real(dt: datetime) -> str:
    """``dt`` as the zone really shows that instant (what a user's clock says)."""
    assert isinstance(dt.tzinfo, ZoneInfo)
    return str(dt.astimezone(UTC).astimezone(dt.tzinfo))


@pytest.mark.parametrize(
    ("tz", "wall", "expected"),
    [
        (BERLIN, datetime(2027, 3, 28, 2, 30), "2027-03-28 03:30:00+02:00"),
        (NEW_YORK, datetime(2027, 3, 14, 2, 30), "2027-03-14 03:30:00-04:00"),
    ],
)
def test_resolve_wall_time_maps_gap_past_the_jump(
    tz: ZoneInfo, wall: datetime, expected: str
) -> None:
    resolved = resolve_wall_time(wall, tz)
    assert str(resolved) == expected
    assert _real(resolved) == expected


@pytest.mark.parametrize(
    ("tz", "wall", "expected"),
    [
        (BERLIN, datetime(2026, 10, 25, 2, 30), "2026-10-25 02:30:00+02:00"),
        (NEW_YORK, datetime(2026, 11, 1, 1, 30), "2026-11-01 01:30:00-04:00"),
        (BERLIN, datetime(2027, 7, 1, 9, 0), "2027-07-01 09:00:00+02:00"),
    ],
)
def test_resolve_wall_time_takes_earlier_instant_in_fold(
    tz: ZoneInfo, wall: datetime, expected: str
) -> None:
    resolved = resolve_wall_time(wall, tz)
    assert str(resolved) == expected
    assert _real(resolved) == expected


def test_before_hours_are_exact_elapsed_time_across_dst() -> None:
    # 04:00 CEST on the spring-forward day is 02:00 UTC; two real hours earlier is
    # 00:00 UTC, which Berlin shows as 01:00 CET.
    at = datetime(2027, 3, 28, 4, 0, tzinfo=timezone(timedelta(hours=2)))
    due = Duration.parse("PT2H").before(at, BERLIN)
    assert at - due.astimezone(UTC) == timedelta(hours=2)
    assert str(due) == "2027-03-28 01:00:00+01:00"


# -- ReminderKey -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "wang-fang/visa/2027-03-14/P4M",
        "wang-fang/nhis/2026-10-26/P3D",
        "wang-fang/nhis/2026-10-26/-P7D",
        "maria_schmidt/card/2027-06-06/PT0S",
        "a/b/2027-01-05/PT2H",
    ],
)
def test_reminder_key_round_trips(text: str) -> None:
    key = ReminderKey.parse(text)
    assert str(key) == text
    person, deadline, day, offset = text.split("/")
    assert (key.person, key.deadline, key.date, key.offset) == (
        person,
        deadline,
        date.fromisoformat(day),
        offset,
    )
    assert key.occurrence == f"{person}/{deadline}/{day}"


@pytest.mark.parametrize(
    "text",
    [
        "wang-fang/visa/2027-03-14",
        "wang-fang/visa/2027-03-14/P1D/extra",
        "wang-fang/visa/2027-02-30/P1D",
        "wang-fang/visa/tomorrow/P1D",
        "wang-fang/visa/2027-03-14/30",
        "",
    ],
)
def test_reminder_key_parse_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each part raises its own message
        ReminderKey.parse(text)


@pytest.mark.parametrize(
    "text",
    ["/visa/2027-03-14/P1D", "wang-fang//2027-03-14/P1D", "wang-fang/visa/20270314/P1D"],
)
def test_reminder_key_parse_rejects_empty_parts_and_basic_dates(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        ReminderKey.parse(text)


def test_reminder_keys_order_by_person_deadline_date() -> None:
    keys = [
        ReminderKey.parse("b/visa/2027-01-01/P1D"),
        ReminderKey.parse("a/visa/2027-02-01/P1D"),
        ReminderKey.parse("a/visa/2027-01-01/P1D"),
    ]
    assert [str(k) for k in sorted(keys)] == [
        "a/visa/2027-01-01/P1D",
        "a/visa/2027-02-01/P1D",
        "b/visa/2027-01-01/P1D",
    ]


# -- ids are whole matches -------------------------------------------------------------

#: Everything str.splitlines and the regex ``$`` treat as a line end.
LINE_ENDS = ["\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
SLUGS = st.from_regex(r"\A[a-z0-9](?:[a-z0-9_-]{0,20}[a-z0-9])?\Z")


@given(SLUGS, st.sampled_from(LINE_ENDS))
def test_a_slug_with_a_line_end_is_not_a_slug(slug: str, end: str) -> None:
    assert SLUG.fullmatch(slug)
    assert not SLUG.match(slug + end)
    assert not SLUG.fullmatch(slug + end)
    with pytest.raises(ValueError, match="valid PERSON/DEADLINE"):
        ReminderKey.parse(f"{slug + end}/visa/2027-03-14/P1D")
    with pytest.raises(ValueError, match="valid PERSON/DEADLINE"):
        ReminderKey.parse(f"{slug}/visa{end}/2027-03-14/P1D")


@pytest.mark.parametrize("digits", ["P３０D", "P٣٠D", "PT２H"])
def test_durations_take_ascii_digits_only(digits: str) -> None:
    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        Duration.parse(digits)
