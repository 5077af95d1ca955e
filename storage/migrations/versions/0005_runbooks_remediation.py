"""Runbooks and remediation: runbook runs and steps, action requests, approvals; audit hash chain.

The existing audit rows are chained in id order, so that the whole log verifies afterwards.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.core.audit import chained
from bot.core.incidents import AuditEntry

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the runbook and action tables; add and fill the audit chain columns."""
    _chain_audit_log()
    op.create_table(
        "runbook_run",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("runbook", sa.String(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("started_by", sa.String(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("slack_ts", sa.String(), nullable=True),
        sa.CheckConstraint(
            "state IN ('active', 'completed', 'abandoned')", name="ck_runbook_run_state"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name="fk_runbook_run_incident_id_incident"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_runbook_run"),
        sa.UniqueConstraint("incident_id", "runbook", name="uq_runbook_run_incident_id"),
    )
    op.create_index("ix_runbook_run_incident_id", "runbook_run", ["incident_id"])
    op.create_table(
        "runbook_step",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runbook_run.id"], name="fk_runbook_step_run_id_runbook_run"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_runbook_step"),
    )
    op.create_index("ix_runbook_step_run_id", "runbook_step", ["run_id"])
    _create_action_tables()


def _create_action_tables() -> None:
    op.create_table(
        "action_request",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("step", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("plan_digest", sa.String(), nullable=False),
        sa.Column("high_risk", sa.Boolean(), nullable=False),
        sa.Column("approvals_needed", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("requested_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("undo_of", sa.Integer(), nullable=True),
        sa.Column("slack_ts", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name="fk_action_request_incident_id_incident"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runbook_run.id"], name="fk_action_request_run_id_runbook_run"
        ),
        sa.ForeignKeyConstraint(
            ["undo_of"], ["action_request.id"], name="fk_action_request_undo_of_action_request"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_action_request"),
        sa.UniqueConstraint("key", name="uq_action_request_key"),
    )
    op.create_index("ix_action_request_incident_id", "action_request", ["incident_id"])
    op.create_index("ix_action_request_state", "action_request", ["state"])
    op.create_table(
        "action_approval",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("approver", sa.String(), nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("plan_digest", sa.String(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["action_request.id"],
            name="fk_action_approval_action_id_action_request",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_action_approval"),
        sa.UniqueConstraint("action_id", "approver", name="uq_action_approval_action_id"),
    )
    op.create_index("ix_action_approval_action_id", "action_approval", ["action_id"])


def _chain_audit_log() -> None:
    with op.batch_alter_table("audit_entry") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(), nullable=False, server_default=""))
        batch.add_column(sa.Column("hash", sa.String(), nullable=False, server_default=""))
    audit = sa.table(
        "audit_entry",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.Float()),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("target", sa.String()),
        sa.column("detail", sa.Text()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    bind = op.get_bind()
    previous: str | None = None
    for row in bind.execute(sa.select(audit).order_by(audit.c.id)).mappings():
        linked = chained(
            AuditEntry(row["at"], row["actor"], row["action"], row["target"], row["detail"]),
            prev_hash=previous,
        )
        bind.execute(
            audit.update()
            .where(audit.c.id == row["id"])
            .values(prev_hash=linked.prev_hash, hash=linked.hash)
        )
        previous = linked.hash
    with op.batch_alter_table("audit_entry") as batch:
        batch.alter_column("prev_hash", server_default=None)
        batch.alter_column("hash", server_default=None)
        batch.create_unique_constraint("uq_audit_entry_prev_hash", ["prev_hash"])


def downgrade() -> None:
    """Drop the runbook and action tables and the audit chain columns."""
    op.drop_index("ix_action_approval_action_id", table_name="action_approval")
    op.drop_table("action_approval")
    op.drop_index("ix_action_request_state", table_name="action_request")
    op.drop_index("ix_action_request_incident_id", table_name="action_request")
    op.drop_table("action_request")
    op.drop_index("ix_runbook_step_run_id", table_name="runbook_step")
    op.drop_table("runbook_step")
    op.drop_index("ix_runbook_run_incident_id", table_name="runbook_run")
    op.drop_table("runbook_run")
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_constraint("uq_audit_entry_prev_hash", type_="unique")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
