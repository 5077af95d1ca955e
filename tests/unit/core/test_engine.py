"""The engine façade: every evaluator feeds one noise-controlled output."""

from __future__ import annotations

import pytest

from bot.core.anomaly_rules import AnomalyRule
from bot.core.delivery import Notify
from bot.core.derived_rules import DerivedRule
from bot.core.engine import AlertEngine, EngineConfig
from bot.core.incidents import Severity
from bot.core.signals import Event, Sample, SeriesKey
from bot.core.thresholds import ThresholdRule

UTIL = ThresholdRule(
    name="gpu_utilization_high",
    metric="util",
    warn=0.85,
    crit=0.95,
    recover=0.75,
    group_by=("node", "gpu"),
    severity_crit="P2",
)
LEAK = ThresholdRule(
    name="gpu_memory_leak",
    metric="leak_rate",
    warn=10 * 2**20,
    crit=50 * 2**20,
    recover=5 * 2**20,
    group_by=("node", "gpu"),
)
T0 = 1_800_000_000.0


def engine(**overrides) -> AlertEngine:
    config = {
        "thresholds": (UTIL, LEAK),
        "derived": (DerivedRule("leak", "leak_rate", "mem_used", "leak_rate"),),
        "anomalies": (AnomalyRule("temp_anomaly", "temp"),),
    }
    return AlertEngine(EngineConfig(**{**config, **overrides}))


def util(node: str, gpu: str, ts: float, value: float) -> Sample:
    return Sample(SeriesKey.of("util", {"node": node, "gpu": gpu}), ts, value)


def xid(code: int, ts: float) -> Event:
    return Event("xid", ts, (("node", "n1"), ("gpu", "0")), "", (("xid", str(code)),))


def kinds(output) -> list[tuple[str, str, str, str]]:
    return [
        (
            n.transition.kind.value,
            n.transition.alert.rule,
            n.delivery.severity.value,
            n.delivery.notify.value,
        )
        for n in output.notify
    ]


def test_a_threshold_breach_is_notified_with_the_rules_severity():
    e = engine()
    out = e.observe_batch(node="n1", samples=[util("n1", "0", T0, 0.97)], events=[], now=T0)
    assert kinds(out) == [("fired", "gpu_utilization_high", "P2", "page")]


@pytest.mark.parametrize(("code", "notify"), [(79, Notify.PAGE), (94, Notify.POST)])
def test_xids_page_or_only_post_per_the_xid_table(code, notify):
    out = engine().observe_batch(node="n1", samples=[], events=[xid(code, T0)], now=T0)
    assert [(n.transition.alert.rule, n.delivery.notify) for n in out.notify] == [
        ("gpu_xid", notify)
    ]


def test_a_steady_leak_becomes_a_leak_rate_alert():
    e, out = engine(), []
    for minute in range(30):  # 60 MiB a minute
        sample = Sample(
            SeriesKey.of("mem_used", {"node": "n1", "gpu": "0"}),
            T0 + 15 * minute,
            1e9 + minute * 15 / 60 * 60 * 2**20,
        )
        out += kinds(e.observe_batch(node="n1", samples=[sample], events=[], now=sample.ts))
    assert ("fired", "gpu_memory_leak", "P3", "page") in out


def test_a_silent_node_fires_and_mutes_its_gpu_alerts():
    e = engine()
    e.observe_batch(node="n1", samples=[util("n1", "0", T0, 0.5)], events=[], now=T0)
    e.observe_batch(node="n2", samples=[util("n2", "0", T0, 0.5)], events=[], now=T0)
    silent = e.tick(T0 + 600)
    assert ("fired", "node_not_reporting") in [(k, r) for k, r, _, _ in kinds(silent)]
    late = e.observe_samples([util("n1", "0", T0 + 601, 0.99)], now=T0 + 601)
    assert not late.notify
    assert [s.cause.value for s in late.suppressed] == ["inhibited"]


def test_restore_resumes_firing_alerts_without_firing_them_again():
    first = engine()
    fired = (
        first.observe_batch(node="n1", samples=[util("n1", "0", T0, 0.97)], events=[], now=T0)
        .notify[0]
        .transition.alert
    )
    second = engine()
    second.restore([fired], last_seen={"n1": T0}, now=T0 + 5)
    again = second.observe_batch(
        node="n1", samples=[util("n1", "0", T0 + 5, 0.98)], events=[], now=T0 + 5
    )
    assert not again.notify
    done = second.observe_batch(
        node="n1", samples=[util("n1", "0", T0 + 6, 0.5)], events=[], now=T0 + 6
    )
    assert kinds(done) == [("resolved", "gpu_utilization_high", "P2", "page")]
    assert second.delivery(fired).severity is Severity.P2
