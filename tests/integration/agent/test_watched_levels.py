"""The bot tells agents its levels; a crossing reaches it long before the agent's next push.

Real processes on loopback: the Slack sandbox, `gpuwarden bot` with a utilisation rule, and
`gpuwarden agent --simulate` pushing only every 30 s, with a GPU saturating 4 s after its start.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.integration.slack_world import bot_with_sandbox
from tests.processes import eventually, running
from tests.rules import memory_leak_rules, rules_yaml, utilisation_rule

INTERVAL_S = 30
RULES = rules_yaml(
    utilisation_rule(warn_for="0s", crit_for="0s"),
    """\
  - name: ttft_p99_high
    type: threshold
    metric: gpuwarden_serving_time_to_first_token_seconds
    match: {percentile: "99"}
    warn: 0.18
    crit: 0.25
    recover: 0.15
""",
    memory_leak_rules(),
)


def test_a_crossing_reaches_the_bot_at_once_not_at_the_next_push(tmp_path: Path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.yaml").write_text(RULES)
    with bot_with_sandbox(tmp_path) as pair:
        bot_url, token = pair.bot_url, pair.secrets["GPUWARDEN_INGEST_TOKEN"]
        agent_args = [
            "agent",
            "--simulate",
            "--nodes", "1",
            "--gpus-per-node", "2",
            "--interval", str(INTERVAL_S),
            "--faults", "gpu_saturation@4s+2m:node=gpu-node-1,gpu=1,ramp_s=0",
            "--seed", "1",
            "--metrics-port", "0",
            "--quality-port", "0",
            "--bot-url", bot_url,
        ]  # fmt: skip
        refused = httpx.get(f"{bot_url}/api/v1/agent/watch", timeout=5)
        answer = httpx.get(
            f"{bot_url}/api/v1/agent/watch",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).json()
        assert refused.status_code == 401
        assert [(lv["rule"], lv["match"]) for lv in answer["levels"]] == [
            ("gpu_utilization_high", {}),
            ("ttft_p99_high", {"percentile": "99"}),
        ]  # the leak rule watches a value only the bot derives

        started = time.time()
        with running("agent", agent_args, {"GPUWARDEN_INGEST_TOKEN": token}, tmp_path) as agent:
            incident = eventually(
                lambda: _incident(bot_url, "gpu-node-1"),
                timeout_s=INTERVAL_S - 5,
                what=f"an incident before the agent's second push ({agent.output()})",
            )
            log = agent.output()

    opened_after = incident["created_at"] - started
    assert 4 < opened_after < 4 + 8  # fault at 4 s after the agent's first tick, + start-up
    assert "crossed gpu_utilization_high (band 0 -> 2); shipping it now" in log
    assert "watching 2 level(s) on 2 metric(s)" in log


def _incident(bot_url: str, node: str) -> dict[str, object] | None:
    incidents = httpx.get(f"{bot_url}/api/v1/incidents", timeout=5).json()
    found = [i for i in incidents if node in str(i["title"]) + str(i["group_key"])]
    return found[0] if found else None
