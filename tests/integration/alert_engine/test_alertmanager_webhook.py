"""A real Alertmanager delivers to the bot's webhook: firing opens an incident, resolved ends it."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.integration.alert_engine.conftest import StartBot, alertmanager, slack_messages
from tests.processes import eventually

RULES = "rules: []\n"
ALERT = {
    "labels": {
        "alertname": "VLLMDown",
        "severity": "critical",
        "instance": "gpu-node-7:8000",
        "job": "vllm",
    },
    "annotations": {"summary": "vLLM on gpu-node-7 is down"},
    "generatorURL": "http://prometheus.test/graph?g0.expr=up",
}


def config(bot_url: str, token: str) -> dict[str, Any]:
    return {
        "route": {
            "receiver": "gpuwarden",
            "group_by": ["alertname", "instance"],
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "gpuwarden",
                "webhook_configs": [
                    {
                        "url": f"{bot_url}/api/v1/alertmanager",
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
                    }
                ],
            }
        ],
    }


def post_alert(am_url: str, **times: datetime) -> None:
    alert = ALERT | {k: v.isoformat().replace("+00:00", "Z") for k, v in times.items()}
    answer = httpx.post(f"{am_url}/api/v2/alerts", json=[alert], timeout=5)
    assert answer.status_code == 200, answer.text


def test_alertmanager_fires_and_resolves_an_incident_through_the_webhook(
    tmp_path: Path, start_bot: StartBot, sandbox_url: str
):
    token = secrets.token_urlsafe(16)
    started = datetime.now(UTC)
    with (
        start_bot(RULES, GPUWARDEN_ALERTMANAGER_TOKEN=token) as bot,
        alertmanager(tmp_path, config(bot.url, token)) as am_url,
    ):
        post_alert(am_url, startsAt=started)
        (incident,) = eventually(
            lambda: bot.get("/api/v1/incidents"), timeout_s=15, what="an incident"
        )
        assert (incident["ref"], incident["severity"]) == ("INC-1", "P2")
        assert incident["title"] == "vLLM on gpu-node-7 is down"
        assert incident["group_key"] == "node:gpu-node-7"
        root = eventually(
            lambda: [m for m in slack_messages(sandbox_url) if "INC-1" in m["text"]],
            timeout_s=10,
            what="the incident in Slack",
        )[0]
        assert "vLLM on gpu-node-7 is down" in str(root)

        post_alert(am_url, startsAt=started, endsAt=datetime.now(UTC) - timedelta(seconds=1))
        kinds = eventually(
            lambda: (k := _facts(bot.timeline_kinds())) and "alert.resolved" in k and k,
            timeout_s=15,
            what="alert.resolved on the timeline",
        )
        assert kinds == ["incident.opened", "alert.fired", "alert.resolved", "incident.clear"]
        time.sleep(1.5)  # a few group intervals: nothing is delivered twice
        assert _facts(bot.timeline_kinds()) == kinds
        metrics = bot.get("/metrics")
    assert 'gpuwarden_bot_alertmanager_notifications_total{outcome="unauthorized"} 0.0' in metrics
    assert 'gpuwarden_bot_alertmanager_alerts_total{outcome="resolved"} 1.0' in metrics


def _facts(kinds: list[str]) -> list[str]:
    """The timeline without the pages and SLA timers, which come on their own clock."""
    return [kind for kind in kinds if not kind.startswith(("escalation.", "sla."))]
