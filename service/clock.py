"""Where the current time comes from; injected everywhere so tests control it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """A source of aware UTC instants."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stays where it is set until moved; for tests and dry runs."""

    def __init__(self, at: datetime) -> None:
        self._at = to_utc(at)

    def now(self) -> datetime:
        """The instant the clock was set to."""
        return self._at

    def set(self, at: datetime) -> None:
        """Move the clock to ``at``."""
        self._at = to_utc(at)


def require_aware(value: datetime) -> datetime:
    """Return ``value`` unchanged, or raise if it has no UTC offset."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} where an instant was expected")
    return value


def to_utc(value: datetime) -> datetime:
    """The same instant expressed in UTC."""
    return require_aware(value).astimezone(UTC)
