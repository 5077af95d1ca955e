"""Incident reports over a window: count, MTTA, MTTR, SLA compliance and availability.

Definitions, all computed from the incidents themselves:

- An incident counts towards a window if it was opened in it; a duplicate merged into another
  incident does not count at all.
- MTTA: mean time from opening to the first acknowledgement. MTTR: mean time from opening to
  restoring service, the earlier of mitigation and resolution.
- SLA compliance per severity: the share of decided deadlines that were met. The ack deadline
  is met by an acknowledgement (or restoration) in time; a ``restore`` or ``mitigate`` deadline
  by mitigation or resolution in time; a ``root-cause`` deadline by resolution in time. A
  deadline still ahead and not yet met is undecided and left out.
- Service: the deployment an incident is about (a ``deployment:`` group key, or the
  ``deployment`` label its alerts agree on, see :func:`service_of`), else its group key (such as
  ``node:gpu-node-2``).
- Availability of a service: ``1 - downtime / window``, where downtime is the union of its P1
  incidents' intervals from opening to restoration within the window; a P1 not yet restored is
  down until the window's end. The fleet's availability counts a moment as down when any
  service is down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean

from bot.core.alerts import Alert
from bot.core.grouping import served_by
from bot.core.incidents import Incident, IncidentStatus, Severity
from bot.core.policy import Deadline, SlaPolicy, deadlines

DAY_S = 86400.0
_NOT_RESTORED = frozenset({IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED})


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
    fleet_availability: float = 1.0  # share of the window in which no service was down


@dataclass(frozen=True, slots=True)
class Comparison:
    """A report of the last ``days`` days beside the ``days`` before, as every view shows it."""

    days: int
    current: Report
    previous: Report
    complete: bool = True  # False: the incidents were capped, older ones left out


def compare(
    incidents: Iterable[Incident],
    *,
    policy: SlaPolicy,
    days: int,
    now: float,
    services: Mapping[int, str] | None = None,
    complete: bool = True,
) -> Comparison:
    """The report of the last ``days`` days up to ``now`` and of the ``days`` before."""
    every, span = list(incidents), days * DAY_S
    return Comparison(
        days=days,
        current=report(every, policy=policy, start=now - span, end=now, services=services),
        previous=report(
            every, policy=policy, start=now - 2 * span, end=now - span, services=services
        ),
        complete=complete,
    )


def as_record(comparison: Comparison) -> dict[str, object]:
    """The comparison as JSON-ready data (what the API and ``gpuwarden report`` return)."""
    return {
        "days": comparison.days,
        "complete": comparison.complete,
        "current": _report_record(comparison.current),
        "previous": _report_record(comparison.previous),
    }


def duration_text(seconds: float | None, *, none: str) -> str:
    """``45 s``, ``8 min``, ``3.5 h`` or ``2.1 d``; ``none`` for None."""
    if seconds is None:
        return none
    for limit, unit, size in ((90, "s", 1), (5400, "min", 60), (172800, "h", 3600)):
        if seconds < limit:
            return f"{seconds / size:.{0 if unit != 'h' else 1}f} {unit}"
    return f"{seconds / 86400:.1f} d"


def share_text(share: float | None, *, none: str, digits: int = 0) -> str:
    """``98 %`` (or ``99.97 %`` with ``digits=2``); ``none`` for None."""
    return none if share is None else f"{share * 100:.{digits}f} %"


def _report_record(item: Report) -> dict[str, object]:
    return {
        "start": item.start,
        "end": item.end,
        "overall": _figures_record(item.overall),
        "by_severity": {s.value: _figures_record(f) for s, f in item.by_severity},
        "availability": dict(item.availability),
        "fleet_availability": item.fleet_availability,
    }


def _figures_record(item: Figures) -> dict[str, object]:
    return {
        "count": item.count,
        "mtta_s": item.mtta_s,
        "mttr_s": item.mttr_s,
        "ack_met": item.ack_met,
        "resolve_met": item.resolve_met,
    }


def report(
    incidents: Iterable[Incident],
    *,
    policy: SlaPolicy,
    start: float,
    end: float,
    services: Mapping[int, str] | None = None,
) -> Report:
    """The report for the window from ``start`` to ``end``.

    ``services`` names the service of each incident by id (:func:`service_of`); an incident not
    in it is its own group key.
    """
    every = [i for i in incidents if i.merged_into is None]
    opened = [i for i in every if start <= i.created_at < end]
    named = services or {}
    return Report(
        start=start,
        end=end,
        overall=figures(opened, policy=policy, end=end),
        by_severity=tuple(
            (s, figures([i for i in opened if i.severity is s], policy=policy, end=end))
            for s in Severity
        ),
        availability=availability(every, start=start, end=end, services=named),
        fleet_availability=1.0 - _union(_downtime(every, start, end)) / (end - start),
    )


def figures(incidents: Sequence[Incident], *, policy: SlaPolicy, end: float) -> Figures:
    """Count, mean times and deadline compliance of ``incidents`` as of ``end``."""
    outcomes = [_outcomes(i, policy, end) for i in incidents]
    return Figures(
        count=len(incidents),
        mtta_s=_mean(a - i.created_at for i in incidents if (a := i.acknowledged_at) is not None),
        mttr_s=_mean(r - i.created_at for i in incidents if (r := _restored_at(i)) is not None),
        ack_met=_share(ack for ack, _ in outcomes),
        resolve_met=_share(goal for _, goal in outcomes),
    )


def availability(
    incidents: Iterable[Incident],
    *,
    start: float,
    end: float,
    services: Mapping[int, str] | None = None,
) -> tuple[tuple[str, float], ...]:
    """Per service (by default an incident's group key): the share of the window it was up."""
    named = services or {}
    down: dict[str, list[tuple[float, float]]] = {}
    for incident in incidents:
        service = named.get(incident.id, incident.group_key)
        down.setdefault(service, []).extend(_downtime([incident], start, end))
    return tuple((key, 1.0 - _union(down[key]) / (end - start)) for key in sorted(down))


def service_of(incident: Incident, alerts: Iterable[Alert]) -> str:
    """The deployment or model an incident is about, else its group key.

    A ``deployment:NAME`` or ``model:NAME`` group key names it; otherwise the ``deployment``
    label, when every alert of the incident that carries one carries the same.
    """
    served = served_by(incident.group_key)
    if served is not None:
        return served
    labels = {a.label("deployment") for a in alerts} - {""}
    return labels.pop() if len(labels) == 1 else incident.group_key


def _downtime(incidents: Iterable[Incident], start: float, end: float) -> list[tuple[float, float]]:
    """The P1 intervals, from opening to restoration, clipped to the window."""
    intervals = []
    for incident in incidents:
        until = _restored_at(incident)
        begin, finish = max(incident.created_at, start), min(end if until is None else until, end)
        if incident.severity is Severity.P1 and begin < finish:
            intervals.append((begin, finish))
    return intervals


def _outcomes(incident: Incident, policy: SlaPolicy, end: float) -> tuple[bool | None, bool | None]:
    ack, goal = deadlines(policy, incident.severity, opened_at=incident.created_at)
    restored = _restored_at(incident)
    handled = min((t for t in (incident.acknowledged_at, restored) if t is not None), default=None)
    reached = _resolved_at(incident) if goal.name == "root-cause" else restored
    return _met(handled, ack, end), _met(reached, goal, end)


def _met(done: float | None, deadline: Deadline, end: float) -> bool | None:
    """Met, breached, or None while the deadline is still ahead and not yet met."""
    if done is not None and done <= deadline.due:
        return True
    return False if deadline.due <= end else None


def _resolved_at(incident: Incident) -> float | None:
    return None if incident.is_open else incident.resolved_at


def _restored_at(incident: Incident) -> float | None:
    """When service came back: mitigation or resolution, whichever came first (not reopened)."""
    reopened = incident.status in _NOT_RESTORED
    mitigated = None if reopened else incident.mitigated_at
    times = [t for t in (mitigated, _resolved_at(incident)) if t is not None]
    return min(times, default=None)


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
