"""In-memory unit of work with the SQL one's contract, for unit tests of services.

Several :class:`InMemoryUnitOfWork` built on one :class:`InMemoryStore` see the same committed
data. Writes stay pending in the unit of work until ``commit``; reads see the unit's own
pending writes over what is committed (read committed, as on PostgreSQL). Ids come from
per-table counters that, like database sequences, are not given back on rollback.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Generic, Self, TypeVar

from bot.core.alerts import Alert, AlertState
from bot.core.approvals import ActionRecord, ActionState, Approval
from bot.core.audit import chained
from bot.core.errors import NotFound
from bot.core.escalation import ManualEscalation
from bot.core.incidents import (
    OPEN_STATUSES,
    AuditEntry,
    Incident,
    IncidentStatus,
    Node,
    Notification,
    NotificationState,
    Severity,
    TimelineEntry,
)
from bot.core.oncall import ScheduleOverride
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
from bot.core.runbooks import RunbookRun, StepRecord
from bot.core.silences import Silence

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _StoredAlert:
    alert: Alert
    incident_id: int | None


@dataclass(frozen=True, slots=True)
class _Batch:
    node: str
    received_at: float


@dataclass
class InMemoryStore:
    """Committed data shared by every unit of work built on it."""

    incidents: dict[int, Incident] = field(default_factory=dict)
    timeline: dict[int, TimelineEntry] = field(default_factory=dict)
    alerts: dict[str, _StoredAlert] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    audit: dict[int, AuditEntry] = field(default_factory=dict)
    ingest: dict[str, _Batch] = field(default_factory=dict)
    notifications: dict[str, Notification] = field(default_factory=dict)
    silences: dict[str, Silence] = field(default_factory=dict)
    overrides: dict[int, ScheduleOverride] = field(default_factory=dict)
    escalations: dict[tuple[int, int, int], ManualEscalation] = field(default_factory=dict)
    runbook_runs: dict[int, RunbookRun] = field(default_factory=dict)
    runbook_steps: dict[int, StepRecord] = field(default_factory=dict)
    actions: dict[int, ActionRecord] = field(default_factory=dict)
    approvals: dict[tuple[int, str], Approval] = field(default_factory=dict)
    claiming: set[str] = field(default_factory=set)  # keys claimed by uncommitted units
    lock: threading.Lock = field(default_factory=threading.Lock)
    _sequences: dict[str, Iterator[int]] = field(default_factory=dict, init=False, repr=False)

    def next_id(self, table: str) -> int:
        """Next id of ``table``, starting at 1."""
        with self.lock:
            return next(self._sequences.setdefault(table, itertools.count(1)))


class _Table(Generic[K, V]):
    """One table as a unit of work sees it: its pending writes over the committed rows."""

    def __init__(self, committed: dict[K, V], lock: threading.Lock) -> None:
        self._committed = committed
        self._lock = lock
        self._pending: dict[K, V] = {}
        self._deleted: set[K] = set()

    def get(self, key: K) -> V | None:
        if key in self._deleted:
            return None
        if key in self._pending:
            return self._pending[key]
        with self._lock:
            return self._committed.get(key)

    def require(self, key: K, missing: str) -> V:
        """The row with this key; raises NotFound with ``missing`` when there is none."""
        found = self.get(key)
        if found is None:
            raise NotFound(missing)
        return found

    def put(self, key: K, value: V) -> None:
        self._deleted.discard(key)
        self._pending[key] = value

    def delete(self, key: K) -> None:
        self._pending.pop(key, None)
        self._deleted.add(key)

    def rows(self) -> list[V]:
        with self._lock:
            merged = {**self._committed, **self._pending}
        return [v for k, v in merged.items() if k not in self._deleted]

    def commit(self) -> None:
        """Publish the pending writes; the caller holds the store's lock."""
        for key in self._deleted:
            self._committed.pop(key, None)
        self._committed.update(self._pending)
        self._pending.clear()
        self._deleted.clear()


class MemoryIncidentRepository:
    """Incidents in memory, with compare-and-set updates on ``version``."""

    def __init__(self, store: InMemoryStore, table: _Table[int, Incident]) -> None:
        self._store = store
        self._table = table

    def create(
        self, *, title: str, severity: Severity, group_key: str, created_at: float
    ) -> Incident:
        """Store a new triggered incident and return it with its id."""
        incident = Incident(
            id=self._store.next_id("incident"),
            title=title,
            severity=severity,
            status=IncidentStatus.TRIGGERED,
            group_key=group_key,
            created_at=created_at,
            updated_at=created_at,
        )
        self._table.put(incident.id, incident)
        return incident

    def get(self, incident_id: int) -> Incident:
        """The incident with this id; raises NotFound."""
        return self._table.require(incident_id, f"No incident with id {incident_id}.")

    def list(
        self, *, statuses: frozenset[IncidentStatus] | None = None, limit: int = 100
    ) -> list[Incident]:
        """Newest first, optionally only those in ``statuses``."""
        chosen = [i for i in self._table.rows() if statuses is None or i.status in statuses]
        return sorted(chosen, key=lambda i: (i.created_at, i.id), reverse=True)[:limit]

    def find_open(self, *, group_key: str) -> Incident | None:
        """The newest open incident of this group, if any."""
        open_ones = [
            i for i in self._table.rows() if i.group_key == group_key and i.status in OPEN_STATUSES
        ]
        return max(open_ones, key=lambda i: (i.created_at, i.id), default=None)

    def save(self, incident: Incident, *, expected_version: int) -> bool:
        """Write ``incident`` only if the stored version is ``expected_version``."""
        stored = self._table.get(incident.id)
        if stored is None or stored.version != expected_version:
            return False
        self._table.put(incident.id, incident)
        return True


class MemoryTimelineRepository:
    """Timelines in memory."""

    def __init__(
        self,
        store: InMemoryStore,
        table: _Table[int, TimelineEntry],
        incidents: MemoryIncidentRepository,
    ) -> None:
        self._store = store
        self._table = table
        self._incidents = incidents

    def append(self, entry: TimelineEntry) -> TimelineEntry:
        """Store an entry and return it with its id; raises NotFound for an unknown incident."""
        self._incidents.get(entry.incident_id)
        entry_id = self._store.next_id("timeline_entry")
        stored = replace(entry, id=entry_id)
        self._table.put(entry_id, stored)
        return stored

    def list(self, incident_id: int) -> list[TimelineEntry]:
        """All entries of one incident, oldest first."""
        entries = [e for e in self._table.rows() if e.incident_id == incident_id]
        return sorted(entries, key=lambda e: (e.at, e.id))


class MemoryAlertRepository:
    """Alerts in memory, keyed by fingerprint."""

    def __init__(
        self, table: _Table[str, _StoredAlert], incidents: MemoryIncidentRepository
    ) -> None:
        self._table = table
        self._incidents = incidents

    def upsert(self, alert: Alert, *, incident_id: int | None = None) -> None:
        """Insert or replace the alert; ``incident_id=None`` keeps the incident it had."""
        if incident_id is None:
            incident_id = self.incident_of(alert.fingerprint)
        else:
            self._incidents.get(incident_id)
        self._table.put(alert.fingerprint, _StoredAlert(alert, incident_id))

    def get(self, fingerprint: str) -> Alert:
        """The alert with this fingerprint; raises NotFound."""
        stored = self._table.require(fingerprint, f"No alert with fingerprint {fingerprint}.")
        return stored.alert

    def for_incident(self, incident_id: int) -> list[Alert]:
        """Alerts attached to one incident, oldest first."""
        alerts = [s.alert for s in self._table.rows() if s.incident_id == incident_id]
        return sorted(alerts, key=lambda a: (a.started_at, a.fingerprint))

    def incident_of(self, fingerprint: str) -> int | None:
        """Id of the incident this alert is attached to; None if unattached or unknown."""
        stored = self._table.get(fingerprint)
        return None if stored is None else stored.incident_id

    def list_firing(self) -> list[Alert]:
        """Alerts currently firing, by fingerprint."""
        firing = [s.alert for s in self._table.rows() if s.alert.state is AlertState.FIRING]
        return sorted(firing, key=lambda a: a.fingerprint)


class MemoryNodeRepository:
    """GPU nodes in memory."""

    def __init__(self, table: _Table[str, Node]) -> None:
        self._table = table

    def touch(self, node: Node) -> None:
        """Record that a node reported (insert or update)."""
        self._table.put(node.name, node)

    def list(self) -> list[Node]:
        """All known nodes, by name."""
        return sorted(self._table.rows(), key=lambda n: n.name)


class MemoryAuditRepository:
    """The audit log in memory."""

    def __init__(self, store: InMemoryStore, table: _Table[int, AuditEntry]) -> None:
        self._store = store
        self._table = table

    def append(self, entry: AuditEntry) -> AuditEntry:
        """Store an entry linked to the newest row, and return it with its id and hashes."""
        entry_id = self._store.next_id("audit_entry")
        newest = max(self._table.rows(), key=lambda e: e.id or 0, default=None)
        stored = chained(
            replace(entry, id=entry_id), prev_hash=None if newest is None else newest.hash
        )
        self._table.put(entry_id, stored)
        return stored

    def chain(self) -> list[AuditEntry]:
        """Every entry, oldest first (to verify the hash chain)."""
        return sorted(self._table.rows(), key=lambda e: e.id or 0)

    def list(self, *, limit: int = 100) -> list[AuditEntry]:
        """Newest first."""
        return sorted(self._table.rows(), key=lambda e: (e.at, e.id), reverse=True)[:limit]


class MemoryIngestLedger:
    """Accepted batch ids in memory."""

    def __init__(self, table: _Table[str, _Batch]) -> None:
        self._table = table

    def record(self, batch_id: str, *, node: str, received_at: float) -> bool:
        """Remember ``batch_id``; False if it had been recorded before."""
        if self._table.get(batch_id) is not None:
            return False
        self._table.put(batch_id, _Batch(node, received_at))
        return True


class MemoryNotificationLedger:
    """Side effects by idempotency key in memory.

    A claim also reserves its key in the store until the unit of work ends, standing in for the
    database's unique index: a concurrent claim of the same key loses at once.
    """

    def __init__(
        self,
        store: InMemoryStore,
        table: _Table[str, Notification],
        incidents: MemoryIncidentRepository,
    ) -> None:
        self._store = store
        self._table = table
        self._incidents = incidents
        self._reserved: set[str] = set()

    def claim(
        self, key: str, *, incident_id: int | None, kind: str, due_at: float, now: float
    ) -> bool:
        """Record ``key`` as being sent; False if it was claimed before."""
        if incident_id is not None:
            self._incidents.get(incident_id)
        if key in self._reserved or self._table.get(key) is not None:
            return False
        with self._store.lock:
            if key in self._store.claiming or key in self._store.notifications:
                return False
            self._store.claiming.add(key)
        self._reserved.add(key)
        self._table.put(
            key, Notification(key, incident_id, kind, NotificationState.SENDING, due_at, now)
        )
        return True

    def mark_sent(self, key: str, now: float, *, detail: str = "") -> None:
        """Record that the claimed side effect happened at ``now``."""
        claimed = self._table.require(key, f"No notification claimed with key {key}.")
        self._table.put(
            key, replace(claimed, state=NotificationState.SENT, sent_at=now, detail=detail)
        )

    def release(self, key: str) -> None:
        """Forget a claim that is still ``sending``."""
        claimed = self._table.get(key)
        if claimed is not None and claimed.state is NotificationState.SENDING:
            self._table.delete(key)

    def sent(self, incident_id: int) -> list[Notification]:
        """The sent notifications of one incident, in the order they were sent."""
        done = [
            n
            for n in self._table.rows()
            if n.incident_id == incident_id and n.state is NotificationState.SENT
        ]
        return sorted(done, key=lambda n: (n.sent_at or 0.0, n.due_at, n.key))

    def incidents_missing(self, *, sent: str, missing: str) -> list[int]:
        """Incidents with a sent notification of kind ``sent`` and none of kind ``missing``."""
        rows = self._table.rows()
        done = {n.incident_id for n in rows if n.kind == sent and n.state is NotificationState.SENT}
        return sorted(i for i in done - {n.incident_id for n in rows if n.kind == missing} if i)

    def end(self) -> None:
        """Drop this unit's reservations (its claims are committed or rolled back by now)."""
        with self._store.lock:
            self._store.claiming.difference_update(self._reserved)
        self._reserved.clear()


class MemorySilenceRepository:
    """Silences in a dict, newest first when listed."""

    def __init__(self, table: _Table[str, Silence]) -> None:
        self._table = table

    def add(self, silence: Silence) -> Silence:
        """Store a new silence."""
        self._table.put(silence.id, silence)
        return silence

    def get(self, silence_id: str) -> Silence:
        """The silence with this id; raises NotFound."""
        return self._table.require(silence_id, f"No silence with id {silence_id}.")

    def list(self, *, ending_after: float | None = None) -> list[Silence]:
        """Newest first; with ``ending_after``, only those that end later than it."""
        rows = [s for s in self._table.rows() if ending_after is None or s.ends_at > ending_after]
        return sorted(rows, key=lambda s: (-s.starts_at, s.id))

    def save(self, silence: Silence) -> None:
        """Replace the stored silence with the same id; raises NotFound."""
        self.get(silence.id)
        self._table.put(silence.id, silence)


class MemoryOverrideRepository:
    """On-call overrides in memory, by id."""

    def __init__(self, store: InMemoryStore, table: _Table[int, ScheduleOverride]) -> None:
        self._store = store
        self._table = table

    def add(self, override: ScheduleOverride) -> ScheduleOverride:
        """Store an override and return it with its id."""
        stored = replace(override, id=self._store.next_id("oncall_override"))
        self._table.put(stored.id or 0, stored)
        return stored

    def list(self, *, ending_after: float) -> list[ScheduleOverride]:
        """Overrides that end after ``ending_after``, oldest first."""
        rows = [o for o in self._table.rows() if o.override.end > ending_after]
        return sorted(rows, key=lambda o: o.id or 0)


class MemoryManualEscalationRepository:
    """Manual escalations in memory; a step is reserved in the store until the unit ends."""

    def __init__(
        self,
        store: InMemoryStore,
        table: _Table[tuple[int, int, int], ManualEscalation],
        incidents: MemoryIncidentRepository,
    ) -> None:
        self._store = store
        self._table = table
        self._incidents = incidents
        self._reserved: set[str] = set()

    def record(self, escalation: ManualEscalation) -> bool:
        """Store ``escalation``; False if its step was escalated by hand before."""
        self._incidents.get(escalation.incident_id)
        step = (escalation.incident_id, escalation.level, escalation.repeat)
        reservation = "manual-escalation:{}:{}:{}".format(*step)
        if reservation in self._reserved or self._table.get(step) is not None:
            return False
        with self._store.lock:
            if reservation in self._store.claiming or step in self._store.escalations:
                return False
            self._store.claiming.add(reservation)
        self._reserved.add(reservation)
        self._table.put(step, escalation)
        return True

    def list(self, incident_ids: Sequence[int]) -> list[ManualEscalation]:
        """The manual escalations of these incidents, oldest first."""
        wanted = set(incident_ids)
        rows = [e for e in self._table.rows() if e.incident_id in wanted]
        return sorted(rows, key=lambda e: (e.at, e.level))

    def end(self) -> None:
        """Drop this unit's reservations."""
        with self._store.lock:
            self._store.claiming.difference_update(self._reserved)
        self._reserved.clear()


class MemoryRunbookRepository:
    """Runbook runs and their step records in memory."""

    def __init__(
        self,
        store: InMemoryStore,
        runs: _Table[int, RunbookRun],
        steps: _Table[int, StepRecord],
        incidents: MemoryIncidentRepository,
    ) -> None:
        self._store = store
        self._runs = runs
        self._steps = steps
        self._incidents = incidents

    def start(self, run: RunbookRun) -> RunbookRun | None:
        """Store a new run; None if the incident runs this runbook already."""
        self._incidents.get(run.incident_id)
        if any(
            r.incident_id == run.incident_id and r.runbook == run.runbook for r in self._runs.rows()
        ):
            return None
        stored = replace(run, id=self._store.next_id("runbook_run"))
        self._runs.put(stored.id, stored)
        return stored

    def get(self, run_id: int) -> RunbookRun:
        """The run with this id; raises NotFound."""
        return self._runs.require(run_id, f"No runbook run with id {run_id}.")

    def for_incident(self, incident_id: int) -> list[RunbookRun]:
        """The runs of one incident, oldest first."""
        return sorted((r for r in self._runs.rows() if r.incident_id == incident_id), key=_by_id)

    def save(self, run: RunbookRun, *, expected_version: int) -> bool:
        """Write ``run`` only if the stored version is ``expected_version``."""
        stored = self._runs.get(run.id)
        if stored is None or stored.version != expected_version:
            return False
        self._runs.put(run.id, run)
        return True

    def record(self, step: StepRecord) -> StepRecord:
        """Append what happened at a step."""
        stored = replace(step, id=self._store.next_id("runbook_step"))
        self._steps.put(stored.id or 0, stored)
        return stored

    def steps(self, run_id: int) -> list[StepRecord]:
        """The step records of one run, oldest first."""
        return sorted(
            (s for s in self._steps.rows() if s.run_id == run_id), key=lambda s: s.id or 0
        )


class MemoryActionRepository:
    """Action requests and approvals in memory; state changes compare-and-set on version."""

    def __init__(
        self,
        store: InMemoryStore,
        actions: _Table[int, ActionRecord],
        approvals: _Table[tuple[int, str], Approval],
    ) -> None:
        self._store = store
        self._actions = actions
        self._approvals = approvals

    def add(self, action: ActionRecord) -> tuple[ActionRecord, bool]:
        """Store a new request; for a known key return the stored one and False."""
        known = next((a for a in self._actions.rows() if a.key == action.key), None)
        if known is not None:
            return known, False
        stored = replace(action, id=self._store.next_id("action_request"))
        self._actions.put(stored.id, stored)
        return stored, True

    def get(self, action_id: int) -> ActionRecord:
        """The request with this id; raises NotFound."""
        return self._actions.require(action_id, f"No action request with id {action_id}.")

    def save(self, action: ActionRecord, *, expected_version: int) -> bool:
        """Write ``action`` only if the stored version is ``expected_version``."""
        stored = self._actions.get(action.id)
        if stored is None or stored.version != expected_version:
            return False
        self._actions.put(action.id, action)
        return True

    def in_states(self, states: frozenset[ActionState]) -> list[ActionRecord]:
        """Requests in any of ``states``, oldest first."""
        return sorted((a for a in self._actions.rows() if a.state in states), key=_by_id)

    def finished_since(self, since: float) -> list[ActionRecord]:
        """Requests that finished at or after ``since``, oldest first."""
        done = [a for a in self._actions.rows() if a.finished_at is not None]
        return sorted(
            (a for a in done if (a.finished_at or 0.0) >= since),
            key=lambda a: (a.finished_at or 0.0, a.id),
        )

    def approve(self, approval: Approval) -> bool:
        """Store a decision; False if this person decided on this action before."""
        key = (approval.action_id, approval.approver)
        if self._approvals.get(key) is not None:
            return False
        self._approvals.put(key, approval)
        return True

    def approvals(self, action_id: int) -> list[Approval]:
        """The decisions on one action, oldest first."""
        return sorted(
            (a for a in self._approvals.rows() if a.action_id == action_id), key=lambda a: a.at
        )


def _by_id(row: RunbookRun | ActionRecord) -> int:
    return row.id


class InMemoryUnitOfWork:
    """One transaction over the in-memory repositories; leaving without ``commit`` discards."""

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

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._commits: list[Callable[[], None]] = []
        self._ledger: MemoryNotificationLedger | None = None
        self._escalations: MemoryManualEscalationRepository | None = None

    def __enter__(self) -> Self:
        store = self._store
        incident_table = _Table(store.incidents, store.lock)
        timeline_table = _Table(store.timeline, store.lock)
        alert_table = _Table(store.alerts, store.lock)
        node_table = _Table(store.nodes, store.lock)
        audit_table = _Table(store.audit, store.lock)
        ingest_table = _Table(store.ingest, store.lock)
        notification_table = _Table(store.notifications, store.lock)
        silence_table = _Table(store.silences, store.lock)
        override_table = _Table(store.overrides, store.lock)
        escalation_table = _Table(store.escalations, store.lock)
        incidents = MemoryIncidentRepository(store, incident_table)
        self.incidents = incidents
        self.timeline = MemoryTimelineRepository(store, timeline_table, incidents)
        self.alerts = MemoryAlertRepository(alert_table, incidents)
        self.nodes = MemoryNodeRepository(node_table)
        self.audit = MemoryAuditRepository(store, audit_table)
        self.ingest = MemoryIngestLedger(ingest_table)
        self._ledger = MemoryNotificationLedger(store, notification_table, incidents)
        self.notifications = self._ledger
        self.silences = MemorySilenceRepository(silence_table)
        self.overrides = MemoryOverrideRepository(store, override_table)
        self._escalations = MemoryManualEscalationRepository(store, escalation_table, incidents)
        self.escalations = self._escalations
        run_table = _Table(store.runbook_runs, store.lock)
        step_table = _Table(store.runbook_steps, store.lock)
        action_table = _Table(store.actions, store.lock)
        approval_table = _Table(store.approvals, store.lock)
        self.runbooks = MemoryRunbookRepository(store, run_table, step_table, incidents)
        self.actions = MemoryActionRepository(store, action_table, approval_table)
        self._commits = [
            run_table.commit,
            step_table.commit,
            action_table.commit,
            approval_table.commit,
            incident_table.commit,
            timeline_table.commit,
            alert_table.commit,
            node_table.commit,
            audit_table.commit,
            ingest_table.commit,
            notification_table.commit,
            silence_table.commit,
            override_table.commit,
            escalation_table.commit,
        ]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._commits = []
        if self._ledger is not None:
            self._ledger.end()
            self._ledger = None
        if self._escalations is not None:
            self._escalations.end()
            self._escalations = None

    def commit(self) -> None:
        """Make every write since ``__enter__`` visible to other units of work."""
        with self._store.lock:
            for commit_table in self._commits:
                commit_table()
