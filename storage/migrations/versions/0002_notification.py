"""Notification ledger: side effects of SLA timers and escalation steps, by idempotency key.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the notification table and its index on the incident."""
    op.create_table(
        "notification",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=False),
        sa.Column("claimed_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.CheckConstraint("state IN ('sending', 'sent')", name="ck_notification_state"),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name="fk_notification_incident_id_incident"
        ),
        sa.PrimaryKeyConstraint("key", name="pk_notification"),
    )
    op.create_index("ix_notification_incident_id", "notification", ["incident_id"])


def downgrade() -> None:
    """Drop the notification table."""
    op.drop_index("ix_notification_incident_id", table_name="notification")
    op.drop_table("notification")
