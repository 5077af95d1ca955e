"""Fault kinds the simulator can inject, keyed by name.

A kind says which parameters it takes (with defaults and ranges), how it bends a GPU's load while
it is active, and which events it raises (an XID, a lost GPU). Adding a kind is writing one small
class like `GpuSaturation` and listing it in `FAULT_KINDS`; the schedule and scenario parsers,
their error messages and the fleet pick it up from there. A kind without a GPU (``needs_gpu``
false) aims at a whole node and bends its `NodeLoad` (its serving replica, its driver).
`agent/simulate/scenarios/README.md` lists every kind with what the bot should see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar

from agent.simulate.fault_base import (
    MAX_SM_HZ,
    MIB,
    SERIES_CLOCK_EVENTS,
    SERIES_GPU_UP,
    SERIES_PROCESS_MEMORY,
    FaultContext,
    FaultKind,
    Load,
    Param,
    ramp,
)
from agent.simulate.nvlink import NvlinkErrors
from agent.simulate.serving_faults import DriverMismatch, OutputDrift, TrafficSurge, TtftRegression
from agent.simulate.xid import GPU_LOST_EVENT, XID_EVENT, Xid

__all__ = [
    "FAULT_KINDS",
    "GPU_LOST_EVENT",
    "MAX_SM_HZ",
    "SERIES_CLOCK_EVENTS",
    "SERIES_GPU_UP",
    "SERIES_PROCESS_MEMORY",
    "XID_EVENT",
    "FaultContext",
    "FaultKind",
    "Load",
    "Param",
    "Xid",
]


class GpuSaturation(FaultKind):
    """Traffic pins one GPU: utilisation ramps to ~0.98-0.99, holds, then drops back."""

    name: ClassVar[str] = "gpu_saturation"
    params: ClassVar[Mapping[str, Param]] = {
        "ramp_s": Param(30.0, 0.0, 3600.0, "seconds to climb from the current value to the top"),
        "util": Param(0.985, 0.0, 1.0, "utilisation ratio held at the top"),
    }
    jitter: ClassVar[float] = 0.005

    def apply(self, load: Load, ctx: FaultContext) -> Load:
        """Return `load` with utilisation ramped toward the target."""
        progress = 1.0 - (1.0 - ramp(ctx, ctx.params["ramp_s"])) ** 2  # fast, then eases in
        target = ctx.params["util"] + ctx.rng.uniform(-self.jitter, self.jitter)
        target = min(1.0, max(0.0, target))
        utilization = load.utilization + (target - load.utilization) * progress
        return replace(load, utilization=utilization)


class GpuMemoryLeak(FaultKind):
    """The serving process on one GPU leaks: its memory grows steadily (after a warm-up)."""

    name: ClassVar[str] = "gpu_memory_leak"
    series: ClassVar[frozenset[str]] = frozenset({SERIES_PROCESS_MEMORY})
    params: ClassVar[Mapping[str, Param]] = {
        "rate_mib_per_min": Param(20.0, 0.0, 10_000.0, "MiB the process grows by per minute"),
        "warmup_s": Param(0.0, 0.0, 3600.0, "seconds before the growth starts"),
    }

    def apply(self, load: Load, ctx: FaultContext) -> Load:
        """Return `load` with the process (and so the GPU) holding the leaked memory too."""
        growing_s = max(0.0, ctx.elapsed_s - ctx.params["warmup_s"])
        leaked = ctx.params["rate_mib_per_min"] * MIB * growing_s / 60.0
        return replace(
            load,
            memory_used_bytes=load.memory_used_bytes + leaked,
            process_memory_bytes=load.process_memory_bytes + leaked,
        )


class LoadSpike(FaultKind):
    """A burst of traffic: utilisation times `factor` (3 by default), capped at 1."""

    name: ClassVar[str] = "load_spike"
    params: ClassVar[Mapping[str, Param]] = {
        "factor": Param(3.0, 1.0, 20.0, "multiplier on the utilisation"),
    }

    def apply(self, load: Load, ctx: FaultContext) -> Load:
        """Return `load` with utilisation multiplied, at most 1."""
        return replace(load, utilization=min(1.0, load.utilization * ctx.params["factor"]))


class NodeSilence(FaultKind):
    """The node stops reporting (a network partition): no batch, no heartbeat, no events."""

    name: ClassVar[str] = "node_silence"
    needs_gpu: ClassVar[bool] = False
    silences_node: ClassVar[bool] = True


class ThermalThrottle(FaultKind):
    """Cooling fails: temperature climbs to just under slowdown, the SM clock drops.

    ``sw_thermal`` is active from the start, ``hw_thermal`` once `hw_after_s` have passed; power
    stays below the limit (the GPU does less work per second), which tells it from power capping.
    """

    name: ClassVar[str] = "thermal_throttle"
    series: ClassVar[frozenset[str]] = frozenset({SERIES_CLOCK_EVENTS})
    params: ClassVar[Mapping[str, Param]] = {
        "ramp_s": Param(60.0, 0.0, 3600.0, "seconds to reach the top temperature"),
        "from_c": Param(78.0, 20.0, 120.0, "temperature the ramp starts at"),
        "temp_c": Param(89.0, 20.0, 120.0, "temperature held at the top (slowdown is 90)"),
        "sm_clock_mhz": Param(1100.0, 100.0, 1980.0, "SM clock at the top of the ramp"),
        "hw_after_s": Param(120.0, 0.0, 86_400.0, "seconds until hw_thermal is active too"),
    }

    def apply(self, load: Load, ctx: FaultContext) -> Load:
        """Return `load` held hot, with a slower SM clock and thermal clock events."""
        progress = ramp(ctx, ctx.params["ramp_s"])
        low, high = ctx.params["from_c"], ctx.params["temp_c"]
        clock_ratio = ctx.params["sm_clock_mhz"] * 1e6 / MAX_SM_HZ
        reasons = {"sw_thermal"}
        if ctx.elapsed_s >= ctx.params["hw_after_s"]:
            reasons.add("hw_thermal")
        return replace(
            load,
            temperature_floor_c=max(load.temperature_floor_c, low + (high - low) * progress),
            sm_clock_factor=load.sm_clock_factor * (1.0 - (1.0 - clock_ratio) * progress),
            clock_events=load.clock_events | reasons,
        )


class Straggler(FaultKind):
    """One GPU lags its peers (a slow link, a bad HBM stack): lower utilisation and SM clock."""

    name: ClassVar[str] = "straggler"
    params: ClassVar[Mapping[str, Param]] = {
        "util_factor": Param(0.5, 0.0, 1.0, "multiplier on the utilisation"),
        "clock_factor": Param(0.75, 0.05, 1.0, "multiplier on the SM clock"),
    }

    def apply(self, load: Load, ctx: FaultContext) -> Load:
        """Return `load` with utilisation and SM clock scaled down."""
        return replace(
            load,
            utilization=load.utilization * ctx.params["util_factor"],
            sm_clock_factor=load.sm_clock_factor * ctx.params["clock_factor"],
        )


class PowerCap(FaultKind):
    """Power capping (the thermal negative control): busy GPU, power at the limit, ``sw_power_cap``.

    Utilisation is held at `util` so the power drawn reaches the cap and the SM clock sags under
    it; the temperature stays normal.
    """

    name: ClassVar[str] = "power_cap"
    series: ClassVar[frozenset[str]] = frozenset({SERIES_CLOCK_EVENTS})
    params: ClassVar[Mapping[str, Param]] = {
        "util": Param(0.97, 0.0, 1.0, "utilisation ratio held while capped"),
        "clock_factor": Param(0.8, 0.05, 1.0, "multiplier on the SM clock"),
    }

    def apply(self, load: Load, ctx: FaultContext) -> Load:
        """Return `load` busy, clocked down, with ``sw_power_cap`` active."""
        return replace(
            load,
            utilization=max(load.utilization, ctx.params["util"]),
            sm_clock_factor=load.sm_clock_factor * ctx.params["clock_factor"],
            clock_events=load.clock_events | {"sw_power_cap"},
        )


FAULT_KINDS: Mapping[str, FaultKind] = {
    kind.name: kind
    for kind in (
        GpuSaturation(),
        GpuMemoryLeak(),
        LoadSpike(),
        NodeSilence(),
        Xid(),
        ThermalThrottle(),
        Straggler(),
        PowerCap(),
        NvlinkErrors(),
        TtftRegression(),
        TrafficSurge(),
        OutputDrift(),
        DriverMismatch(),
    )
}
