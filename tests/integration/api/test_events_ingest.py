"""Agent events through the real HTTP ingest path into incidents: the XID table decides."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.api.inprocess import INGEST_TOKEN, NOW, running_bot

AUTH = {"Authorization": f"Bearer {INGEST_TOKEN}"}


def batch(batch_id: str, xid: int) -> dict[str, object]:
    return {
        "batch_id": batch_id,
        "node": "gpu-node-4",
        "sent_at": NOW,
        "samples": [],
        "events": [
            {
                "kind": "xid",
                "ts": NOW,
                "labels": {"gpu": "2"},
                "attrs": {"xid": xid, "pci": "0000:3b:00.0"},
            }
        ],
    }


@pytest.mark.parametrize(
    ("xid", "severity"),
    [(79, "P1"), (48, "P2"), (94, "P3")],
)
def test_an_xid_event_opens_an_incident_at_the_severity_of_the_xid_table(
    tmp_path: Path, xid: int, severity: str
):
    with running_bot(tmp_path) as client:
        answer = client.post("/api/v1/ingest", json=batch("xid-batch-0001", xid), headers=AUTH)
        assert answer.status_code == 202, answer.text
        (incident,) = client.get("/api/v1/incidents").json()
        timeline = client.get(f"/api/v1/incidents/{incident['id']}/timeline").json()
    assert incident["severity"] == severity
    assert incident["group_key"] == "node:gpu-node-4"
    assert any(f"XID {xid}" in e["text"] or f"Xid {xid}" in e["text"] for e in timeline)


def test_an_informational_xid_is_recorded_without_an_incident(tmp_path: Path):
    with running_bot(tmp_path) as client:
        client.post("/api/v1/ingest", json=batch("xid-batch-0002", 43), headers=AUTH)
        assert client.get("/api/v1/incidents").json() == []
