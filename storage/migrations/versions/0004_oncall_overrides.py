"""On-call overrides and swaps, and manual escalations (the Escalate button).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the oncall_override and manual_escalation tables."""
    op.create_table(
        "oncall_override",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("schedule", sa.String(), nullable=False),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("starts_at", sa.Float(), nullable=False),
        sa.Column("ends_at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.CheckConstraint("kind IN ('override', 'swap')", name="ck_oncall_override_kind"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_oncall_override_window"),
        sa.PrimaryKeyConstraint("id", name="pk_oncall_override"),
    )
    op.create_index("ix_oncall_override_schedule", "oncall_override", ["schedule"])
    op.create_index("ix_oncall_override_ends_at", "oncall_override", ["ends_at"])
    op.create_table(
        "manual_escalation",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name="fk_manual_escalation_incident_id_incident"
        ),
        sa.PrimaryKeyConstraint("incident_id", "level", "repeat", name="pk_manual_escalation"),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("manual_escalation")
    op.drop_index("ix_oncall_override_ends_at", table_name="oncall_override")
    op.drop_index("ix_oncall_override_schedule", table_name="oncall_override")
    op.drop_table("oncall_override")
