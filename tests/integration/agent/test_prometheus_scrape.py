"""A real Prometheus scrapes the simulated agent and sees its faults through PromQL."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest
from prometheus_api_client import PrometheusConnect

from tests.conftest import require_tool
from tests.integration.alert_engine.conftest import prometheus
from tests.processes import eventually, free_port

from .conftest import start_agent

FAULTS = (
    "gpu_memory_leak@0s+10m:node=gpu-node-1,gpu=0,rate_mib_per_min=600;"
    "gpu_saturation@0s+10m:node=gpu-node-1,gpu=1,ramp_s=0"
)


def _scraping(target: str) -> dict[str, object]:
    """Prometheus settings scraping ``target`` every second."""
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "agent", "static_configs": [{"targets": [target]}]}],
    }


@pytest.fixture
def agent_metrics() -> Iterator[str]:
    port = free_port()
    agent = start_agent(
        *("--simulate", "--bot-url", f"http://127.0.0.1:{free_port()}", "--interval", "0.5"),
        *("--nodes", "1", "--gpus-per-node", "2", "--seed", "5", "--faults", FAULTS),
        *("--metrics-port", str(port), "--quality-port", "0", "--spool-dir", ""),
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        eventually(lambda: _get(url), timeout_s=15, what="the agent's /metrics")
        yield url
    finally:
        agent.terminate()
        agent.communicate(timeout=15)


def _get(url: str) -> str | None:
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
    return (
        response.text
        if response.status_code == 200 and "gpu_utilization" in response.text
        else None
    )


def _value(prom: PrometheusConnect, query: str) -> float | None:
    result = prom.custom_query(query)
    return float(result[0]["value"][1]) if result else None


def test_prometheus_sees_the_saturated_gpu_and_the_leaking_process(tmp_path, agent_metrics):
    target = agent_metrics.removeprefix("http://").removesuffix("/metrics")
    with prometheus(tmp_path, _scraping(target)) as url:
        prom = PrometheusConnect(url=url, disable_ssl=True)
        util = 'max(gpuwarden_gpu_utilization_ratio{node="gpu-node-1",gpu="1"})'
        peak = eventually(lambda: _value(prom, util), timeout_s=20, what="utilisation scraped")
        assert peak > 0.95
        leak = (
            'deriv(gpuwarden_gpu_process_memory_used_bytes{node="gpu-node-1",gpu="0",'
            'pod="vllm-gpu-node-1",namespace="serving",container="vllm"}[20s]) * 60'
        )
        per_min = eventually(
            lambda: (v := _value(prom, leak)) is not None and v > 0 and v,
            timeout_s=20,
            what="a growing process memory",
        )
        assert 300 * 2**20 < per_min < 1200 * 2**20  # ~600 MiB/min
        calm = 'max(gpuwarden_gpu_utilization_ratio{node="gpu-node-1",gpu="0"})'
        assert (_value(prom, calm) or 1.0) < 0.85


def test_the_exposition_passes_promtool(agent_metrics):
    promtool = require_tool("promtool", "prometheus")
    text = httpx.get(agent_metrics, timeout=5).text
    assert "gpuwarden_gpu_process_memory_used_bytes{" in text

    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
