"""Notifications without an incident: the scheduled weekly report is claimed once per ISO week.

The notification ledger's ``incident_id`` becomes nullable, so that a side effect that belongs
to no incident (``report:2026-W48``) is claimed by the same compare-and-set insert as a page.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Let notification.incident_id be NULL."""
    with op.batch_alter_table("notification") as batch:
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    """Drop the notifications that belong to no incident, then require an incident again."""
    op.execute("DELETE FROM notification WHERE incident_id IS NULL")
    with op.batch_alter_table("notification") as batch:
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=False)
