"""The database tables: reminders (the queue), their targets, acknowledgements, deliveries.

Every instant is stored in UTC through :class:`UTCDateTime`, which refuses naive
datetimes so that a missing time zone is a loud bug, never a silent shift.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final, cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

STATUSES: Final = ("pending", "sent", "failed", "acknowledged", "skipped")
DELIVERY_RESULTS: Final = ("sent", "retry", "failed")
#: A target's own status: ``pending`` until it was delivered or given up on.
TARGET_STATUSES: Final = ("pending", "sent", "failed")
#: ``recipient``: the acknowledge link of a ``recipients`` copy (``who`` says whose).
ACK_SOURCES: Final = ("cli", "link", "config", "recipient")
#: The channel id of email; chat channels use their ``[[channel]]`` id.
EMAIL: Final = "email"
#: The target of the person's own email (To: the person's addresses); a
#: ``recipients`` copy's target is its address, a chat channel's its ``{to}``.
OWN: Final = ""

# Fixed constraint names keep migrations identical on SQLite and PostgreSQL and let
# alembic compare them.
NAMING: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware instant, stored in UTC; naive datetimes are rejected.

    PostgreSQL keeps ``timestamptz``. SQLite has no time zones: the UTC wall time
    is stored (a fixed-width text, so comparisons in SQL still order correctly)
    and comes back as an aware UTC datetime.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Check and convert an instant on its way into the database."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected an aware datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} cannot be stored; give it a time zone"
            )
        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Turn what the database returns into an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """The declarative base; its metadata is what the migrations must produce."""

    metadata = MetaData(naming_convention=NAMING)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Reminder(Base):
    """One planned reminder; the dispatcher's queue is the pending rows."""

    __tablename__ = "reminders"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    person: Mapped[str] = mapped_column(String(64))
    deadline: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    occurrence: Mapped[str] = mapped_column(String(160))
    occurrence_date: Mapped[date] = mapped_column(Date)
    offset: Mapped[str] = mapped_column(String(64))
    due: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When the occurrence is over: reminders before it make no sense after it.
    ends: Mapped[datetime] = mapped_column(UTCDateTime)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_notice: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    #: Why a reminder was skipped, or the server's reply when it failed.
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        Index("ix_reminders_status_due", "status", "due"),
        Index("ix_reminders_person", "person"),
        Index("ix_reminders_occurrence", "occurrence", "status", "due"),
        # The few rows waiting for a retry or holding a lease (migration 0002).
        Index("ix_reminders_status_next_attempt", "status", "next_attempt"),
        Index("ix_reminders_status_claimed_until", "status", "claimed_until"),
    )


class Acknowledgement(Base):
    """An occurrence somebody marked as done: no more reminders for it."""

    __tablename__ = "acknowledgements"

    occurrence: Mapped[str] = mapped_column(String(160), primary_key=True)
    person: Mapped[str] = mapped_column(String(64))
    deadline: Mapped[str] = mapped_column(String(64))
    occurrence_date: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(16))
    #: Who used a ``recipient`` link: that recipient's address (None: the person or the CLI).
    who: Mapped[str | None] = mapped_column(String(320), nullable=True)

    __table_args__ = (Index("ix_acknowledgements_person", "person"),)


class Target(Base):
    """One (reminder, channel, target) delivery with its own status, retries and claim.

    A reminder goes out as one row per target: email to the person (channel
    ``email``, target ``""``), a separate email copy per ``recipients`` address
    (target = the address), and one row per chat channel target (channel = the
    channel id, target = its ``{to}``). Rows are created when the reminder is
    first claimed, claimed with it (the reminder row's lock, ``SKIP LOCKED`` on
    PostgreSQL, and the same ``claim_token``), and every outcome is fenced by that
    token. The reminder is ``sent`` once no target is pending and at least one
    was delivered, ``failed`` when none was.
    """

    __tablename__ = "targets"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[str] = mapped_column(String(320), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Why it failed for good (the server's reply, or the error that stopped it).
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(_one_of("status", TARGET_STATUSES), name="status"),
        Index("ix_targets_status_next_attempt", "status", "next_attempt"),
    )


class Delivery(Base):
    """One delivery attempt of one reminder's target, for ``status`` and the audit trail."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    transport: Mapped[str] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(String(16))
    code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reply: Mapped[str | None] = mapped_column(Text, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Last, where migration 0004 added them to existing tables.
    channel: Mapped[str] = mapped_column(String(64), default=EMAIL, server_default=EMAIL)
    target: Mapped[str] = mapped_column(String(320), default=OWN, server_default=OWN)

    __table_args__ = (
        CheckConstraint(_one_of("result", DELIVERY_RESULTS), name="result"),
        Index("ix_deliveries_key", "key"),
    )


class PersonPlan(Base):
    """The fingerprint of a person's last reconciled plan, so unchanged people cost nothing."""

    __tablename__ = "person_plans"

    person: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedSequence(Base):
    """One calendar event UID's revision: SEQUENCE and when its content last changed."""

    __tablename__ = "feed_sequences"

    uid: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    #: The event's DTSTAMP and LAST-MODIFIED: unchanged events keep their bytes.
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Meta(Base):
    """Small facts the daemon keeps: last plan, last reload, token generations."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


metadata: Final = Base.metadata
# Core tables: the store's queries are Core statements over these.
reminders: Final = cast(Table, Reminder.__table__)
acknowledgements: Final = cast(Table, Acknowledgement.__table__)
deliveries: Final = cast(Table, Delivery.__table__)
targets: Final = cast(Table, Target.__table__)
person_plans: Final = cast(Table, PersonPlan.__table__)
feed_sequences: Final = cast(Table, FeedSequence.__table__)
meta: Final = cast(Table, Meta.__table__)
