"""Incident lifecycle: owner, who declared it, description, mitigation/closure times, merges.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the lifecycle columns to the incident table."""
    with op.batch_alter_table("incident") as batch:
        batch.add_column(sa.Column("owner", sa.String(), nullable=True))
        batch.add_column(sa.Column("declared_by", sa.String(), nullable=True))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("mitigated_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_incident_merged_into_incident", "incident", ["merged_into"], ["id"]
        )


def downgrade() -> None:
    """Drop the lifecycle columns."""
    with op.batch_alter_table("incident") as batch:
        batch.drop_constraint("fk_incident_merged_into_incident", type_="foreignkey")
        batch.drop_column("merged_into")
        batch.drop_column("closed_at")
        batch.drop_column("mitigated_at")
        batch.drop_column("description")
        batch.drop_column("declared_by")
        batch.drop_column("owner")
