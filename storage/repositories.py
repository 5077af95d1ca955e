"""The SQL unit of work, and the repositories for incidents and their timelines.

Repositories are bound to the unit of work's Session. Rows never leave this package: every
method takes and returns the frozen values of ``bot.core``. The other repositories live in
:mod:`storage.records`.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Self

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from bot.core.errors import NotFound
from bot.core.incidents import (
    OPEN_STATUSES,
    Incident,
    IncidentStatus,
    Severity,
    TimelineEntry,
)
from bot.core.ports import (
    ActionRepository,
    AlertRepository,
    AuditRepository,
    IncidentRepository,
    IngestLedger,
    ManualEscalationRepository,
    NodeRepository,
    NotificationLedger,
    OverrideRepository,
    RunbookRepository,
    SilenceRepository,
    TimelineRepository,
)
from storage.models import IncidentRow, TimelineEntryRow
from storage.oncall import SqlManualEscalationRepository, SqlOverrideRepository
from storage.records import (
    SqlAlertRepository,
    SqlAuditRepository,
    SqlIngestLedger,
    SqlNodeRepository,
    SqlNotificationLedger,
    pairs_from_json,
    pairs_to_json,
    require_incident,
)
from storage.remediation import SqlActionRepository, SqlRunbookRepository
from storage.silences import SqlSilenceRepository


class SqlIncidentRepository:
    """Incidents in SQL, with compare-and-set updates on ``version``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def create(
        self, *, title: str, severity: Severity, group_key: str, created_at: float
    ) -> Incident:
        """Store a new triggered incident and return it with its id."""
        row = IncidentRow(
            title=title,
            severity=severity.value,
            status=IncidentStatus.TRIGGERED.value,
            group_key=group_key,
            created_at=created_at,
            updated_at=created_at,
        )
        self._session.add(row)
        self._session.flush()
        return _incident(row)

    def get(self, incident_id: int) -> Incident:
        """The incident with this id; raises NotFound."""
        row = self._session.get(IncidentRow, incident_id)
        if row is None:
            msg = f"No incident with id {incident_id}."
            raise NotFound(msg)
        return _incident(row)

    def list(
        self, *, statuses: frozenset[IncidentStatus] | None = None, limit: int = 100
    ) -> list[Incident]:
        """Newest first, optionally only those in ``statuses``."""
        query = select(IncidentRow)
        if statuses is not None:
            query = query.where(col(IncidentRow.status).in_(_values(statuses)))
        query = query.order_by(col(IncidentRow.created_at).desc(), col(IncidentRow.id).desc())
        return [_incident(row) for row in self._session.exec(query.limit(limit))]

    def find_open(self, *, group_key: str) -> Incident | None:
        """The newest open incident of this group, if any."""
        query = (
            select(IncidentRow)
            .where(col(IncidentRow.group_key) == group_key)
            .where(col(IncidentRow.status).in_(_values(OPEN_STATUSES)))
            .order_by(col(IncidentRow.created_at).desc(), col(IncidentRow.id).desc())
            .limit(1)
        )
        row = self._session.exec(query).first()
        return None if row is None else _incident(row)

    def save(self, incident: Incident, *, expected_version: int) -> bool:
        """Write ``incident`` only if the stored version is ``expected_version``."""
        statement = (
            update(IncidentRow)
            .where(col(IncidentRow.id) == incident.id)
            .where(col(IncidentRow.version) == expected_version)
            .values(
                title=incident.title,
                severity=incident.severity.value,
                status=incident.status.value,
                group_key=incident.group_key,
                created_at=incident.created_at,
                updated_at=incident.updated_at,
                version=incident.version,
                acknowledged_by=incident.acknowledged_by,
                acknowledged_at=incident.acknowledged_at,
                resolved_at=incident.resolved_at,
                slack_channel=incident.slack_channel,
                slack_ts=incident.slack_ts,
                owner=incident.owner,
                declared_by=incident.declared_by,
                description=incident.description or None,
                mitigated_at=incident.mitigated_at,
                closed_at=incident.closed_at,
                merged_into=incident.merged_into,
            )
        )
        return self._session.exec(statement).rowcount == 1


class SqlTimelineRepository:
    """The append-only timeline of each incident, in SQL."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def append(self, entry: TimelineEntry) -> TimelineEntry:
        """Store an entry and return it with its id; raises NotFound for an unknown incident."""
        require_incident(self._session, entry.incident_id)
        row = TimelineEntryRow(
            incident_id=entry.incident_id,
            at=entry.at,
            kind=entry.kind,
            text=entry.text,
            actor=entry.actor,
            data=pairs_to_json(entry.data),
        )
        self._session.add(row)
        self._session.flush()
        return _timeline_entry(row)

    def list(self, incident_id: int) -> list[TimelineEntry]:
        """All entries of one incident, oldest first."""
        query = (
            select(TimelineEntryRow)
            .where(col(TimelineEntryRow.incident_id) == incident_id)
            .order_by(col(TimelineEntryRow.at), col(TimelineEntryRow.id))
        )
        return [_timeline_entry(row) for row in self._session.exec(query)]


def _values(statuses: Iterable[IncidentStatus]) -> list[str]:
    return sorted(status.value for status in statuses)


def _incident(row: IncidentRow) -> Incident:
    assert row.id is not None  # flushed rows always have their id
    return Incident(
        id=row.id,
        title=row.title,
        severity=Severity(row.severity),
        status=IncidentStatus(row.status),
        group_key=row.group_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        resolved_at=row.resolved_at,
        slack_channel=row.slack_channel,
        slack_ts=row.slack_ts,
        owner=row.owner,
        declared_by=row.declared_by,
        description=row.description or "",
        mitigated_at=row.mitigated_at,
        closed_at=row.closed_at,
        merged_into=row.merged_into,
    )


def _timeline_entry(row: TimelineEntryRow) -> TimelineEntry:
    return TimelineEntry(
        id=row.id,
        incident_id=row.incident_id,
        at=row.at,
        kind=row.kind,
        text=row.text,
        actor=row.actor,
        data=pairs_from_json(row.data),
    )


class SqlUnitOfWork:
    """One Session over all SQL repositories; leaving without ``commit`` rolls back."""

    incidents: IncidentRepository
    timeline: TimelineRepository
    alerts: AlertRepository
    nodes: NodeRepository
    audit: AuditRepository
    ingest: IngestLedger
    notifications: NotificationLedger
    silences: SilenceRepository
    overrides: OverrideRepository
    escalations: ManualEscalationRepository
    runbooks: RunbookRepository
    actions: ActionRepository

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._session: Session | None = None

    def __enter__(self) -> Self:
        session = Session(self._engine)
        self._session = session
        self.incidents = SqlIncidentRepository(session)
        self.timeline = SqlTimelineRepository(session)
        self.alerts = SqlAlertRepository(session)
        self.nodes = SqlNodeRepository(session)
        self.audit = SqlAuditRepository(session)
        self.ingest = SqlIngestLedger(session)
        self.notifications = SqlNotificationLedger(session)
        self.silences = SqlSilenceRepository(session)
        self.overrides = SqlOverrideRepository(session)
        self.escalations = SqlManualEscalationRepository(session)
        self.runbooks = SqlRunbookRepository(session)
        self.actions = SqlActionRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._active()
        self._session = None
        session.rollback()
        session.close()

    def commit(self) -> None:
        """Make every write since ``__enter__`` durable."""
        self._active().commit()

    def _active(self) -> Session:
        if self._session is None:
            msg = "the unit of work is used outside its `with` block"
            raise RuntimeError(msg)
        return self._session
