"""Per-target deliveries: one row per (reminder, channel, target).

A reminder now goes out as several deliveries, each with its own status,
attempts, backoff and last error: the person's own email, one separate copy per
``recipients`` address, and later one per chat channel target. The attempt log
(``deliveries``) says which channel and target each attempt was for, and an
acknowledgement can say which recipient used its link.

Existing history moves without loss: every sent or failed reminder gets an
email delivery for the person with its status, attempts, reason and the
Message-ID of its last accepted attempt; a pending reminder that was already
tried keeps its attempts, next attempt and last error on its email delivery;
every logged attempt is an attempt of the person's email (channel ``email``,
target ``""``).

Revision ID: 0004_targets
Revises: 0003_feed_changed_at
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_targets"
down_revision: str | Sequence[str] | None = "0003_feed_changed_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "status IN ('pending', 'sent', 'failed')"


def _instant(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create ``targets``, fill it from the reminders, and tag logged attempts."""
    op.create_table(
        "targets",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("target", sa.String(320), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("next_attempt", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        _instant("claimed_until", nullable=True),
        sa.Column("claim_token", sa.String(64), nullable=True),
        _instant("sent_at", nullable=True),
        sa.Column("message_id", sa.String(255), nullable=True),
        _instant("created_at"),
        _instant("updated_at"),
        sa.CheckConstraint(_STATUSES, name=op.f("ck_targets_status")),
        sa.PrimaryKeyConstraint("key", "channel", "target", name=op.f("pk_targets")),
    )
    op.create_index("ix_targets_status_next_attempt", "targets", ["status", "next_attempt"])

    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(64), nullable=False, server_default="email")
        )
        batch.add_column(sa.Column("target", sa.String(320), nullable=False, server_default=""))
    with op.batch_alter_table("acknowledgements") as batch:
        batch.add_column(sa.Column("who", sa.String(320), nullable=True))

    # Column types matter for no value here: the rows are copied in SQL, as they are.
    reminders = sa.table(
        "reminders",
        *(
            sa.column(name)
            for name in (
                "key",
                "status",
                "attempts",
                "next_attempt",
                "last_error",
                "reason",
                "claimed_by",
                "claimed_until",
                "claim_token",
                "sent_at",
                "created_at",
                "updated_at",
            )
        ),
    )
    deliveries = sa.table(
        "deliveries",
        sa.column("id"),
        sa.column("key"),
        sa.column("at"),
        sa.column("result"),
        sa.column("message_id"),
    )
    targets = sa.table(
        "targets",
        *(
            sa.column(name)
            for name in (
                "key",
                "channel",
                "target",
                "status",
                "attempts",
                "next_attempt",
                "last_error",
                "reason",
                "claimed_by",
                "claimed_until",
                "claim_token",
                "sent_at",
                "message_id",
                "created_at",
                "updated_at",
            )
        ),
    )
    r = reminders.c
    last_message_id = (
        sa.select(deliveries.c.message_id)
        .where(deliveries.c.key == r.key, deliveries.c.result == "sent")
        .order_by(deliveries.c.at.desc(), deliveries.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    pending = r.status == "pending"
    rows = sa.select(
        r.key,
        sa.literal("email"),
        sa.literal(""),
        r.status,
        r.attempts,
        sa.case((pending, r.next_attempt), else_=sa.null()),
        r.last_error,
        sa.case((r.status == "failed", r.reason), else_=sa.null()),
        sa.case((pending, r.claimed_by), else_=sa.null()),
        sa.case((pending, r.claimed_until), else_=sa.null()),
        sa.case((pending, r.claim_token), else_=sa.null()),
        r.sent_at,
        last_message_id,
        r.created_at,
        r.updated_at,
    ).where(
        sa.or_(r.status.in_(("sent", "failed")), sa.and_(pending, r.attempts > 0)),
    )
    op.execute(targets.insert().from_select([c.name for c in targets.c], rows))


def downgrade() -> None:
    """Drop the targets and the new columns (reminders keep their own status)."""
    with op.batch_alter_table("acknowledgements") as batch:
        batch.drop_column("who")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("target")
        batch.drop_column("channel")
    op.drop_index("ix_targets_status_next_attempt", table_name="targets")
    op.drop_table("targets")
