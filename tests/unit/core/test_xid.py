import pytest

from bot.core.alerts import AlertState, Level, TransitionKind
from bot.core.delivery import Delivery, Notify
from bot.core.event_rules import (
    GPU_LOST_RULE,
    LOG_BURST_RULE,
    XID_RULE,
    EventEvaluator,
    EventRules,
)
from bot.core.incidents import Severity
from bot.core.signals import Event
from bot.core.xid import XID_TABLE, XidAction, XidClass, XidInfo, xid_info

_C, _A = XidClass, XidAction
PAGE, POST, RECORD = Notify.PAGE, Notify.POST, Notify.RECORD
RESET = (_A.DRAIN_AND_RESET_GPU, PAGE)

# The XID table as an SRE reads NVIDIA's resolution buckets: code → (class, action, notify).
EXPECTED = {
    8: (_C.APPLICATION, _A.RESTART_APP_ONLY, POST),
    13: (_C.APPLICATION, _A.RESTART_APP_ONLY, POST),
    31: (_C.APPLICATION, _A.RESTART_APP_ONLY, POST),
    43: (_C.APPLICATION, _A.NONE, RECORD),
    45: (_C.APPLICATION, _A.NONE, RECORD),
    46: (_C.DRIVER, *RESET),
    48: (_C.MEMORY_ECC, *RESET),
    54: (_C.POWER, _A.INSPECT, PAGE),
    61: (_C.DRIVER, *RESET),
    62: (_C.DRIVER, *RESET),
    63: (_C.ROW_REMAP, _A.SCHEDULE_GPU_RESET, POST),
    64: (_C.ROW_REMAP, *RESET),
    68: (_C.APPLICATION, _A.RESTART_APP_ONLY, POST),
    74: (_C.NVLINK, *RESET),
    79: (_C.HARDWARE_FATAL, _A.REBOOT_NODE_AND_DRAIN, PAGE),
    92: (_C.MEMORY_ECC, _A.INSPECT, POST),
    94: (_C.CONTAINED_ECC, _A.RESTART_APP_ONLY, POST),
    95: (_C.MEMORY_ECC, *RESET),
    109: (_C.DRIVER, *RESET),
    110: (_C.DRIVER, *RESET),
    119: (_C.DRIVER, *RESET),
    120: (_C.DRIVER, *RESET),
    121: (_C.NVLINK, _A.NONE, RECORD),
    136: (_C.NVLINK, *RESET),
    140: (_C.MEMORY_ECC, *RESET),
    143: (_C.HARDWARE_FATAL, *RESET),
    **dict.fromkeys(range(144, 151), (_C.NVLINK, *RESET)),
    154: (_C.DRIVER, _A.INSPECT, POST),
    155: (_C.NVLINK, *RESET),
}


def xid_event(code: object, ts: float, *, node: str = "n1", gpu: str = "5") -> Event:
    return Event(
        "xid",
        ts,
        labels=(("node", node),),
        attrs=(("gpu", gpu), ("pci", "0000:9b:00"), ("xid", str(code))),
    )


def log_event(ts: float, *, level: str = "ERROR", component: str = "MODEL_INFER") -> Event:
    return Event(
        "log",
        ts,
        labels=(("node", "n1"),),
        message="CUDA out of memory. Tried to allocate 2.00 GiB",
        attrs=(("component", component), ("level", level)),
    )


def test_expected_table_covers_every_code_of_the_xid_table():
    assert set(EXPECTED) == set(XID_TABLE)


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED.items()))
def test_xid_fires_at_once_with_its_class_action_and_delivery(code, expected):
    notify = expected[2]
    evaluator = EventEvaluator()
    (transition,) = evaluator.observe(xid_event(code, 100.0))
    alert = transition.alert
    info = evaluator.xid(alert)
    assert (info.xid_class, info.action, evaluator.delivery(alert).notify) == expected
    assert transition.kind is TransitionKind.FIRED
    assert transition.at == 100.0
    assert alert.rule == XID_RULE
    assert alert.labels == (("node", "n1"), ("gpu", "5"), ("xid", str(code)))
    assert alert.level is (Level.CRIT if notify is PAGE else Level.WARN)
    assert f"XID {code} " in alert.summary
    assert info.meaning in alert.summary


@pytest.mark.parametrize("code", [13, 31, 43, 45])
def test_application_xids_never_drain_and_never_page(code):
    info = xid_info(code)
    assert not info.drains
    assert not info.pages
    assert info.xid_class is XidClass.APPLICATION


def test_contained_ecc_94_restarts_the_app_only_and_does_not_page():
    evaluator = EventEvaluator()
    (transition,) = evaluator.observe(xid_event(94, 0.0))
    delivery = evaluator.delivery(transition.alert)
    assert delivery == Delivery(Severity.P3, Notify.POST)
    assert not delivery.pages
    assert evaluator.xid(transition.alert).action is XidAction.RESTART_APP_ONLY
    assert transition.alert.level is Level.WARN


@pytest.mark.parametrize(
    ("code", "action", "severity"),
    [
        (79, XidAction.REBOOT_NODE_AND_DRAIN, Severity.P1),
        (48, XidAction.DRAIN_AND_RESET_GPU, Severity.P2),
        (95, XidAction.DRAIN_AND_RESET_GPU, Severity.P2),
        (64, XidAction.DRAIN_AND_RESET_GPU, Severity.P2),
    ],
)
def test_fatal_xids_page_and_drain(code, action, severity):
    info = xid_info(code)
    assert (info.action, info.delivery.severity, info.pages, info.drains) == (
        action,
        severity,
        True,
        True,
    )


@pytest.mark.parametrize("raw", ["999", "0", "200", "not-a-number"])
def test_unknown_xid_pages_as_inspect(raw):
    evaluator = EventEvaluator()
    (transition,) = evaluator.observe(xid_event(raw, 0.0))
    info = evaluator.xid(transition.alert)
    assert info.xid_class is XidClass.UNKNOWN
    assert info.action is XidAction.INSPECT
    assert evaluator.delivery(transition.alert).pages
    assert transition.alert.level is Level.CRIT
    assert "unknown XID" in transition.alert.summary
    assert transition.alert.label("xid") == raw


def test_an_override_replaces_a_table_row():
    quiet_63 = XidInfo(
        63,
        "ROW_REMAP",
        XidClass.ROW_REMAP,
        XidAction.NONE,
        Level.WARN,
        Delivery(Severity.P3, Notify.RECORD),
        "row remap",
    )
    evaluator = EventEvaluator(EventRules(xid_overrides=(quiet_63,)))
    (transition,) = evaluator.observe(xid_event(63, 0.0))
    assert evaluator.delivery(transition.alert).notify is Notify.RECORD
    assert xid_info(63).action is XidAction.SCHEDULE_GPU_RESET


def test_a_repeat_while_firing_raises_the_count_not_a_new_alert():
    evaluator = EventEvaluator()
    (first,) = evaluator.observe(xid_event(31, 0.0))
    assert evaluator.observe(xid_event(31, 5.0)) == []
    assert evaluator.observe(xid_event(31, 9.0)) == []
    (alert,) = evaluator.firing()
    assert alert.fingerprint == first.alert.fingerprint
    assert alert.value == 3
    assert "(x3)" in alert.summary
    assert alert.started_at == 0.0


@pytest.mark.parametrize(
    ("second", "alerts"),
    [
        (xid_event(79, 1.0, gpu="6"), 2),  # another GPU
        (xid_event(48, 1.0), 2),  # another XID on the same GPU
        (xid_event(79, 1.0, node="n2"), 2),  # another node
        (xid_event(79, 1.0), 1),  # the same XID again
    ],
)
def test_each_node_gpu_and_code_is_its_own_alert(second, alerts):
    evaluator = EventEvaluator()
    evaluator.observe(xid_event(79, 0.0))
    evaluator.observe(second)
    assert len(evaluator.firing()) == alerts


@pytest.mark.parametrize(
    ("events", "ticks", "resolved_at"),
    [
        ([0.0], [899.0], None),  # still inside the 900 s quiet period
        ([0.0], [900.0], 900.0),
        ([0.0, 600.0], [900.0, 1499.0], None),  # the repeat restarts the quiet period
        ([0.0, 600.0], [900.0, 1500.0], 1500.0),
    ],
)
def test_xid_resolves_after_a_quiet_period_without_repeat(events, ticks, resolved_at):
    evaluator = EventEvaluator()
    for ts in events:
        evaluator.observe(xid_event(48, ts))
    resolved = [t for now in ticks for t in evaluator.tick(now)]
    if resolved_at is None:
        assert resolved == []
        return
    (transition,) = resolved
    assert transition.kind is TransitionKind.RESOLVED
    assert transition.at == resolved_at
    assert transition.alert.state is AlertState.RESOLVED
    assert evaluator.firing() == ()


def test_quiet_period_is_configurable_and_a_later_xid_fires_again():
    evaluator = EventEvaluator(EventRules(xid_quiet_s=60.0))
    evaluator.observe(xid_event(13, 0.0))
    assert [t.kind for t in evaluator.tick(60.0)] == [TransitionKind.RESOLVED]
    assert [t.kind for t in evaluator.observe(xid_event(13, 70.0))] == [TransitionKind.FIRED]


def test_gpu_lost_fires_a_crit_page_for_that_gpu_and_resolves_when_quiet():
    evaluator = EventEvaluator()
    lost = Event("gpu_lost", 10.0, labels=(("node", "n3"),), attrs=(("gpu", "5"),))
    (transition,) = evaluator.observe(lost)
    alert = transition.alert
    assert (alert.rule, alert.labels, alert.level) == (
        GPU_LOST_RULE,
        (("node", "n3"), ("gpu", "5")),
        Level.CRIT,
    )
    assert evaluator.delivery(alert) == Delivery(Severity.P1, Notify.PAGE)
    assert "GPU 5 on n3 is lost" in alert.summary
    assert evaluator.observe(lost) == []
    assert evaluator.tick(309.0) == []
    assert [t.kind for t in evaluator.tick(310.0)] == [TransitionKind.RESOLVED]


@pytest.mark.parametrize(
    ("times", "fired_at"),
    [
        ([0, 10, 20, 30], None),  # four errors: below the burst of five
        ([0, 10, 20, 30, 40], 40),
        ([0, 10, 20, 30, 60], None),  # the first one left the 60 s window
        ([0, 30, 61, 62, 63, 64, 65], 64),
    ],
)
def test_error_log_burst_fires_per_node_and_component(times, fired_at):
    evaluator = EventEvaluator()
    fired = [t for ts in times for t in evaluator.observe(log_event(float(ts)))]
    if fired_at is None:
        assert fired == []
        return
    (transition,) = fired
    assert transition.at == fired_at
    assert transition.alert.rule == LOG_BURST_RULE
    assert transition.alert.labels == (("node", "n1"), ("component", "MODEL_INFER"))
    assert transition.alert.value == 5
    assert "CUDA out of memory" in transition.alert.summary
    assert not evaluator.delivery(transition.alert).pages


def test_log_burst_counts_only_error_levels_of_one_component():
    evaluator = EventEvaluator()
    events = [log_event(float(i), level="WARNING") for i in range(10)]
    events += [log_event(float(i), component=f"C{i}") for i in range(10)]
    assert [t for e in events for t in evaluator.observe(e)] == []


def test_log_burst_grows_while_firing_and_resolves_after_a_quiet_window():
    evaluator = EventEvaluator()
    for ts in range(7):
        evaluator.observe(log_event(float(ts)))
    (alert,) = evaluator.firing()
    assert alert.value == 7
    assert evaluator.tick(65.0) == []
    assert [t.kind for t in evaluator.tick(66.0)] == [TransitionKind.RESOLVED]
    evaluator.observe(log_event(100.0))
    assert evaluator.firing() == ()


def test_restored_alert_resolves_after_the_quiet_period_from_restart():
    first = EventEvaluator()
    (fired,) = first.observe(xid_event(79, 0.0))
    second = EventEvaluator()
    second.restore(fired.alert, now=1000.0)
    assert second.observe(xid_event(79, 1001.0)) == []
    assert second.tick(1800.0) == []
    assert [t.kind for t in second.tick(1901.0)] == [TransitionKind.RESOLVED]


def test_fields_come_from_labels_before_attrs_as_the_agent_sends_them():
    # the agent puts the GPU's labels on an XID event and the log line's own node name in attrs
    xid = Event(
        "xid",
        0.0,
        labels=(("gpu", "2"), ("node", "n1"), ("uuid", "GPU-1")),
        attrs=(("gpu", "2"), ("pci", "0000:10:1c.0"), ("xid", "63")),
    )
    logs = [
        Event(
            "log",
            float(i),
            labels=(("node", "n1"),),
            attrs=(("component", "MODEL_INFER"), ("level", "ERROR"), ("node", "node_03")),
        )
        for i in range(5)
    ]
    evaluator = EventEvaluator()
    (x,) = evaluator.observe(xid)
    (burst,) = [t for e in logs for t in evaluator.observe(e)]
    assert x.alert.labels == (("node", "n1"), ("gpu", "2"), ("xid", "63"))
    assert burst.alert.label("node") == "n1"


def test_xid_without_a_gpu_index_is_keyed_by_its_pci_address():
    event = Event(
        "xid", 0.0, labels=(("node", "n1"),), attrs=(("pci", "0000:9b:00"), ("xid", "79"))
    )
    (transition,) = EventEvaluator().observe(event)
    assert transition.alert.label("gpu") == "0000:9b:00"


def test_other_event_kinds_are_ignored():
    evaluator = EventEvaluator()
    heartbeat = Event("heartbeat", 0.0, labels=(("node", "n1"),), attrs=(("interval_s", "2"),))
    assert evaluator.observe(heartbeat) == []
