"""Escalation policies and a pure planner of the pages that are due.

A policy pages its levels in order, each level waiting ``wait_s`` for an acknowledgement before
the next is paged, and walks the whole chain ``1 + repeats`` times. An acknowledgement stops
every later timed step; a manual escalation pages the next level at once (even after an ack) and
brings the rest of the chain forward. Each step carries an idempotency key so that the service
can compare-and-set "page sent" in the database exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import accumulate

from bot.core.errors import NotFound
from bot.core.oncall import Schedule, on_call


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


def plan(
    policy: EscalationPolicy,
    *,
    incident_id: int,
    opened_at: float,
    acknowledged_at: float | None = None,
    escalated_at: Sequence[float] = (),
) -> tuple[EscalationStep, ...]:
    """Every step of the chain that an acknowledgement has not stopped, in order."""
    steps = _timed(policy, incident_id, opened_at)
    for at in sorted(escalated_at):
        steps = _escalated(steps, at)
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


def _escalated(steps: list[EscalationStep], at: float) -> list[EscalationStep]:
    """Bring the first step not yet due at ``at`` forward to ``at``, and the rest with it."""
    upcoming = next((i for i, step in enumerate(steps) if step.due > at), None)
    if upcoming is None:
        return steps
    early = steps[upcoming].due - at
    return [
        *steps[:upcoming],
        replace(steps[upcoming], due=at, manual=True),
        *(replace(step, due=step.due - early) for step in steps[upcoming + 1 :]),
    ]
