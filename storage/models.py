"""SQLModel tables: one row class per stored concept; repositories map them to domain values.

Times are unix seconds (float). Labels and timeline data are JSON objects stored as text, so
that SQLite and PostgreSQL hold the same schema. Constraint names follow
:data:`NAMING_CONVENTION`, which the migrations use too.
"""

from sqlalchemy import CheckConstraint, Text
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
    incident_id: int = Field(foreign_key="incident.id", index=True)
    kind: str
    state: str
    due_at: float
    claimed_at: float
    sent_at: float | None = None
    detail: str = Field(default="", sa_type=Text)
