"""The bot and the Slack sandbox as two processes wired to each other, for integration tests.

``bot_with_sandbox(tmp)`` starts ``gpuwarden sandbox`` (every stand-in on a free port) and
``gpuwarden bot`` pointed at it, with fresh secrets; the bot reads its YAML from ``tmp/config``
(write the files first) and keeps its SQLite file in ``tmp/data`` unless ``bot_env`` names a
``GPUWARDEN_DATABASE_URL``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.processes import Process, free_port, running


@dataclass(frozen=True)
class SlackWorld:
    """The running pair: URLs, the shared secrets and the processes."""

    sandbox_url: str
    bot_url: str
    secrets: Mapping[str, str]  # bot token, signing secret, ingest token (GPUWARDEN_* names)
    sandbox: Process
    bot: Process

    @property
    def signing_secret(self) -> str:
        """The secret the sandbox signs deliveries with and the bot checks."""
        return self.secrets["GPUWARDEN_SLACK_SIGNING_SECRET"]

    def command(self, *, user: str, channel: str, command: str, text: str) -> dict[str, Any]:
        """Type ``command text`` as ``user`` in ``channel``; the sandbox's report (answer shown)."""
        answer = httpx.post(
            f"{self.sandbox_url}/_sandbox/command",
            json={"user": user, "channel": channel, "command": command, "text": text},
            timeout=10,
        )
        answer.raise_for_status()
        return dict(answer.json())

    def ingest(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        """Push one agent batch to the bot with the ingest token; its answer (202 expected)."""
        token = self.secrets["GPUWARDEN_INGEST_TOKEN"]
        answer = httpx.post(
            f"{self.bot_url}/api/v1/ingest",
            json=batch,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        return dict(answer.json())


@contextmanager
def bot_with_sandbox(
    tmp: Path, *, bot_env: Mapping[str, str] | None = None
) -> Iterator[SlackWorld]:
    """Start the sandbox and the bot; stop both afterwards."""
    (tmp / "config").mkdir(exist_ok=True)
    sandbox_port, bot_port = free_port(), free_port()
    sandbox_url, bot_url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{bot_port}"
    shared = {
        "GPUWARDEN_SLACK_BOT_TOKEN": "xoxb-test-" + secrets.token_hex(4),
        "GPUWARDEN_SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "GPUWARDEN_INGEST_TOKEN": secrets.token_urlsafe(16),
    }
    env = {
        **shared,
        "GPUWARDEN_PORT": str(bot_port),
        "GPUWARDEN_DATA_DIR": str(tmp / "data"),
        "GPUWARDEN_CONFIG_DIR": str(tmp / "config"),
        "GPUWARDEN_SLACK_API_URL": f"{sandbox_url}/api/",
        **(bot_env or {}),
    }
    sandbox_args = [
        "sandbox",
        "--port",
        str(sandbox_port),
        "--kube-port",
        str(free_port()),
        "--llm-port",
        str(free_port()),
        "--request-url",
        f"{bot_url}/slack/events",
    ]
    with (
        running("sandbox", sandbox_args, shared, tmp) as sandbox,
        running("bot", ["bot"], env, tmp) as bot,
    ):
        sandbox.wait_ready(f"{sandbox_url}/_sandbox/healthz")
        bot.wait_ready(f"{bot_url}/readyz")
        yield SlackWorld(sandbox_url, bot_url, shared, sandbox, bot)
