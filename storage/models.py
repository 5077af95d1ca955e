"""SQLModel tables: one row class per stored concept; repositories map them to domain values.

Times are unix seconds (float). Labels and timeline data are JSON objects stored as text, so
that SQLite and PostgreSQL hold the same schema. Constraint names follow
:data:`NAMING_CONVENTION`, which the migrations use too.
"""

from sqlalchemy import CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


class NodeRow(SQLModel, table=True):
    """A GPU node that reports to the bot."""

    __tablename__ = "node"

    name: str = Field(primary_key=True)
    last_seen: float
    agent_version: str = ""
    gpu_count: int = 0


class IncidentRow(SQLModel, table=True):
    """An incident; ``version`` is the compare-and-set guard."""

    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    title: str
    severity: str
    status: str
    group_key: str = Field(index=True)
    created_at: float
    updated_at: float
    version: int = 1
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    resolved_at: float | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None
    owner: str | None = None
    declared_by: str | None = None
    description: str | None = Field(default=None, sa_type=Text)
    mitigated_at: float | None = None
    closed_at: float | None = None
    merged_into: int | None = Field(default=None, foreign_key="incident.id")


class AlertRow(SQLModel, table=True):
    """The current view of one rule on one series, optionally attached to an incident."""

    __tablename__ = "alert"

    fingerprint: str = Field(primary_key=True)
    rule: str
    labels: str = Field(sa_type=Text)
    state: str
    level: str
    value: float
    started_at: float
    summary: str = Field(default="", sa_type=Text)
    fired_at: float | None = None
    resolved_at: float | None = None
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)


class TimelineEntryRow(SQLModel, table=True):
    """One fact about an incident."""

    __tablename__ = "timeline_entry"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    at: float
    kind: str
    text: str = Field(sa_type=Text)
    actor: str
    data: str = Field(default="{}", sa_type=Text)


class AuditEntryRow(SQLModel, table=True):
    """Who did what to which target."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: float = Field(index=True)
    actor: str
    action: str
    target: str
    detail: str = Field(default="", sa_type=Text)
    prev_hash: str = Field(default="", unique=True)  # one successor per row: no forks
    hash: str = ""


class IngestBatchRow(SQLModel, table=True):
    """A batch id already accepted from an agent."""

    __tablename__ = "ingest_batch"

    batch_id: str = Field(primary_key=True)
    node: str
    received_at: float


class NotificationRow(SQLModel, table=True):
    """A side effect that must happen once, by its idempotency key: ``sending``, then ``sent``."""

    __tablename__ = "notification"
    __table_args__ = (CheckConstraint("state IN ('sending', 'sent')", name="state"),)

    key: str = Field(primary_key=True, sa_type=Text)
    # None for a side effect of no incident (the weekly report, ``report:2026-W48``)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    kind: str
    state: str
    due_at: float
    claimed_at: float
    sent_at: float | None = None
    detail: str = Field(default="", sa_type=Text)


class SilenceRow(SQLModel, table=True):
    """A silence a responder created; it stays after it ends, for the record."""

    __tablename__ = "silence"

    id: str = Field(primary_key=True)
    matchers: str = Field(sa_type=Text)  # JSON list of matchers as Alertmanager writes them
    starts_at: float
    ends_at: float = Field(index=True)
    created_by: str
    comment: str = Field(sa_type=Text)


class RunbookRunRow(SQLModel, table=True):
    """A runbook being walked through in one incident; ``version`` is the compare-and-set guard."""

    __tablename__ = "runbook_run"
    __table_args__ = (
        UniqueConstraint("incident_id", "runbook"),
        CheckConstraint("state IN ('active', 'completed', 'abandoned')", name="state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    runbook: str
    step: str  # the current step's id; "" once the run has ended
    state: str
    started_by: str
    started_at: float
    updated_at: float
    version: int = 1
    slack_ts: str | None = None


class RunbookStepRow(SQLModel, table=True):
    """What happened at one step of a runbook run (append-only)."""

    __tablename__ = "runbook_step"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="runbook_run.id", index=True)
    step: str
    outcome: str
    actor: str
    at: float
    detail: str = Field(default="{}", sa_type=Text)  # JSON object


class ActionRequestRow(SQLModel, table=True):
    """A remediation asked for: its frozen plan, its state and, once run, its outcome.

    ``key`` makes a repeated request (double click, Slack retry) find the first one; ``version``
    guards every state change, so exactly one unit of work claims the execution.
    """

    __tablename__ = "action_request"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    run_id: int | None = Field(default=None, foreign_key="runbook_run.id")
    step: str = ""
    kind: str
    target: str
    params: str = Field(default="{}", sa_type=Text)  # JSON object
    plan: str = Field(default="{}", sa_type=Text)  # JSON object: the plan people approve
    plan_digest: str
    high_risk: bool = False
    approvals_needed: int = 1
    state: str = Field(index=True)
    version: int = 1
    requested_by: str
    requested_at: float
    expires_at: float
    updated_at: float
    started_at: float | None = None
    finished_at: float | None = None
    outcome: str = Field(default="", sa_type=Text)
    undo_of: int | None = Field(default=None, foreign_key="action_request.id")
    slack_ts: str | None = None


class ActionApprovalRow(SQLModel, table=True):
    """One person's decision on an action request, bound to the plan digest they saw."""

    __tablename__ = "action_approval"
    __table_args__ = (UniqueConstraint("action_id", "approver"),)

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="action_request.id", index=True)
    approver: str
    decision: str
    plan_digest: str
    at: float


class OncallOverrideRow(SQLModel, table=True):
    """Someone on call in a schedule for a window: an override, or one half of a swap."""

    __tablename__ = "oncall_override"
    __table_args__ = (
        CheckConstraint("kind IN ('override', 'swap')", name="kind"),
        CheckConstraint("ends_at > starts_at", name="window"),
    )

    id: int | None = Field(default=None, primary_key=True)
    schedule: str = Field(index=True)
    user: str
    starts_at: float
    ends_at: float = Field(index=True)
    kind: str
    created_by: str
    created_at: float


class ManualEscalationRow(SQLModel, table=True):
    """An escalation step brought forward by someone (the Escalate button); once per step."""

    __tablename__ = "manual_escalation"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    level: int = Field(primary_key=True)
    repeat: int = Field(primary_key=True)
    at: float
    actor: str
