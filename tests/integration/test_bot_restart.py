"""The bot over HTTP across a restart: idempotent gzip ingest, and alerts that survive restarts."""

from __future__ import annotations

import gzip
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import Process, free_port, running, sandbox_args

RULES = """
rules:
  - name: gpu_utilization_high
    type: threshold
    metric: gpuwarden_gpu_utilization_ratio
    warn: 0.85
    crit: 0.95
    recover: 0.75
    group_by: [node, gpu]
"""


class Bot:
    def __init__(self, tmp: Path, sandbox_url: str) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_urlsafe(16)
        self.env = {
            "GPUWARDEN_PORT": str(self.port),
            "GPUWARDEN_DATA_DIR": str(tmp / "data"),
            "GPUWARDEN_CONFIG_DIR": str(tmp),
            "GPUWARDEN_SLACK_API_URL": f"{sandbox_url}/api/",
            "GPUWARDEN_SLACK_BOT_TOKEN": "xoxb-restart",
            "GPUWARDEN_SLACK_SIGNING_SECRET": "restart-secret",
            "GPUWARDEN_INGEST_TOKEN": self.token,
        }

    def start(self, name: str) -> Process:
        process = Process(name, ["bot"], self.env, self.tmp)
        process.wait_ready(f"{self.url}/readyz")
        return process

    def push(self, value: float, *, batch_id: str | None = None, gzipped: bool = True) -> Any:
        batch = {
            "batch_id": batch_id or uuid.uuid4().hex,
            "node": "gpu-node-1",
            "sent_at": time.time(),
            "samples": [
                {
                    "metric": "gpuwarden_gpu_utilization_ratio",
                    "labels": {"gpu": "0"},
                    "ts": time.time(),
                    "value": value,
                }
            ],
        }
        body = json.dumps(batch).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if gzipped:
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        answer = httpx.post(f"{self.url}/api/v1/ingest", content=body, headers=headers, timeout=10)
        assert answer.status_code == 202, answer.text
        return answer.json()

    def get(self, path: str) -> Any:
        return httpx.get(f"{self.url}{path}", timeout=5).json()


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    (tmp_path / "rules.yaml").write_text(RULES)
    port = free_port()
    args = sandbox_args(port, "--bot-token", "xoxb-restart")
    with running("sandbox", args, {}, tmp_path) as sandbox:
        sandbox.wait_ready(f"http://127.0.0.1:{port}/_sandbox/healthz")
        yield Bot(tmp_path, f"http://127.0.0.1:{port}")


def test_a_resent_gzip_batch_is_accepted_once(bot: Bot):
    with running("bot", ["bot"], bot.env, bot.tmp) as process:
        process.wait_ready(f"{bot.url}/readyz")
        first = bot.push(0.5, batch_id="resent-batch-0001")
        again = bot.push(0.5, batch_id="resent-batch-0001", gzipped=False)
    assert first == {"accepted_samples": 1, "accepted_events": 0, "duplicate": False}
    assert again == {"accepted_samples": 0, "accepted_events": 0, "duplicate": True}


def test_a_firing_alert_survives_a_restart_without_firing_again(bot: Bot):
    first = bot.start("bot-1")
    bot.push(0.97)
    assert [i["ref"] for i in bot.get("/api/v1/incidents")] == ["INC-1"]
    first.stop()  # SIGTERM: uvicorn shuts down gracefully, then re-raises the signal
    assert "Application shutdown complete" in first.output()

    second = bot.start("bot-2")
    try:
        assert "1 firing alerts restored" in second.output()
        bot.push(0.98)  # still hot: no new alert, no new incident
        bot.push(0.70)  # recovers: resolves the alert of INC-1
        assert [i["ref"] for i in bot.get("/api/v1/incidents")] == ["INC-1"]
        kinds = [e["kind"] for e in bot.get("/api/v1/incidents/1/timeline")]
        facts = [k for k in kinds if not k.startswith(("escalation.", "sla."))]  # not timers
        assert facts == ["incident.opened", "alert.fired", "alert.resolved", "incident.clear"]
    finally:
        second.stop()
