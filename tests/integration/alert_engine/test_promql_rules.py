"""A PromQL rule: a real Prometheus scrapes a gauge, the bot polls it and opens an incident."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from tests.integration.alert_engine.conftest import StartBot, prometheus
from tests.processes import eventually, free_port

RULES = """
rules:
  - name: kv_cache_full
    type: threshold
    metric: vllm_kv_cache_usage_ratio
    query: max by (node) (test_kv_cache_usage_ratio)
    warn: 0.9
    crit: 0.98
    recover: 0.8
    group_by: [node]
    severity: {warn: P3, crit: P2}
    summary: "KV cache on {node} at {value:.0%}"
  - name: broken_query
    type: threshold
    metric: broken
    query: "rate(test_kv_cache_usage_ratio["
    warn: 1
    crit: 2
    recover: 0
"""


@pytest.fixture
def exporter() -> Iterator[tuple[str, Gauge]]:
    """A tiny exporter in this process: one gauge the test sets."""
    registry = CollectorRegistry()
    gauge = Gauge("test_kv_cache_usage_ratio", "KV cache usage", ["node"], registry=registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield f"127.0.0.1:{port}", gauge
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_promql_rule_fires_and_resolves_while_a_broken_one_is_counted(
    tmp_path: Path, start_bot: StartBot, exporter: tuple[str, Gauge]
):
    target, gauge = exporter
    gauge.labels("gpu-node-5").set(0.99)
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "vllm", "static_configs": [{"targets": [target]}]}],
    }
    with (
        prometheus(tmp_path, config) as url,
        start_bot(RULES, GPUWARDEN_PROMETHEUS_URL=url, GPUWARDEN_PROMQL_INTERVAL="1") as bot,
    ):
        (incident,) = eventually(
            lambda: bot.get("/api/v1/incidents"), timeout_s=15, what="an incident"
        )
        assert (incident["severity"], incident["group_key"]) == ("P2", "node:gpu-node-5")
        assert incident["title"] == "KV cache on gpu-node-5 at 99%"

        gauge.labels("gpu-node-5").set(0.5)
        eventually(
            lambda: "alert.resolved" in bot.timeline_kinds(),
            timeout_s=15,
            what="the alert to resolve",
        )
        metrics = bot.get("/metrics")
        log = bot.process.output()
    assert 'gpuwarden_bot_promql_queries_total{outcome="failed",rule="broken_query"}' in metrics
    assert 'gpuwarden_bot_promql_queries_total{outcome="ok",rule="kv_cache_full"}' in metrics
    assert "polling http://127.0.0.1" in log
    assert "PromQL rule broken_query: Prometheus query failed" in log
