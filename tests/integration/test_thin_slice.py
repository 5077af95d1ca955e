"""The walking skeleton end to end: agent → bot → Slack sandbox → signed interaction → bot.

Every part runs as its own process (``python -m gpuwarden …``) and they talk real HTTP; the test
reads Slack through the real slack_sdk client, as a Slack user would see it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient

from tests.integration.slack_world import bot_with_sandbox
from tests.processes import Process, eventually, running
from tests.rules import rules_yaml

RULES = rules_yaml()


@dataclass
class World:
    bot_url: str
    sandbox_url: str
    ingest_token: str
    slack: WebClient
    bot: Process
    channel_id: str

    def incident_root(self) -> dict[str, Any] | None:
        history = self.slack.conversations_history(channel=self.channel_id, limit=50)
        roots = [m for m in history["messages"] if "INC-" in m.get("text", "")]
        return roots[-1] if roots else None

    def thread(self, ts: str) -> list[dict[str, Any]]:
        return list(self.slack.conversations_replies(channel=self.channel_id, ts=ts)["messages"])

    def timeline(self, incident_id: int) -> list[dict[str, Any]]:
        url = f"{self.bot_url}/api/v1/incidents/{incident_id}/timeline"
        return list(httpx.get(url, timeout=5).json())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("world")
    (tmp / "config").mkdir()
    (tmp / "config" / "rules.yaml").write_text(RULES)
    with bot_with_sandbox(tmp) as started:
        env = dict(started.secrets)
        slack = WebClient(
            token=env["GPUWARDEN_SLACK_BOT_TOKEN"], base_url=f"{started.sandbox_url}/api/"
        )
        channels = slack.conversations_list()["channels"]
        channel_id = next(c["id"] for c in channels if c["name"] == "gpu-alerts")
        agent_args = [
            "agent",
            "--simulate",
            "--bot-url",
            started.bot_url,
            "--interval",
            "0.5",
            "--faults",
            "gpu_saturation@1s+600s:node=gpu-node-2,gpu=3,ramp_s=2",
        ]
        with running("agent", agent_args, env, tmp):
            yield World(
                started.bot_url,
                started.sandbox_url,
                env["GPUWARDEN_INGEST_TOKEN"],
                slack,
                started.bot,
                channel_id,
            )


def test_fault_becomes_an_incident_message_with_the_alert_in_its_thread(world: World):
    root = eventually(world.incident_root, timeout_s=60, what="the incident message")
    assert "INC-1" in root["text"]
    assert "gpu-node-2" in root["text"]
    buttons = [e for b in root["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [
        "incident.acknowledge",
        "incident.escalate",
        "incident.resolve",
        "incident.severity",
    ]
    replies = eventually(lambda: world.thread(root["ts"])[1:], timeout_s=10, what="thread replies")
    assert any("alert fired" in r["text"] for r in replies)
    incidents = httpx.get(f"{world.bot_url}/api/v1/incidents", timeout=5).json()
    assert [(i["ref"], i["status"], i["severity"]) for i in incidents] == [
        ("INC-1", "triggered", "P3")
    ]


def test_incident_list_slash_command_is_answered(world: World):
    eventually(world.incident_root, timeout_s=60, what="the incident message")
    answer = httpx.post(
        f"{world.sandbox_url}/_sandbox/command",
        json={"user": "U0BOB", "channel": "gpu-alerts", "command": "/incident", "text": "list"},
        timeout=10,
    ).json()
    assert answer["status"] == 200
    assert "INC-1" in str(answer["ephemeral"])


def click_acknowledge(world: World, ts: str, **overrides: Any) -> httpx.Response:
    return httpx.post(
        f"{world.sandbox_url}/_sandbox/click",
        json={
            "user": "U0ALICE",
            "channel": "gpu-alerts",
            "ts": ts,
            "action_id": "incident.acknowledge",
            **overrides,
        },
        timeout=10,
    )


@pytest.mark.parametrize(
    "tampering",
    [{"signing_secret_override": "not-the-secret"}, {"timestamp_override": int(time.time()) - 600}],
    ids=["bad-signature", "stale-timestamp"],
)
def test_badly_signed_or_stale_click_is_refused_and_records_nothing(world: World, tampering):
    root = eventually(world.incident_root, timeout_s=60, what="the incident message")
    answer = click_acknowledge(world, root["ts"], **tampering).json()
    assert answer["status"] == 401
    time.sleep(0.5)
    # the simulated fleet keeps adding alert entries of its own; no responder fact may appear
    assert not [e for e in world.timeline(1) if e["actor"] != "gpuwarden"]
    assert httpx.get(f"{world.bot_url}/api/v1/incidents/1", timeout=5).json()["status"] == (
        "triggered"
    )


def test_acknowledge_double_click_updates_the_message_and_the_timeline_once(world: World):
    root = eventually(world.incident_root, timeout_s=60, what="the incident message")
    with ThreadPoolExecutor(2) as pool:  # a double click: both land while the button is shown
        answers = list(pool.map(lambda _: click_acknowledge(world, root["ts"]).json(), range(2)))
    assert [a["status"] for a in answers] == [200, 200]

    def acknowledged() -> dict[str, Any] | None:
        current = world.incident_root()
        return current if current and "acknowledged" in current["text"] else None

    updated = eventually(acknowledged, timeout_s=10, what="the message to show the ack")
    buttons = [
        e["action_id"] for b in updated["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert "incident.acknowledge" not in buttons  # button gone
    assert "U0ALICE" in str(updated["blocks"])
    kinds = [e["kind"] for e in world.timeline(1)]
    assert kinds.count("incident.acknowledged") == 1
    thread = eventually(
        lambda: [m for m in world.thread(root["ts"]) if "Acknowledged by" in m["text"]],
        timeout_s=10,
        what="the ack in the thread",
    )
    time.sleep(0.5)
    assert [m["text"] for m in world.thread(root["ts"])].count(thread[0]["text"]) == 1
    assert [e["kind"] for e in world.timeline(1)].count("incident.acknowledged") == 1
    # the user whose click lost the race is told why, only they see it
    ephemerals = httpx.get(
        f"{world.sandbox_url}/_sandbox/messages", params={"channel": "gpu-alerts"}, timeout=5
    ).json()["ephemerals"]
    assert any("cannot be acknowledged" in str(e) for e in ephemerals)


def test_ingest_rejects_a_wrong_token_and_names_the_bad_field(world: World):
    url = f"{world.bot_url}/api/v1/ingest"
    batch = {
        "batch_id": "b" * 16,
        "node": "n1",
        "sent_at": time.time(),
        "samples": [{"metric": "m", "labels": {}, "ts": time.time(), "value": "hot"}],
    }
    assert httpx.post(url, json=batch, headers={"Authorization": "Bearer nope"}).status_code == 401
    answer = httpx.post(url, json=batch, headers={"Authorization": f"Bearer {world.ingest_token}"})
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["field"] == "samples[0].value"
    assert "samples[0].value" in answer.json()["error"]
