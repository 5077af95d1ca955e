from dataclasses import replace

import pytest

from bot.core.alerts import Alert, AlertState, Level
from bot.core.incidents import Incident, IncidentStatus, Severity
from bot.core.policy import SeverityPolicy, SlaPolicy
from bot.core.reports import (
    Figures,
    as_record,
    availability,
    compare,
    duration_text,
    figures,
    report,
    service_of,
    share_text,
)

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


def test_mitigation_restores_service_for_mttr_availability_and_a_mitigate_deadline():
    mitigated = replace(
        inc(1, Severity.P1, "node:a", 0, acked=60, status=IncidentStatus.MITIGATED),
        mitigated_at=600,
    )
    assert figures([mitigated], policy=SLA, end=END).mttr_s == 600.0
    assert dict(availability([mitigated], start=START, end=END)) == {"node:a": 0.94}


def test_a_root_cause_deadline_is_met_only_by_resolution():
    p3 = replace(
        inc(1, Severity.P3, "node:a", 0, acked=60, status=IncidentStatus.MITIGATED),
        mitigated_at=600,
    )
    assert figures([p3], policy=SLA, end=100_000).resolve_met == 0.0  # 86400 s passed


def test_a_merged_duplicate_counts_nowhere():
    duplicate = replace(inc(9, Severity.P1, "node:z", 100), merged_into=1)
    result = report([*INCIDENTS, duplicate], policy=SLA, start=START, end=END)
    assert result.overall.count == 4
    assert "node:z" not in dict(result.availability)


def test_services_group_incidents_and_the_fleet_is_down_when_any_service_is():
    services = {1: "deepseek", 2: "deepseek", 4: "llama"}
    result = report(INCIDENTS, policy=SLA, start=START, end=END, services=services)
    assert dict(result.availability)["deepseek"] == pytest.approx(0.71)
    assert dict(result.availability)["llama"] == pytest.approx(0.9)
    # a [100, 3000] and e [0, 500] overlap, then c [9000, 10000]: 4000 s of 10000 down
    assert result.fleet_availability == pytest.approx(0.6)


def test_the_service_is_the_deployment_or_model_else_the_group_key():
    def alert(**labels: str) -> Alert:
        return Alert("f", "r", tuple(labels.items()), AlertState.FIRING, Level.WARN, 1.0, 0)

    by_node = inc(1, Severity.P1, "node:a", 0)
    assert service_of(inc(1, Severity.P1, "deployment:deepseek", 0), []) == "deepseek"
    assert service_of(inc(1, Severity.P1, "model:deepseek-v3", 0), []) == "deepseek-v3"
    assert service_of(inc(1, Severity.P1, "model:", 0), []) == "model:"
    assert service_of(by_node, [alert(deployment="llama", node="a"), alert(node="a")]) == "llama"
    assert service_of(by_node, [alert(deployment="llama"), alert(deployment="qwen")]) == "node:a"
    assert service_of(by_node, []) == "node:a"


def test_compare_reports_the_window_and_the_one_before():
    day = 86400.0
    incidents = [
        inc(1, Severity.P2, "node:a", 1 * day, acked=1 * day + 47 * 60, resolved=2 * day),
        inc(2, Severity.P2, "node:a", 8 * day, acked=8 * day + 8 * 60, resolved=8 * day + 600),
    ]
    result = compare(incidents, policy=SLA, days=7, now=14 * day)
    assert (result.current.start, result.current.end) == (7 * day, 14 * day)
    assert (result.previous.start, result.previous.end) == (0.0, 7 * day)
    assert (result.current.overall.mtta_s, result.previous.overall.mtta_s) == (480.0, 2820.0)
    record = as_record(result)
    assert record["days"] == 7
    assert record["current"]["by_severity"]["P2"]["count"] == 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "n/a"),
        (45, "45 s"),
        (480, "8 min"),
        (2820, "47 min"),
        (9000, "2.5 h"),
        (3e5, "3.5 d"),
    ],
)
def test_durations_read_in_a_sensible_unit(seconds, text):
    assert duration_text(seconds, none="n/a") == text


def test_shares_read_as_percentages():
    assert share_text(0.9997, none="n/a", digits=2) == "99.97 %"
    assert share_text(0.5, none="n/a") == "50 %"
    assert share_text(None, none="n/a") == "n/a"
