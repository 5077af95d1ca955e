"""SQL repositories for alerts, nodes, the audit log and the ingest and notification ledgers.

Like those in :mod:`storage.repositories`, they are bound to one Session and speak only in the
values of ``bot.core``.
"""

from __future__ import annotations

import json

from sqlalchemy import delete, exists, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.core.alerts import Alert, AlertState, Level
from bot.core.audit import chained
from bot.core.errors import NotFound
from bot.core.incidents import AuditEntry, Node, Notification, NotificationState
from storage.models import (
    AlertRow,
    AuditEntryRow,
    IncidentRow,
    IngestBatchRow,
    NodeRow,
    NotificationRow,
)

Pairs = tuple[tuple[str, str], ...]
_CHAIN_ATTEMPTS = 5  # concurrent audit appends that may win before one gives up


def pairs_to_json(pairs: Pairs) -> str:
    """Labels or data as the JSON object stored in a text column."""
    return json.dumps(dict(pairs))


def pairs_from_json(text: str) -> Pairs:
    """Labels or data back from their stored JSON object."""
    return tuple((str(key), str(value)) for key, value in json.loads(text).items())


def require_incident(session: Session, incident_id: int) -> None:
    """Raise NotFound unless the incident exists."""
    if session.get(IncidentRow, incident_id) is None:
        msg = f"No incident with id {incident_id}."
        raise NotFound(msg)


class SqlAlertRepository:
    """Alerts in SQL, keyed by fingerprint."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def upsert(self, alert: Alert, *, incident_id: int | None = None) -> None:
        """Insert or replace the alert; ``incident_id=None`` keeps the incident it had."""
        if incident_id is None:
            incident_id = self.incident_of(alert.fingerprint)
        else:
            require_incident(self._session, incident_id)
        self._session.merge(_alert_row(alert, incident_id=incident_id))
        self._session.flush()

    def get(self, fingerprint: str) -> Alert:
        """The alert with this fingerprint; raises NotFound."""
        row = self._session.get(AlertRow, fingerprint)
        if row is None:
            msg = f"No alert with fingerprint {fingerprint}."
            raise NotFound(msg)
        return _alert(row)

    def for_incident(self, incident_id: int) -> list[Alert]:
        """Alerts attached to one incident, oldest first."""
        query = (
            select(AlertRow)
            .where(col(AlertRow.incident_id) == incident_id)
            .order_by(col(AlertRow.started_at), col(AlertRow.fingerprint))
        )
        return [_alert(row) for row in self._session.exec(query)]

    def incident_of(self, fingerprint: str) -> int | None:
        """Id of the incident this alert is attached to; None if unattached or unknown."""
        row = self._session.get(AlertRow, fingerprint)
        return None if row is None else row.incident_id

    def list_firing(self) -> list[Alert]:
        """Alerts currently firing, by fingerprint."""
        query = (
            select(AlertRow)
            .where(col(AlertRow.state) == AlertState.FIRING.value)
            .order_by(col(AlertRow.fingerprint))
        )
        return [_alert(row) for row in self._session.exec(query)]


class SqlNodeRepository:
    """GPU nodes in SQL."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def touch(self, node: Node) -> None:
        """Record that a node reported (insert or update)."""
        self._session.merge(
            NodeRow(
                name=node.name,
                last_seen=node.last_seen,
                agent_version=node.agent_version,
                gpu_count=node.gpu_count,
            )
        )
        self._session.flush()

    def list(self) -> list[Node]:
        """All known nodes, by name."""
        query = select(NodeRow).order_by(col(NodeRow.name))
        return [
            Node(
                name=row.name,
                last_seen=row.last_seen,
                agent_version=row.agent_version,
                gpu_count=row.gpu_count,
            )
            for row in self._session.exec(query)
        ]


class SqlAuditRepository:
    """The security audit log in SQL."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def append(self, entry: AuditEntry) -> AuditEntry:
        """Store an entry linked to the newest row, and return it with its id and hashes.

        The unique ``prev_hash`` lets only one of two concurrent appends link to the same row;
        the other reads the new newest row and links to that instead.
        """
        for _ in range(_CHAIN_ATTEMPTS):
            newest = self._session.exec(
                select(AuditEntryRow.hash).order_by(col(AuditEntryRow.id).desc()).limit(1)
            ).first()
            linked = chained(entry, prev_hash=newest)
            row = AuditEntryRow(
                at=linked.at,
                actor=linked.actor,
                action=linked.action,
                target=linked.target,
                detail=linked.detail,
                prev_hash=linked.prev_hash,
                hash=linked.hash,
            )
            try:
                with self._session.begin_nested():
                    self._session.add(row)
            except IntegrityError:
                continue
            return _audit_entry(row)
        msg = f"could not link an audit entry after {_CHAIN_ATTEMPTS} concurrent appends"
        raise RuntimeError(msg)

    def chain(self) -> list[AuditEntry]:
        """Every entry, oldest first (to verify the hash chain)."""
        query = select(AuditEntryRow).order_by(col(AuditEntryRow.id))
        return [_audit_entry(row) for row in self._session.exec(query)]

    def list(self, *, limit: int = 100) -> list[AuditEntry]:
        """Newest first."""
        query = (
            select(AuditEntryRow)
            .order_by(col(AuditEntryRow.at).desc(), col(AuditEntryRow.id).desc())
            .limit(limit)
        )
        return [_audit_entry(row) for row in self._session.exec(query)]


class SqlIngestLedger:
    """Accepted batch ids in SQL; the primary key decides, even between concurrent sessions."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def record(self, batch_id: str, *, node: str, received_at: float) -> bool:
        """Remember ``batch_id``; False if it had been recorded before."""
        statement = insert(IngestBatchRow).values(
            batch_id=batch_id, node=node, received_at=received_at
        )
        try:
            with self._session.begin_nested():
                self._session.exec(statement)
        except IntegrityError:
            return False
        return True


class SqlNotificationLedger:
    """Side effects by idempotency key in SQL; a claim is an insert guarded by the primary key."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def claim(
        self, key: str, *, incident_id: int | None, kind: str, due_at: float, now: float
    ) -> bool:
        """Insert ``key`` as ``sending``; False if a row with this key exists already.

        Nothing is read before the insert, so that on SQLite a concurrent claim waits for the
        write lock instead of failing on a stale snapshot.
        """
        statement = insert(NotificationRow).values(
            key=key,
            incident_id=incident_id,
            kind=kind,
            state=NotificationState.SENDING.value,
            due_at=due_at,
            claimed_at=now,
            sent_at=None,
            detail="",
        )
        try:
            with self._session.begin_nested():
                self._session.exec(statement)
        except IntegrityError:
            if incident_id is not None:
                require_incident(self._session, incident_id)  # a missing incident: NotFound
            return False
        return True

    def mark_sent(self, key: str, now: float, *, detail: str = "") -> None:
        """Record that the claimed side effect happened at ``now``."""
        statement = (
            update(NotificationRow)
            .where(col(NotificationRow.key) == key)
            .values(state=NotificationState.SENT.value, sent_at=now, detail=detail)
        )
        if self._session.exec(statement).rowcount != 1:
            msg = f"No notification claimed with key {key}."
            raise NotFound(msg)

    def release(self, key: str) -> None:
        """Forget a claim that is still ``sending``."""
        self._session.exec(
            delete(NotificationRow)
            .where(col(NotificationRow.key) == key)
            .where(col(NotificationRow.state) == NotificationState.SENDING.value)
        )

    def sent(self, incident_id: int) -> list[Notification]:
        """The sent notifications of one incident, in the order they were sent."""
        query = (
            select(NotificationRow)
            .where(col(NotificationRow.incident_id) == incident_id)
            .where(col(NotificationRow.state) == NotificationState.SENT.value)
            .order_by(
                col(NotificationRow.sent_at), col(NotificationRow.due_at), col(NotificationRow.key)
            )
        )
        return [_notification(row) for row in self._session.exec(query)]

    def incidents_missing(self, *, sent: str, missing: str) -> list[int]:
        """Incidents with a sent notification of kind ``sent`` and none of kind ``missing``."""
        other = aliased(NotificationRow)
        query = (
            select(NotificationRow.incident_id)
            .where(col(NotificationRow.kind) == sent)
            .where(col(NotificationRow.state) == NotificationState.SENT.value)
            .where(
                ~exists().where(
                    col(other.incident_id) == col(NotificationRow.incident_id),
                    col(other.kind) == missing,
                )
            )
            .order_by(col(NotificationRow.incident_id))
        )
        return [int(i) for i in self._session.exec(query) if i is not None]


def _notification(row: NotificationRow) -> Notification:
    return Notification(
        key=row.key,
        incident_id=row.incident_id,
        kind=row.kind,
        state=NotificationState(row.state),
        due_at=row.due_at,
        claimed_at=row.claimed_at,
        sent_at=row.sent_at,
        detail=row.detail,
    )


def _alert_row(alert: Alert, *, incident_id: int | None) -> AlertRow:
    return AlertRow(
        fingerprint=alert.fingerprint,
        rule=alert.rule,
        labels=pairs_to_json(alert.labels),
        state=alert.state.value,
        level=alert.level.value,
        value=alert.value,
        started_at=alert.started_at,
        summary=alert.summary,
        fired_at=alert.fired_at,
        resolved_at=alert.resolved_at,
        incident_id=incident_id,
    )


def _alert(row: AlertRow) -> Alert:
    return Alert(
        fingerprint=row.fingerprint,
        rule=row.rule,
        labels=pairs_from_json(row.labels),
        state=AlertState(row.state),
        level=Level(row.level),
        value=row.value,
        started_at=row.started_at,
        summary=row.summary,
        fired_at=row.fired_at,
        resolved_at=row.resolved_at,
    )


def _audit_entry(row: AuditEntryRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        target=row.target,
        detail=row.detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
