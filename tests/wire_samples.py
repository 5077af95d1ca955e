"""Payloads as the real systems send them, for tests of the bot's receivers."""

from __future__ import annotations

from typing import Any

# the example of Alertmanager's webhook_config documentation, with values filled in
ALERTMANAGER_PAYLOAD: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}:{alertname="VLLMDown"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "gpuwarden",
    "groupLabels": {"alertname": "VLLMDown"},
    "commonLabels": {"alertname": "VLLMDown", "severity": "critical"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.monitoring:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "VLLMDown",
                "severity": "critical",
                "instance": "gpu-node-7:8000",
                "job": "vllm",
            },
            "annotations": {"summary": "vLLM on gpu-node-7 is down"},
            "startsAt": "2026-05-12T10:00:00.000Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=up%7Bjob%3D%22vllm%22%7D+%3D%3D+0",
            "fingerprint": "c6a1e1e1f0c4b1a2",
        }
    ],
}
