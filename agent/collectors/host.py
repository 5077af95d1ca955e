"""The host around the GPUs: CPU pressure and iowait, memory, load, and serving processes' RSS.

CPU pressure comes from PSI (``/proc/pressure/cpu``, line ``some … total=<µs>``): its rate is
the share of time runnable tasks waited for a CPU, so ``rate(...[1m]) > 0.05`` is the seed's
"CPU wait > 50 ms" per second. Kernels without PSI simply lack the series. The resident memory
of the configured serving processes (vLLM, SGLang) is summed per workload, for leak detection.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psutil
from prometheus_client import CollectorRegistry

from agent.collectors.collect_metrics import CollectMetrics
from agent.collectors.workloads import Workload, WorkloadResolver
from agent.errors import ConfigError
from agent.wire import NodeEvent, Reading

logger = logging.getLogger(__name__)

HOST = "host"
CPU_PRESSURE = "gpuwarden_cpu_pressure_waiting_seconds_total"
CPU_IOWAIT = "gpuwarden_cpu_iowait_seconds_total"
CPU_IOWAIT_RATIO = "gpuwarden_cpu_iowait_ratio"
MEMORY_TOTAL = "gpuwarden_host_memory_total_bytes"
MEMORY_USED = "gpuwarden_host_memory_used_bytes"
MEMORY_AVAILABLE = "gpuwarden_host_memory_available_bytes"
LOAD = ("gpuwarden_host_load1", "gpuwarden_host_load5", "gpuwarden_host_load15")
PROCESS_RSS = "gpuwarden_process_resident_memory_bytes"
_PSI_SOME_TOTAL = re.compile(r"^some\b.*\btotal=(\d+)", re.MULTILINE)
_SPEC = re.compile(r"^(?P<label>[A-Za-z0-9_.-]+)=(?P<target>.+)$")


@dataclass(frozen=True, slots=True)
class ServingProcess:
    """A serving process to watch: found by a command-line regex, or by its pid file."""

    label: str
    pattern: re.Pattern[str] | None = None
    pid_file: Path | None = None

    @classmethod
    def parse(cls, text: str) -> ServingProcess:
        """Parse ``NAME=REGEX`` (searched in the command line) or ``NAME=/path/to/pidfile``."""
        match = _SPEC.match(text.strip())
        if match is None:
            raise ConfigError(
                f"--serving-process: expected NAME=REGEX or NAME=/path/to/pidfile, got {text!r}"
            )
        label, target = match["label"], match["target"]
        if target.startswith("/"):
            return cls(label, pid_file=Path(target))
        try:
            return cls(label, pattern=re.compile(target))
        except re.error as exc:
            raise ConfigError(f"--serving-process {label}: bad regex {target!r}: {exc}") from None


class HostCollector:
    """A `Source` of host readings from psutil and `proc_root` (`ps` defaults to psutil)."""

    name = HOST
    gpu_count = 0

    def __init__(
        self,
        *,
        node: str,
        registry: CollectorRegistry,
        serving: Sequence[ServingProcess] = (),
        proc_root: Path = Path("/proc"),
        ps: Any = psutil,
        workloads: WorkloadResolver | None = None,
    ) -> None:
        self.node = node
        self._serving = tuple(serving)
        self._proc = proc_root
        self._ps = ps
        self._workloads = workloads or WorkloadResolver(proc_root)
        self._metrics = CollectMetrics.on(registry)
        self._last_cpu: tuple[float, float] | None = None

    def collect(self, now: float) -> tuple[list[Reading], list[NodeEvent]]:
        """Return the host readings at `now`; the host collector has no events."""
        started = time.perf_counter()
        out: list[Reading] = []
        self._pressure(now, out)
        self._cpu(now, out)
        memory = self._ps.virtual_memory()
        out += [
            Reading(MEMORY_TOTAL, {}, now, float(memory.total)),
            Reading(MEMORY_USED, {}, now, float(memory.used)),
            Reading(MEMORY_AVAILABLE, {}, now, float(memory.available)),
        ]
        out += [Reading(m, {}, now, v) for m, v in zip(LOAD, self._ps.getloadavg(), strict=True)]
        out += self._serving_rss(now)
        self._metrics.duration.labels(collector=HOST).observe(time.perf_counter() - started)
        return out, []

    def close(self) -> None:
        """Nothing to release."""

    def _pressure(self, now: float, out: list[Reading]) -> None:
        try:
            text = (self._proc / "pressure" / "cpu").read_text()
        except OSError:
            return  # no PSI on this kernel (missing, or disabled: EOPNOTSUPP)
        match = _PSI_SOME_TOTAL.search(text)
        if match is None:
            self._metrics.error(HOST, "psi_unparsed")
            return
        out.append(Reading(CPU_PRESSURE, {}, now, int(match[1]) / 1e6))

    def _cpu(self, now: float, out: list[Reading]) -> None:
        times = self._ps.cpu_times()
        iowait = getattr(times, "iowait", None)
        if iowait is None:
            return
        # guest time is already counted in user and nice (as psutil does, count it once)
        total = float(sum(times)) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
        out.append(Reading(CPU_IOWAIT, {}, now, float(iowait)))
        last, self._last_cpu = self._last_cpu, (float(iowait), total)
        if last is not None and total > last[1]:
            ratio = (iowait - last[0]) / (total - last[1])
            out.append(Reading(CPU_IOWAIT_RATIO, {}, now, min(1.0, max(0.0, ratio))))

    def _serving_rss(self, now: float) -> list[Reading]:
        totals: dict[Workload, int] = defaultdict(int)
        for label, pid in self._serving_pids():
            try:
                rss = self._ps.Process(pid).memory_info().rss
            except self._ps.Error:
                continue
            workload = self._workloads.resolve(pid) or Workload()
            totals[replace(workload, process=label)] += rss
        return [Reading(PROCESS_RSS, w.labels(), now, float(rss)) for w, rss in totals.items()]

    def _serving_pids(self) -> Iterator[tuple[str, int]]:
        for spec in self._serving:
            if spec.pid_file is not None and (pid := _read_pid(spec.pid_file)) is not None:
                yield spec.label, pid
        patterns = [spec for spec in self._serving if spec.pattern is not None]
        if not patterns:
            return
        own = os.getpid()
        for process in self._ps.process_iter(["pid", "name", "cmdline"]):
            info = process.info
            command = " ".join(info.get("cmdline") or ()) or info.get("name") or ""
            label = next((s.label for s in patterns if s.pattern and s.pattern.search(command)), "")
            if label and info["pid"] != own:
                yield label, info["pid"]


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
