"""`gpuwarden agent --simulate --scenario FILE`: urgent XIDs and a partitioned node, at the bot."""

from __future__ import annotations

import signal

from tests.processes import eventually

from .conftest import start_agent

SCENARIO = """
- {at: 0s, duration: 1m, node: gpu-node-1, gpu: 1, fault: xid, params: {xid: 94}}
- {at: 0s, duration: 3s, node: gpu-node-2, fault: node_silence}
"""


def test_a_scenario_ships_its_xid_at_once_and_silences_the_partitioned_node(tmp_path, bot):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(SCENARIO)
    agent = start_agent(
        *("--simulate", "--bot-url", bot.url, "--interval", "0.5", "--seed", "2"),
        *("--nodes", "2", "--gpus-per-node", "2", "--scenario", str(scenario)),
        *("--metrics-port", "0", "--quality-port", "0"),
    )
    try:
        eventually(
            lambda: any(p["node"] == "gpu-node-2" for p in bot.payloads()),
            timeout_s=15,
            what="gpu-node-2 back after its partition",
        )
    finally:
        agent.send_signal(signal.SIGTERM)
        _, stderr = agent.communicate(timeout=15)
    assert agent.returncode == 0, stderr

    payloads = bot.payloads()
    urgent = [p for p in payloads if not p["samples"]]
    ((event,),) = [p["events"] for p in urgent]
    assert (urgent[0]["node"], event["kind"]) == ("gpu-node-1", "xid")
    assert (event["attrs"]["xid"], event["attrs"]["gpu"]) == (94, 1)
    assert "shipping 1 urgent event(s) from gpu-node-1 now" in stderr
    first_node2 = min(p["sent_at"] for p in payloads if p["node"] == "gpu-node-2")
    first = min(p["sent_at"] for p in payloads)
    assert first_node2 - first >= 2.5  # nothing at all from gpu-node-2 while partitioned
    assert "simulated partition: gpu-node-2 sends nothing" in stderr
