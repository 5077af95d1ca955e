"""The agent without ``--simulate`` on a machine without GPUs: host signals flow, NVML's absence
is one clear line, nothing crashes."""

from __future__ import annotations

import signal

from tests.processes import eventually, free_port

from .conftest import ScriptedBot, start_agent


def test_real_mode_without_nvml_ships_host_readings_under_the_node_name(bot: ScriptedBot):
    agent = start_agent(
        "--bot-url",
        bot.url,
        "--node",
        "test-node-7",
        "--kmsg-path",
        "",
        "--metrics-port",
        str(free_port()),
        "--quality-port",
        "0",
        "--spool-dir",
        "",
    )
    try:
        batch = eventually(
            lambda: next((p for p in bot.payloads() if p["samples"]), None),
            timeout_s=20,
            what="a batch with samples",
        )
    finally:
        agent.send_signal(signal.SIGTERM)
        _, output = agent.communicate(timeout=20)
    assert batch["node"] == "test-node-7"
    metrics = {s["metric"] for s in batch["samples"]}
    assert "gpuwarden_host_memory_total_bytes" in metrics
    assert agent.returncode == 0, output
    assert "NVML" in output  # the missing library is said once, clearly
    assert "Traceback" not in output
