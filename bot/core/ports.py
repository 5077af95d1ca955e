"""Ports: the interfaces the services need from the outside world.

Adapters in ``bot.adapters`` and ``storage`` implement them; tests use the in-memory versions.
Repositories are used inside a :class:`UnitOfWork`, which commits all of their writes together
or none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol, Self

from bot.core.actions import ActionRequest, Outcome, Plan
from bot.core.alerts import Alert
from bot.core.approvals import ActionRecord, ActionState, Approval
from bot.core.cluster import ClusterEvent, NodeCapacity, PodStatus, RolloutRevision
from bot.core.escalation import ManualEscalation, OutsidePage, PagerReceipt
from bot.core.incidents import (
    AuditEntry,
    Incident,
    IncidentStatus,
    Node,
    Notification,
    Severity,
    TimelineEntry,
)
from bot.core.oncall import ScheduleOverride, UserGroup
from bot.core.reports import Comparison
from bot.core.runbooks import Runbook, RunbookRun, StepRecord
from bot.core.signals import Sample
from bot.core.silences import Silence
from bot.core.triage import Completion
from bot.core.walkthrough import RunView


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

    def chain(self) -> Sequence[AuditEntry]:
        """Every entry, oldest first (to verify the hash chain with ``bot.core.audit``)."""
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

    def claim(
        self, key: str, *, incident_id: int | None, kind: str, due_at: float, now: float
    ) -> bool:
        """Record ``key`` as being sent; False if it was claimed before (skip it).

        ``incident_id`` is None for a side effect of no incident (the weekly report).
        """
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

    def incidents_missing(self, *, sent: str, missing: str) -> list[int]:
        """Ids of incidents with a ``sent`` notification of kind ``sent`` and none of ``missing``.

        A notification of kind ``missing`` counts whether it is sent or still ``sending``.
        """
        ...


class OverrideRepository(Protocol):
    """On-call overrides and swaps made in Slack, laid over the configured schedules."""

    def add(self, override: ScheduleOverride) -> ScheduleOverride:
        """Store an override and return it with its id."""
        ...

    def list(self, *, ending_after: float) -> list[ScheduleOverride]:
        """Overrides that end after ``ending_after``, oldest first (later ones win)."""
        ...


class ManualEscalationRepository(Protocol):
    """Escalation steps brought forward by hand; each step at most once (compare-and-set)."""

    def record(self, escalation: ManualEscalation) -> bool:
        """Store ``escalation``; False if its step was escalated by hand before."""
        ...

    def list(self, incident_ids: Sequence[int]) -> list[ManualEscalation]:
        """The manual escalations of these incidents, oldest first."""
        ...


class SilenceRepository(Protocol):
    """Silences responders created (API, CLI, Slack); kept after they end, for the record."""

    def add(self, silence: Silence) -> Silence:
        """Store a new silence (its id is chosen by the caller) and return it."""
        ...

    def get(self, silence_id: str) -> Silence:
        """The silence with this id; raises NotFound."""
        ...

    def list(self, *, ending_after: float | None = None) -> list[Silence]:
        """Newest first; with ``ending_after``, only those that end later than it."""
        ...

    def save(self, silence: Silence) -> None:
        """Replace the stored silence with the same id (to end it early); raises NotFound."""
        ...


class RunbookRepository(Protocol):
    """Runbook runs of incidents and what happened at their steps."""

    def start(self, run: RunbookRun) -> RunbookRun | None:
        """Store a new run and return it with its id; None if the incident runs it already."""
        ...

    def get(self, run_id: int) -> RunbookRun:
        """The run with this id; raises NotFound."""
        ...

    def for_incident(self, incident_id: int) -> list[RunbookRun]:
        """The runs of one incident, oldest first."""
        ...

    def save(self, run: RunbookRun, *, expected_version: int) -> bool:
        """Write ``run`` only if the stored version is ``expected_version``."""
        ...

    def record(self, step: StepRecord) -> StepRecord:
        """Append what happened at a step; return it with its id."""
        ...

    def steps(self, run_id: int) -> list[StepRecord]:
        """What happened at the steps of one run, oldest first."""
        ...


class ActionRepository(Protocol):
    """Action requests with their frozen plans, and the approvals given to them."""

    def add(self, action: ActionRecord) -> tuple[ActionRecord, bool]:
        """Store a new request (its id assigned); for a known ``key``: (the stored one, False)."""
        ...

    def get(self, action_id: int) -> ActionRecord:
        """The request with this id; raises NotFound."""
        ...

    def save(self, action: ActionRecord, *, expected_version: int) -> bool:
        """Write ``action`` only if the stored version is ``expected_version`` (the claim)."""
        ...

    def in_states(self, states: frozenset[ActionState]) -> list[ActionRecord]:
        """Requests in any of ``states``, oldest first (executing ones after a restart)."""
        ...

    def finished_since(self, since: float) -> list[ActionRecord]:
        """Requests that ran and finished at or after ``since`` (for the guard rails)."""
        ...

    def approve(self, approval: Approval) -> bool:
        """Store a decision; False if this person had decided on this action already."""
        ...

    def approvals(self, action_id: int) -> list[Approval]:
        """The decisions on one action, oldest first."""
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
    silences: SilenceRepository
    overrides: OverrideRepository
    escalations: ManualEscalationRepository
    runbooks: RunbookRepository
    actions: ActionRepository

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


class UserGroups(Protocol):
    """Chat user groups (Slack's): who is in one, and replacing its members."""

    async def find(self, ref: str) -> UserGroup:
        """The group with this handle or id, with its members; raises NotFound or AdapterError."""
        ...

    async def set_users(self, group: UserGroup, users: Sequence[str]) -> None:
        """Make ``users`` the group's whole membership; raises AdapterError."""
        ...


class Pager(Protocol):
    """An outside pager for teams that page by phone (PagerDuty's Events API v2)."""

    async def send(self, page: OutsidePage) -> PagerReceipt:
        """Deliver one event; raises AdapterError when it may be tried again later."""
        ...


class Summarizer(Protocol):
    """An LLM behind an OpenAI-compatible API: text in, text out; no tools, no credentials."""

    model: str

    async def complete(self, *, system: str, user: str, max_tokens: int) -> Completion:
        """One chat completion; raises AdapterError on a timeout, an error or a bad answer."""
        ...


class MetricsSource(Protocol):
    """A metrics store that answers PromQL (Prometheus)."""

    async def query(self, promql: str) -> list[Sample]:
        """One sample per element of the instant vector; raises AdapterError on any failure.

        A sample's metric is the element's ``__name__`` ("" for computed series); its labels are
        the remaining labels.
        """
        ...


class ReportSink(Protocol):
    """Where the weekly incident report is posted (the alerts channel)."""

    async def post_report(self, comparison: Comparison) -> None:
        """Post the report; raises AdapterError if it could not be posted."""
        ...


RangeSeries = tuple[dict[str, str], list[tuple[float, float]]]  # (labels, (time, value) points)


class MetricHistory(Protocol):
    """A metrics store that answers PromQL range queries (Prometheus): what an export charts."""

    source: str  # what the chart's caption names, e.g. "Prometheus"

    async def query_range(
        self, promql: str, *, start: float, end: float, step_s: float
    ) -> list[RangeSeries]:
        """Every series of the range query, labels with ``__name__``; raises AdapterError."""
        ...


class Cluster(Protocol):
    """The Kubernetes cluster the bot remediates (the ``kubernetes`` client, or a fake).

    Deployment and Service targets are ``namespace/name`` (a bare name uses the adapter's
    default namespace); node targets are node names. Writes are conditioned on the plan's
    resourceVersion: a stale one raises Conflict, and the caller must re-plan (and have the new
    plan approved), never re-apply blindly.
    """

    async def plan(self, request: ActionRequest) -> Plan:
        """Observe the target and build the plan, validated by a server-side dry run.

        Raises NotFound (no such target), UserError (the change is not possible, e.g. no
        previous revision) or AdapterError.
        """
        ...

    async def execute(self, plan: Plan) -> Outcome:
        """Apply ``plan`` once, conditioned on its resourceVersion; raises Conflict on 409."""
        ...

    async def verify(self, plan: Plan, *, timeout_s: float) -> Outcome:
        """Wait until the executed change has converged (rollout, readiness, node drained)."""
        ...

    async def observe(self, plan: Plan) -> Outcome:
        """Whether ``plan``'s change is in effect now, without waiting (after a crash)."""
        ...

    async def events(self, target: str, *, limit: int = 20) -> list[ClusterEvent]:
        """Recent events about a Deployment (and its pods) or a node, newest first."""
        ...

    async def pods(self, target: str, *, log_lines: int = 20) -> list[PodStatus]:
        """Status of a Deployment's pods with their last ``log_lines`` log lines (0: none)."""
        ...

    async def rollout_history(self, target: str, *, limit: int = 3) -> list[RolloutRevision]:
        """A Deployment's last ``limit`` revisions, newest first."""
        ...

    async def nodes(self) -> list[NodeCapacity]:
        """All nodes with their GPU capacity, by name."""
        ...


class RunbookBoard(Protocol):
    """Where runbooks are offered and walked through: the incident's thread."""

    async def offer(self, incident: Incident, runbooks: Sequence[Runbook]) -> None:
        """Offer ``runbooks`` (each with a Start button) in the incident's thread."""
        ...

    async def show(self, incident: Incident, view: RunView) -> str | None:
        """Post the run's message in the thread, or update it in place; return its ts.

        None when the incident has no thread yet. Raises AdapterError.
        """
        ...
