"""The disk spool across a bot outage and an agent restart: every batch arrives once, in order."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import time
from pathlib import Path

from tests.processes import eventually, free_port

from .conftest import ScriptedBot, start_agent


def _stop(agent: subprocess.Popen[str]) -> str:
    agent.send_signal(signal.SIGTERM)
    _, stderr = agent.communicate(timeout=15)
    assert agent.returncode == 0, stderr
    return stderr


def _spooled_ids(spool: Path) -> list[str]:
    return [
        json.loads(gzip.decompress(path.read_bytes()))["batch_id"]
        for path in sorted(spool.glob("*.json.gz"))
    ]


def test_batches_spooled_while_the_bot_is_down_arrive_once_in_order_after_a_restart(tmp_path):
    port, spool = free_port(), tmp_path / "spool"
    argv = ["--simulate", "--bot-url", f"http://127.0.0.1:{port}", "--interval", "0.2"]
    argv += ["--nodes", "1", "--gpus-per-node", "2", "--faults", "", "--seed", "1"]
    argv += ["--spool-dir", str(spool), "--metrics-port", "0", "--quality-port", "0"]

    first = start_agent(*argv)
    try:
        eventually(lambda: len(_spooled_ids(spool)) >= 5, timeout_s=20, what="5 spooled batches")
    finally:
        stderr = _stop(first)
    left_on_disk = _spooled_ids(spool)
    assert "undelivered" in stderr

    second = start_agent(*argv)
    time.sleep(1.0)  # the bot is still down: the new agent spools behind the old batches
    bot = ScriptedBot(port)
    bot.start()
    try:
        eventually(
            lambda: len(bot.received) >= len(left_on_disk) + 8,
            timeout_s=20,
            what="the spooled batches and new ones at the bot",
        )
    finally:
        try:
            _stop(second)
        finally:
            bot.stop()

    payloads = bot.payloads()
    ids = [p["batch_id"] for p in payloads]
    assert ids[: len(left_on_disk)] == left_on_disk
    assert len(set(ids)) == len(ids)
    ticks = [p["events"][-1]["ts"] for p in payloads]
    assert ticks == sorted(ticks)
    assert _spooled_ids(spool) == []
