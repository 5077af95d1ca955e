"""Agent overhead: one NVML collection cycle against nvidia-smi, and the whole agent at 1 Hz.

Run on a machine with an NVIDIA GPU and driver (only nvidia-ml-py, prometheus_client, psutil
and httpx are needed), or anywhere with ``--fake-gpus N`` (the unit tests' NVML stand-in)::

    python bench/agent_overhead.py --cycles 300 --agent-seconds 60 --out bench/results/h100
    python bench/agent_overhead.py --fake-gpus 8 --agent-seconds 60

Measures, in one run:

- CPU and wall time of ``NvmlCollector.collect`` per cycle, fast cycles and slow-cadence cycles
  (energy, ECC, remapped rows, NVLink, PCIe, processes) separately, per GPU;
- the baseline: ``nvidia-smi --query-gpu=<the same fields> --format=csv`` (wall time and the CPU
  time of the child process), and the ratio (real GPUs only);
- the projected CPU share of one core at 1 Hz and this process's RSS;
- the whole agent process (``gpuwarden agent``: NVML, host, exporter, shipper with its default
  disk spool, pushing every second to a loopback stand-in of the bot), twice: watched sampling
  off (``--watch-interval 0``) and on (each ``--watch-interval``, default the agent's 0.5 s;
  the shipped utilisation level watched), each over ``--agent-seconds``: CPU share of one core
  from ``/proc/<pid>/stat``, RSS; against the share that polling ``nvidia-smi`` once a second
  would take (real GPUs).

With ``--fake-gpus`` the NVML calls are Python functions of the stand-in instead of the C
library (each costs about as much CPU as a real call's ctypes wrapper); the GPUs have
``--fake-nvlinks`` NVLinks up each (18 on an H100 SXM board).

Targets (the agent issue): ≤ 0.5 ms CPU per cycle per GPU, ≤ 0.5 % of a core at 1 Hz on an
8-GPU node, RSS ≤ 80 MB.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.collectors.nvml import NvmlCollector
from agent.watch import DEFAULT_WATCH_INTERVAL_S
from bench.agent_process import ProcessCost, fake_nvml, free_port, measure

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


class _TimedNvml:
    """The NVML module (or its stand-in) with each function's calls and CPU time summed."""

    def __init__(self, nvml: Any) -> None:
        self._nvml = nvml
        self.cpu: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._nvml, name)
        if not name.startswith("nvml") or not callable(value):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return value(*args, **kwargs)
            finally:
                self.cpu[name] += time.process_time() - started
                self.calls[name] += 1

        return timed


def _per_call(nvml: Any, cycles: int) -> dict[str, dict[str, float]]:
    """CPU per slow-cadence cycle and GPU of each NVML function, most expensive first.

    Rare readings (energy, PCIe, `gpu_info`) come every 5th slow cycle: 0.2 calls per cycle.
    """
    timed = _TimedNvml(nvml if nvml is not None else importlib.import_module("pynvml"))
    collector = NvmlCollector(node="bench", registry=CollectorRegistry(), nvml=timed, slow_every=1)
    collector.open()
    _cycles(collector, 2)
    timed.cpu.clear()
    timed.calls.clear()
    _cycles(collector, cycles)
    per = cycles * max(1, collector.gpu_count)
    figures = {
        name: {"us": round(cpu / per * 1e6, 1), "calls": round(timed.calls[name] / per, 1)}
        for name, cpu in timed.cpu.most_common()
    }
    collector.close()
    return figures


def _collector_figures(args: argparse.Namespace) -> dict[str, object] | None:
    nvml = fake_nvml(args.fake_gpus, args.fake_nvlinks) if args.fake_gpus else None
    fast = NvmlCollector(node="bench", registry=CollectorRegistry(), nvml=nvml, slow_every=10**9)
    slow = NvmlCollector(node="bench", registry=CollectorRegistry(), nvml=nvml, slow_every=1)
    if not (fast.open() and slow.open()):
        return None
    _cycles(fast, 5)  # warm: the first cycle enumerates and probes what is supported
    _cycles(slow, 2)
    gpus = fast.gpu_count
    fast_cpu, fast_wall, fast_readings = _cycles(fast, args.cycles)
    slow_cpu, slow_wall, slow_readings = _cycles(slow, max(10, args.cycles // 10))
    fast.close()
    slow.close()
    # the agent's default cadence: a slow cycle every 6th cycle
    mean_cycle_cpu = (5 * statistics.median(fast_cpu) + statistics.median(slow_cpu)) / 6
    result: dict[str, object] = {
        "gpus": gpus,
        "nvml": f"stand-in, {args.fake_nvlinks} NVLinks per GPU" if args.fake_gpus else "real",
        "readings_per_fast_cycle": fast_readings,
        "readings_per_slow_cycle": slow_readings,
        "agent_fast_cycle_cpu": _ms(fast_cpu),
        "agent_fast_cycle_wall": _ms(fast_wall),
        "agent_slow_cycle_cpu": _ms(slow_cpu),
        "agent_slow_cycle_wall": _ms(slow_wall),
        "agent_cpu_per_gpu_fast_ms": round(statistics.median(fast_cpu) / gpus * 1e3, 4),
        "agent_cpu_share_of_one_core_at_1hz_pct": round(mean_cycle_cpu * 100, 4),
        "slow_cycle_cpu_per_gpu_by_nvml_function": _per_call(nvml, max(10, args.cycles // 10)),
    }
    if not args.fake_gpus:
        smi_cpu, smi_wall = _smi(args.smi_runs)
        result |= {
            "nvidia_smi_cpu": _ms(smi_cpu),
            "nvidia_smi_wall": _ms(smi_wall),
            "ratio_smi_wall_over_agent_fast_wall": round(
                statistics.median(smi_wall) / statistics.median(fast_wall), 1
            ),
            "ratio_smi_cpu_over_agent_fast_cpu": round(
                statistics.median(smi_cpu) / statistics.median(fast_cpu), 1
            ),
        }
    return result


def _process_figures(args: argparse.Namespace, smi_cpu_ms: float | None) -> dict[str, object]:
    """The whole agent with watched sampling off, then on, in this run."""
    costs: dict[str, ProcessCost] = {}
    with tempfile.TemporaryDirectory(prefix="gpuwarden-bench-") as scratch:
        runs = [("watch_off", "0")] + [(f"watch_{s:g}s", str(s)) for s in args.watch_interval]
        for name, interval in runs:
            spool = Path(scratch) / name
            costs[name] = measure(
                [
                    "--node",
                    "bench",
                    "--interval",
                    "1",
                    "--watch-interval",
                    interval,
                    "--spool-dir",
                    str(spool),
                    "--metrics-port",
                    str(free_port()),
                    "--quality-port",
                    "0",
                    *(["--kmsg-path", ""] if args.fake_gpus else []),
                ],
                seconds=args.agent_seconds,
                warm_s=args.warm_seconds,
                log=Path(scratch) / f"{name}.log",
                fake_gpus=args.fake_gpus,
                fake_nvlinks=args.fake_nvlinks,
            )
    off = costs.pop("watch_off")
    result: dict[str, object] = {"seconds_each": args.agent_seconds, "watch_off": asdict(off)}
    for name, cost in costs.items():
        result[name] = asdict(cost)
        result[f"ratio_{name}_over_off_cpu"] = round(
            cost.cpu_share_pct / max(off.cpu_share_pct, 1e-9), 2
        )
    if smi_cpu_ms is not None:
        smi_share = smi_cpu_ms / 10  # one query a second: ms per s → % of one core
        result["nvidia_smi_once_a_second_cpu_share_pct"] = round(smi_share, 3)
        for name, cost in {"watch_off": off, **costs}.items():
            result[f"ratio_smi_over_agent_{name}"] = round(
                smi_share / max(cost.cpu_share_pct, 1e-9), 1
            )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--smi-runs", type=int, default=30)
    parser.add_argument("--fake-gpus", type=int, default=0, help="NVML stand-in GPUs (0: real)")
    parser.add_argument("--fake-nvlinks", type=int, default=18)
    parser.add_argument("--agent-seconds", type=float, default=60.0, help="0: skip the process")
    parser.add_argument("--warm-seconds", type=float, default=8.0)
    parser.add_argument(
        "--watch-interval",
        type=float,
        nargs="+",
        default=[DEFAULT_WATCH_INTERVAL_S],
        help="watched-sampling intervals to run the agent with, besides off",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    result = _collector_figures(args)
    if result is None:
        print("NVML is not available here; run this on a machine with an NVIDIA GPU")
        return 2
    if args.agent_seconds > 0:
        smi = result.get("nvidia_smi_cpu")
        smi_ms = smi["median_ms"] if isinstance(smi, dict) else None
        result["agent_process"] = _process_figures(args, smi_ms)
    result["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result, indent=2))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "agent_overhead.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
