"""One GPU's fast readings (every cycle), in base units: ratio, bytes, celsius, watts, hertz.

NVML answers in percent, milliwatts and MHz; the conversions live here and nowhere else.
Enum values are NVML's C ABI, so they are spelled out instead of read from the binding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.collectors.nvml_calls import NvmlCalls
from agent.wire import (
    GPU_MEMORY_TOTAL,
    GPU_MEMORY_USED,
    GPU_POWER,
    GPU_SM_CLOCK,
    GPU_TEMPERATURE,
    GPU_UTILIZATION,
    Reading,
)

GPU_UP = "gpuwarden_gpu_up"
GPU_MEMORY_ACTIVITY = "gpuwarden_gpu_memory_activity_ratio"
GPU_MEMORY_RESERVED = "gpuwarden_gpu_memory_reserved_bytes"
GPU_MEMORY_FREE = "gpuwarden_gpu_memory_free_bytes"
GPU_POWER_LIMIT = "gpuwarden_gpu_power_limit_watts"
GPU_MEMORY_CLOCK = "gpuwarden_gpu_memory_clock_hertz"
GPU_CLOCK_EVENT = "gpuwarden_gpu_clock_event_active"

_UTILIZATION_METRICS = frozenset({GPU_UTILIZATION, GPU_MEMORY_ACTIVITY})
_MEMORY_METRICS = frozenset(
    {GPU_MEMORY_TOTAL, GPU_MEMORY_USED, GPU_MEMORY_FREE, GPU_MEMORY_RESERVED}
)
FAST_METRICS = (
    _UTILIZATION_METRICS
    | _MEMORY_METRICS
    | {
        GPU_TEMPERATURE,
        GPU_POWER,
        GPU_POWER_LIMIT,
        GPU_SM_CLOCK,
        GPU_MEMORY_CLOCK,
        GPU_CLOCK_EVENT,
    }
)
_TEMPERATURE_GPU = 0
_CLOCK_SM, _CLOCK_MEM = 1, 2
_CLOCK_EVENT_BITS = {
    "idle": 0x1,
    "app_clocks": 0x2,
    "sw_power_cap": 0x4,
    "hw_slowdown": 0x8,
    "sync_boost": 0x10,
    "sw_thermal": 0x20,
    "hw_thermal": 0x40,
    "hw_power_brake": 0x80,
}


@dataclass(frozen=True, slots=True)
class GpuIdentity:
    """A GPU as enumerated: its index, UUID, model, normalised PCI bus id and NVML handle."""

    index: int
    uuid: str
    model_name: str
    pci_bus_id: str
    handle: Any

    def labels(self) -> dict[str, str]:
        """Return the labels every reading of this GPU carries."""
        return {"gpu": str(self.index), "uuid": self.uuid, "model_name": self.model_name}


class Emit:
    """Collects readings of one GPU at one instant, skipping absent (None) values."""

    def __init__(self, labels: Mapping[str, str], now: float) -> None:
        self.labels = labels
        self.now = now
        self.readings: list[Reading] = []

    def add(self, metric: str, value: float | None, extra: Mapping[str, str] | None = None) -> None:
        """Add one reading unless `value` is None."""
        if value is None:
            return
        labels = {**self.labels, **extra} if extra else self.labels
        self.readings.append(Reading(metric, labels, self.now, float(value)))


def scaled(value: float | None, factor: float) -> float | None:
    """Return `value * factor`, keeping None."""
    return None if value is None else value * factor


class GpuProbe:
    """Reads one GPU through the error policy; `fast` is the every-cycle set."""

    def __init__(self, gpu: GpuIdentity, calls: NvmlCalls) -> None:
        self.gpu = gpu
        self.calls = calls
        self.key = gpu.uuid
        self._parts = self._fast_parts()

    def get(self, field: str, function: str, *args: Any, **kwargs: Any) -> Any:
        """Return `function(handle, *args)` under the error policy (None when absent)."""
        return self.calls.get(self.key, field, function, self.gpu.handle, *args, **kwargs)

    def fast(self, now: float) -> list[Reading]:
        """Return utilisation, memory, temperature, power, clocks and clock-event reasons."""
        out = Emit(self.gpu.labels(), now)
        for _, read in self._parts:
            read(out)
        return out.readings

    def watch(self, now: float, metrics: frozenset[str]) -> list[Reading]:
        """Return the fast readings among `metrics`, asking NVML only for what yields them."""
        out = Emit(self.gpu.labels(), now)
        for produced, read in self._parts:
            if not produced.isdisjoint(metrics):
                read(out)
        return [r for r in out.readings if r.metric in metrics]

    def _fast_parts(self) -> tuple[tuple[frozenset[str], Callable[[Emit], None]], ...]:
        """The fast set as (metrics produced, reader) pairs, one NVML query (or fallback) each."""
        return (
            (_UTILIZATION_METRICS, self._utilization),
            (_MEMORY_METRICS, self._memory),
            (frozenset({GPU_TEMPERATURE}), self._temperature),
            (frozenset({GPU_POWER}), self._power),
            (frozenset({GPU_POWER_LIMIT}), self._power_limit),
            (frozenset({GPU_SM_CLOCK}), self._sm_clock),
            (frozenset({GPU_MEMORY_CLOCK}), self._memory_clock),
            (frozenset({GPU_CLOCK_EVENT}), self._clock_events),
        )

    def _utilization(self, out: Emit) -> None:
        util = self.get("utilization", "nvmlDeviceGetUtilizationRates")
        if util is not None:
            out.add(GPU_UTILIZATION, util.gpu / 100)
            out.add(GPU_MEMORY_ACTIVITY, util.memory / 100)

    def _power(self, out: Emit) -> None:
        out.add(GPU_POWER, scaled(self.get("power", "nvmlDeviceGetPowerUsage"), 1e-3))

    def _power_limit(self, out: Emit) -> None:
        limit = self.get("power_limit", "nvmlDeviceGetEnforcedPowerLimit")
        out.add(GPU_POWER_LIMIT, scaled(limit, 1e-3))

    def _sm_clock(self, out: Emit) -> None:
        sm_clock = self.get("sm_clock", "nvmlDeviceGetClockInfo", _CLOCK_SM)
        out.add(GPU_SM_CLOCK, scaled(sm_clock, 1e6))

    def _memory_clock(self, out: Emit) -> None:
        mem_clock = self.get("memory_clock", "nvmlDeviceGetClockInfo", _CLOCK_MEM)
        out.add(GPU_MEMORY_CLOCK, scaled(mem_clock, 1e6))

    def _memory(self, out: Emit) -> None:
        version = getattr(self.calls.nvml, "nvmlMemory_v2", None)
        memory = None
        if version is not None:
            memory = self.get("memory_v2", "nvmlDeviceGetMemoryInfo", version=version)
        if memory is None and (version is None or self.calls.is_absent(self.key, "memory_v2")):
            memory = self.get("memory_v1", "nvmlDeviceGetMemoryInfo")
        if memory is None:
            return
        out.add(GPU_MEMORY_TOTAL, memory.total)
        out.add(GPU_MEMORY_USED, memory.used)
        out.add(GPU_MEMORY_FREE, memory.free)
        out.add(GPU_MEMORY_RESERVED, getattr(memory, "reserved", None))

    def _temperature(self, out: Emit) -> None:
        value = self.get("temperature", "nvmlDeviceGetTemperatureV", _TEMPERATURE_GPU)
        if value is None and self.calls.is_absent(self.key, "temperature"):
            value = self.get("temperature_legacy", "nvmlDeviceGetTemperature", _TEMPERATURE_GPU)
        out.add(GPU_TEMPERATURE, value)

    def _clock_events(self, out: Emit) -> None:
        mask = self.get("clock_events", "nvmlDeviceGetCurrentClocksEventReasons")
        if mask is None and self.calls.is_absent(self.key, "clock_events"):
            mask = self.get("clock_events_legacy", "nvmlDeviceGetCurrentClocksThrottleReasons")
        if mask is None:
            return
        for reason, bit in _CLOCK_EVENT_BITS.items():
            out.add(GPU_CLOCK_EVENT, 1.0 if mask & bit else 0.0, {"reason": reason})
