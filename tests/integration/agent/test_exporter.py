"""The agent process's /metrics: every source's readings plus self-metrics, valid for promtool."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import require_tool
from tests.processes import eventually, free_port

from .conftest import ScriptedBot, start_agent

FIXTURES = Path(__file__).resolve().parents[2] / "unit" / "agent" / "collectors" / "fixtures"
LOG_LINE = '[2024-03-15 14:30:22] [WARNING] [MODEL_INFER] [node_03]"Input tensor shape mismatch"\n'
EXPECTED = {
    "gpuwarden_gpu_utilization_ratio": "gauge",
    "gpuwarden_serving_requests_running": "gauge",
    "gpuwarden_serving_time_to_first_token_seconds": "gauge",
    "gpuwarden_serving_generation_tokens": "counter",
    "gpuwarden_log_lines": "counter",
    "gpuwarden_model_output_bucket_ratio": "gauge",
    "gpuwarden_train_loss": "gauge",
    "gpuwarden_agent_sent_batches": "counter",
    "gpuwarden_agent_queue_batches": "gauge",
    "gpuwarden_collect_duration_seconds": "histogram",
    "process_cpu_seconds": "counter",
}


@pytest.fixture
def engine() -> Iterator[str]:
    """A vLLM stand-in whose /metrics moves on from the first fixture to the second."""
    bodies = [(FIXTURES / name).read_bytes() for name in ("vllm_1.prom", "vllm_2.prom")]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies.pop(0) if len(bodies) > 1 else bodies[0]
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    server.shutdown()
    server.server_close()


def _push_quality(url: str) -> bool:
    try:
        signals = [
            ("/v1/output-histogram", {"model_name": "m", "buckets": {"a": 1, "b": 3}}),
            ("/v1/train-loss", {"job": "sft", "value": 1.5}),
        ]
        return all(httpx.post(url + path, json=body).status_code == 202 for path, body in signals)
    except httpx.TransportError:
        return False


def _scrape_when_complete(url: str) -> str | None:
    try:
        text = httpx.get(url, timeout=2).text
    except httpx.TransportError:
        return None
    families = {f.name for f in text_string_to_metric_families(text)}
    return text if set(EXPECTED) <= families else None


def test_agent_metrics_cover_every_source_and_pass_promtool(bot: ScriptedBot, engine, tmp_path):
    promtool = require_tool("promtool", "prometheus")
    log = tmp_path / "serving.log"
    log.write_text("")
    metrics_port, quality_port = free_port(), free_port()
    argv = ["--simulate", "--bot-url", bot.url, "--interval", "0.2", "--seed", "1"]
    argv += ["--nodes", "1", "--gpus-per-node", "2", "--faults", ""]
    argv += ["--metrics-port", str(metrics_port)]
    argv += ["--quality-port", str(quality_port), "--serving-url", engine]
    argv += ["--serving-interval", "0.2", "--log-file", str(log)]
    with start_agent(*argv) as agent:
        try:
            eventually(
                lambda: _push_quality(f"http://127.0.0.1:{quality_port}"),
                timeout_s=20,
                what="the quality endpoint",
            )
            with log.open("a") as file:
                file.write(LOG_LINE)
            text = eventually(
                lambda: _scrape_when_complete(f"http://127.0.0.1:{metrics_port}/metrics"),
                timeout_s=20,
                what="every expected family on /metrics",
            )
        finally:
            agent.send_signal(signal.SIGTERM)
            _, stderr = agent.communicate(timeout=15)

    assert agent.returncode == 0, stderr
    types = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert {name: types[name] for name in EXPECTED} == EXPECTED
    assert 'node="gpu-node-1"' in text
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (checked.stdout + checked.stderr).strip() == ""
    events = [e for p in bot.payloads() for e in p["events"] if e["kind"] == "log"]
    assert [e["attrs"]["message"] for e in events] == ["Input tensor shape mismatch"]
