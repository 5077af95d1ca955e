"""Agent overhead on a real GPU: one NVML collection cycle against nvidia-smi, same fields.

Run on a machine with an NVIDIA GPU and driver::

    python bench/agent_overhead.py --cycles 300 --out bench/results

Measures, in one run:

- CPU and wall time of ``NvmlCollector.collect`` per cycle, fast cycles and slow-cadence cycles
  (energy, ECC, remapped rows, NVLink, PCIe, processes) separately, per GPU;
- the baseline: ``nvidia-smi --query-gpu=<the same fields> --format=csv`` (wall time and the CPU
  time of the child process), and the ratio;
- the projected CPU share of one core at 1 Hz and this process's RSS.

Targets (the agent issue): ≤ 0.5 ms CPU per cycle per GPU, ≤ 0.5 % of a core at 1 Hz on an
8-GPU node, RSS ≤ 80 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.collectors.nvml import NvmlCollector

SMI_FIELDS = (
    "utilization.gpu,utilization.memory,memory.total,memory.used,memory.reserved,temperature.gpu,"
    "power.draw,power.limit,clocks.sm,clocks.mem,clocks_event_reasons.active,"
    "ecc.errors.corrected.volatile.total,ecc.errors.uncorrected.volatile.total,pcie.link.gen.current,"
    "pcie.link.width.current,persistence_mode"
)


def _cycles(collector: NvmlCollector, n: int) -> tuple[list[float], list[float], int]:
    cpu, wall, readings = [], [], 0
    for _ in range(n):
        c0, w0 = time.process_time(), time.perf_counter()
        found, _events = collector.collect(time.time())
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        readings = max(readings, len(found))
    return cpu, wall, readings


def _smi(n: int) -> tuple[list[float], list[float]]:
    cpu, wall = [], []
    for _ in range(n):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.perf_counter()
        subprocess.run(
            ["nvidia-smi", f"--query-gpu={SMI_FIELDS}", "--format=csv"],
            check=True,
            capture_output=True,
        )
        wall.append(time.perf_counter() - w0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return cpu, wall


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered) * 1e3, 4),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3, 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--smi-runs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    fast = NvmlCollector(node="bench", registry=CollectorRegistry(), slow_every=10**9)
    slow = NvmlCollector(node="bench", registry=CollectorRegistry(), slow_every=1)
    if not (fast.open() and slow.open()):
        print("NVML is not available here; run this on a machine with an NVIDIA GPU")
        return 2
    _cycles(fast, 5)  # warm: the first cycle enumerates and probes what is supported
    _cycles(slow, 2)
    gpus = fast.gpu_count
    fast_cpu, fast_wall, fast_readings = _cycles(fast, args.cycles)
    slow_cpu, slow_wall, slow_readings = _cycles(slow, max(10, args.cycles // 10))
    smi_cpu, smi_wall = _smi(args.smi_runs)
    fast.close()
    slow.close()

    per_gpu_fast = statistics.median(fast_cpu) / gpus
    # the agent's default cadence: a slow cycle every 6th cycle
    mean_cycle_cpu = (5 * statistics.median(fast_cpu) + statistics.median(slow_cpu)) / 6
    result = {
        "gpus": gpus,
        "readings_per_fast_cycle": fast_readings,
        "readings_per_slow_cycle": slow_readings,
        "agent_fast_cycle_cpu": _ms(fast_cpu),
        "agent_fast_cycle_wall": _ms(fast_wall),
        "agent_slow_cycle_cpu": _ms(slow_cpu),
        "agent_slow_cycle_wall": _ms(slow_wall),
        "agent_cpu_per_gpu_fast_ms": round(per_gpu_fast * 1e3, 4),
        "agent_cpu_share_of_one_core_at_1hz_pct": round(mean_cycle_cpu * 100, 4),
        "nvidia_smi_cpu": _ms(smi_cpu),
        "nvidia_smi_wall": _ms(smi_wall),
        "ratio_smi_wall_over_agent_fast_wall": round(
            statistics.median(smi_wall) / statistics.median(fast_wall), 1
        ),
        "ratio_smi_cpu_over_agent_fast_cpu": round(
            statistics.median(smi_cpu) / statistics.median(fast_cpu), 1
        ),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, indent=2))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "agent_overhead.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
