"""LLM triage from Slack: the sandbox (Slack and LLM stand-ins) and the bot as processes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from sandbox.llm import DEFAULT_API_KEY, DEFAULT_MODELS
from tests.integration.slack_commands.conftest import CHANNEL, RBAC, World
from tests.processes import eventually, free_port, running


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    tmp = tmp_path_factory.mktemp("slack-triage")
    (tmp / "config").mkdir()
    (tmp / "config" / "rbac.yaml").write_text(RBAC)
    sandbox_port, bot_port, llm_port = free_port(), free_port(), free_port()
    sandbox_url, bot_url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{bot_port}"
    llm_url = f"http://127.0.0.1:{llm_port}"
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
        "GPUWARDEN_LLM_BASE_URL": f"{llm_url}/v1",
        "GPUWARDEN_LLM_MODEL": DEFAULT_MODELS[0],
        "GPUWARDEN_LLM_API_KEY": DEFAULT_API_KEY,
    }
    sandbox_args = [
        "sandbox",
        "--port",
        str(sandbox_port),
        "--kube-port",
        str(free_port()),
        "--llm-port",
        str(llm_port),
        "--request-url",
        f"{bot_url}/slack/events",
    ]
    with (
        running("sandbox", sandbox_args, env, tmp) as sandbox,
        running("bot", ["bot"], bot_env, tmp) as bot,
    ):
        sandbox.wait_ready(f"{sandbox_url}/_sandbox/healthz")
        bot.wait_ready(f"{bot_url}/readyz")
        yield World(sandbox_url, bot_url, env["GPUWARDEN_SLACK_SIGNING_SECRET"]), llm_url


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
