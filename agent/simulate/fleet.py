"""A simulated fleet of H100 nodes whose readings look like a serving cluster's.

Each GPU's utilisation is a mean-reverting random walk around its own level (0.4-0.7) with
measurement noise; memory sits at a vLLM-style pre-allocation (~90 % of 80 GiB); power follows
utilisation (~100-700 W); temperature lags behind power; the SM clock sags under a power cap.
Scheduled faults bend a GPU's load while active. Time is always passed in (`now`), never read.
"""

from __future__ import annotations

import logging
import math
import random
import uuid
from collections.abc import Callable, Sequence
from functools import partial

from agent.errors import ConfigError
from agent.simulate.faults import FAULT_KINDS, FaultContext, Load
from agent.simulate.schedule import FaultSchedule, ScheduledFault
from agent.wire import (
    GPU_MEMORY_TOTAL,
    GPU_MEMORY_USED,
    GPU_POWER,
    GPU_SM_CLOCK,
    GPU_TEMPERATURE,
    GPU_UTILIZATION,
    NodeEvent,
    Reading,
)

logger = logging.getLogger(__name__)

H100_MODEL = "NVIDIA H100 80GB HBM3"
H100_MEMORY_TOTAL_BYTES = 80 * 1024**3
MAX_NODES = 256
MAX_GPUS_PER_NODE = 16

_UUID_NAMESPACE = uuid.UUID("9b1f6f0e-4c39-4d39-9a53-6a2f1c0b7d11")
_REVERSION_S = 90.0  # how fast utilisation drifts back to the GPU's own level
_WALK_SD = 0.07  # spread of the walk around that level
_NOISE_SD = 0.01  # per-reading measurement noise
_UTIL_RANGE = (0.02, 0.80)  # a healthy GPU stays below the 0.85 warning line
_IDLE_POWER_W, _POWER_PER_UTIL_W, _MAX_POWER_W = 100.0, 560.0, 700.0
_AMBIENT_C, _C_PER_WATT, _THERMAL_LAG_S = 27.0, 0.075, 45.0
_MAX_SM_HZ, _IDLE_SM_HZ, _CAP_W, _HZ_PER_W_OVER_CAP = 1_980e6, 345e6, 650.0, 3e6
_CLOCK_STEP_HZ = 15e6
_IDLE_UTIL = 0.05  # below this the SM clock drops to idle


def node_name(number: int) -> str:
    """Return the name of simulated node `number` (1-based)."""
    return f"gpu-node-{number}"


def gpu_uuid(node: str, index: int) -> str:
    """Return the stable fake NVML UUID of GPU `index` on `node`."""
    return f"GPU-{uuid.uuid5(_UUID_NAMESPACE, f'{node}/{index}')}"


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


class SimulatedGpu:
    """One simulated H100: a utilisation walk, flat pre-allocated memory, lagging temperature."""

    def __init__(self, *, node: str, index: int, seed: int) -> None:
        self.index = index
        self.labels = {"gpu": str(index), "uuid": gpu_uuid(node, index), "model_name": H100_MODEL}
        self._rng = random.Random(f"{seed}/{node}/{index}")
        self._level = self._rng.uniform(0.4, 0.7)
        self._walk = self._level
        self._memory_fraction = self._rng.uniform(0.88, 0.92)
        self._temperature: float | None = None
        self._last: float | None = None

    @property
    def rng(self) -> random.Random:
        """Return this GPU's random source (faults draw their noise from it)."""
        return self._rng

    def observe(self, now: float, bend: Callable[[Load], Load]) -> list[Reading]:
        """Advance to `now` and return the readings of the load as `bend` (the faults) leaves it."""
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        return self._readings(bend(self._walk_load(dt)), now, dt)

    def _walk_load(self, dt: float) -> Load:
        decay = math.exp(-dt / _REVERSION_S)
        spread = _WALK_SD * math.sqrt(1.0 - decay * decay)
        self._walk = self._level + (self._walk - self._level) * decay
        self._walk = _clamp(self._walk + self._rng.gauss(0.0, spread), *_UTIL_RANGE)
        util = _clamp(self._walk + self._rng.gauss(0.0, _NOISE_SD), *_UTIL_RANGE)
        memory = H100_MEMORY_TOTAL_BYTES * self._memory_fraction
        memory += self._rng.gauss(0.0, 8 * 1024**2)
        return Load(utilization=util, memory_used_bytes=memory)

    def _readings(self, load: Load, now: float, dt: float) -> list[Reading]:
        util = _clamp(load.utilization, 0.0, 1.0)
        power = _IDLE_POWER_W + _POWER_PER_UTIL_W * util + self._rng.gauss(0.0, 8.0)
        power = _clamp(power, 60.0, _MAX_POWER_W)
        settled = _AMBIENT_C + _C_PER_WATT * power
        if self._temperature is None:
            self._temperature = settled
        keep = math.exp(-dt / _THERMAL_LAG_S)
        self._temperature = settled + (self._temperature - settled) * keep
        temperature = round(self._temperature + self._rng.gauss(0.0, 0.3))
        clock = _IDLE_SM_HZ if util < _IDLE_UTIL else _MAX_SM_HZ
        clock -= max(0.0, power - _CAP_W) * _HZ_PER_W_OVER_CAP
        clock = round(clock / _CLOCK_STEP_HZ) * _CLOCK_STEP_HZ
        memory = _clamp(load.memory_used_bytes, 0.0, H100_MEMORY_TOTAL_BYTES)
        values = {
            GPU_UTILIZATION: round(util, 4),
            GPU_MEMORY_USED: float(round(memory)),
            GPU_MEMORY_TOTAL: float(H100_MEMORY_TOTAL_BYTES),
            GPU_TEMPERATURE: float(temperature),
            GPU_POWER: round(power, 1),
            GPU_SM_CLOCK: clock,
        }
        return [Reading(metric, self.labels, now, value) for metric, value in values.items()]


class SimulatedNode:
    """One simulated node: a `Source` for its GPUs, with the faults aimed at them applied."""

    def __init__(
        self, *, name: str, gpus: int, seed: int, schedule: FaultSchedule, fleet: Fleet
    ) -> None:
        self.node = name
        self.gpu_count = gpus
        self._fleet = fleet
        self._gpus = [SimulatedGpu(node=name, index=i, seed=seed) for i in range(gpus)]
        self._faults = {i: schedule.for_gpu(name, i) for i in range(gpus)}
        self._active: set[ScheduledFault] = set()

    def collect(self, now: float) -> tuple[Sequence[Reading], Sequence[NodeEvent]]:
        """Return every GPU's readings at `now`; the simulator emits no events yet."""
        offset = self._fleet.offset(now)
        readings: list[Reading] = []
        for gpu in self._gpus:
            readings.extend(gpu.observe(now, partial(self._bend, gpu, offset)))
        return readings, []

    def _bend(self, gpu: SimulatedGpu, offset: float, load: Load) -> Load:
        for fault in self._faults[gpu.index]:
            elapsed = fault.elapsed(offset)
            self._note(fault, active=elapsed is not None)
            if elapsed is not None:
                ctx = FaultContext(elapsed, fault.duration_s, fault.params, gpu.rng)
                load = FAULT_KINDS[fault.kind].apply(load, ctx)
        return load

    def _note(self, fault: ScheduledFault, *, active: bool) -> None:
        if active and fault not in self._active:
            self._active.add(fault)
            logger.info("simulated fault began: %s", fault.to_text())
        elif not active and fault in self._active:
            self._active.discard(fault)
            logger.info("simulated fault ended: %s", fault.to_text())


class Fleet:
    """Simulated GPU nodes `gpu-node-1..N`; fault times count from `start` (or the first tick)."""

    def __init__(
        self,
        *,
        nodes: int = 2,
        gpus_per_node: int = 8,
        seed: int = 0,
        schedule: FaultSchedule | None = None,
        start: float | None = None,
    ) -> None:
        if not 1 <= nodes <= MAX_NODES:
            raise ConfigError(f"nodes must be between 1 and {MAX_NODES}, got {nodes}")
        if not 1 <= gpus_per_node <= MAX_GPUS_PER_NODE:
            raise ConfigError(
                f"gpus per node must be between 1 and {MAX_GPUS_PER_NODE}, got {gpus_per_node}"
            )
        schedule = schedule or FaultSchedule()
        names = [node_name(n) for n in range(1, nodes + 1)]
        schedule.check_fleet(names, gpus_per_node)
        self.schedule = schedule
        self.start = start
        self.nodes = tuple(
            SimulatedNode(name=name, gpus=gpus_per_node, seed=seed, schedule=schedule, fleet=self)
            for name in names
        )

    def offset(self, now: float) -> float:
        """Return seconds since the simulation started (the first call fixes the start)."""
        if self.start is None:
            self.start = now
        return now - self.start
