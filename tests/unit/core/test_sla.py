from dataclasses import replace

import pytest

from bot.core.incidents import Incident, IncidentAction, IncidentStatus, Severity, apply
from bot.core.policy import SeverityPolicy, SlaPolicy
from bot.core.sla import TimerKind, countdown, due, is_moot, next_due, timers

SLA = SlaPolicy(
    (
        SeverityPolicy(Severity.P1, "down", 300, 1800, "restore", "fail over"),
        SeverityPolicy(Severity.P2, "slow", 900, 3600, "mitigate", "scale out"),
        SeverityPolicy(Severity.P3, "warn", 3600, 86400, "root-cause", "find the cause"),
    )
)
OPENED = 1000.0


def incident(severity: Severity = Severity.P1) -> Incident:
    return Incident(7, "vLLM down", severity, IncidentStatus.TRIGGERED, "node:n1", OPENED, OPENED)


def after(inc: Incident, action: IncidentAction, at: float) -> Incident:
    return apply(inc, action, actor="U1", now=OPENED + at)


def names(found: tuple) -> list[tuple[str, int]]:
    return [(t.deadline, round(t.fraction * 100)) for t in found]


def test_every_deadline_gets_reminders_at_50_and_80_percent_and_a_breach():
    planned = timers(SLA, incident())
    assert [(t.deadline, t.fraction, t.due - OPENED, t.kind) for t in planned] == [
        ("ack", 0.5, 150, TimerKind.REMINDER),
        ("ack", 0.8, 240, TimerKind.REMINDER),
        ("ack", 1.0, 300, TimerKind.BREACH),
        ("restore", 0.5, 900, TimerKind.REMINDER),
        ("restore", 0.8, 1440, TimerKind.REMINDER),
        ("restore", 1.0, 1800, TimerKind.BREACH),
    ]
    assert {t.deadline_due - OPENED for t in planned} == {300, 1800}


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (149, []),
        (150, [("ack", 50)]),
        (240, [("ack", 80)]),  # a later timer supersedes an earlier one not yet sent
        (300, [("ack", 100)]),
        (900, [("ack", 100), ("restore", 50)]),
        (5000, [("ack", 100), ("restore", 100)]),
    ],
)
def test_due_returns_the_latest_timer_of_each_deadline(now, expected):
    assert names(due(SLA, incident(), now=OPENED + now)) == expected


def test_the_ack_deadline_is_moot_once_acknowledged():
    acked = after(incident(), IncidentAction.ACKNOWLEDGE, 100)
    assert names(due(SLA, acked, now=OPENED + 1000)) == [("restore", 50)]


@pytest.mark.parametrize(
    ("severity", "action", "goal_moot"),
    [
        (Severity.P1, IncidentAction.MITIGATE, True),  # service restored
        (Severity.P2, IncidentAction.MITIGATE, True),
        (Severity.P3, IncidentAction.MITIGATE, False),  # the root cause is still unknown
        (Severity.P3, IncidentAction.RESOLVE, True),
    ],
)
def test_the_resolve_deadline_is_moot_once_its_goal_is_met(severity, action, goal_moot):
    done = after(incident(severity), action, 10)
    ack, goal = timers(SLA, done)[2], timers(SLA, done)[5]
    assert is_moot(ack, done)  # a mitigated or resolved incident needs no ack reminder
    assert is_moot(goal, done) is goal_moot


def test_a_reopened_incident_has_its_resolve_deadline_live_again():
    acked = after(incident(), IncidentAction.ACKNOWLEDGE, 5)
    reopened = after(after(acked, IncidentAction.RESOLVE, 10), IncidentAction.REOPEN, 20)
    assert names(due(SLA, reopened, now=OPENED + 2000)) == [("restore", 100)]


def test_a_severity_change_replans_from_the_original_open_time_with_new_keys():
    p3 = incident(Severity.P3)
    p1 = replace(p3, severity=Severity.P1)
    assert names(due(SLA, p1, now=OPENED + 200)) == [("ack", 50)]
    assert all(is_moot(t, p1) for t in timers(SLA, p3))
    assert not {t.key for t in timers(SLA, p3)} & {t.key for t in timers(SLA, p1)}


def test_keys_name_incident_severity_deadline_and_percent():
    assert [t.key for t in timers(SLA, incident())][:3] == [
        "incident:7:sla:P1:ack:50",
        "incident:7:sla:P1:ack:80",
        "incident:7:sla:P1:ack:100",
    ]


def test_next_due_is_the_next_live_timer_for_the_scheduler_to_wake_on():
    assert next_due(SLA, incident(), now=OPENED) == OPENED + 150
    acked = after(incident(), IncidentAction.ACKNOWLEDGE, 100)
    assert next_due(SLA, acked, now=OPENED + 100) == OPENED + 900
    resolved = after(acked, IncidentAction.RESOLVE, 200)
    assert next_due(SLA, resolved, now=OPENED + 200) is None


@pytest.mark.parametrize(
    ("left", "text"),
    [
        (720, "12 min left"),
        (690, "12 min left"),  # rounds up: there are still more than 11 minutes
        (30, "1 min left"),
        (3600, "1 h left"),
        (3900, "1 h 5 min left"),
        (90000, "1 d 1 h left"),
        (0, "breached just now"),
        (-59, "breached just now"),
        (-180, "breached 3 min ago"),
        (-220, "breached 3 min ago"),
        (-7200, "breached 2 h ago"),
    ],
)
def test_countdown_reads_as_time_left_or_time_since_the_breach(left, text):
    assert countdown(5000.0 + left, now=5000.0) == text
