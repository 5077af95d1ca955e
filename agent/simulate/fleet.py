"""A simulated fleet of H100 nodes whose readings look like a serving cluster's.

Each node runs one serving replica over all its GPUs (pod ``vllm-<node>``), so its GPUs' loads
move together: the node's traffic (`agent.simulate.serving.NodeTraffic`, a walk with a daily
cycle) drives every GPU, each with a small skew and wobble of its own, plus measurement noise.
Memory sits at a vLLM-style pre-allocation (~90 % of 80 GiB); power follows utilisation
(~100-700 W); temperature lags behind power; the SM clock sags under a power cap. The node also
reports its engine's signals (`SimulatedServing`). When the fleet follows a Kubernetes cluster
(`cluster`), a node serves only while a pod of the deployment the Service selects runs on it and
the node is schedulable, each replica's traffic scales with the replica count, and the pod's image
decides whether the first token comes slower (`slow_images`).

Scheduled faults bend a GPU's load, or a node's (`NodeLoad`), while active and may raise events
(XIDs, a lost GPU, log lines), which go to the urgent hand-off when the fleet has one, as the real
collectors' do; a silenced node reports nothing. Time is always passed in (`now`), never read.
"""

from __future__ import annotations

import logging
import math
import random
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from agent.collectors.nvml_gpu import GPU_CLOCK_EVENT, GPU_UP
from agent.collectors.nvml_health import (
    GPU_INFO,
    GPU_NVLINK_ERRORS,
    GPU_NVLINK_UP,
    GPU_PROCESS_MEMORY,
    GPU_REMAPPED_ROWS_PENDING,
)
from agent.collectors.xid_events import LAST_XID, XID_ERRORS
from agent.errors import ConfigError
from agent.simulate.fault_base import (
    SERIES_GPU_INFO,
    SERIES_NVLINK,
    SERIES_OUTPUT_HISTOGRAM,
    NodeLoad,
)
from agent.simulate.faults import (
    FAULT_KINDS,
    GPU_LOST_EVENT,
    MAX_SM_HZ,
    SERIES_CLOCK_EVENTS,
    SERIES_GPU_UP,
    SERIES_PROCESS_MEMORY,
    XID_EVENT,
    FaultContext,
    Load,
)
from agent.simulate.nvlink import NVLINK_ERROR_TYPES, NVLINKS, error_rates
from agent.simulate.outputs import output_readings
from agent.simulate.schedule import FaultSchedule, ScheduledFault
from agent.simulate.serving import (
    CUDA_COMPAT_OK,
    DEFAULT_IMAGE,
    MODEL,
    RELEASE_IMAGE,
    NodeTraffic,
    SimulatedServing,
)
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
_REVERSION_S = 30.0  # how fast a GPU's own wobble around the node's load dies out
_WOBBLE_SD = 0.015  # spread of that wobble
_SKEW = (0.97, 1.03)  # each GPU's share of the node's load, around 1
_NOISE_SD = 0.01  # per-reading measurement noise
_IDLE_LOAD = 0.01  # a GPU its node's replica does not keep busy
_IDLE_POWER_W, _POWER_PER_UTIL_W, _MAX_POWER_W = 100.0, 560.0, 700.0
_AMBIENT_C, _C_PER_WATT, _THERMAL_LAG_S = 27.0, 0.075, 45.0
_IDLE_SM_HZ, _CAP_W, _HZ_PER_W_OVER_CAP = 345e6, 650.0, 3e6
_CLOCK_STEP_HZ = 15e6
_IDLE_UTIL = 0.05  # below this the SM clock drops to idle
_DRIVER_OVERHEAD_BYTES = 512 * 1024**2  # memory in use that no process holds
CLOCK_EVENT_REASONS = ("sw_power_cap", "sw_thermal", "hw_thermal")  # the ones faults change
SERVING_NAMESPACE, SERVING_CONTAINER = "serving", "vllm"
DRIVER_VERSION, CUDA_DRIVER, NVML_VERSION = "580.65.06", 13.0, "13.580.65.06"
CUDA_REQUIRED = 12.8  # what the serving image's CUDA runtime needs
SLOW_IMAGE_FACTOR = 2.0  # TTFT multiplier of an image in `slow_images`
DEFAULT_SLOW_IMAGES = frozenset({RELEASE_IMAGE})
URGENT_EVENTS = frozenset({XID_EVENT, GPU_LOST_EVENT})  # what the real collectors ship at once
UrgentHandOff = Callable[[str, NodeEvent], None]


@dataclass(frozen=True, slots=True)
class Placement:
    """What the cluster runs on one node: serving pods, their image, and the load each carries.

    Each pod is a replica whose traffic keeps `gpus_per_pod` GPUs busy.

    `load_scale` is the replica count the traffic was sized for over the replicas serving now
    (4 replicas scaled out to 6: 2/3 of the traffic each). `crashing` counts the pods the
    Service routes to on the node that are not ready (a broken release crash-looping).
    """

    pods: int = 1
    image: str = DEFAULT_IMAGE
    load_scale: float = 1.0
    gpus_per_pod: int | None = None  # None: the pods keep every GPU of the node busy
    crashing: int = 0

    def busy_gpus(self, gpus: int) -> int:
        """Return how many of a node's `gpus` the pods keep busy (GPU 0 on)."""
        if self.pods <= 0:
            return 0
        return gpus if self.gpus_per_pod is None else min(gpus, self.pods * self.gpus_per_pod)


UNMANAGED = Placement()  # a node outside any cluster: one replica, the default image


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
        self._skew = self._rng.uniform(*_SKEW)
        self._wobble = 0.0
        self._memory_fraction = self._rng.uniform(0.88, 0.92)
        self._temperature: float | None = None
        self._last: float | None = None
        self._nvlink_errors: dict[tuple[int, str], float] = {}

    @property
    def rng(self) -> random.Random:
        """Return this GPU's random source (faults draw their noise from it)."""
        return self._rng

    def observe(
        self, now: float, node_load: float, bend: Callable[[Load], Load]
    ) -> tuple[Load, list[Reading]]:
        """Advance to `now` under the node's load; return the bent load and its readings.

        `bend` applies the GPU's active faults; the readings are what the NVML collector reports.
        """
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        load = bend(self._own_load(dt, node_load))
        for link, rate in load.nvlink_error_rates.items():
            for kind, per_s in error_rates(rate).items():
                key = (link, kind)
                self._nvlink_errors[key] = self._nvlink_errors.get(key, 0.0) + per_s * dt
        return load, self._readings(load, now, dt)

    def _own_load(self, dt: float, node_load: float) -> Load:
        decay = math.exp(-dt / _REVERSION_S)
        spread = _WOBBLE_SD * math.sqrt(1.0 - decay * decay)
        self._wobble = self._wobble * decay + self._rng.gauss(0.0, spread)
        busy = node_load * self._skew + self._wobble if node_load > 0 else _IDLE_LOAD
        util = _clamp(busy + self._rng.gauss(0.0, _NOISE_SD), 0.0, 0.99)
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
        if SERIES_NVLINK in self.series:
            out.extend(self._nvlink_readings(load, now))
        return out

    def _nvlink_readings(self, load: Load, now: float) -> list[Reading]:
        out = []
        for link in range(NVLINKS):
            labels = {**self.labels, "link": str(link)}
            up = link not in load.nvlink_down
            out.append(Reading(GPU_NVLINK_UP, labels, now, float(up)))
            if up:
                out.extend(
                    Reading(
                        GPU_NVLINK_ERRORS,
                        {**labels, "type": kind},
                        now,
                        float(math.floor(self._nvlink_errors.get((link, kind), 0.0))),
                    )
                    for kind in NVLINK_ERROR_TYPES
                )
        return out


class SimulatedNode:
    """One simulated node: a `Source` for its GPUs and its serving replica, faults applied."""

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
        rng = random.Random(f"{seed}/{name}/node")
        self._rng = rng
        self._traffic = NodeTraffic(rng)
        self._serving = SimulatedServing(node=name, rng=rng)
        self._held: list[NodeEvent] = []  # raised while sampling, for the next collection
        self.series: set[str] = {  # node series reported from the start (a reference is needed)
            series
            for fault in self._node_faults
            if FAULT_KINDS[fault.kind].from_start
            for series in FAULT_KINDS[fault.kind].series
        }

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
        """Return every GPU's and the replica's readings at `now` and the events faults raised.

        XIDs and lost GPUs go to the fleet's urgent hand-off instead when it has one; a silenced
        node returns nothing at all.
        """
        if self.silent(now):
            return [], []
        offset = self._fleet.offset(now)
        placement = self._fleet.placement(self.node)
        node_load, events = self._node_load(now, offset, placement)
        base = self._serving.utilization(node_load)
        busy = placement.busy_gpus(self.gpu_count)
        readings: list[Reading] = []
        itl_factor = 1.0
        for gpu in self._gpus:
            contexts = self._contexts(self._faults[gpu.index], gpu.index, offset, now, gpu)
            for fault, _ in contexts:
                gpu.series.update(FAULT_KINDS[fault.kind].series)

            def bend(
                load: Load, contexts: list[tuple[ScheduledFault, FaultContext]] = contexts
            ) -> Load:
                for fault, ctx in contexts:
                    load = FAULT_KINDS[fault.kind].apply(load, ctx)
                return load

            load, gpu_readings = gpu.observe(now, base if gpu.index < busy else 0.0, bend)
            readings.extend(gpu_readings)
            itl_factor = max(itl_factor, load.itl_factor)
            for fault, ctx in contexts:
                events.extend(FAULT_KINDS[fault.kind].events(ctx))
        serving_readings, serving_events = self._serving.observe(now, node_load, itl_factor)
        readings.extend(serving_readings)
        events.extend(serving_events)
        readings.extend(self._node_readings(node_load, now))
        self._count_xids(events)
        readings.extend(self._xid_readings(now))
        held, self._held = self._held, []
        urgent = self._fleet.urgent
        if urgent is None:
            return readings, held + events
        for event in events:
            if event.kind in URGENT_EVENTS:
                urgent(self.node, event)
        return readings, held + [e for e in events if e.kind not in URGENT_EVENTS]

    def sample(self, now: float, metrics: frozenset[str]) -> Sequence[Reading]:
        """Return the readings of `metrics` at `now`, between collections.

        The node moves on to `now` as in a collection (XIDs still go urgent at once); the other
        events it raises wait for the next collection.
        """
        readings, events = self.collect(now)
        self._held.extend(events)
        return [r for r in readings if r.metric in metrics]

    def _node_load(
        self, now: float, offset: float, placement: Placement
    ) -> tuple[NodeLoad, list[NodeEvent]]:
        load = NodeLoad(
            demand=self._traffic.demand(now) * placement.load_scale,
            serving=placement.pods > 0,
            image=placement.image,
            ttft_factor=SLOW_IMAGE_FACTOR if placement.image in self._fleet.slow_images else 1.0,
            driver_version=DRIVER_VERSION,
            cuda_driver=CUDA_DRIVER,
            cuda_required=CUDA_REQUIRED,
            crash_looping=placement.pods == 0 and placement.crashing > 0,
        )
        events: list[NodeEvent] = []
        for fault, ctx in self._contexts(self._node_faults, -1, offset, now, None):
            kind = FAULT_KINDS[fault.kind]
            self.series.update(kind.series)
            load = kind.apply_node(load, ctx)
            events.extend(kind.events(ctx))
        return load, events

    def _node_readings(self, load: NodeLoad, now: float) -> list[Reading]:
        out: list[Reading] = []
        if SERIES_GPU_INFO in self.series:
            versions = {
                "driver_version": load.driver_version,
                "cuda_driver_version": f"{load.cuda_driver:g}",
                "nvml_version": NVML_VERSION,
            }
            out.extend(
                Reading(GPU_INFO, {**gpu.labels, **versions, "pci_bus_id": gpu.pci}, now, 1.0)
                for gpu in self._gpus
            )
            out.append(Reading(CUDA_COMPAT_OK, {}, now, float(load.cuda_compatible)))
        if SERIES_OUTPUT_HISTOGRAM in self.series:
            out.extend(
                output_readings(model=MODEL, drift_kl=load.output_drift, now=now, rng=self._rng)
            )
        return out

    def _contexts(
        self,
        faults: Sequence[ScheduledFault],
        index: int,
        offset: float,
        now: float,
        gpu: SimulatedGpu | None,
    ) -> list[tuple[ScheduledFault, FaultContext]]:
        """Return the active faults among `faults` (of GPU `index`, -1: the node), in context."""
        contexts = []
        for fault in faults:
            elapsed = fault.elapsed(offset)
            self._note(fault, active=elapsed is not None)
            if elapsed is None:
                self._previous.pop((fault, index), None)
            elif not FAULT_KINDS[fault.kind].silences_node:
                contexts.append((fault, self._context(fault, index, gpu, elapsed, now)))
        return contexts

    def _context(
        self,
        fault: ScheduledFault,
        index: int,
        gpu: SimulatedGpu | None,
        elapsed: float,
        now: float,
    ) -> FaultContext:
        previous = self._previous.get((fault, index))
        self._previous[(fault, index)] = elapsed
        return FaultContext(
            elapsed,
            fault.duration_s,
            fault.params,
            self._rng if gpu is None else gpu.rng,
            previous_s=previous,
            now=now,
            labels={"node": self.node} if gpu is None else gpu.labels,
            pci="" if gpu is None else gpu.pci,
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
        slow_images: Collection[str] = DEFAULT_SLOW_IMAGES,
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
        self.slow_images = frozenset(slow_images)
        # what the cluster runs on a node (`agent.simulate.cluster`); None: one replica each
        self.placement: Callable[[str], Placement] = lambda _node: UNMANAGED
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
