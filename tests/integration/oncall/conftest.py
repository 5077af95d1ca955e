"""The on-call world: the Slack sandbox and the bot as processes over HTTP, on PostgreSQL.

alice is always on call in ``gpu-primary`` (until someone overrides). A P1 pages that schedule,
then the ``@gpu-approvers`` group (bob), then carol; only alice and bob may change who is on
call. The bot keeps ``@gpu-oncall`` holding whoever is on call (``GPUWARDEN_ONCALL_USERGROUP``).
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.slack_commands.conftest import postgres_schema_url  # noqa: F401
from tests.integration.slack_world import bot_with_sandbox, utilisation_batch
from tests.integration.storage.conftest import postgres_admin  # noqa: F401
from tests.integration.test_timers_restart import RULES  # a P1 at 0.95 GPU utilisation
from tests.processes import eventually

CHANNEL = "gpu-alerts"
ONCALL = """
schedules:
  - {name: gpu-primary, users: [U0ALICE], every: 7d, handoff: "09:00", start: "2026-01-05"}
"""
ESCALATION = """
severities:
  P1:
    levels:
      - {notify: [{schedule: gpu-primary}], wait: 1h}
      - {notify: [{group: gpu-approvers}], wait: 12s}
      - {notify: [{user: U0CAROL}], wait: 1h}
  P2: {levels: []}
  P3: {levels: []}
"""
RBAC = """
permissions:
  acknowledge: ["*"]
  resolve: ["*"]
  escalate: ["*"]
  oncall: [U0ALICE, U0BOB]
"""


@dataclass
class World:
    """The running sandbox and bot, and how a person acts on them."""

    sandbox_url: str
    bot_url: str
    bot_token: str
    ingest_token: str

    def command(self, user: str, text: str, command: str = "/oncall") -> dict[str, Any]:
        """Type ``/oncall text`` as ``user``; the sandbox's answer (status, ack shown)."""
        body = {"user": user, "channel": CHANNEL, "command": command, "text": text}
        answer = httpx.post(f"{self.sandbox_url}/_sandbox/command", json=body, timeout=10)
        answer.raise_for_status()
        return dict(answer.json())

    def click(self, user: str, ts: str, action_id: str, *, redeliveries: int = 0) -> None:
        """Click a button of the message ``ts`` as ``user`` (with Slack's retries, if asked)."""
        body = {
            "user": user,
            "channel": CHANNEL,
            "ts": ts,
            "action_id": action_id,
            "redeliveries": redeliveries,
        }
        httpx.post(f"{self.sandbox_url}/_sandbox/click", json=body, timeout=10).raise_for_status()

    def read(self, path: str, **params: str) -> Any:
        answer = httpx.get(f"{self.sandbox_url}/_sandbox/{path}", params=params, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def messages(self) -> list[dict[str, Any]]:
        return list(self.read("messages", channel=CHANNEL)["messages"])

    def replies(self, ts: str) -> list[str]:
        root = next(m for m in self.messages() if m["ts"] == ts)
        return [reply["text"] for reply in root["replies"]]

    def ephemerals(self, user: str) -> list[str]:
        return [e["text"] for e in self.read("messages", channel=CHANNEL, user=user)["ephemerals"]]

    def answer_to(self, user: str, needle: str) -> str:
        """Wait for an ephemeral answer to ``user`` containing ``needle``."""
        return eventually(
            lambda: next((t for t in reversed(self.ephemerals(user)) if needle in t), None),
            timeout_s=10,
            what=f"an answer to {user} containing {needle!r}",
        )

    def dms(self, user: str) -> list[str]:
        return [m["text"] for m in self.read("dm", user=user)["messages"]]

    def group_members(self, handle: str) -> list[str]:
        groups = self.read("usergroups")["usergroups"]
        return list(next(g for g in groups if g["handle"] == handle)["users"])

    def web_api(self, method: str, **args: str) -> dict[str, Any]:
        """Call the Web API with the bot's token, as another Slack app would."""
        answer = httpx.post(
            f"{self.sandbox_url}/api/{method}",
            data=args,
            headers={"Authorization": f"Bearer {self.bot_token}"},
            timeout=10,
        )
        body = dict(answer.json())
        assert body["ok"], body
        return body

    def push(self, value: float, *, gpu: str = "0") -> None:
        """One utilisation sample from gpu-node-1 (0.97 opens a P1)."""
        batch = utilisation_batch("gpu-node-1", gpu, value, at=time.time())
        answer = httpx.post(
            f"{self.bot_url}/api/v1/ingest",
            content=gzip.compress(json.dumps(batch).encode()),
            headers={
                "Authorization": f"Bearer {self.ingest_token}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            },
            timeout=10,
        )
        assert answer.status_code == 202, answer.text

    def timeline(self, incident_id: int) -> list[dict[str, Any]]:
        url = f"{self.bot_url}/api/v1/incidents/{incident_id}/timeline"
        return list(httpx.get(url, timeout=5).json())


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_schema_url: str,  # noqa: F811
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("oncall")
    (tmp / "config").mkdir()
    for name, text in (
        ("rules.yaml", RULES),
        ("oncall.yaml", ONCALL),
        ("escalation.yaml", ESCALATION),
        ("rbac.yaml", RBAC),
    ):
        (tmp / "config" / name).write_text(text)
    bot_env = {
        "GPUWARDEN_DATABASE_URL": postgres_schema_url,
        "GPUWARDEN_ONCALL_USERGROUP": "gpu-oncall",
    }
    with bot_with_sandbox(tmp, bot_env=bot_env) as running_world:
        yield World(
            running_world.sandbox_url,
            running_world.bot_url,
            running_world.secrets["GPUWARDEN_SLACK_BOT_TOKEN"],
            running_world.secrets["GPUWARDEN_INGEST_TOKEN"],
        )
