"""A simulated fleet of H100 nodes whose readings look like a serving cluster's.

Each GPU's utilisation is a mean-reverting random walk around its own level (0.4-0.7) with
measurement noise; memory sits at a vLLM-style pre-allocation (~90 % of 80 GiB); power follows
utilisation (~100-700 W); temperature lags behind power; the SM clock sags under a power cap.
Each GPU runs one serving process (pod ``vllm-<node>``) holding that pre-allocation. Scheduled
faults bend a GPU's load while active and may raise events (XIDs, a lost GPU), which go to the
urgent hand-off when the fleet has one, as the real collectors' do; a silenced node reports
nothing.
Time is always passed in (`now`), never read.
"""

from __future__ import annotations

import logging
import math
import random
import uuid
from collections.abc import Callable, Sequence

from agent.collectors.nvml_gpu import GPU_CLOCK_EVENT, GPU_UP
from agent.collectors.nvml_health import GPU_PROCESS_MEMORY, GPU_REMAPPED_ROWS_PENDING
from agent.collectors.xid_events import LAST_XID, XID_ERRORS
from agent.errors import ConfigError
from agent.simulate.faults import (
    FAULT_KINDS,
    MAX_SM_HZ,
    SERIES_CLOCK_EVENTS,
    SERIES_GPU_UP,
    SERIES_PROCESS_MEMORY,
    XID_EVENT,
    FaultContext,
    Load,
)
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
_IDLE_SM_HZ, _CAP_W, _HZ_PER_W_OVER_CAP = 345e6, 650.0, 3e6
_CLOCK_STEP_HZ = 15e6
_IDLE_UTIL = 0.05  # below this the SM clock drops to idle
_DRIVER_OVERHEAD_BYTES = 512 * 1024**2  # memory in use that no process holds
CLOCK_EVENT_REASONS = ("sw_power_cap", "sw_thermal", "hw_thermal")  # the ones faults change
SERVING_NAMESPACE, SERVING_CONTAINER = "serving", "vllm"
UrgentHandOff = Callable[[str, NodeEvent], None]


def node_name(number: int) -> str:
    """Return the name of simulated node `number` (1-based)."""
    return f"gpu-node-{number}"


def gpu_uuid(node: str, index: int) -> str:
    """Return the stable fake NVML UUID of GPU `index` on `node`."""
    return f"GPU-{uuid.uuid5(_UUID_NAMESPACE, f'{node}/{index}')}"


def gpu_pci(index: int) -> str:
    """Return the normalised PCI bus id of simulated GPU `index` (as in ``xid`` events)."""
    return f"0000:{0x18 + 0x10 * index:02x}:00"


def serving_pod(node: str) -> str:
    """Return the name of the serving pod that the simulated `node` runs on all its GPUs."""
    return f"vllm-{node}"


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


class SimulatedGpu:
    """One simulated H100: a utilisation walk, flat pre-allocated memory, lagging temperature."""

    def __init__(self, *, node: str, index: int, seed: int) -> None:
        self.index = index
        self.pci = gpu_pci(index)
        self.labels = {"gpu": str(index), "uuid": gpu_uuid(node, index), "model_name": H100_MODEL}
        self.series: set[str] = set()  # the extra series (faults.SERIES_*) it reports
        self.process_labels = {
            **self.labels,
            "pod": serving_pod(node),
            "namespace": SERVING_NAMESPACE,
            "container": SERVING_CONTAINER,
            "process": "",
        }
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
        process = H100_MEMORY_TOTAL_BYTES * self._memory_fraction - _DRIVER_OVERHEAD_BYTES
        memory = process + _DRIVER_OVERHEAD_BYTES + self._rng.gauss(0.0, 8 * 1024**2)
        return Load(utilization=util, memory_used_bytes=memory, process_memory_bytes=process)

    def _readings(self, load: Load, now: float, dt: float) -> list[Reading]:
        if not load.up:  # NVML answers GPU_IS_LOST: only gpu_up 0, as the real collector reports
            return [Reading(GPU_UP, self.labels, now, 0.0)]
        util = _clamp(load.utilization, 0.0, 1.0)
        power = _IDLE_POWER_W + _POWER_PER_UTIL_W * util + self._rng.gauss(0.0, 8.0)
        power = _clamp(power, 60.0, _MAX_POWER_W)
        settled = _AMBIENT_C + _C_PER_WATT * power
        if self._temperature is None:
            self._temperature = settled
        keep = math.exp(-dt / _THERMAL_LAG_S)
        self._temperature = settled + (self._temperature - settled) * keep
        temperature = self._temperature + self._rng.gauss(0.0, 0.3)
        temperature = round(max(temperature, load.temperature_floor_c))
        clock = _IDLE_SM_HZ if util < _IDLE_UTIL else MAX_SM_HZ
        clock -= max(0.0, power - _CAP_W) * _HZ_PER_W_OVER_CAP
        clock = round(clock * load.sm_clock_factor / _CLOCK_STEP_HZ) * _CLOCK_STEP_HZ
        memory = _clamp(load.memory_used_bytes, 0.0, H100_MEMORY_TOTAL_BYTES)
        process = _clamp(load.process_memory_bytes, 0.0, memory)
        reasons = load.clock_events | ({"sw_power_cap"} if power > _CAP_W else set())
        values = {
            GPU_UTILIZATION: round(util, 4),
            GPU_MEMORY_USED: float(round(memory)),
            GPU_MEMORY_TOTAL: float(H100_MEMORY_TOTAL_BYTES),
            GPU_TEMPERATURE: float(temperature),
            GPU_POWER: round(power, 1),
            GPU_SM_CLOCK: clock,
        }
        out = [Reading(metric, self.labels, now, value) for metric, value in values.items()]
        if SERIES_GPU_UP in self.series:
            out.append(Reading(GPU_UP, self.labels, now, 1.0))
        if SERIES_CLOCK_EVENTS in self.series:
            out.extend(
                Reading(GPU_CLOCK_EVENT, {**self.labels, "reason": r}, now, float(r in reasons))
                for r in CLOCK_EVENT_REASONS
            )
        if SERIES_PROCESS_MEMORY in self.series:
            process_bytes = float(round(process))
            out.append(Reading(GPU_PROCESS_MEMORY, self.process_labels, now, process_bytes))
        if load.remap_pending:
            out.append(Reading(GPU_REMAPPED_ROWS_PENDING, self.labels, now, 1.0))
        return out


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
        self._node_faults = schedule.for_node(name)
        self._active: set[ScheduledFault] = set()
        self._previous: dict[tuple[ScheduledFault, int], float] = {}
        self._xids: dict[tuple[int, int], tuple[dict[str, str], int, float]] = {}

    def silent(self, now: float) -> bool:
        """Return whether a node-wide fault (a partition) keeps the node from reporting at `now`."""
        offset = self._fleet.offset(now)
        silent = False
        for fault in self._node_faults:
            active = fault.elapsed(offset) is not None
            self._note(fault, active=active)
            silent = silent or (active and FAULT_KINDS[fault.kind].silences_node)
        return silent

    def collect(self, now: float) -> tuple[Sequence[Reading], Sequence[NodeEvent]]:
        """Return every GPU's readings at `now` and the events the faults raised.

        Events go to the fleet's urgent hand-off instead when it has one; a silenced node
        returns nothing at all.
        """
        if self.silent(now):
            return [], []
        offset = self._fleet.offset(now)
        readings: list[Reading] = []
        events: list[NodeEvent] = []
        for gpu in self._gpus:
            faults = [(fault, fault.elapsed(offset)) for fault in self._faults[gpu.index]]
            contexts = []
            for fault, elapsed in faults:
                self._note(fault, active=elapsed is not None)
                if elapsed is not None:
                    contexts.append((fault, self._context(fault, gpu, elapsed, now)))
                    gpu.series.update(FAULT_KINDS[fault.kind].series)
                else:
                    self._previous.pop((fault, gpu.index), None)

            def bend(
                load: Load, contexts: list[tuple[ScheduledFault, FaultContext]] = contexts
            ) -> Load:
                for fault, ctx in contexts:
                    load = FAULT_KINDS[fault.kind].apply(load, ctx)
                return load

            readings.extend(gpu.observe(now, bend))
            for fault, ctx in contexts:
                events.extend(FAULT_KINDS[fault.kind].events(ctx))
        self._count_xids(events)
        readings.extend(self._xid_readings(now))
        urgent = self._fleet.urgent
        if urgent is None:
            return readings, events
        for event in events:
            urgent(self.node, event)
        return readings, []

    def _context(
        self, fault: ScheduledFault, gpu: SimulatedGpu, elapsed: float, now: float
    ) -> FaultContext:
        previous = self._previous.get((fault, gpu.index))
        self._previous[(fault, gpu.index)] = elapsed
        return FaultContext(
            elapsed,
            fault.duration_s,
            fault.params,
            gpu.rng,
            previous_s=previous,
            now=now,
            labels=gpu.labels,
            pci=gpu.pci,
        )

    def _count_xids(self, events: list[NodeEvent]) -> None:
        for event in events:
            if event.kind != XID_EVENT:
                continue
            gpu, xid = int(str(event.attrs["gpu"])), int(str(event.attrs["xid"]))
            labels = {**event.labels, "pci_bus_id": str(event.attrs["pci"]), "xid": str(xid)}
            _, count, _ = self._xids.get((gpu, xid), (labels, 0, 0.0))
            self._xids[(gpu, xid)] = (labels, count + 1, event.ts)

    def _xid_readings(self, now: float) -> list[Reading]:
        return [
            reading
            for labels, count, last in self._xids.values()
            for reading in (
                Reading(XID_ERRORS, labels, now, float(count)),
                Reading(LAST_XID, labels, now, last),
            )
        ]

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
        self.urgent: UrgentHandOff | None = None  # where events go at once (the agent's urgent)
        self.nodes = tuple(
            SimulatedNode(name=name, gpus=gpus_per_node, seed=seed, schedule=schedule, fleet=self)
            for name in names
        )

    def offset(self, now: float) -> float:
        """Return seconds since the simulation started (the first call fixes the start)."""
        if self.start is None:
            self.start = now
        return now - self.start

    def silent_nodes(self, now: float) -> set[str]:
        """Return the nodes a ``node_silence`` fault keeps from reporting at `now`."""
        return {node.node for node in self.nodes if node.silent(now)}
