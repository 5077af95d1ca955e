"""Durable incident timers across a restart: what fell due while the bot was down fires once.

The bot runs on PostgreSQL, as in production, and is stopped and started as its own process.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.storage.conftest import postgres_admin, postgres_url  # noqa: F401
from tests.integration.test_bot_restart import Bot
from tests.processes import free_port, running, sandbox_args

RULES = """
rules:
  - name: model_down
    type: threshold
    metric: gpuwarden_gpu_utilization_ratio
    warn: 0.85
    crit: 0.95
    recover: 0.75
    group_by: [node, gpu]
    severity: {warn: P1, crit: P1}
"""
SLA = """
severities:
  P1: {description: Model down, ack: 3s, resolve: 1h, goal: restore, action: Fail over}
  P2: {description: Slow, ack: 15m, resolve: 1h, goal: mitigate, action: Scale out}
  P3: {description: Warning, ack: 1h, resolve: 24h, goal: root-cause, action: Find the cause}
"""
ONCALL = """
schedules:
  - {name: gpu-primary, users: [U0ALICE], every: 7d, handoff: "09:00", start: "2026-01-05"}
"""
BREACH = re.compile(r"^`\d\d:\d\d UTC` Ack deadline breached")  # the entry, not a quote of it
PAGE_DM = "You are paged for INC-1"


class World:
    def __init__(self, bot: Bot, sandbox_url: str) -> None:
        self.bot = bot
        self.sandbox_url = sandbox_url

    def thread_replies(self) -> list[str]:
        answer = httpx.get(
            f"{self.sandbox_url}/_sandbox/messages", params={"channel": "gpu-alerts"}, timeout=5
        )
        messages = answer.json()["messages"]
        return [reply["text"] for message in messages for reply in message["replies"]]

    def dms(self, user: str) -> list[str]:
        answer = httpx.get(f"{self.sandbox_url}/_sandbox/dm", params={"user": user}, timeout=5)
        return [message["text"] for message in answer.json()["messages"]]

    def counts(self) -> tuple[int, int]:
        breaches = sum(BREACH.match(text) is not None for text in self.thread_replies())
        pages = sum(PAGE_DM in text for text in self.dms("U0ALICE"))
        return breaches, pages


@pytest.fixture
def world(tmp_path: Path, postgres_url: str) -> Iterator[World]:  # noqa: F811
    """The sandbox, and a bot (started by the test) on a fresh PostgreSQL schema."""
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / "sla.yaml").write_text(SLA)
    (tmp_path / "oncall.yaml").write_text(ONCALL)
    port = free_port()
    args = sandbox_args(port, "--bot-token", "xoxb-restart")
    with running("sandbox", args, {}, tmp_path) as sandbox:
        sandbox.wait_ready(f"http://127.0.0.1:{port}/_sandbox/healthz")
        sandbox_url = f"http://127.0.0.1:{port}"
        bot = Bot(tmp_path, sandbox_url)
        bot.env["GPUWARDEN_DATABASE_URL"] = postgres_url
        yield World(bot, sandbox_url)


def _eventually(check: Callable[[], Any], *, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def test_a_breach_that_fell_due_while_the_bot_was_down_fires_once_after_restart(world: World):
    bot = world.bot
    first = bot.start("bot-1")
    bot.push(0.97)  # P1: acknowledge within 3 s
    opened = time.time()
    assert [(i["ref"], i["severity"]) for i in bot.get("/api/v1/incidents")] == [("INC-1", "P1")]
    first.stop()  # a timer run in flight finishes first
    time.sleep(max(0.0, opened + 5 - time.time()))  # well past the ack deadline

    second = bot.start("bot-2")
    try:
        assert _eventually(lambda: world.counts() == (1, 1), timeout_s=60), world.counts()
        time.sleep(5)  # a few more timer runs: nothing again
        assert world.counts() == (1, 1)
        kinds = [e["kind"] for e in bot.get("/api/v1/incidents/1/timeline")]
        assert kinds.count("sla.breach") == 1
        assert kinds.count("escalation.page") == 1
        assert "incident timers reconciled" in second.output()
    finally:
        second.stop()

    third = bot.start("bot-3")
    try:
        time.sleep(3)
        assert world.counts() == (1, 1)
    finally:
        third.stop()
