"""Silences over HTTP and from the command line, against a real database."""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.api.inprocess import INGEST_TOKEN, NOW, running_bot
from tests.integration.test_cli import gpuwarden

API_TOKEN = "api-token-for-tests"
INGEST = {"Authorization": f"Bearer {INGEST_TOKEN}"}
MANAGE = {"Authorization": f"Bearer {API_TOKEN}"}


def xid_batch(batch_id: str, node: str) -> dict[str, object]:
    return {
        "batch_id": batch_id,
        "node": node,
        "sent_at": NOW,
        "samples": [],
        "events": [{"kind": "xid", "ts": NOW, "labels": {"gpu": "1"}, "attrs": {"xid": 79}}],
    }


def test_a_silence_made_over_http_mutes_its_node_and_no_other(tmp_path: Path) -> None:
    with running_bot(tmp_path, api_token=API_TOKEN) as client:
        made = client.post(
            "/api/v1/silences",
            json={
                "matchers": ["node=gpu-node-4"],
                "duration": "2h",
                "created_by": "alice",
                "comment": "replacing the PSU",
            },
            headers=MANAGE,
        )
        assert made.status_code == 201, made.text
        client.post("/api/v1/ingest", json=xid_batch("b-silenced-01", "gpu-node-4"), headers=INGEST)
        client.post("/api/v1/ingest", json=xid_batch("b-loud-000001", "gpu-node-5"), headers=INGEST)
        incidents = client.get("/api/v1/incidents").json()
        listed = client.get("/api/v1/silences").json()
    assert [i["group_key"] for i in incidents] == ["node:gpu-node-5"]
    assert [(s["id"], s["active"]) for s in listed] == [(made.json()["id"], True)]
    assert listed[0]["matchers"] == ['node="gpu-node-4"']


def test_ending_a_silence_over_http_and_what_is_refused(tmp_path: Path) -> None:
    body = {"matchers": ["node=gpu-node-4"], "duration": "1h", "created_by": "a", "comment": "c"}
    with running_bot(tmp_path, api_token=API_TOKEN) as client:
        assert client.post("/api/v1/silences", json=body).status_code == 401
        bad = client.post(
            "/api/v1/silences", json={**body, "matchers": ["node=~["]}, headers=MANAGE
        )
        both = client.post(
            "/api/v1/silences", json={**body, "ends_at": "2030-01-01T00:00:00Z"}, headers=MANAGE
        )
        made = client.post("/api/v1/silences", json=body, headers=MANAGE).json()
        ended = client.delete(f"/api/v1/silences/{made['id']}?by=bob", headers=MANAGE)
        missing = client.delete("/api/v1/silences/nope", headers=MANAGE)
        remaining = client.get("/api/v1/silences").json()
        everything = client.get("/api/v1/silences?all=true").json()
    assert bad.status_code == 422
    assert "regular expression" in bad.json()["detail"]
    assert both.status_code == 422
    assert "either duration" in both.json()["detail"]
    assert ended.status_code == 200
    assert ended.json()["active"] is False
    assert missing.status_code == 404
    assert remaining == []
    assert [s["id"] for s in everything] == [made["id"]]


def test_without_an_api_token_writes_are_refused_with_how_to_enable_them(tmp_path: Path) -> None:
    body = {"matchers": ["node=n"], "duration": "1h", "created_by": "a", "comment": "c"}
    with running_bot(tmp_path) as client:
        answer = client.post("/api/v1/silences", json=body)
    assert answer.status_code == 403
    assert "GPUWARDEN_API_TOKEN" in answer.json()["detail"]


def test_the_cli_adds_lists_and_expires_silences(tmp_path: Path) -> None:
    env = {"GPUWARDEN_DATA_DIR": str(tmp_path)}
    added = gpuwarden(
        "silence",
        "add",
        "--match",
        "node=gpu-node-2",
        "--match",
        "alertname=~gpu_.*",
        "--for",
        "90m",
        "--comment",
        "driver update",
        "--by",
        "carol",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    found = re.search(r"silence ([0-9a-f-]{36}) until", added.stdout)
    assert found is not None, added.stdout
    silence_id = found.group(1)

    listed = gpuwarden("silence", "list", env=env)
    assert silence_id in listed.stdout
    assert "active" in listed.stdout
    assert 'node="gpu-node-2" alertname=~"gpu_.*"' in listed.stdout

    expired = gpuwarden("silence", "expire", silence_id, "--by", "carol", env=env)
    assert expired.returncode == 0, expired.stderr
    assert gpuwarden("silence", "list", env=env).stdout == ""
    assert "ended" in gpuwarden("silence", "list", "--all", env=env).stdout

    bad = gpuwarden("silence", "add", "--match", "node", "--for", "1h", "--comment", "x", env=env)
    assert bad.returncode == 2
    assert "expected name=value" in bad.stderr
    unknown = gpuwarden("silence", "expire", "nope", env=env)
    assert unknown.returncode == 2
    assert "No silence with id nope" in unknown.stderr
