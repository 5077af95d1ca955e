"""Incidents: severity, status, the transition table that governs status changes, and edits.

Status changes go through :data:`TRANSITIONS` (:func:`apply`, :func:`merge`). The other changes a
responder makes are pure functions too: :func:`change_severity`, :func:`assign`. Each returns the
incident with ``version`` bumped, for a compare-and-set save; each refuses what makes no sense
with :class:`~bot.core.errors.UserError` (or :class:`InvalidTransition`) saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from bot import messages
from bot.core.errors import InvalidTransition, UserError


class Severity(StrEnum):
    """P-levels from the seed: P1 model unavailable, P2 performance down, P3 warning."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"

    def outranks(self, other: Severity) -> bool:
        """Whether this level is more urgent than ``other`` (P1 outranks P2 and P3)."""
        return self.value < other.value


class IncidentStatus(StrEnum):
    """Where an incident is in its life."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"


class IncidentAction(StrEnum):
    """What a responder (or the bot) can do to an incident's status."""

    ACKNOWLEDGE = "acknowledge"
    MITIGATE = "mitigate"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    MERGE = "merge"  # closes a duplicate; see :func:`merge`


class IncidentChange(StrEnum):
    """Changes that are not status changes; with IncidentAction, the names rbac.yaml grants."""

    DECLARE = "declare"
    SEVERITY = "severity"
    ASSIGN = "assign"
    NOTE = "note"


_S, _A = IncidentStatus, IncidentAction
TRANSITIONS: dict[tuple[IncidentStatus, IncidentAction], IncidentStatus] = {
    (_S.TRIGGERED, _A.ACKNOWLEDGE): _S.ACKNOWLEDGED,
    (_S.TRIGGERED, _A.MITIGATE): _S.MITIGATED,
    (_S.TRIGGERED, _A.RESOLVE): _S.RESOLVED,
    (_S.ACKNOWLEDGED, _A.MITIGATE): _S.MITIGATED,
    (_S.ACKNOWLEDGED, _A.RESOLVE): _S.RESOLVED,
    (_S.MITIGATED, _A.RESOLVE): _S.RESOLVED,
    (_S.RESOLVED, _A.CLOSE): _S.CLOSED,
    (_S.RESOLVED, _A.REOPEN): _S.TRIGGERED,
    (_S.MITIGATED, _A.REOPEN): _S.TRIGGERED,
    (_S.TRIGGERED, _A.MERGE): _S.CLOSED,
    (_S.ACKNOWLEDGED, _A.MERGE): _S.CLOSED,
    (_S.MITIGATED, _A.MERGE): _S.CLOSED,
}

OPEN_STATUSES = frozenset({_S.TRIGGERED, _S.ACKNOWLEDGED, _S.MITIGATED})


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident as the domain sees it; ``version`` guards compare-and-set updates."""

    id: int
    title: str
    severity: Severity
    status: IncidentStatus
    group_key: str
    created_at: float
    updated_at: float
    version: int = 1
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    resolved_at: float | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None
    owner: str | None = None  # who leads the response; the first to acknowledge if unset
    declared_by: str | None = None  # None: opened by an alert
    description: str = ""
    mitigated_at: float | None = None
    closed_at: float | None = None
    merged_into: int | None = None  # the incident this duplicate was merged into

    @property
    def ref(self) -> str:
        """The short name people use: ``INC-42``."""
        return f"INC-{self.id}"

    @property
    def is_open(self) -> bool:
        """Whether the incident still needs attention."""
        return self.status in OPEN_STATUSES


def apply(incident: Incident, action: IncidentAction, *, actor: str, now: float) -> Incident:
    """Return the incident after ``action``; raise InvalidTransition if the table forbids it."""
    target = TRANSITIONS.get((incident.status, action))
    if target is None:
        msg = f"{incident.ref} is {incident.status}; it cannot be {_past(action)}."
        raise InvalidTransition(msg)
    changed = replace(incident, status=target, updated_at=now, version=incident.version + 1)
    if action is IncidentAction.ACKNOWLEDGE:
        changed = replace(
            changed, acknowledged_by=actor, acknowledged_at=now, owner=incident.owner or actor
        )
    if action is IncidentAction.REOPEN:
        changed = replace(changed, mitigated_at=None, resolved_at=None)
    if target is IncidentStatus.MITIGATED:
        changed = replace(changed, mitigated_at=now)
    if target is IncidentStatus.RESOLVED:
        changed = replace(changed, resolved_at=now)
    if target is IncidentStatus.CLOSED:
        changed = replace(changed, closed_at=now)
    return changed


def merge(duplicate: Incident, into: Incident, *, actor: str, now: float) -> Incident:
    """Close ``duplicate`` as merged into ``into``, which must be another open incident."""
    if duplicate.id == into.id:
        raise UserError(messages.MERGE_SELF.format(ref=duplicate.ref))
    if not into.is_open:
        raise UserError(messages.MERGE_TARGET_NOT_OPEN.format(ref=into.ref, status=into.status))
    closed = apply(duplicate, IncidentAction.MERGE, actor=actor, now=now)
    return replace(closed, merged_into=into.id)


def change_severity(incident: Incident, severity: Severity, *, now: float) -> Incident:
    """The incident at another P-level (its SLA timers are re-planned from that)."""
    _refuse_if_closed(incident, "change its severity")
    if severity is incident.severity:
        raise UserError(messages.ALREADY_SEVERITY.format(ref=incident.ref, severity=severity))
    return replace(incident, severity=severity, updated_at=now, version=incident.version + 1)


def raised_by_alert(incident: Incident, severity: Severity, *, now: float) -> Incident | None:
    """The open incident at ``severity`` if an alert of that level outranks it, else None.

    A worse alert joining an incident raises it (never lowers it: people lower it by hand).
    """
    if incident.status not in OPEN_STATUSES or not severity.outranks(incident.severity):
        return None
    return change_severity(incident, severity, now=now)


def assign(incident: Incident, owner: str, *, now: float) -> Incident:
    """The incident with ``owner`` (a Slack user id) leading the response."""
    _refuse_if_closed(incident, "reassign it")
    if owner == incident.owner:
        raise UserError(messages.ALREADY_OWNER.format(user=owner, ref=incident.ref))
    return replace(incident, owner=owner, updated_at=now, version=incident.version + 1)


def _refuse_if_closed(incident: Incident, what: str) -> None:
    if incident.status is IncidentStatus.CLOSED:
        raise InvalidTransition(messages.TOO_LATE_CLOSED.format(ref=incident.ref, what=what))


def _past(action: IncidentAction) -> str:
    return {
        IncidentAction.ACKNOWLEDGE: "acknowledged",
        IncidentAction.MITIGATE: "marked mitigated",
        IncidentAction.RESOLVE: "resolved",
        IncidentAction.CLOSE: "closed",
        IncidentAction.REOPEN: "reopened",
        IncidentAction.MERGE: "merged into another incident",
    }[action]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One fact about an incident; the timeline is append-only."""

    incident_id: int
    at: float
    kind: str
    text: str
    actor: str = "gpuwarden"
    data: tuple[tuple[str, str], ...] = ()
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did what to which target, for the security log.

    Stored rows are hash-chained (``bot.core.audit``): the repository fills ``prev_hash`` and
    ``hash`` on append.
    """

    at: float
    actor: str
    action: str
    target: str
    detail: str = ""
    id: int | None = None
    prev_hash: str = ""
    hash: str = ""


class NotificationState(StrEnum):
    """Where a side effect of a timer stands: claimed and being sent, or sent."""

    SENDING = "sending"
    SENT = "sent"


@dataclass(frozen=True, slots=True)
class Notification:
    """One side effect that must happen once (a reminder, a breach, a page), by its key."""

    key: str  # the idempotency key of the SLA timer, escalation step or weekly report
    incident_id: int | None  # None for the weekly report
    kind: str  # "reminder", "breach", "page" or "report"
    state: NotificationState
    due_at: float
    claimed_at: float
    sent_at: float | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Node:
    """A GPU node whose agent reports to the bot."""

    name: str
    last_seen: float
    agent_version: str = ""
    gpu_count: int = 0
