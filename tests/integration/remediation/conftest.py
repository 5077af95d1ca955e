"""The world of the remediation tests: the sandbox (Slack and Kubernetes stand-ins) and the bot.

Both run as their own processes (``python -m gpuwarden …``) and talk real HTTP: the bot reaches
the Kubernetes stand-in through the real ``kubernetes`` client and Slack through slack_sdk; a
person acts through the sandbox's automation endpoints exactly as in the browser. The bot keeps
its state in SQLite, so that a test can kill it and start it again on the same database.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import Process, eventually, free_port

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
    """The running sandbox and bot, and how a person acts on them."""

    sandbox_url: str
    kube_url: str
    bot_url: str
    bot_env: dict[str, str]
    directory: Path
    bot: Process
    restarts: int = 0

    def command(self, user: str, text: str) -> dict[str, Any]:
        """Type ``/incident text`` as ``user``."""
        answer = httpx.post(
            f"{self.sandbox_url}/_sandbox/command",
            json={"user": user, "channel": CHANNEL, "command": "/incident", "text": text},
            timeout=10,
        )
        answer.raise_for_status()
        return dict(answer.json())

    def click(self, user: str, message: dict[str, Any], action_id: str) -> dict[str, Any]:
        """Click the button ``action_id`` of ``message`` (its value as the message carries it)."""
        value = button(message, action_id)["value"]
        answer = httpx.post(
            f"{self.sandbox_url}/_sandbox/click",
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
            f"{self.sandbox_url}/_sandbox/messages", params={"channel": CHANNEL}, timeout=10
        )
        answer.raise_for_status()
        return list(answer.json()["messages"])

    def ephemerals(self, user: str) -> list[str]:
        answer = httpx.get(
            f"{self.sandbox_url}/_sandbox/messages",
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

    def timeline(self, incident_id: int) -> list[dict[str, Any]]:
        url = f"{self.bot_url}/api/v1/incidents/{incident_id}/timeline"
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
            incidents = httpx.get(f"{self.bot_url}/api/v1/incidents", timeout=5).json()
            return next((int(i["id"]) for i in incidents if i["title"] == title), None)

        return eventually(declared, timeout_s=WAIT_S, what=f"the incident {title!r}")

    def kube(self, method: str, path: str, body: Any = None) -> Any:
        answer = httpx.request(method, f"{self.kube_url}/_sandbox/{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def replicas(self, name: str = "deepseek-v3-blue") -> int:
        deployments = self.kube("GET", "state")["deployments"]
        return int(next(d["replicas"] for d in deployments if d["name"] == name))

    def start_bot(self) -> Process:
        """Start the bot (again) on the same database and configuration."""
        self.bot.stop()  # a killed one: only its log is closed
        self.restarts += 1
        process = Process(f"bot-{self.restarts}", ["bot"], self.bot_env, self.directory)
        process.wait_ready(f"{self.bot_url}/readyz")
        self.bot = process
        return process


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
    sandbox_port, kube_port, bot_port = free_port(), free_port(), free_port()
    sandbox_url, bot_url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{bot_port}"
    kube_url = f"http://127.0.0.1:{kube_port}"
    env = {
        "GPUWARDEN_SLACK_BOT_TOKEN": "xoxb-test-" + secrets.token_hex(4),
        "GPUWARDEN_SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "GPUWARDEN_INGEST_TOKEN": secrets.token_urlsafe(16),
    }
    bot_env = {
        **env,
        "GPUWARDEN_PORT": str(bot_port),
        "GPUWARDEN_DATA_DIR": str(tmp / "data"),
        "GPUWARDEN_CONFIG_DIR": str(tmp / "config"),
        "GPUWARDEN_SLACK_API_URL": f"{sandbox_url}/api/",
        "GPUWARDEN_KUBE_URL": kube_url,
        "GPUWARDEN_KUBE_TOKEN": KUBE_TOKEN,
        "GPUWARDEN_KUBE_NAMESPACE": "serving",
    }
    sandbox_args = [
        *("sandbox", "--port", str(sandbox_port), "--kube-port", str(kube_port)),
        *("--kube-token", KUBE_TOKEN, "--kube-ready-after", "0.2"),
        *("--llm-port", str(free_port()), "--request-url", f"{bot_url}/slack/events"),
    ]
    sandbox = Process("sandbox", sandbox_args, env, tmp)
    world = None
    try:
        sandbox.wait_ready(f"{sandbox_url}/_sandbox/healthz")
        bot = Process("bot", ["bot"], bot_env, tmp)
        world = World(sandbox_url, kube_url, bot_url, bot_env, tmp, bot)
        bot.wait_ready(f"{bot_url}/readyz")
        yield world
    finally:
        if world is not None:
            world.bot.stop()
        sandbox.stop()
