"""The bot and the Slack sandbox as two processes wired to each other, for integration tests.

``bot_with_sandbox(tmp)`` starts ``gpuwarden sandbox`` (every stand-in on a free port) and
``gpuwarden bot`` pointed at it, with fresh secrets; the bot reads its YAML from ``tmp/config``
(write the files first) and keeps its SQLite file in ``tmp/data`` unless ``bot_env`` names a
``GPUWARDEN_DATABASE_URL``. With ``kube_token`` the bot drives the Kubernetes stand-in (which
requires that token); with ``llm=True`` it asks the LLM stand-in for triage.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sandbox.llm import DEFAULT_API_KEY, DEFAULT_MODELS
from tests.processes import Process, free_port, running


@dataclass
class SlackWorld:
    """The running pair: URLs, the shared secrets and the processes."""

    sandbox_url: str
    bot_url: str
    kube_url: str  # the sandbox's Kubernetes stand-in
    llm_url: str  # the sandbox's LLM stand-in
    secrets: Mapping[str, str]  # bot token, signing secret, ingest token (GPUWARDEN_* names)
    sandbox: Process
    bot: Process
    bot_env: Mapping[str, str]
    directory: Path  # the processes' logs, config/ and data/
    restarts: int = 0

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

    def ingest(self, batch: Mapping[str, Any], *, timeout_s: float = 30) -> dict[str, Any]:
        """Push one agent batch to the bot with the ingest token; its answer (202 expected)."""
        token = self.secrets["GPUWARDEN_INGEST_TOKEN"]
        answer = httpx.post(
            f"{self.bot_url}/api/v1/ingest",
            json=batch,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )
        assert answer.status_code == 202, answer.text
        return dict(answer.json())

    def start_bot(self) -> Process:
        """Start the bot again on the same database and configuration (the old one is stopped)."""
        self.bot.stop()  # a killed one: only its log is closed
        self.restarts += 1
        process = Process(f"bot-{self.restarts}", ["bot"], self.bot_env, self.directory)
        self.bot = process
        process.wait_ready(f"{self.bot_url}/readyz")
        return process


def utilisation_batch(node: str, gpu: str, value: float, *, at: float) -> dict[str, Any]:
    """An agent batch of one GPU utilisation sample from ``node``, read and sent at ``at``."""
    return {
        "batch_id": uuid.uuid4().hex,
        "node": node,
        "sent_at": at,
        "samples": [
            {
                "metric": "gpuwarden_gpu_utilization_ratio",
                "labels": {"gpu": gpu},
                "ts": at,
                "value": value,
            }
        ],
    }


@contextmanager
def bot_with_sandbox(
    tmp: Path,
    *,
    bot_env: Mapping[str, str] | None = None,
    kube_token: str | None = None,
    kube_ready_after: float | None = None,
    llm: bool = False,
) -> Iterator[SlackWorld]:
    """Start the sandbox and the bot; stop both afterwards (the bot as last started)."""
    (tmp / "config").mkdir(exist_ok=True)
    sandbox_port, bot_port, kube_port, llm_port = free_port(), free_port(), free_port(), free_port()
    sandbox_url, bot_url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{bot_port}"
    kube_url, llm_url = f"http://127.0.0.1:{kube_port}", f"http://127.0.0.1:{llm_port}"
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
    }
    sandbox_args = [
        *("sandbox", "--port", str(sandbox_port), "--kube-port", str(kube_port)),
        *("--llm-port", str(llm_port), "--request-url", f"{bot_url}/slack/events"),
    ]
    if kube_token is not None:
        sandbox_args += ["--kube-token", kube_token]
        env |= {
            "GPUWARDEN_KUBE_URL": kube_url,
            "GPUWARDEN_KUBE_TOKEN": kube_token,
            "GPUWARDEN_KUBE_NAMESPACE": "serving",
        }
    if kube_ready_after is not None:
        sandbox_args += ["--kube-ready-after", f"{kube_ready_after:g}"]
    if llm:
        env |= {
            "GPUWARDEN_LLM_BASE_URL": f"{llm_url}/v1",
            "GPUWARDEN_LLM_MODEL": DEFAULT_MODELS[0],
            "GPUWARDEN_LLM_API_KEY": DEFAULT_API_KEY,
        }
    env |= bot_env or {}
    with running("sandbox", sandbox_args, shared, tmp) as sandbox:
        sandbox.wait_ready(f"{sandbox_url}/_sandbox/healthz")
        bot = Process("bot", ["bot"], env, tmp)
        world = SlackWorld(sandbox_url, bot_url, kube_url, llm_url, shared, sandbox, bot, env, tmp)
        try:
            bot.wait_ready(f"{bot_url}/readyz")
            yield world
        finally:
            world.bot.stop()
