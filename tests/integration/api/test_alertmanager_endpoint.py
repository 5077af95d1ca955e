"""``POST /api/v1/alertmanager`` in-process: bearer token, 422 naming the field, idempotency."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.api.inprocess import running_bot
from tests.wire_samples import ALERTMANAGER_PAYLOAD as PAYLOAD

TOKEN = "alertmanager-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with running_bot(tmp_path, alertmanager_token=TOKEN) as client:
        yield client


def notify(client: TestClient, payload: dict[str, Any], headers: dict[str, str] = AUTH):
    return client.post("/api/v1/alertmanager", json=payload, headers=headers)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": TOKEN}]
)
def test_without_the_token_a_notification_is_refused(client: TestClient, headers):
    answer = notify(client, PAYLOAD, headers)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/api/v1/incidents").json() == []


def test_a_bad_notification_gets_422_naming_the_field(client: TestClient):
    payload = copy.deepcopy(PAYLOAD)
    payload["alerts"][0]["status"] = "pending"
    answer = notify(client, payload)
    assert answer.status_code == 422
    assert answer.json()["error"].startswith(
        "invalid Alertmanager notification: alerts[0].status: expected"
    )


def test_a_repeated_notification_opens_one_incident_and_counts_in_metrics(client: TestClient):
    first = notify(client, PAYLOAD)
    again = notify(client, PAYLOAD)  # repeat_interval, or a retry after a lost answer
    assert first.json() == {"fired": 1, "resolved": 0, "ignored": 0}
    assert again.json() == {"fired": 0, "resolved": 0, "ignored": 1}
    (incident,) = client.get("/api/v1/incidents").json()
    assert (incident["title"], incident["severity"]) == ("vLLM on gpu-node-7 is down", "P2")
    assert incident["group_key"] == "node:gpu-node-7"
    metrics = client.get("/metrics").text
    assert 'gpuwarden_bot_alertmanager_alerts_total{outcome="fired"} 1.0' in metrics
    assert 'gpuwarden_bot_alertmanager_alerts_total{outcome="ignored"} 1.0' in metrics
    assert 'gpuwarden_bot_alertmanager_notifications_total{outcome="accepted"} 2.0' in metrics


def test_without_a_configured_token_notifications_are_accepted(tmp_path: Path):
    payload = copy.deepcopy(PAYLOAD)
    payload["alerts"][0]["status"] = "resolved"  # unknown to the bot: nothing to do
    with running_bot(tmp_path) as client:
        assert notify(client, payload, {}).json() == {"fired": 0, "resolved": 0, "ignored": 1}
