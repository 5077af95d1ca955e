"""The world of the remediation tests: the sandbox (Slack and Kubernetes stand-ins) and the bot.

Both run as their own processes (``python -m gpuwarden …``) and talk real HTTP: the bot reaches
the Kubernetes stand-in through the real ``kubernetes`` client and Slack through slack_sdk; a
person acts through the sandbox's automation endpoints exactly as in the browser. The bot keeps
its state in SQLite, so that a test can kill it and start it again on the same database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.slack_world import SlackWorld, bot_with_sandbox
from tests.processes import eventually

CHANNEL = "gpu-alerts"
WAIT_S = 30  # generous for a shared CI machine; a passing run waits far less
KUBE_TOKEN = "remediation-test-kube-token"
REMEDIATION = """
roles:
  responder: {users: ["*"]}
  approver: {users: [U0ALICE, U0BOB, U0CAROL]}
approvals: {ttl: 15m, high_risk_approvers: 2}
guards: {cooldown: 0.1, max_step: 4, max_replicas: 10, min_replicas: 1}
"""


@dataclass
class World:
    """The running sandbox and bot (``pair``), and how a person acts on them."""

    pair: SlackWorld

    def command(self, user: str, text: str) -> dict[str, Any]:
        """Type ``/incident text`` as ``user``."""
        return self.pair.command(user=user, channel=CHANNEL, command="/incident", text=text)

    def click(
        self, user: str, message: dict[str, Any], action_id: str, *, value: str | None = None
    ) -> dict[str, Any]:
        """Click the button ``action_id`` of ``message`` (its value as the message carries it)."""
        if value is None:
            value = button(message, action_id)["value"]
        answer = httpx.post(
            f"{self.pair.sandbox_url}/_sandbox/click",
            json={
                "user": user,
                "channel": CHANNEL,
                "ts": message["ts"],
                "action_id": action_id,
                "value": value,
            },
            timeout=30,
        )
        answer.raise_for_status()
        return dict(answer.json())

    def messages(self) -> list[dict[str, Any]]:
        answer = httpx.get(
            f"{self.pair.sandbox_url}/_sandbox/messages", params={"channel": CHANNEL}, timeout=10
        )
        answer.raise_for_status()
        return list(answer.json()["messages"])

    def ephemerals(self, user: str) -> list[str]:
        answer = httpx.get(
            f"{self.pair.sandbox_url}/_sandbox/messages",
            params={"channel": CHANNEL, "user": user},
            timeout=10,
        )
        return [e["text"] for e in answer.json()["ephemerals"]]

    def answer_to(self, user: str, needle: str) -> str:
        return eventually(
            lambda: next((t for t in reversed(self.ephemerals(user)) if needle in t), None),
            timeout_s=WAIT_S,
            what=f"an answer to {user} containing {needle!r}",
        )

    def run_message(self, ref: str, *, having: str = "") -> dict[str, Any]:
        """The runbook message in the thread of ``ref`` (once it shows ``having``)."""

        def found() -> dict[str, Any] | None:
            root = next((m for m in self.messages() if f"{ref} [" in m.get("text", "")), None)
            replies = root.get("replies", []) if root else []
            return next(
                (
                    r
                    for r in replies
                    if r.get("text", "").startswith("Runbook ") and having in str(r["blocks"])
                ),
                None,
            )

        try:
            return eventually(found, timeout_s=WAIT_S, what=f"runbook message of {ref} ({having})")
        except AssertionError as exc:  # say what the people were told
            told = {user: self.ephemerals(user) for user in ("U0ALICE", "U0BOB", "U0CAROL")}
            raise AssertionError(f"{exc}; ephemeral answers: {told}") from None

    def step_past(self, ref: str, step: str, *, timeout_s: float = WAIT_S) -> dict[str, Any]:
        """The run's message of ``ref`` once ``step`` is no longer the one its buttons act on."""

        def moved() -> dict[str, Any] | None:
            message = self.run_message(ref)
            values = [
                e.get("value", "")
                for b in message["blocks"]
                for e in b.get("elements", [])
                if isinstance(e, dict)
            ]
            return None if any(v.endswith(f":{step}") for v in values) else message

        return eventually(moved, timeout_s=timeout_s, what=f"{ref} past the step {step}")

    def timeline(self, incident_id: int) -> list[dict[str, Any]]:
        url = f"{self.pair.bot_url}/api/v1/incidents/{incident_id}/timeline"
        return list(httpx.get(url, timeout=5).json())

    def texts(self, incident_id: int) -> list[str]:
        return [e["text"] for e in self.timeline(incident_id)]

    def wait_text(self, incident_id: int, needle: str) -> str:
        return eventually(
            lambda: next((t for t in self.texts(incident_id) if needle in t), None),
            timeout_s=WAIT_S,
            what=f"{needle!r} on the timeline of INC-{incident_id}",
        )

    def declare(self, user: str, title: str) -> int:
        self.command(user, f'declare P2 "{title}"')

        def declared() -> int | None:
            incidents = httpx.get(f"{self.pair.bot_url}/api/v1/incidents", timeout=5).json()
            return next((int(i["id"]) for i in incidents if i["title"] == title), None)

        return eventually(declared, timeout_s=WAIT_S, what=f"the incident {title!r}")

    def kube(self, method: str, path: str, body: Any = None) -> Any:
        answer = httpx.request(
            method, f"{self.pair.kube_url}/_sandbox/{path}", json=body, timeout=10
        )
        answer.raise_for_status()
        return answer.json()

    def replicas(self, name: str = "deepseek-v3-blue") -> int:
        deployments = self.kube("GET", "state")["deployments"]
        return int(next(d["replicas"] for d in deployments if d["name"] == name))


def button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    """The (last) button of ``message`` with this action_id."""
    found = [
        element
        for block in message.get("blocks", [])
        for element in [*block.get("elements", []), block.get("accessory") or {}]
        if element.get("action_id") == action_id
    ]
    assert found, f"no {action_id} button in {message.get('text')!r}"
    return found[-1]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("remediation")
    (tmp / "config").mkdir()
    (tmp / "config" / "remediation.yaml").write_text(REMEDIATION)
    with bot_with_sandbox(tmp, kube_token=KUBE_TOKEN, kube_ready_after=0.2) as pair:
        yield World(pair)
