"""``/silence`` typed in the Slack sandbox, delivered signed over HTTP to the bot process.

alice may silence (rbac.yaml); carol may only look. A silence made in Slack mutes its node at
once, is in the bot's API and is announced in the channel; an ended one no longer mutes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.slack_world import SlackWorld, bot_with_sandbox
from tests.processes import eventually

CHANNEL = "gpu-alerts"
RBAC = 'permissions:\n  silence: ["U0ALICE"]\n'


@dataclass
class Chat:
    """The sandbox and the bot, and a person typing ``/silence`` in #gpu-alerts."""

    world: SlackWorld

    def silence(self, user: str, text: str) -> dict[str, Any]:
        """Type ``/silence text`` as ``user``; what the sandbox reports (answer shown)."""
        return self.world.command(user=user, channel=CHANNEL, command="/silence", text=text)

    def channel_texts(self) -> list[str]:
        """Every message in the channel everybody sees."""
        url = f"{self.world.sandbox_url}/_sandbox/messages"
        found = httpx.get(url, params={"channel": CHANNEL}, timeout=10).json()
        return [m.get("text", "") for m in found["messages"]]

    def bot(self, path: str) -> Any:
        return httpx.get(f"{self.world.bot_url}{path}", timeout=5).json()

    def xid(self, node: str) -> None:
        """The agent of ``node`` reports XID 79 (which opens a P1 incident)."""
        now = time.time()
        batch = {
            "batch_id": f"xid-{node}-{time.monotonic_ns()}",
            "node": node,
            "sent_at": now,
            "samples": [],
            "events": [{"kind": "xid", "ts": now, "labels": {"gpu": "1"}, "attrs": {"xid": 79}}],
        }
        self.world.ingest(batch)


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    tmp = tmp_path_factory.mktemp("silence-command")
    (tmp / "config").mkdir()
    (tmp / "config" / "rbac.yaml").write_text(RBAC)
    with bot_with_sandbox(tmp) as world:
        yield Chat(world)


def test_a_silence_made_in_slack_is_announced_and_mutes_its_node_at_once(chat: Chat):
    made = chat.silence("U0ALICE", 'node=gpu-node-4 2h "driver upgrade"')
    assert made["status"] == 200
    assert made["ephemeral"] is None  # posted in the channel, for everybody
    text = made["message"]["text"]
    assert text.startswith('<@U0ALICE> silenced alerts matching `node="gpu-node-4"` for 2h')
    assert "driver upgrade" in text
    assert text in chat.channel_texts()
    (stored,) = chat.bot("/api/v1/silences")
    assert (stored["created_by"], stored["comment"], stored["active"]) == (
        "U0ALICE",
        "driver upgrade",
        True,
    )
    assert f"`{stored['id'][:8]}`" in text

    chat.xid("gpu-node-4")
    chat.xid("gpu-node-5")
    incidents = eventually(
        lambda: chat.bot("/api/v1/incidents") or None, timeout_s=15, what="an incident"
    )
    assert [i["group_key"] for i in incidents] == ["node:gpu-node-5"]


def test_anyone_may_list__only_the_permitted_may_add_or_end(chat: Chat):
    refused = chat.silence("U0CAROL", "add node=gpu-node-1 1h testing")
    assert refused["message"] is None
    assert "not allowed to add or end silences" in refused["ephemeral"]["text"]

    listed = chat.silence("U0CAROL", "")  # a bare /silence lists
    (silence,) = chat.bot("/api/v1/silences")
    assert listed["message"] is None
    answer = listed["ephemeral"]["text"]
    assert answer.startswith("*Silences (1)*")
    assert f"`{silence['id'][:8]}` active until" in answer
    assert "by <@U0ALICE>: driver upgrade" in answer

    ended = chat.silence("U0ALICE", f"expire {silence['id'][:8]}")
    assert f"<@U0ALICE> ended silence `{silence['id'][:8]}`" in ended["message"]["text"]
    assert chat.bot("/api/v1/silences") == []
    again = chat.silence("U0ALICE", f"expire {silence['id']}")
    assert "had already ended" in again["ephemeral"]["text"]

    chat.xid("gpu-node-4")  # no longer silenced
    eventually(
        lambda: "node:gpu-node-4" in [i["group_key"] for i in chat.bot("/api/v1/incidents")],
        timeout_s=15,
        what="the incident of gpu-node-4",
    )


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("help", "`/silence expire ID` — end a silence now"),
        ("gpu-node-4 2h why", "Usage: `/silence add node=gpu-node-2"),
        ("node=gpu-node-4 soon why", "`soon` is not a duration"),
        ("node=~[ 1h why", "expected a regular expression"),
        ("node=gpu-node-4 1h", "A silence needs a non-empty comment."),
        ("expire 0000", "No silence with id 0000."),
    ],
)
def test_mistakes_get_an_answer_only_the_user_sees(chat: Chat, text: str, answer: str):
    shown = chat.silence("U0ALICE", text)
    assert shown["message"] is None
    assert answer in shown["ephemeral"]["text"]
