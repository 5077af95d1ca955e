"""The Alertmanager webhook payload (version 4) as the bot validates it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from bot.api.alertmanager import AlertmanagerPayload
from tests.wire_samples import ALERTMANAGER_PAYLOAD as PAYLOAD


def parse(payload: dict[str, Any]) -> AlertmanagerPayload:
    return AlertmanagerPayload.model_validate_json(json.dumps(payload))


def test_the_documented_payload_becomes_external_alerts():
    (alert,) = parse(PAYLOAD).alerts
    external = alert.to_external()
    assert external.fingerprint == "c6a1e1e1f0c4b1a2"
    assert external.firing
    assert external.labels["instance"] == "gpu-node-7:8000"
    assert external.annotations == {"summary": "vLLM on gpu-node-7 is down"}
    assert external.starts_at == 1778580000.0
    assert external.ends_at is None  # Alertmanager's zero time


def test_a_resolved_alert_keeps_its_end():
    payload = copy.deepcopy(PAYLOAD)
    payload["alerts"][0] |= {"status": "resolved", "endsAt": "2026-05-12T10:05:00Z"}
    external = parse(payload).alerts[0].to_external()
    assert (external.firing, external.ends_at) == (False, 1778580300.0)


def test_keys_of_newer_alertmanagers_are_ignored():
    payload = copy.deepcopy(PAYLOAD) | {"someNewKey": 1}
    payload["alerts"][0]["someNewAlertKey"] = "x"
    assert parse(payload).receiver == "gpuwarden"


def mutate(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    payload = copy.deepcopy(PAYLOAD)
    target = payload
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return payload


@pytest.mark.parametrize(
    ("path", "value", "loc"),
    [
        (("version",), "3", ("version",)),
        (("alerts", 0, "status"), "pending", ("alerts", 0, "status")),
        (("alerts", 0, "labels"), {"severity": "critical"}, ("alerts", 0, "labels")),
        (("alerts", 0, "startsAt"), "yesterday", ("alerts", 0, "startsAt")),
        (("alerts", 0, "startsAt"), "2026-05-12T10:00:00", ("alerts", 0, "startsAt")),
        (("alerts", 0, "fingerprint"), "not hex!", ("alerts", 0, "fingerprint")),
        (("alerts", 0, "labels", "node"), 7, ("alerts", 0, "labels", "node")),
        (("alerts",), KeyError, ("alerts",)),
        (("truncatedAlerts",), -1, ("truncatedAlerts",)),
    ],
)
def test_a_bad_payload_names_the_field(path, value, loc):
    with pytest.raises(ValidationError) as caught:
        parse(mutate(path, value))
    assert caught.value.errors()[0]["loc"] == loc
