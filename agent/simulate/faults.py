"""Fault kinds the simulator can inject, keyed by name.

A kind says which parameters it takes (with defaults and ranges) and how it bends a GPU's load
while it is active. Adding a kind is writing one small class like `GpuSaturation` and listing it
in `FAULT_KINDS`; the schedule parser, its error messages and the fleet pick it up from there.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol


@dataclass(frozen=True, slots=True)
class Load:
    """What drives one simulated GPU's readings this tick: how busy it is and its memory."""

    utilization: float
    memory_used_bytes: float


@dataclass(frozen=True, slots=True)
class Param:
    """One numeric parameter of a fault kind: its default and the range it must lie in."""

    default: float
    low: float
    high: float
    meaning: str


@dataclass(frozen=True, slots=True)
class FaultContext:
    """Where an active fault stands: seconds since it began, its length, its parameters."""

    elapsed_s: float
    duration_s: float
    params: Mapping[str, float]
    rng: random.Random


class FaultKind(Protocol):
    """A named kind of fault: its parameters and its effect on a GPU's load while active."""

    name: ClassVar[str]
    needs_gpu: ClassVar[bool]
    params: ClassVar[Mapping[str, Param]]

    def apply(self, load: Load, ctx: FaultContext) -> Load:
        """Return the load as the fault bends it at `ctx.elapsed_s` into the fault."""
        ...


class GpuSaturation:
    """Traffic pins one GPU: utilisation ramps to ~0.98-0.99, holds, then drops back."""

    name: ClassVar[str] = "gpu_saturation"
    needs_gpu: ClassVar[bool] = True
    params: ClassVar[Mapping[str, Param]] = {
        "ramp_s": Param(30.0, 0.0, 3600.0, "seconds to climb from the current value to the top"),
        "util": Param(0.985, 0.0, 1.0, "utilisation ratio held at the top"),
    }
    jitter: ClassVar[float] = 0.005

    def apply(self, load: Load, ctx: FaultContext) -> Load:
        """Return `load` with utilisation ramped toward the target."""
        ramp_s = ctx.params["ramp_s"]
        linear = 1.0 if ramp_s <= 0 else min(1.0, ctx.elapsed_s / ramp_s)
        progress = 1.0 - (1.0 - linear) ** 2  # climbs fast, then eases onto the top
        target = ctx.params["util"] + ctx.rng.uniform(-self.jitter, self.jitter)
        target = min(1.0, max(0.0, target))
        utilization = load.utilization + (target - load.utilization) * progress
        return Load(utilization=utilization, memory_used_bytes=load.memory_used_bytes)


FAULT_KINDS: Mapping[str, FaultKind] = {kind.name: kind for kind in (GpuSaturation(),)}
