"""SLA timers: reminders and the breach of each deadline, which are due and which are moot.

Each deadline of :func:`bot.core.policy.deadlines` gets a reminder at every fraction of the
policy's ``reminders`` and a breach at 100 %. Timers are planned from the incident's original
open time and its current severity, so a P-level change re-plans them; each carries an
idempotency key so that the service sends it exactly once. :func:`outcome` says, when a change
first meets the resolve goal (restore, mitigate, root-cause), whether that was within the deadline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from bot.core.incidents import Incident, IncidentStatus, Severity
from bot.core.policy import SlaPolicy, deadlines

ACK = "ack"  # the name policy.deadlines gives the acknowledgement deadline
_MINUTE_S = 60

_S = IncidentStatus
_DONE = frozenset({_S.RESOLVED, _S.CLOSED})
_MET_BY: dict[str, frozenset[IncidentStatus]] = {  # resolve goals and the statuses that meet them
    "restore": _DONE | {_S.MITIGATED},
    "mitigate": _DONE | {_S.MITIGATED},
    "root-cause": _DONE,
}

LEFT = "{span} left"
BREACHED = "breached {span} ago"
BREACHED_JUST_NOW = "breached just now"


class TimerKind(StrEnum):
    """What a timer tells people when it goes off."""

    REMINDER = "reminder"
    BREACH = "breach"


@dataclass(frozen=True, slots=True)
class SlaTimer:
    """One reminder or breach of one deadline of one incident."""

    incident_id: int
    severity: Severity
    deadline: str  # "ack", "restore", "mitigate" or "root-cause"
    fraction: float  # of the time from opening to the deadline; 1.0 is the breach
    due: float
    deadline_due: float

    @property
    def kind(self) -> TimerKind:
        """Reminder before the deadline, breach at it."""
        return TimerKind.BREACH if self.fraction >= 1.0 else TimerKind.REMINDER

    @property
    def key(self) -> str:
        """Idempotency key; a severity change gives the re-planned timers new keys."""
        percent = round(self.fraction * 100)
        return f"incident:{self.incident_id}:sla:{self.severity}:{self.deadline}:{percent}"


def timers(policy: SlaPolicy, incident: Incident) -> tuple[SlaTimer, ...]:
    """Every timer of the incident at its current severity, planned from its open time."""
    opened = incident.created_at
    return tuple(
        SlaTimer(
            incident.id,
            incident.severity,
            deadline.name,
            fraction,
            opened + fraction * (deadline.due - opened),
            deadline.due,
        )
        for deadline in deadlines(policy, incident.severity, opened_at=opened)
        for fraction in (*policy.reminders, 1.0)
    )


def is_moot(timer: SlaTimer, incident: Incident) -> bool:
    """Whether the timer no longer matters: its deadline was met or the severity changed."""
    if timer.severity is not incident.severity:
        return True
    if timer.deadline == ACK:
        return incident.acknowledged_at is not None or incident.status is not _S.TRIGGERED
    return incident.status in _MET_BY.get(timer.deadline, _DONE)


def due(policy: SlaPolicy, incident: Incident, *, now: float) -> tuple[SlaTimer, ...]:
    """Live timers due by ``now``: only the latest of each deadline, which supersedes the rest."""
    live = sorted(
        (t for t in timers(policy, incident) if t.due <= now and not is_moot(t, incident)),
        key=lambda t: t.due,
    )
    return tuple({t.deadline: t for t in live}.values())


def next_due(policy: SlaPolicy, incident: Incident, *, now: float) -> float | None:
    """When the next live timer goes off (to wake the scheduler), or None."""
    later = [t.due for t in timers(policy, incident) if t.due > now and not is_moot(t, incident)]
    return min(later, default=None)


@dataclass(frozen=True, slots=True)
class SlaOutcome:
    """How an incident's resolve goal was met: in time or late, and how long it took."""

    severity: Severity
    goal: str  # "restore", "mitigate" or "root-cause"
    limit_s: float  # from opening to the deadline
    took_s: float  # from opening to the change that met the goal

    @property
    def met(self) -> bool:
        """Whether the goal was met by the deadline."""
        return self.took_s <= self.limit_s


def outcome(
    policy: SlaPolicy, before: Incident, after: Incident, *, now: float
) -> SlaOutcome | None:
    """The SLA outcome when the change ``before`` → ``after`` at ``now`` first meets the goal.

    None for a change that does not meet the goal of ``after``'s severity, or that finds it met
    already (resolving a mitigated incident whose goal is to restore service).
    """
    level = policy.of(after.severity)
    meeting = _MET_BY.get(level.resolve_goal, _DONE)
    if after.status not in meeting or before.status in meeting:
        return None
    return SlaOutcome(after.severity, level.resolve_goal, level.resolve_s, now - after.created_at)


def elapsed(seconds: float) -> str:
    """A span for people: "40 s" under a minute, else "3 min", "1 h 5 min", "2 d 3 h"."""
    if seconds < _MINUTE_S:
        return f"{max(0, math.floor(seconds))} s"
    return _span(math.floor(seconds / _MINUTE_S))


def countdown(deadline_due: float, *, now: float) -> str:
    """Time to a deadline for the live message: "12 min left", "breached 3 min ago"."""
    left = deadline_due - now
    if left > 0:
        return LEFT.format(span=_span(math.ceil(left / 60)))
    late = math.floor(-left / 60)
    return BREACHED.format(span=_span(late)) if late else BREACHED_JUST_NOW


def _span(minutes: int) -> str:
    units = ((minutes // 1440, "d"), (minutes // 60 % 24, "h"), (minutes % 60, "min"))
    first = next((i for i, (n, _) in enumerate(units) if n), len(units) - 1)
    return " ".join(f"{n} {unit}" for n, unit in units[first : first + 2] if n)
