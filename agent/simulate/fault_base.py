"""What a fault kind is: the loads it bends, its parameters, where it stands, and its base class.

A fault bends one GPU's `Load` (kinds aimed at a GPU) or one node's `NodeLoad` (kinds aimed at a
whole node: its serving replica, its driver, its network). The kinds themselves are in
`agent.simulate.faults`, `agent.simulate.xid`, `agent.simulate.nvlink` and
`agent.simulate.serving_faults`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from agent.wire import NodeEvent

MIB = 1024**2
# Series beyond the six basic ones, which a GPU reports once a fault that shows in them has begun
# on it (and from then on), so that a fleet without such faults ships six series per GPU.
SERIES_GPU_UP = "gpu_up"
SERIES_PROCESS_MEMORY = "process_memory"
SERIES_CLOCK_EVENTS = "clock_events"
SERIES_NVLINK = "nvlink"
# Node series beyond the serving ones, reported once a node fault that shows in them has begun.
SERIES_GPU_INFO = "gpu_info"
SERIES_OUTPUT_HISTOGRAM = "output_histogram"


@dataclass(frozen=True, slots=True)
class Load:
    """What drives one simulated GPU's readings this tick, as the active faults leave it.

    `utilization` and `memory_used_bytes` come from the GPU's own walk; `process_memory_bytes` is
    the serving process's share of that memory. The rest are the faults' marks: a factor on the SM
    clock, a temperature the GPU is held at or above, clock-event reasons forced active, whether
    the GPU still answers, and whether a remapped row waits for a reset.
    """

    utilization: float
    memory_used_bytes: float
    process_memory_bytes: float = 0.0
    sm_clock_factor: float = 1.0
    temperature_floor_c: float = 0.0
    clock_events: frozenset[str] = frozenset()
    up: bool = True
    remap_pending: bool = False
    itl_factor: float = 1.0
    nvlink_down: frozenset[int] = frozenset()
    nvlink_error_rates: Mapping[int, float] = field(default_factory=dict)  # link → errors/s


@dataclass(frozen=True, slots=True)
class NodeLoad:
    """What drives one simulated node's serving replica this tick, as the active faults leave it.

    `demand` is the share of one replica's capacity its traffic asks for (above 1: more than it
    can serve, so requests queue); `serving` says whether the node serves traffic at all (a
    cordoned or drained node, or one without a pod of the serving deployment, does not). `image`
    is the serving container's image and `ttft_factor` what it does to the first-token latency;
    `crash_looping` says that the pods the Service routes to on the node never turn ready.
    `cuda_driver` is the CUDA version the driver supports and `cuda_required` what the serving
    image needs; `output_drift` is the KL divergence of the model's outputs from its reference.
    """

    demand: float
    serving: bool = True
    image: str = ""
    ttft_factor: float = 1.0
    driver_version: str = ""
    cuda_driver: float = 0.0
    cuda_required: float = 0.0
    output_drift: float = 0.0
    crash_looping: bool = False

    @property
    def cuda_compatible(self) -> bool:
        """Return whether the driver can run the serving image's CUDA runtime."""
        return self.cuda_driver + 1e-9 >= self.cuda_required


@dataclass(frozen=True, slots=True)
class Param:
    """One numeric parameter of a fault kind: its default and the range it must lie in."""

    default: float
    low: float
    high: float
    meaning: str


@dataclass(frozen=True, slots=True)
class FaultContext:
    """Where an active fault stands: seconds since it began, its length, its parameters.

    `previous_s` is the elapsed time at the GPU's previous tick inside this fault (None on its
    first), so a kind can tell when a moment of the fault has just passed; `now`, `labels` and
    `pci` say when and on which GPU, for the events it raises.
    """

    elapsed_s: float
    duration_s: float
    params: Mapping[str, float]
    rng: random.Random
    previous_s: float | None = None
    now: float = 0.0
    labels: Mapping[str, str] = field(default_factory=dict)
    pci: str = ""

    def passed(self, moment_s: float) -> bool:
        """Return whether `moment_s` into the fault was reached at this tick (not before)."""
        reached = self.elapsed_s >= moment_s
        return reached and (self.previous_s is None or self.previous_s < moment_s)


def ramp(ctx: FaultContext, ramp_s: float) -> float:
    """Return 0 → 1 over the first `ramp_s` seconds of the fault (1 at once for 0)."""
    return 1.0 if ramp_s <= 0 else min(1.0, ctx.elapsed_s / ramp_s)


class FaultKind:
    """A named kind of fault: its parameters, its effect on a GPU's load, and its events."""

    name: ClassVar[str]
    needs_gpu: ClassVar[bool] = True
    silences_node: ClassVar[bool] = False
    params: ClassVar[Mapping[str, Param]] = {}
    series: ClassVar[frozenset[str]] = (
        frozenset()
    )  # SERIES_* the GPU (or node) reports from then on
    from_start: ClassVar[bool] = False  # report `series` from the start (a reference is needed)

    def apply(self, load: Load, ctx: FaultContext) -> Load:
        """Return the load as the fault bends it at `ctx.elapsed_s` into the fault."""
        del ctx
        return load

    def apply_node(self, load: NodeLoad, ctx: FaultContext) -> NodeLoad:
        """Return the node's load as a node-wide fault bends it (most kinds leave it alone)."""
        del ctx
        return load

    def events(self, ctx: FaultContext) -> list[NodeEvent]:
        """Return the events the fault raises at this tick (most raise none)."""
        del ctx
        return []


MAX_SM_HZ = 1_980e6  # an H100's top SM clock
