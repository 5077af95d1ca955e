"""Incidents: severity, status and the transition table that governs status changes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from bot.core.errors import InvalidTransition


class Severity(StrEnum):
    """P-levels from the seed: P1 model unavailable, P2 performance down, P3 warning."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


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
        changed = replace(changed, acknowledged_by=actor, acknowledged_at=now)
    if target is IncidentStatus.RESOLVED:
        changed = replace(changed, resolved_at=now)
    return changed


def _past(action: IncidentAction) -> str:
    return {
        IncidentAction.ACKNOWLEDGE: "acknowledged",
        IncidentAction.MITIGATE: "marked mitigated",
        IncidentAction.RESOLVE: "resolved",
        IncidentAction.CLOSE: "closed",
        IncidentAction.REOPEN: "reopened",
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
    """Who did what to which target, for the security log."""

    at: float
    actor: str
    action: str
    target: str
    detail: str = ""
    id: int | None = None


class NotificationState(StrEnum):
    """Where a side effect of a timer stands: claimed and being sent, or sent."""

    SENDING = "sending"
    SENT = "sent"


@dataclass(frozen=True, slots=True)
class Notification:
    """One side effect that must happen once (a reminder, a breach, a page), by its key."""

    key: str  # the idempotency key of the SLA timer or escalation step
    incident_id: int
    kind: str  # "reminder", "breach" or "page"
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
