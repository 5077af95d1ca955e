"""`gpuwarden agent --simulate` as a process: ships every node's batches, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .conftest import ScriptedBot

REPO = Path(__file__).resolve().parents[3]
ENTRY = (
    "import argparse, sys\n"
    "from agent import cli\n"
    "parser = argparse.ArgumentParser(prog='gpuwarden agent')\n"
    "cli.configure(parser)\n"
    "sys.exit(cli.run(parser.parse_args()))\n"
)


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_simulated_fleet_ships_one_batch_per_node_per_tick_and_stops_on_sigterm(bot: ScriptedBot):
    env = {**os.environ, "PYTHONPATH": str(REPO), "GPUWARDEN_INGEST_TOKEN": "cli-token"}
    argv = ["--simulate", "--bot-url", bot.url, "--interval", "0.2", "--seed", "1"]
    with subprocess.Popen(
        [sys.executable, "-c", ENTRY, *argv],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as agent:
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
        assert len(payload["samples"]) == 8 * 6
        assert {s["labels"]["gpu"] for s in payload["samples"]} == {str(i) for i in range(8)}
        assert [e["kind"] for e in payload["events"]] == ["heartbeat"]


def test_without_simulate_the_process_exits_2_with_a_message():
    result = subprocess.run(
        [sys.executable, "-c", ENTRY],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr == (
        "gpuwarden agent: error: real collectors are not available in this build; pass --simulate\n"
    )
