"""A bot outage mid-stream: the disk spool keeps every batch, and a tiny spool counts what it drops.

The agent runs as a process (simulated, disk spool in a temp dir); a `ScriptedBot` on a fixed port
takes its batches, stops for 30 s, then comes back on the same port.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.processes import eventually, free_port

from .conftest import ENTRY, REPO, ScriptedBot

INTERVAL_S = 0.2
OUTAGE_S = 30.0


def _agent(tmp: Path, *argv: str) -> subprocess.Popen[str]:
    """The agent with its log in a file: a long run must not block on a full pipe."""
    with (tmp / "agent.log").open("w") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-c", ENTRY, *argv],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


def _stop(agent: subprocess.Popen[str], tmp: Path) -> str:
    agent.send_signal(signal.SIGTERM)
    agent.wait(timeout=15)
    log = (tmp / "agent.log").read_text()
    assert agent.returncode == 0, log
    return log


def _argv(port: int, spool: Path) -> list[str]:
    return [
        *("--simulate", "--bot-url", f"http://127.0.0.1:{port}", "--interval", str(INTERVAL_S)),
        *("--nodes", "1", "--gpus-per-node", "2", "--faults", "", "--seed", "3"),
        *("--spool-dir", str(spool), "--quality-port", "0"),
    ]


def _tick(payload: dict) -> float:
    return next(e["ts"] for e in payload["events"] if e["kind"] == "heartbeat")


def test_every_batch_of_a_30s_bot_outage_arrives_once_and_in_order(tmp_path):
    port, spool = free_port(), tmp_path / "spool"
    before = ScriptedBot(port)
    before.start()
    agent = _agent(tmp_path, *_argv(port, spool), "--metrics-port", "0")
    try:
        eventually(lambda: len(before.received) >= 10, timeout_s=15, what="10 batches")
        before.stop()
        down_at = time.monotonic()
        time.sleep(OUTAGE_S)
        spooled = len(list(spool.glob("*.json.gz")))
        after = ScriptedBot(port)
        after.start()
        try:
            expected = int(OUTAGE_S / INTERVAL_S)
            eventually(
                lambda: len(after.received) >= expected and not list(spool.glob("*.json.gz")),
                timeout_s=40,
                what="the spooled batches at the bot and the spool empty",
            )
        finally:
            log = _stop(agent, tmp_path)
            after.stop()
    finally:
        if agent.poll() is None:
            agent.kill()

    payloads = before.payloads() + after.payloads()
    ids = [p["batch_id"] for p in payloads]
    assert len(set(ids)) == len(ids), "a batch arrived twice"
    ticks = [_tick(p) for p in payloads]
    assert ticks == sorted(ticks), "batches arrived out of order"
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(gaps) < 4 * INTERVAL_S, "a tick is missing: the spool lost a batch"
    assert ticks[-1] - ticks[0] > OUTAGE_S
    assert spooled >= (OUTAGE_S - 5) / INTERVAL_S  # the outage was really spooled to disk
    back = after.received[0].at - down_at
    assert OUTAGE_S <= back < OUTAGE_S + 35, log  # retried within the backoff cap


def _metric(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def test_a_tiny_spool_stays_under_its_cap_and_counts_the_dropped_samples(tmp_path):
    port, spool, metrics_port = free_port(), tmp_path / "spool", free_port()
    cap = 6_000
    argv = [*_argv(port, spool), "--metrics-port", str(metrics_port)]
    agent = _agent(tmp_path, *argv, "--spool-max-bytes", str(cap))
    sizes: list[tuple[int, int]] = []  # (spool total, its largest file)

    def dropped() -> float:
        files = []
        for path in spool.glob("*.json.gz"):
            with contextlib.suppress(FileNotFoundError):  # evicted while we look
                files.append(path.stat().st_size)
        sizes.append((sum(files), max(files, default=0)))
        try:
            text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).text
        except httpx.HTTPError:
            return 0.0
        return _metric(text, "gpuwarden_agent_dropped_samples_total")

    try:
        eventually(lambda: dropped() >= 200, timeout_s=20, what="dropped samples counted")
        bot = ScriptedBot(port)
        bot.start()
        try:
            eventually(lambda: len(bot.received) >= 3, timeout_s=20, what="delivery after")
        finally:
            _stop(agent, tmp_path)
            bot.stop()
    finally:
        if agent.poll() is None:
            agent.kill()

    # The newest batch is written before the oldest go, so the cap holds to within one batch.
    assert all(total <= cap + largest for total, largest in sizes)
    assert max(total for total, _ in sizes) > cap / 2  # it did fill up
    ticks = [_tick(p) for p in bot.payloads()]
    assert ticks == sorted(ticks)
