"""The whole agent as a process, for benchmarks: a loopback bot stand-in, the agent, CPU and RSS.

`Receiver` stands in for the bot's ingest API (HTTP/1.1 keep-alive, as uvicorn answers) and its
`GET /api/v1/agent/watch`, serving `levels` (by default the shipped rules' utilisation level).
`start_agent` runs ``gpuwarden agent`` (without the bot's dependencies: only nvidia-ml-py,
prometheus_client, psutil and httpx are needed); with `fake_gpus` the child puts the unit tests'
NVML stand-in (`tests/unit/agent/collectors/fake_nvml.py`) in place of ``pynvml`` first.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.unit.agent.collectors.fake_nvml import FakeGpu, FakeNvml  # noqa: E402

AGENT = (
    "import argparse, sys\nfrom agent import cli\n"
    "p = argparse.ArgumentParser()\ncli.configure(p)\nsys.exit(cli.run(p.parse_args()))\n"
)
FAKE_NVML = (
    "import sys\nfrom bench.agent_process import fake_nvml\n"
    "sys.modules['pynvml'] = fake_nvml({gpus}, {links})\n"
)
# The shipped rules' utilisation level (bot/config/defaults/rules.yaml, gpu_utilization_high).
UTILISATION_LEVEL = {
    "rule": "gpu_utilization_high",
    "metric": "gpuwarden_gpu_utilization_ratio",
    "match": {},
    "warn": 0.85,
    "crit": 0.95,
    "recover": 0.75,
}


def fake_nvml(gpus: int, nvlinks: int) -> Any:
    """Return the unit tests' NVML stand-in with `gpus` H100s of `nvlinks` links up each.

    Each GPU holds one process (this one, so that its pod/container resolve as a real one's).
    Waiting for XID events blocks for the whole timeout, as NVML's does (the stand-in's answers
    at once, which suits the unit tests).
    """
    nvml = FakeNvml(
        *(
            FakeGpu(
                f"GPU-{index:08x}",
                bus_id=f"00000000:{0x18 + index:02X}:00.0",
                nvlinks=[1] * nvlinks,
                processes=[(os.getpid(), 40 * 2**30)],
            )
            for index in range(gpus)
        )
    )
    nvml.NVML_NVLINK_MAX_LINKS = max(1, nvlinks)

    def wait_out(_event_set: object, timeout_ms: int) -> None:
        time.sleep(timeout_ms / 1000)  # no XIDs come: NVML's wait blocks for its whole timeout
        raise nvml.NVMLError(nvml.NVML_ERROR_TIMEOUT)

    nvml.nvmlEventSetWait_v2 = wait_out
    return nvml


class Receiver:
    """A loopback stand-in for the bot: takes ingest batches, answers the watched levels."""

    def __init__(self, levels: Sequence[dict[str, Any]] = (UTILISATION_LEVEL,)) -> None:
        self.batches: list[dict[str, Any]] = []
        self.level_requests = 0
        body = json.dumps({"levels": list(levels), "refresh_s": 30}).encode()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.batches.append(json.loads(gzip.decompress(data)))
                self._answer(202, b'{"accepted_samples":0,"accepted_events":0,"duplicate":false}')

            def do_GET(self) -> None:
                receiver.level_requests += 1
                self._answer(200, body)

            def _answer(self, status: int, reply: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    """Return a TCP port free on loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds process `pid` has used (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Return the resident memory of process `pid` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_agent(
    args: Sequence[str],
    *,
    log: Path,
    fake_gpus: int = 0,
    fake_nvlinks: int = 0,
) -> subprocess.Popen[bytes]:
    """Start ``gpuwarden agent args…`` (on `fake_gpus` stand-in GPUs if > 0), logging to `log`."""
    script = AGENT
    if fake_gpus:
        script = FAKE_NVML.format(gpus=fake_gpus, links=fake_nvlinks) + AGENT
    env = {**os.environ, "PYTHONPATH": f"{REPO}:{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], env=env, cwd=REPO, stderr=log.open("w")
    )


@dataclass(frozen=True, slots=True)
class ProcessCost:
    """What one agent run cost: CPU share of one core, RSS, and what it shipped."""

    cpu_share_pct: float
    rss_mb: float
    batches: int
    samples: int


def measure(
    args: Sequence[str],
    *,
    seconds: float,
    warm_s: float,
    log: Path,
    fake_gpus: int = 0,
    fake_nvlinks: int = 0,
) -> ProcessCost:
    """Run the agent against a fresh `Receiver`; measure it over `seconds` after `warm_s`."""
    receiver = Receiver()
    agent = start_agent(
        ["--bot-url", receiver.url, "--token", "bench-token", *args],
        log=log,
        fake_gpus=fake_gpus,
        fake_nvlinks=fake_nvlinks,
    )
    try:
        time.sleep(warm_s)
        if agent.poll() is not None:
            raise RuntimeError(f"the agent exited early; see {log}")
        before, started, shipped = cpu_seconds(agent.pid), time.monotonic(), len(receiver.batches)
        time.sleep(seconds)
        used, elapsed = cpu_seconds(agent.pid) - before, time.monotonic() - started
        batches = receiver.batches[shipped:]
        return ProcessCost(
            cpu_share_pct=round(used / elapsed * 100, 3),
            rss_mb=round(rss_mb(agent.pid), 1),
            batches=len(batches),
            samples=sum(len(b["samples"]) for b in batches),
        )
    finally:
        agent.terminate()
        agent.wait(timeout=30)
        receiver.close()
