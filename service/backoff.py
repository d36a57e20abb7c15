"""When to try a failed delivery again.

Pure: the clock and the give-up point are arguments, so the schedule is a
table a test can read. No jitter: retries are spread by their own due times,
and determinism matters more here than thundering-herd smoothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from service.clock import require_aware

#: Beyond this many doublings the delay is past any sensible cap anyway; stopping
#: here keeps ``2 ** n`` from overflowing a float for absurd attempt counts.
_MAX_DOUBLINGS = 62


def delay_for(attempts: int, *, base: float = 30, cap: float = 3600) -> timedelta:
    """The wait after ``attempts`` failed attempts: ``base`` doubling each time, at most ``cap``.

    0 attempts means nothing failed yet: no wait.
    """
    if attempts < 0:
        raise ValueError(f"attempts must be 0 or more, not {attempts}")
    if base < 0 or cap < 0:
        raise ValueError("base and cap must not be negative")
    if attempts == 0:
        return timedelta(0)
    seconds = min(cap, base * 2.0 ** min(attempts - 1, _MAX_DOUBLINGS))
    return timedelta(seconds=seconds)


def next_attempt(
    attempts: int,
    now: datetime,
    deadline: datetime,
    *,
    base: float = 30,
    cap: float = 3600,
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, or None to give up.

    The wait is ``base`` seconds after the first failure, doubling with each
    further one up to ``cap``. None when that instant would fall after
    ``deadline`` (a reminder that arrives after its deadline is no use).
    Both instants must be timezone-aware; the result is in ``now``'s zone.
    """
    require_aware(now)
    require_aware(deadline)
    when = now + delay_for(attempts, base=base, cap=cap)
    if when > deadline:
        return None
    return when
