"""LLM triage from Slack: the sandbox (Slack and LLM stand-ins) and the bot as processes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.slack_commands.conftest import CHANNEL, RBAC, World
from tests.integration.slack_world import bot_with_sandbox
from tests.processes import eventually


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    tmp = tmp_path_factory.mktemp("slack-triage")
    (tmp / "config").mkdir()
    (tmp / "config" / "rbac.yaml").write_text(RBAC)
    with bot_with_sandbox(tmp, llm=True) as started:
        yield World(started.sandbox_url, started.bot_url, started.signing_secret), started.llm_url


def test_p2_gets_the_root_cause_assistant_once_and_summary_answers_by_command_and_button(
    world: tuple[World, str],
) -> None:
    slack, llm_url = world
    number = slack.declare("U0ALICE", "DeepSeek-V3 first tokens slow since the rollout")
    ref = f"INC-{number}"

    def thread() -> list[str]:
        return [r["text"] for r in slack.root(ref)["replies"]]

    eventually(
        lambda: any("Root-cause evidence" in t for t in thread()),
        timeout_s=20,
        what="the root-cause assistant in the thread",
    )
    answer = slack.command("U0BOB", f"summary {ref}")
    assert answer["status"] == 200
    text = slack.answer_to("U0BOB", "What happened")
    assert "AI-generated" in text
    assert "[T" in text
    root = slack.root(ref)
    clicked = slack.act(
        "click", user="U0ALICE", channel=CHANNEL, ts=root["ts"], action_id="incident.summary"
    )
    assert clicked["status"] == 200
    slack.answer_to("U0ALICE", "What happened")
    kinds = [e["kind"] for e in slack.timeline(number)]
    assert kinds.count("triage.root_cause") == 1
    assert kinds.count("triage.summary") == 2
    requests = httpx.get(f"{llm_url}/_sandbox/requests", timeout=5).json()
    assert len(requests) == 3
