"""Drill on a real GPU: the agent's real NVML path watching a real injected memory leak.

Run on a machine with an NVIDIA GPU, PyTorch or CuPy, and the agent's dependencies::

    python bench/gpu_drill.py --seconds 60 --rate 600 --out bench/results

Starts a loopback receiver standing in for the bot's ingest API, the agent without
``--simulate`` pushing to it every second, and ``gpuwarden chaos gpu-memory-leak`` beside it.
Then it saves the agent's ``/metrics`` exposition, a sample of the pushed batches, the leaking
process's GPU-memory series as the agent saw it, its fitted growth rate against the injected one,
and the agent's own CPU share and RSS over the run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.agent_process import REPO, Receiver, cpu_seconds, free_port, rss_mb, start_agent

CHAOS = (
    "import argparse, sys\nfrom agent import chaos\n"
    "p = argparse.ArgumentParser()\nchaos.configure(p)\nsys.exit(chaos.run(p.parse_args()))\n"
)
PROCESS_MEMORY = "gpuwarden_gpu_process_memory_used_bytes"


def _slope_mib_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, bytes) in MiB per minute."""
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return cov / var * 60 / 2**20


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=600.0, help="injected leak, MiB/min")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    receiver = Receiver(levels=())
    batches = receiver.batches
    metrics_port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{REPO}:{os.environ.get('PYTHONPATH', '')}"}
    agent = start_agent(
        [
            "--bot-url",
            receiver.url,
            "--token",
            "drill-token",
            "--node",
            "h100-drill",
            "--spool-dir",
            "",
            "--metrics-port",
            str(metrics_port),
            "--quality-port",
            "0",
        ],
        log=args.out / "agent.log",
    )
    time.sleep(5)  # NVML init and first cycles
    cpu0, t0 = cpu_seconds(agent.pid), time.monotonic()
    chaos = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHAOS,
            "gpu-memory-leak",
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.seconds),
        ],
        env=env,
        stderr=(args.out / "chaos.log").open("w"),
    )
    chaos.wait(timeout=args.seconds + 120)
    cpu_share = (cpu_seconds(agent.pid) - cpu0) / (time.monotonic() - t0)
    rss = rss_mb(agent.pid)
    exposition = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    agent.terminate()
    agent.wait(timeout=30)
    receiver.close()

    (args.out / "agent_metrics.txt").write_text(exposition)
    (args.out / "agent_batches_sample.json").write_text(json.dumps(batches[-3:], indent=1))
    series = sorted(
        (s["ts"], s["value"])
        for b in batches
        for s in b["samples"]
        if s["metric"] == PROCESS_MEMORY
        and s["labels"].get("process", "").startswith("python")
        and s["value"] > 0
    )
    growing = [p for p in series if p[1] > series[0][1]] if series else []
    result = {
        "batches": len(batches),
        "injected_rate_mib_per_min": args.rate,
        "observed_rate_mib_per_min": round(_slope_mib_per_min(growing), 1)
        if len(growing) > 2
        else None,
        "process_memory_points": len(series),
        "agent_cpu_share_of_one_core_pct": round(cpu_share * 100, 3),
        "agent_rss_mb": round(rss, 1),
        "gpu_metrics_in_exposition": len(
            {
                line.split("{")[0]
                for line in exposition.splitlines()
                if line.startswith("gpuwarden_gpu")
            }
        ),
    }
    (args.out / "gpu_drill.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "process_memory_series.json").write_text(json.dumps(series))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
