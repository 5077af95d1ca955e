import pytest

from bot.core.incidents import Incident, IncidentStatus, Severity
from bot.core.policy import SeverityPolicy, SlaPolicy
from bot.core.reports import Figures, availability, figures, report

SLA = SlaPolicy(
    (
        SeverityPolicy(Severity.P1, "down", 300, 1800, "restore", "fail over"),
        SeverityPolicy(Severity.P2, "slow", 900, 3600, "mitigate", "scale out"),
        SeverityPolicy(Severity.P3, "warn", 3600, 86400, "root-cause", "find the cause"),
    )
)
START, END = 0.0, 10_000.0


def inc(
    id_: int,
    severity: Severity,
    group: str,
    opened: float,
    *,
    acked: float | None = None,
    resolved: float | None = None,
    status: IncidentStatus | None = None,
) -> Incident:
    if status is None:
        status = IncidentStatus.RESOLVED if resolved is not None else IncidentStatus.TRIGGERED
    return Incident(
        id_,
        f"incident {id_}",
        severity,
        status,
        group,
        opened,
        opened,
        acknowledged_at=acked,
        resolved_at=resolved,
    )


INCIDENTS = [
    inc(1, Severity.P1, "node:a", 100, acked=200, resolved=1000),  # both deadlines met
    inc(2, Severity.P1, "node:a", 500, acked=1000, resolved=3000),  # both breached
    inc(3, Severity.P2, "node:b", 2000, acked=2300, resolved=4000),  # both met
    inc(4, Severity.P1, "node:c", 9000),  # ack breached, restore deadline still ahead
    inc(5, Severity.P1, "node:e", -1000, resolved=500),  # opened before the window
]


def test_overall_figures_count_incidents_opened_in_the_window():
    overall = report(INCIDENTS, policy=SLA, start=START, end=END).overall
    assert overall == Figures(
        count=4, mtta_s=300.0, mttr_s=1800.0, ack_met=0.5, resolve_met=pytest.approx(2 / 3)
    )


def test_figures_per_severity_include_empty_levels():
    by_severity = dict(report(INCIDENTS, policy=SLA, start=START, end=END).by_severity)
    assert by_severity[Severity.P1] == Figures(3, 300.0, 1700.0, pytest.approx(1 / 3), 0.5)
    assert by_severity[Severity.P2] == Figures(1, 300.0, 2000.0, 1.0, 1.0)
    assert by_severity[Severity.P3] == Figures(0, None, None, None, None)


def test_availability_is_one_minus_the_union_of_p1_downtime_per_service():
    assert dict(availability(INCIDENTS, start=START, end=END)) == {
        "node:a": pytest.approx(0.71),  # [100, 1000] and [500, 3000] overlap: 2900 s down
        "node:b": 1.0,  # only a P2
        "node:c": pytest.approx(0.9),  # still open: down until the window's end
        "node:e": pytest.approx(0.95),  # clipped to the window
    }


def test_resolving_before_the_ack_deadline_counts_as_handled_in_time():
    quiet = [inc(1, Severity.P1, "node:a", 0, resolved=200)]
    assert figures(quiet, policy=SLA, end=END) == Figures(1, None, 200.0, 1.0, 1.0)


def test_a_reopened_incident_is_unresolved_again():
    reopened = inc(
        1, Severity.P1, "node:a", 0, acked=10, resolved=100, status=IncidentStatus.TRIGGERED
    )
    assert figures([reopened], policy=SLA, end=END).mttr_s is None
    assert dict(availability([reopened], start=START, end=END)) == {"node:a": 0.0}
