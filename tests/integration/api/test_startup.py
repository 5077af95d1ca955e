"""What the bot says at start-up about its PromQL rules and its Alertmanager webhook."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.core.thresholds import ThresholdRule
from tests.integration.api.inprocess import running_bot
from tests.processes import eventually, free_port

KV_CACHE = ThresholdRule(
    name="kv_cache_full", metric="kv", warn=0.9, crit=0.98, recover=0.8, query="max(kv_cache)"
)


def test_promql_rules_are_skipped_with_one_line_when_no_prometheus_is_set(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="bot")
    with running_bot(tmp_path, rules=(KV_CACHE,)) as client:
        assert client.get("/readyz").status_code == 200
    lines = [r.getMessage() for r in caplog.records if "PromQL" in r.getMessage()]
    assert lines == ["GPUWARDEN_PROMETHEUS_URL is not set: skipping PromQL rules kv_cache_full"]
    assert "POST /api/v1/alertmanager is open: set GPUWARDEN_ALERTMANAGER_TOKEN" in caplog.text


def failed_queries(client: TestClient) -> float:
    prefix = 'gpuwarden_bot_promql_queries_total{outcome="failed",rule="kv_cache_full"} '
    lines = client.get("/metrics").text.splitlines()
    return next((float(line.removeprefix(prefix)) for line in lines if line.startswith(prefix)), 0)


def test_an_unreachable_prometheus_is_logged_and_counted_and_polling_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    with running_bot(
        tmp_path,
        rules=(KV_CACHE,),
        prometheus_url=f"http://127.0.0.1:{free_port()}",
        promql_interval=0.05,
        alertmanager_token="a-token-of-some-length",
    ) as client:
        eventually(lambda: failed_queries(client) >= 3, timeout_s=10, what="three failed polls")
        assert client.get("/readyz").status_code == 200
    assert "PromQL rule kv_cache_full: Prometheus query failed" in caplog.text
    assert "/api/v1/alertmanager is open" not in caplog.text
