from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.backoff import delay_for, next_attempt

NOW = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
FAR = NOW + timedelta(days=30)


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [
        (0, 0),
        (1, 30),
        (2, 60),
        (3, 120),
        (4, 240),
        (5, 480),
        (6, 960),
        (7, 1920),
        (8, 3600),  # 3840 capped
        (9, 3600),
        (50, 3600),
        (10_000, 3600),  # no float overflow for absurd counts
    ],
)
def test_delay_doubles_from_30_seconds_up_to_the_cap(attempts: int, seconds: int) -> None:
    assert delay_for(attempts) == timedelta(seconds=seconds)
    assert next_attempt(attempts, NOW, FAR) == NOW + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("attempts", "base", "cap", "seconds"),
    [
        (1, 5, 60, 5),
        (3, 5, 60, 20),
        (5, 5, 60, 60),
        (2, 0.5, 10, 1),
        (4, 10, 10, 10),
    ],
)
def test_base_and_cap_are_parameters(attempts: int, base: float, cap: float, seconds: int) -> None:
    assert next_attempt(attempts, NOW, FAR, base=base, cap=cap) == NOW + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("attempts", "deadline_after", "expected_after"),
    [
        (1, timedelta(seconds=30), timedelta(seconds=30)),  # exactly at the deadline: still try
        (1, timedelta(seconds=29), None),  # one second short: give up
        (3, timedelta(minutes=3), timedelta(seconds=120)),
        (4, timedelta(minutes=3), None),
        (20, timedelta(hours=1), timedelta(hours=1)),
        (20, timedelta(minutes=59), None),
        (1, timedelta(0), None),  # the deadline is now
        (1, -timedelta(days=1), None),  # the deadline has passed
        (0, timedelta(0), timedelta(0)),  # nothing failed yet: try now
    ],
)
def test_gives_up_when_the_next_attempt_is_after_the_deadline(
    attempts: int, deadline_after: timedelta, expected_after: timedelta | None
) -> None:
    result = next_attempt(attempts, NOW, NOW + deadline_after)
    assert result == (None if expected_after is None else NOW + expected_after)


def test_keeps_the_zone_of_now_and_compares_instants_across_zones() -> None:
    seoul = timezone(timedelta(hours=9))
    now = datetime(2027, 1, 5, 18, 0, tzinfo=seoul)
    # The deadline is the same instant written in UTC, plus one minute.
    deadline = datetime(2027, 1, 5, 9, 1, tzinfo=UTC)
    result = next_attempt(1, now, deadline)
    assert result is not None
    assert str(result) == "2027-01-05 18:00:30+09:00"
    assert next_attempt(2, now, deadline) == now + timedelta(seconds=60)
    assert next_attempt(3, now, deadline) is None


@pytest.mark.parametrize(
    ("now", "deadline"),
    [
        (datetime(2027, 1, 5, 9, 0), FAR),
        (NOW, datetime(2027, 2, 1)),
    ],
)
def test_naive_datetimes_are_refused(now: datetime, deadline: datetime) -> None:
    with pytest.raises(ValueError, match="naive"):
        next_attempt(1, now, deadline)


def test_negative_attempts_are_refused() -> None:
    with pytest.raises(ValueError, match="attempts"):
        next_attempt(-1, NOW, FAR)
