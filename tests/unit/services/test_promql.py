"""PromQL rules: query results become samples of the rule's metric, failures skip one rule."""

from __future__ import annotations

from bot.core.engine import AlertEngine, EngineConfig
from bot.core.errors import AdapterError
from bot.core.signals import Sample, SeriesKey
from bot.core.thresholds import ThresholdRule
from bot.services.promql import poll_rules, promql_rules
from storage.memory import InMemoryStore, InMemoryUnitOfWork
from tests.fakes import FakeMetricsSource, FakeNotifier

KV_CACHE = ThresholdRule(
    name="kv_cache_full",
    metric="vllm_kv_cache_usage_ratio",
    warn=0.9,
    crit=0.98,
    recover=0.8,
    group_by=("node",),
    severity_crit="P2",
    summary="KV cache on {node} at {value:.0%}",
    query="max by (node) (vllm:gpu_cache_usage_perc)",
)
BROKEN = ThresholdRule(
    name="broken", metric="broken", warn=1, crit=2, recover=0, query="rate(nothing["
)
AGENT_ONLY = ThresholdRule(name="agent_only", metric="util", warn=1, crit=2, recover=0)
RULES = (KV_CACHE, BROKEN, AGENT_ONLY)


def test_only_rules_with_a_query_are_polled():
    assert promql_rules(RULES) == (KV_CACHE, BROKEN)


async def test_results_fire_under_the_rules_metric_and_a_failing_query_skips_only_its_rule():
    store = InMemoryStore()
    notifier = FakeNotifier()
    source = FakeMetricsSource(
        {
            KV_CACHE.query: [Sample(SeriesKey.of("", {"node": "gpu-node-4"}), 1.8e9, 0.99)],
            BROKEN.query: AdapterError("Prometheus query failed: HTTP Status Code 400"),
        }
    )
    result = await poll_rules(
        rules=RULES,
        source=source,
        engine=AlertEngine(EngineConfig(thresholds=RULES)),
        now=1_800_000_000.0,
        uow=lambda: InMemoryUnitOfWork(store),
        notifier=notifier,
    )
    assert (result.answered, result.failed) == (("kv_cache_full",), ("broken",))
    assert source.asked == [KV_CACHE.query, BROKEN.query]
    with InMemoryUnitOfWork(store) as tx:
        (incident,) = tx.incidents.list()
        (alert,) = tx.alerts.list_firing()
    assert (incident.severity, incident.group_key) == ("P2", "node:gpu-node-4")
    assert (alert.rule, alert.summary) == ("kv_cache_full", "KV cache on gpu-node-4 at 99%")
    assert notifier.replies == [(1, "CRIT alert fired: KV cache on gpu-node-4 at 99%")]
