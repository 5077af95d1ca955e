import pytest

from bot.core.absence import (
    FLEET_LABELS,
    NO_METRICS_RULE,
    NOT_REPORTING_RULE,
    PARTITION_RULE,
    AbsenceRule,
    AbsenceTracker,
)
from bot.core.alerts import Level, TransitionKind
from bot.core.delivery import Notify
from bot.core.incidents import Severity
from bot.core.signals import Event


def heartbeat(node: str, interval_s: str = "2.0") -> Event:
    return Event("heartbeat", 0.0, labels=(("node", node),), attrs=(("interval_s", interval_s),))


def push(tracker: AbsenceTracker, node: str, now: float, *, interval_s: str = "2.0") -> None:
    """One ordinary agent batch: samples plus a heartbeat."""
    tracker.reported(node, now, samples=10)
    tracker.observe(heartbeat(node, interval_s), now=now)


def kinds(transitions) -> list[tuple[str, str, str]]:
    return [(t.kind.value, t.alert.rule, t.alert.label("node")) for t in transitions]


@pytest.mark.parametrize(
    ("interval_s", "quiet_tick", "silent_tick"),
    [
        ("2.0", 6.0, 6.1),  # three intervals of 2 s
        ("10", 30.0, 30.5),
        ("bogus", 45.0, 45.5),  # unreadable interval: the default 15 s applies
    ],
)
def test_node_silent_for_three_of_its_intervals_is_not_reporting(
    interval_s, quiet_tick, silent_tick
):
    tracker = AbsenceTracker()
    push(tracker, "n1", 0.0, interval_s=interval_s)
    assert tracker.tick(quiet_tick) == []
    (transition,) = tracker.tick(silent_tick)
    assert kinds([transition]) == [("fired", NOT_REPORTING_RULE, "n1")]
    assert transition.alert.labels == (("node", "n1"),)
    assert transition.alert.level is Level.CRIT
    assert transition.alert.started_at == 0.0
    assert tracker.tick(silent_tick + 100) == []  # fires once, not every tick


def test_each_node_uses_its_own_interval():
    tracker = AbsenceTracker(AbsenceRule(partition_window_s=1.0))
    push(tracker, "fast", 0.0, interval_s="2")
    push(tracker, "slow", 5.0, interval_s="10")
    assert kinds(tracker.tick(7.0)) == [("fired", NOT_REPORTING_RULE, "fast")]
    assert tracker.tick(35.0) == []
    assert kinds(tracker.tick(35.5)) == [("fired", NOT_REPORTING_RULE, "slow")]


def test_node_that_reports_again_resolves():
    tracker = AbsenceTracker()
    push(tracker, "n1", 0.0)
    tracker.tick(10.0)
    push(tracker, "n1", 12.0)
    (transition,) = tracker.tick(12.5)
    assert transition.kind is TransitionKind.RESOLVED
    assert transition.alert.rule == NOT_REPORTING_RULE
    assert tracker.firing() == ()


def test_node_down_pages_but_a_silent_agent_on_a_live_node_only_posts():
    tracker = AbsenceTracker()
    push(tracker, "n1", 0.0)
    tracker.seen("n1", 8.0, up=True)  # Prometheus still scrapes the node's exporter
    (warn,) = tracker.tick(10.0)
    assert (warn.kind, warn.alert.level) == (TransitionKind.FIRED, Level.WARN)
    assert "agent silent" in warn.alert.summary
    assert tracker.delivery(warn.alert).notify is Notify.POST
    tracker.seen("n1", 12.0, up=False)  # now the node is down for Prometheus too
    (crit,) = tracker.tick(13.0)
    assert (crit.kind, crit.alert.level) == (TransitionKind.ESCALATED, Level.CRIT)
    assert tracker.delivery(crit.alert).pages


def test_outside_evidence_goes_stale_after_the_same_silence_limit():
    tracker = AbsenceTracker()
    push(tracker, "n1", 0.0)
    tracker.seen("n1", 5.0, up=True)
    assert [t.alert.level for t in tracker.tick(10.0)] == [Level.WARN]
    assert [(t.kind, t.alert.level) for t in tracker.tick(11.5)] == [
        (TransitionKind.ESCALATED, Level.CRIT)
    ]


def test_heartbeats_without_metrics_raise_no_metrics_not_not_reporting():
    tracker = AbsenceTracker()
    push(tracker, "n1", 0.0)
    for now in (2.0, 4.0, 6.0, 8.0):  # collectors fail: the agent sends heartbeats only
        tracker.reported("n1", now, samples=0)
        tracker.observe(heartbeat("n1"), now=now)
    (transition,) = tracker.tick(8.0)
    assert kinds([transition]) == [("fired", NO_METRICS_RULE, "n1")]
    assert transition.alert.level is Level.WARN
    assert not tracker.delivery(transition.alert).pages
    push(tracker, "n1", 10.0)
    assert kinds(tracker.tick(10.0)) == [("resolved", NO_METRICS_RULE, "n1")]


def test_a_silent_node_is_not_also_reported_as_without_metrics():
    tracker = AbsenceTracker()
    push(tracker, "n1", 0.0)
    assert kinds(tracker.tick(100.0)) == [("fired", NOT_REPORTING_RULE, "n1")]


def fleet(tracker: AbsenceTracker, size: int, now: float) -> None:
    for i in range(size):
        push(tracker, f"n{i:02d}", now)


def test_nodes_going_silent_together_raise_one_partition_alert():
    tracker = AbsenceTracker()
    fleet(tracker, 10, 0.0)
    for now in (2.0, 4.0, 6.0, 8.0, 10.0):
        for i in range(7):  # n07, n08, n09 fall silent after t=0
            push(tracker, f"n{i:02d}", now)
    transitions = tracker.tick(10.0)
    assert sorted(kinds(transitions)) == [
        ("fired", NOT_REPORTING_RULE, "n07"),
        ("fired", NOT_REPORTING_RULE, "n08"),
        ("fired", NOT_REPORTING_RULE, "n09"),
        ("fired", PARTITION_RULE, ""),
    ]
    (partition,) = [t.alert for t in transitions if t.alert.rule == PARTITION_RULE]
    assert partition.labels == FLEET_LABELS
    assert partition.value == 3
    assert "n07, n08, n09" in partition.summary
    assert tracker.delivery(partition).severity is Severity.P1
    push(tracker, "n07", 12.0)
    push(tracker, "n08", 12.0)
    assert sorted(kinds(tracker.tick(12.0))) == [
        ("resolved", NOT_REPORTING_RULE, "n07"),
        ("resolved", NOT_REPORTING_RULE, "n08"),
        ("resolved", PARTITION_RULE, ""),
    ]


def test_one_silent_node_is_no_partition():
    tracker = AbsenceTracker()
    fleet(tracker, 3, 0.0)
    push(tracker, "n00", 8.0)
    push(tracker, "n01", 8.0)
    assert kinds(tracker.tick(8.0)) == [("fired", NOT_REPORTING_RULE, "n02")]


def test_nodes_silent_since_far_apart_are_no_partition():
    tracker = AbsenceTracker(AbsenceRule(partition_window_s=60.0))
    fleet(tracker, 2, 0.0)
    push(tracker, "n01", 100.0)
    rules = [rule for _, rule, _ in kinds(tracker.tick(200.0))]
    assert rules == [NOT_REPORTING_RULE, NOT_REPORTING_RULE]


@pytest.mark.parametrize(
    ("nodes", "ratio", "fleet_size", "threshold"),
    [
        (2, 0.1, 10, 2),
        (2, 0.1, 500, 2),
        (10, 0.1, 40, 4),  # 10 % of 40 is reached first
        (10, 0.1, 500, 10),
        (10, 0.01, 50, 2),  # never a single node
    ],
)
def test_partition_threshold(nodes, ratio, fleet_size, threshold):
    rule = AbsenceRule(partition_nodes=nodes, partition_ratio=ratio)
    assert rule.partition_threshold(fleet_size) == threshold


def test_forgotten_node_resolves_and_is_no_longer_watched():
    tracker = AbsenceTracker()
    push(tracker, "n1", 0.0)
    tracker.tick(10.0)
    assert kinds(tracker.forget("n1", 20.0)) == [("resolved", NOT_REPORTING_RULE, "n1")]
    assert tracker.tick(100.0) == []


def test_restored_alert_resolves_when_its_node_reports():
    first = AbsenceTracker()
    push(first, "n1", 0.0)
    (fired,) = first.tick(10.0)
    second = AbsenceTracker()
    second.restore(fired.alert)
    push(second, "n1", 50.0)
    assert kinds(second.tick(50.0)) == [("resolved", NOT_REPORTING_RULE, "n1")]


def test_other_events_do_not_count_as_heartbeats():
    tracker = AbsenceTracker()
    tracker.observe(Event("xid", 0.0, labels=(("node", "n1"),)), now=0.0)
    assert tracker.tick(1000.0) == []
