"""Ports: the interfaces the services need from the outside world.

Adapters in ``bot.adapters`` and ``storage`` implement them; tests use the in-memory versions.
Repositories are used inside a :class:`UnitOfWork`, which commits all of their writes together
or none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol, Self

from bot.core.alerts import Alert
from bot.core.incidents import (
    AuditEntry,
    Incident,
    IncidentStatus,
    Node,
    Notification,
    Severity,
    TimelineEntry,
)
from bot.core.signals import Sample


class Clock(Protocol):
    """Source of the current time as unix seconds."""

    def now(self) -> float:
        """Current unix time in seconds."""
        ...


class IncidentRepository(Protocol):
    """Incidents, with compare-and-set updates."""

    def create(
        self, *, title: str, severity: Severity, group_key: str, created_at: float
    ) -> Incident:
        """Store a new triggered incident and return it with its id."""
        ...

    def get(self, incident_id: int) -> Incident:
        """The incident with this id; raises NotFound."""
        ...

    def list(
        self, *, statuses: frozenset[IncidentStatus] | None = None, limit: int = 100
    ) -> list[Incident]:
        """Newest first, optionally only those in ``statuses``."""
        ...

    def find_open(self, *, group_key: str) -> Incident | None:
        """The open incident for this group (node, deployment …), if any."""
        ...

    def save(self, incident: Incident, *, expected_version: int) -> bool:
        """Write ``incident`` only if the stored version is ``expected_version``."""
        ...


class TimelineRepository(Protocol):
    """The append-only timeline of each incident."""

    def append(self, entry: TimelineEntry) -> TimelineEntry:
        """Store an entry and return it with its id."""
        ...

    def list(self, incident_id: int) -> list[TimelineEntry]:
        """All entries of one incident, oldest first."""
        ...


class AlertRepository(Protocol):
    """Alerts, persisted on every transition."""

    def upsert(self, alert: Alert, *, incident_id: int | None = None) -> None:
        """Insert or replace the alert with this fingerprint.

        ``incident_id=None`` keeps the alert's current incident; an unknown incident raises
        NotFound.
        """
        ...

    def get(self, fingerprint: str) -> Alert:
        """The alert with this fingerprint; raises NotFound."""
        ...

    def for_incident(self, incident_id: int) -> list[Alert]:
        """Alerts attached to one incident, oldest first."""
        ...

    def incident_of(self, fingerprint: str) -> int | None:
        """Id of the incident this alert is attached to, if any."""
        ...

    def list_firing(self) -> list[Alert]:
        """Alerts currently firing (to restore evaluation state after a restart)."""
        ...


class NodeRepository(Protocol):
    """GPU nodes that report to the bot."""

    def touch(self, node: Node) -> None:
        """Record that a node reported (insert or update)."""
        ...

    def list(self) -> list[Node]:
        """All known nodes, by name."""
        ...


class AuditRepository(Protocol):
    """The security audit log."""

    def append(self, entry: AuditEntry) -> AuditEntry:
        """Store an entry and return it with its id."""
        ...

    def list(self, *, limit: int = 100) -> list[AuditEntry]:
        """Newest first."""
        ...


class IngestLedger(Protocol):
    """Batch ids already accepted, so that a re-sent batch is not counted twice."""

    def record(self, batch_id: str, *, node: str, received_at: float) -> bool:
        """Remember ``batch_id``; False if it had been recorded before."""
        ...


class NotificationLedger(Protocol):
    """Side effects that must happen once, by idempotency key: claimed, then marked sent.

    A claim is a compare-and-set insert: of two units of work that claim one key, exactly one
    wins (on a database the second waits for the first to commit or roll back). A claim whose
    sending failed is released so that a later run may try again; one whose process died while
    sending stays ``sending`` and is never repeated.
    """

    def claim(self, key: str, *, incident_id: int, kind: str, due_at: float, now: float) -> bool:
        """Record ``key`` as being sent; False if it was claimed before (skip it)."""
        ...

    def mark_sent(self, key: str, now: float, *, detail: str = "") -> None:
        """Record that the claimed side effect happened at ``now``."""
        ...

    def release(self, key: str) -> None:
        """Forget a claim that is still ``sending`` (its side effect failed), to retry later."""
        ...

    def sent(self, incident_id: int) -> list[Notification]:
        """The notifications of one incident that were sent, in the order they were sent."""
        ...


class UnitOfWork(Protocol):
    """One transaction over all repositories; leaving without ``commit`` rolls back."""

    incidents: IncidentRepository
    timeline: TimelineRepository
    alerts: AlertRepository
    nodes: NodeRepository
    audit: AuditRepository
    ingest: IngestLedger
    notifications: NotificationLedger

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make every write since ``__enter__`` durable."""
        ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class Notifier(Protocol):
    """Where incidents are shown to people (Slack)."""

    async def post_incident(self, incident: Incident, alerts: Sequence[Alert]) -> tuple[str, str]:
        """Post the incident's root message; return (channel id, message ts)."""
        ...

    async def update_incident(self, incident: Incident, alerts: Sequence[Alert]) -> None:
        """Re-render the incident's root message in place."""
        ...

    async def post_timeline(self, incident: Incident, entry: TimelineEntry) -> None:
        """Add a timeline entry to the incident's thread."""
        ...

    async def notify_user(self, user: str, text: str) -> None:
        """Send ``user`` (a Slack user id) a direct message."""
        ...


class MetricsSource(Protocol):
    """A metrics store that answers PromQL (Prometheus)."""

    async def query(self, promql: str) -> list[Sample]:
        """One sample per element of the instant vector; raises AdapterError on any failure.

        A sample's metric is the element's ``__name__`` ("" for computed series); its labels are
        the remaining labels.
        """
        ...
