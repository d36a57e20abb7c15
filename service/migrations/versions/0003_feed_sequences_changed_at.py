"""Calendar events remember when their content last changed (their DTSTAMP).

Before, every event of a calendar carried the calendar's own stamp, so one
acknowledgement made every event look changed to clients that sync event by
event. Rows that exist already get the upgrade's instant: their next feed keeps
its SEQUENCE numbers and moves every DTSTAMP once.

Revision ID: 0003_feed_changed_at
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003_feed_changed_at"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add feed_sequences.changed_at, filled with now for the rows there are."""
    op.add_column("feed_sequences", sa.Column("changed_at", sa.DateTime(timezone=True)))
    now = datetime.now(UTC).replace(microsecond=0)
    if op.get_bind().dialect.name == "sqlite":
        # UTCDateTime keeps SQLite instants as naive UTC wall times.
        now = now.replace(tzinfo=None)
    table = sa.table("feed_sequences", sa.column("changed_at", sa.DateTime(timezone=True)))
    op.execute(table.update().values(changed_at=now))
    with op.batch_alter_table("feed_sequences") as batch:
        batch.alter_column("changed_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    """Drop the column again."""
    with op.batch_alter_table("feed_sequences") as batch:
        batch.drop_column("changed_at")
