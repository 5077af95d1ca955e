"""Initial schema: nodes, incidents, alerts, timeline entries, audit log, ingest ledger.

Revision ID: 0001
Revises:
Create Date: 2025-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every table of storage.models, with its indexes."""
    op.create_table(
        "node",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("agent_version", sa.String(), nullable=False),
        sa.Column("gpu_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_node"),
    )
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("group_key", sa.String(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("acknowledged_at", sa.Float(), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("slack_channel", sa.String(), nullable=True),
        sa.Column("slack_ts", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incident"),
    )
    op.create_index("ix_incident_group_key", "incident", ["group_key"])
    op.create_table(
        "alert",
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("fired_at", sa.Float(), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name="fk_alert_incident_id_incident"
        ),
        sa.PrimaryKeyConstraint("fingerprint", name="pk_alert"),
    )
    op.create_index("ix_alert_incident_id", "alert", ["incident_id"])
    op.create_table(
        "timeline_entry",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name="fk_timeline_entry_incident_id_incident"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_timeline_entry"),
    )
    op.create_index("ix_timeline_entry_incident_id", "timeline_entry", ["incident_id"])
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_entry"),
    )
    op.create_index("ix_audit_entry_at", "audit_entry", ["at"])
    op.create_table(
        "ingest_batch",
        sa.Column("batch_id", sa.String(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name="pk_ingest_batch"),
    )


def downgrade() -> None:
    """Drop every table, dependants first."""
    op.drop_table("ingest_batch")
    op.drop_index("ix_audit_entry_at", table_name="audit_entry")
    op.drop_table("audit_entry")
    op.drop_index("ix_timeline_entry_incident_id", table_name="timeline_entry")
    op.drop_table("timeline_entry")
    op.drop_index("ix_alert_incident_id", table_name="alert")
    op.drop_table("alert")
    op.drop_index("ix_incident_group_key", table_name="incident")
    op.drop_table("incident")
    op.drop_table("node")
