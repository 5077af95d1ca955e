"""Incident reports over a window: count, MTTA, MTTR, SLA compliance and availability.

Incidents count towards a window if they were opened in it. Availability of a service (an
incident's group key) is ``1 - downtime / window``, where downtime is the union of its P1
incidents' open intervals within the window; an unresolved P1 is down until the window's end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import fmean

from bot.core.incidents import Incident, Severity
from bot.core.policy import Deadline, SlaPolicy, deadlines


@dataclass(frozen=True, slots=True)
class Figures:
    """Figures for a set of incidents; a share is None where no deadline was decided yet."""

    count: int
    mtta_s: float | None
    mttr_s: float | None
    ack_met: float | None  # share of decided ack deadlines met
    resolve_met: float | None  # share of decided restore / mitigate / root-cause deadlines met


@dataclass(frozen=True, slots=True)
class Report:
    """Figures for a window, overall and per severity, and availability per service."""

    start: float
    end: float
    overall: Figures
    by_severity: tuple[tuple[Severity, Figures], ...]
    availability: tuple[tuple[str, float], ...]  # (service, ratio 0-1), by service


def report(incidents: Iterable[Incident], *, policy: SlaPolicy, start: float, end: float) -> Report:
    """The report for the window from ``start`` to ``end``."""
    every = list(incidents)
    opened = [i for i in every if start <= i.created_at < end]
    return Report(
        start=start,
        end=end,
        overall=figures(opened, policy=policy, end=end),
        by_severity=tuple(
            (s, figures([i for i in opened if i.severity is s], policy=policy, end=end))
            for s in Severity
        ),
        availability=availability(every, start=start, end=end),
    )


def figures(incidents: Sequence[Incident], *, policy: SlaPolicy, end: float) -> Figures:
    """Count, mean times and deadline compliance of ``incidents`` as of ``end``."""
    outcomes = [_outcomes(i, policy, end) for i in incidents]
    return Figures(
        count=len(incidents),
        mtta_s=_mean(a - i.created_at for i in incidents if (a := i.acknowledged_at) is not None),
        mttr_s=_mean(r - i.created_at for i in incidents if (r := _resolved_at(i)) is not None),
        ack_met=_share(ack for ack, _ in outcomes),
        resolve_met=_share(goal for _, goal in outcomes),
    )


def availability(
    incidents: Iterable[Incident], *, start: float, end: float
) -> tuple[tuple[str, float], ...]:
    """Per service named by an incident's group key: the share of the window it was up."""
    down: dict[str, list[tuple[float, float]]] = {}
    for incident in incidents:
        intervals = down.setdefault(incident.group_key, [])
        until = _resolved_at(incident)
        begin, finish = max(incident.created_at, start), min(end if until is None else until, end)
        if incident.severity is Severity.P1 and begin < finish:
            intervals.append((begin, finish))
    return tuple((key, 1.0 - _union(down[key]) / (end - start)) for key in sorted(down))


def _outcomes(incident: Incident, policy: SlaPolicy, end: float) -> tuple[bool | None, bool | None]:
    ack, goal = deadlines(policy, incident.severity, opened_at=incident.created_at)
    resolved = _resolved_at(incident)
    handled = min((t for t in (incident.acknowledged_at, resolved) if t is not None), default=None)
    return _met(handled, ack, end), _met(resolved, goal, end)


def _met(done: float | None, deadline: Deadline, end: float) -> bool | None:
    """Met, breached, or None while the deadline is still ahead and not yet met."""
    if done is not None and done <= deadline.due:
        return True
    return False if deadline.due <= end else None


def _resolved_at(incident: Incident) -> float | None:
    return None if incident.is_open else incident.resolved_at


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return fmean(items) if items else None


def _share(outcomes: Iterable[bool | None]) -> float | None:
    return _mean(float(o) for o in outcomes if o is not None)


def _union(intervals: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for begin, finish in sorted(intervals):
        total += max(0.0, finish - max(begin, reach))
        reach = max(reach, finish)
    return total
