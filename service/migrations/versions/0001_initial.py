"""The initial schema: reminders, acknowledgements, deliveries, plans, sequences, meta.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "status IN ('pending', 'sent', 'failed', 'acknowledged', 'skipped')"
_RESULTS = "result IN ('sent', 'retry', 'failed')"


def _instant(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create every table and index."""
    op.create_table(
        "reminders",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("person", sa.String(64), nullable=False),
        sa.Column("deadline", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("occurrence", sa.String(160), nullable=False),
        sa.Column("occurrence_date", sa.Date(), nullable=False),
        sa.Column("offset", sa.String(64), nullable=False),
        _instant("due"),
        _instant("ends"),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("closed_notice", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("next_attempt", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        _instant("claimed_until", nullable=True),
        sa.Column("claim_token", sa.String(64), nullable=True),
        _instant("sent_at", nullable=True),
        _instant("created_at"),
        _instant("updated_at"),
        sa.CheckConstraint(_STATUSES, name=op.f("ck_reminders_status")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_reminders")),
    )
    op.create_index("ix_reminders_status_due", "reminders", ["status", "due"])
    op.create_index("ix_reminders_person", "reminders", ["person"])
    op.create_index("ix_reminders_occurrence", "reminders", ["occurrence", "status", "due"])

    op.create_table(
        "acknowledgements",
        sa.Column("occurrence", sa.String(160), nullable=False),
        sa.Column("person", sa.String(64), nullable=False),
        sa.Column("deadline", sa.String(64), nullable=False),
        sa.Column("occurrence_date", sa.Date(), nullable=False),
        _instant("at"),
        sa.Column("by", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("occurrence", name=op.f("pk_acknowledgements")),
    )
    op.create_index("ix_acknowledgements_person", "acknowledgements", ["person"])

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        _instant("at"),
        sa.Column("transport", sa.String(32), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(255), nullable=True),
        sa.CheckConstraint(_RESULTS, name=op.f("ck_deliveries_result")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    op.create_index("ix_deliveries_key", "deliveries", ["key"])

    op.create_table(
        "person_plans",
        sa.Column("person", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        _instant("updated_at"),
        sa.PrimaryKeyConstraint("person", name=op.f("pk_person_plans")),
    )

    op.create_table(
        "feed_sequences",
        sa.Column("uid", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("uid", name=op.f("pk_feed_sequences")),
    )

    op.create_table(
        "meta",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_meta")),
    )


def downgrade() -> None:
    """Drop everything the upgrade created."""
    for table in (
        "meta",
        "feed_sequences",
        "person_plans",
        "deliveries",
        "acknowledgements",
        "reminders",
    ):
        op.drop_table(table)
