"""Escalation policies and a pure planner of the pages that are due.

A policy pages its levels in order, each level waiting ``wait_s`` for an acknowledgement before
the next is paged, and walks the whole chain ``1 + repeats`` times. An acknowledgement stops
every later timed step; a manual escalation pages the level after the last one paged at once
(even after an ack) and brings the rest of the chain forward. Each step carries an idempotency
key so that the service can compare-and-set "page sent" in the database exactly once.

A :class:`ManualEscalation` records which step someone brought forward and when; replaying the
records in order (``escalated_at``) gives the same plan on every run, so the automatic chain goes
on from the level paged by hand instead of paging it again.

Teams that page by phone get the incident's life mirrored to an outside pager (PagerDuty's
Events API v2): :func:`outside_pages` says which trigger / acknowledge / resolve events are owed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import accumulate

from bot.core.errors import NotFound
from bot.core.incidents import Incident, IncidentStatus, Severity
from bot.core.oncall import Schedule, on_call

ESCALATE = "escalate"  # the permission (rbac.yaml) to escalate by hand


class TargetKind(StrEnum):
    """What a target names."""

    USER = "user"  # a Slack user id
    SCHEDULE = "schedule"  # an on-call schedule's name: whoever is on call when paged
    GROUP = "group"  # a Slack user-group handle


@dataclass(frozen=True, slots=True)
class Target:
    """Who a level pages."""

    kind: TargetKind
    ref: str


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    """Targets paged together, and how long they have to acknowledge before the next level."""

    targets: tuple[Target, ...]
    wait_s: float


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """Ordered levels, walked ``1 + repeats`` times until someone acknowledges."""

    name: str
    levels: tuple[EscalationLevel, ...]
    repeats: int = 0


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """One page: a level of one pass through the chain, and when it is due."""

    incident_id: int
    level: int
    repeat: int
    targets: tuple[Target, ...]
    due: float
    manual: bool = False

    @property
    def key(self) -> str:
        """Idempotency key of this page; the same however often or late it is planned."""
        return f"incident:{self.incident_id}:escalation:{self.level}:{self.repeat}"


@dataclass(frozen=True, slots=True)
class ManualEscalation:
    """Someone brought step (``level``, ``repeat``) forward to ``at`` (the Escalate button)."""

    incident_id: int
    level: int
    repeat: int
    at: float
    actor: str


def plan(
    policy: EscalationPolicy,
    *,
    incident_id: int,
    opened_at: float,
    acknowledged_at: float | None = None,
    escalated_at: Sequence[float] = (),
) -> tuple[EscalationStep, ...]:
    """Every step of the chain that an acknowledgement has not stopped, in order."""
    steps = _replayed(policy, incident_id, opened_at, acknowledged_at, escalated_at)
    return tuple(s for s in steps if s.manual or acknowledged_at is None or s.due < acknowledged_at)


def due(
    policy: EscalationPolicy,
    *,
    incident_id: int,
    opened_at: float,
    now: float,
    acknowledged_at: float | None = None,
    escalated_at: Sequence[float] = (),
) -> tuple[EscalationStep, ...]:
    """The steps due by ``now``; the service pages those whose key it has not yet marked sent."""
    steps = plan(
        policy,
        incident_id=incident_id,
        opened_at=opened_at,
        acknowledged_at=acknowledged_at,
        escalated_at=escalated_at,
    )
    return tuple(s for s in steps if s.due <= now)


def next_manual(
    policy: EscalationPolicy,
    *,
    incident_id: int,
    opened_at: float,
    now: float,
    acknowledged_at: float | None = None,
    escalated_at: Sequence[float] = (),
) -> EscalationStep | None:
    """The step an escalation by hand at ``now`` pages: the first not paged yet (None: none).

    A step that an acknowledgement stopped was never paged, so escalating after an ack pages
    the level after the last one that was paged, not a later one.
    """
    steps = _replayed(policy, incident_id, opened_at, acknowledged_at, escalated_at)
    return next((step for step in steps if not _paged(step, now, acknowledged_at)), None)


def stopped_at(incident: Incident) -> float | None:
    """When timed escalation stopped: the acknowledgement (or any later status change)."""
    if incident.acknowledged_at is not None:
        return incident.acknowledged_at
    return None if incident.status is IncidentStatus.TRIGGERED else incident.updated_at


def recipients(
    targets: Sequence[Target], *, schedules: Mapping[str, Schedule], now: float
) -> tuple[Target, ...]:
    """The targets with each schedule replaced by its user on call at ``now`` (none: dropped)."""
    out: list[Target] = []
    for target in targets:
        if target.kind is not TargetKind.SCHEDULE:
            out.append(target)
            continue
        if target.ref not in schedules:
            msg = f"No on-call schedule is named {target.ref!r}."
            raise NotFound(msg)
        user = on_call(schedules[target.ref], now=now)
        if user is not None:
            out.append(Target(TargetKind.USER, user))
    return tuple(out)


def _timed(policy: EscalationPolicy, incident_id: int, opened_at: float) -> list[EscalationStep]:
    offsets = list(accumulate((level.wait_s for level in policy.levels), initial=0.0))
    return [
        EscalationStep(
            incident_id, index, repeat, level.targets, opened_at + repeat * offsets[-1] + offset
        )
        for repeat in range(policy.repeats + 1)
        for index, (level, offset) in enumerate(zip(policy.levels, offsets, strict=False))
    ]


def _replayed(
    policy: EscalationPolicy,
    incident_id: int,
    opened_at: float,
    acknowledged_at: float | None,
    escalated_at: Sequence[float],
) -> list[EscalationStep]:
    """The timed chain with every escalation by hand applied, in the order they happened."""
    steps = _timed(policy, incident_id, opened_at)
    for at in sorted(escalated_at):
        steps = _escalated(steps, at, acknowledged_at)
    return steps


def _paged(step: EscalationStep, at: float, acknowledged_at: float | None) -> bool:
    """Whether ``step`` was paged by ``at``: due by then and not stopped by an acknowledgement."""
    return step.due <= at and (step.manual or acknowledged_at is None or step.due < acknowledged_at)


def _escalated(
    steps: list[EscalationStep], at: float, acknowledged_at: float | None
) -> list[EscalationStep]:
    """Bring the first step not paged by ``at`` to ``at``, and move the rest with it."""
    upcoming = next(
        (i for i, step in enumerate(steps) if not _paged(step, at, acknowledged_at)), None
    )
    if upcoming is None:
        return steps
    early = steps[upcoming].due - at  # negative for a step an ack stopped: the rest move later
    return [
        *steps[:upcoming],
        replace(steps[upcoming], due=at, manual=True),
        *(replace(step, due=step.due - early) for step in steps[upcoming + 1 :]),
    ]


class PagerAction(StrEnum):
    """What an outside pager is told (PagerDuty's ``event_action``)."""

    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


_PAGER_SEVERITY = {Severity.P1: "critical", Severity.P2: "error", Severity.P3: "warning"}


@dataclass(frozen=True, slots=True)
class OutsidePage:
    """One event for an outside pager; ``dedup_key`` ties an incident's events together."""

    incident_id: int
    action: PagerAction
    dedup_key: str
    summary: str
    severity: str  # critical, error, warning or info
    at: float

    @property
    def key(self) -> str:
        """Idempotency key of this event in the notification ledger."""
        return pager_key(self.incident_id, self.action)


@dataclass(frozen=True, slots=True)
class PagerReceipt:
    """The outside pager's answer: accepted, or refused for good with its reason."""

    accepted: bool
    detail: str = ""


def pager_key(incident_id: int, action: PagerAction) -> str:
    """The ledger key of one outside-pager event of an incident."""
    return f"incident:{incident_id}:pager:{action}"


def outside_pages(
    incident: Incident, *, pages: bool, sent: frozenset[str]
) -> tuple[OutsidePage, ...]:
    """The events the outside pager is owed for ``incident``, in the order to send them.

    Only an incident whose policy pages (``pages``) is triggered, and only while it is open;
    once triggered it is acknowledged when acknowledged and resolved when no longer open. An
    incident resolved before its trigger went out is never sent at all.
    """
    triggered = pager_key(incident.id, PagerAction.TRIGGER) in sent
    owed: list[tuple[PagerAction, float]] = []
    if not triggered and pages and incident.is_open:
        owed.append((PagerAction.TRIGGER, incident.created_at))
        triggered = True
    if triggered and not incident.is_open:
        owed.append((PagerAction.RESOLVE, incident.resolved_at or incident.updated_at))
    elif triggered and incident.acknowledged_at is not None:
        owed.append((PagerAction.ACKNOWLEDGE, incident.acknowledged_at))
    return tuple(
        OutsidePage(
            incident.id,
            action,
            incident.ref,
            f"{incident.ref} ({incident.severity}): {incident.title}",
            _PAGER_SEVERITY[incident.severity],
            at,
        )
        for action, at in owed
        if pager_key(incident.id, action) not in sent
    )
