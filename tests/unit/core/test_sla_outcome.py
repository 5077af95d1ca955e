"""The SLA outcome of the change that first meets an incident's resolve goal."""

from __future__ import annotations

import pytest

from bot.core.incidents import Incident, IncidentAction, IncidentStatus, Severity, apply
from bot.core.policy import SeverityPolicy, SlaPolicy
from bot.core.sla import SlaOutcome, elapsed, outcome

SLA = SlaPolicy(
    (
        SeverityPolicy(Severity.P1, "down", 300, 1800, "restore", "fail over"),
        SeverityPolicy(Severity.P2, "slow", 900, 3600, "mitigate", "scale out"),
        SeverityPolicy(Severity.P3, "warn", 3600, 86400, "root-cause", "find the cause"),
    )
)
OPENED = 1000.0
_A = IncidentAction


def incident(severity: Severity) -> Incident:
    return Incident(7, "vLLM down", severity, IncidentStatus.TRIGGERED, "model:m", OPENED, OPENED)


def moved(before: Incident, action: IncidentAction, at: float) -> SlaOutcome | None:
    return outcome(SLA, before, apply(before, action, actor="U1", now=OPENED + at), now=OPENED + at)


def test_mitigating_a_p1_in_four_minutes_meets_its_restore_deadline():
    met = moved(incident(Severity.P1), _A.MITIGATE, 240)

    assert met == SlaOutcome(Severity.P1, "restore", 1800, 240)
    assert met.met


def test_mitigating_after_the_deadline_misses_it():
    met = moved(incident(Severity.P2), _A.MITIGATE, 3601)

    assert met is not None
    assert (met.goal, met.met) == ("mitigate", False)


@pytest.mark.parametrize("severity", [Severity.P1, Severity.P2])
def test_resolving_what_was_mitigated_already_records_nothing_more(severity):
    mitigated = apply(incident(severity), _A.MITIGATE, actor="U1", now=OPENED + 60)

    assert moved(mitigated, _A.RESOLVE, 120) is None


def test_a_root_cause_goal_is_met_by_resolving_not_by_mitigating():
    p3 = incident(Severity.P3)
    mitigated = apply(p3, _A.MITIGATE, actor="U1", now=OPENED + 60)

    assert moved(p3, _A.MITIGATE, 60) is None
    assert moved(mitigated, _A.RESOLVE, 600) == SlaOutcome(Severity.P3, "root-cause", 86400, 600)


def test_acknowledging_meets_no_resolve_goal():
    assert moved(incident(Severity.P1), _A.ACKNOWLEDGE, 30) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (42.9, "42 s"), (60, "1 min"), (1799, "29 min"), (3900, "1 h 5 min")],
)
def test_elapsed_reads_in_seconds_under_a_minute_then_in_minutes(seconds, text):
    assert elapsed(seconds) == text
