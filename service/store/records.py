"""What the store hands out and takes in: plain frozen dataclasses, no ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ReminderRow:
    """One row of the reminders table."""

    key: str
    person: str
    deadline: str
    kind: str
    occurrence: str
    occurrence_date: date
    offset: str
    due: datetime
    ends: datetime
    overdue: bool
    closed_notice: bool
    status: str
    reason: str | None
    attempts: int
    next_attempt: datetime | None
    last_error: str | None
    claimed_by: str | None
    claimed_until: datetime | None
    claim_token: str | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_mapping(cls, row: Any) -> ReminderRow:
        """Build from a result row's mapping."""
        return cls(**{name: row[name] for name in REMINDER_FIELDS})


REMINDER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ReminderRow))


@dataclass(frozen=True, slots=True)
class Claim:
    """A reminder this instance has claimed and may now send; ``claim_token`` fences it."""

    key: str
    person: str
    deadline: str
    kind: str
    occurrence: str
    occurrence_date: date
    offset: str
    due: datetime
    ends: datetime
    overdue: bool
    closed_notice: bool
    attempts: int
    claim_token: str

    @classmethod
    def from_mapping(cls, row: Any) -> Claim:
        """Build from a result row's mapping."""
        return cls(**{name: row[name] for name in CLAIM_FIELDS})


CLAIM_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Claim))


@dataclass(frozen=True, slots=True)
class SentInfo:
    """How a claimed reminder left: when, by which transport, and what the server said."""

    at: datetime
    transport: str
    code: int | None = None
    reply: str | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One delivery attempt of one target of a reminder (``email``/``""``: the person)."""

    id: int
    key: str
    at: datetime
    transport: str
    result: str
    code: int | None
    reply: str | None
    message_id: str | None
    channel: str = "email"
    target: str = ""


@dataclass(frozen=True, slots=True)
class ReconcileStats:
    """What one reconcile did; ``rows_written`` is zero when nothing changed."""

    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    restored: int = 0
    #: People whose plan fingerprint matched: their rows were not even read.
    unchanged: int = 0
    #: People whose plan changed (or was never stored) and were reconciled.
    changed: int = 0
    rows_written: int = 0

    def __add__(self, other: ReconcileStats) -> ReconcileStats:
        """Both reconciles' counts together (a plan reconciled in parts)."""
        return ReconcileStats(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )
