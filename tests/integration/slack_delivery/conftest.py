"""A bot process and a Slack sandbox process on PostgreSQL, talking real HTTP (and websockets).

``slack_world(**bot_env)`` starts both and returns a :class:`DeliveryWorld` that pushes GPU
samples to the bot, steers the sandbox (faults) and reads Slack back as a person would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.cli import DEFAULT_APP_TOKEN
from tests.integration.slack_world import SlackWorld, bot_with_sandbox, utilisation_batch
from tests.integration.storage.conftest import postgres_admin, postgres_url  # noqa: F401
from tests.processes import Process
from tests.rules import rules_yaml, utilisation_rule

RULES = rules_yaml(utilisation_rule(warn_for="0s", crit_for="0s"))
APP_TOKEN = DEFAULT_APP_TOKEN  # what `gpuwarden sandbox` accepts unless told otherwise
CHANNEL = "gpu-alerts"


@dataclass
class DeliveryWorld:
    """The two processes (see tests/integration/slack_world.py) and what a test does with them."""

    pair: SlackWorld

    @property
    def bot(self) -> Process:
        return self.pair.bot

    @property
    def bot_url(self) -> str:
        return self.pair.bot_url

    @property
    def sandbox_url(self) -> str:
        return self.pair.sandbox_url

    def push(self, node: str, gpu: int, value: float, *, at: float) -> None:
        """One sample from ``node``'s agent; returns once the bot has accepted (and shown) it."""
        self.pair.ingest(utilisation_batch(node, str(gpu), value, at=at), timeout_s=120)

    def fault(self, method: str, error: str, *, count: int, retry_after: int = 1) -> None:
        """Make the sandbox fail the next ``count`` calls of ``method``."""
        body = {"method": method, "error": error, "count": count, "retry_after": retry_after}
        httpx.post(f"{self.sandbox_url}/_sandbox/faults", json=body, timeout=5).raise_for_status()

    def pending_faults(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.sandbox_url}/_sandbox/faults", timeout=5).json()["faults"])

    def calls(self, method: str) -> list[dict[str, Any]]:
        answer = httpx.get(
            f"{self.sandbox_url}/_sandbox/calls", params={"method": method}, timeout=5
        )
        return list(answer.json()["calls"])

    def messages(self) -> list[dict[str, Any]]:
        """The alerts channel's root messages, each with its ``replies``, oldest first."""
        answer = httpx.get(
            f"{self.sandbox_url}/_sandbox/messages", params={"channel": CHANNEL}, timeout=5
        )
        return list(answer.json()["messages"])

    def incidents(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.bot_url}/api/v1/incidents", timeout=5).json())

    def timeline(self, incident_id: int) -> list[dict[str, Any]]:
        url = f"{self.bot_url}/api/v1/incidents/{incident_id}/timeline"
        return list(httpx.get(url, timeout=5).json())

    def act(self, what: str, **body: Any) -> dict[str, Any]:
        """Act as a person through ``/_sandbox/<what>`` (command, click, …)."""
        answer = httpx.post(f"{self.sandbox_url}/_sandbox/{what}", json=body, timeout=30)
        answer.raise_for_status()
        return dict(answer.json())


@pytest.fixture
def slack_world(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811 - the storage suite's fixture: a fresh schema
) -> Iterator[Callable[..., DeliveryWorld]]:
    """Start the pair on PostgreSQL with extra ``GPUWARDEN_*`` variables for the bot."""
    with ExitStack() as stack:

        def start(**bot_env: str) -> DeliveryWorld:
            (tmp_path / "config").mkdir()
            (tmp_path / "config" / "rules.yaml").write_text(RULES)
            env = {"GPUWARDEN_DATABASE_URL": postgres_url, **bot_env}
            return DeliveryWorld(stack.enter_context(bot_with_sandbox(tmp_path, bot_env=env)))

        yield start


def wait_for(probe: Callable[[], Any], *, timeout_s: float, what: str) -> Any:
    """Poll ``probe`` until it is truthy (a slower poll than ``eventually``: these are HTTP)."""
    deadline = time.monotonic() + timeout_s
    while (value := probe()) is None or value is False or value == []:
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout_s}s waiting for {what}"
            raise AssertionError(msg)
        time.sleep(0.2)
    return value
