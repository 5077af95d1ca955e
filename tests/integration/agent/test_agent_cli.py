"""`gpuwarden agent --simulate` as a process: ships every node's batches, stops on SIGTERM."""

from __future__ import annotations

import signal
import time

from .conftest import ScriptedBot, start_agent


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_simulated_fleet_ships_one_batch_per_node_per_tick_and_stops_on_sigterm(bot: ScriptedBot):
    argv = ["--simulate", "--bot-url", bot.url, "--interval", "0.2", "--seed", "1"]
    argv += ["--metrics-port", "0", "--quality-port", "0"]
    with start_agent(*argv, GPUWARDEN_INGEST_TOKEN="cli-token") as agent:
        try:
            assert _wait_for(lambda: len(bot.received) >= 6, timeout=20)
        finally:
            agent.send_signal(signal.SIGTERM)
            _, stderr = agent.communicate(timeout=15)

    assert agent.returncode == 0, stderr
    assert "stopping (SIGTERM)" in stderr
    assert "Traceback" not in stderr
    payloads = bot.payloads()
    assert {r.headers["Authorization"] for r in bot.received} == {"Bearer cli-token"}
    assert {p["node"] for p in payloads} == {"gpu-node-1", "gpu-node-2"}
    for payload in payloads:
        assert payload["gpu_count"] == 8
        per_gpu = [s for s in payload["samples"] if "gpu" in s["labels"]]
        serving = [s for s in payload["samples"] if "gpu" not in s["labels"]]
        assert len(per_gpu) == 8 * 6
        assert {s["labels"]["gpu"] for s in per_gpu} == {str(i) for i in range(8)}
        assert {s["metric"] for s in serving} >= {
            "gpuwarden_serving_time_to_first_token_seconds",
            "gpuwarden_serving_requests_waiting",
            "gpuwarden_serving_info",
        }
        assert [e["kind"] for e in payload["events"]] == ["heartbeat"]
