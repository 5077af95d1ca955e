"""The NVML side of the collector: init, enumeration, per-GPU sampling and lost-GPU tracking.

Everything here runs in the time box's worker thread, one job at a time; the collector only
sees the `NvmlSample` values it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from agent.collectors.nvml_calls import GpuLost, NvmlCalls, NvmlModule, unavailable
from agent.collectors.nvml_gpu import GPU_UP, GpuIdentity, GpuProbe
from agent.collectors.nvml_health import GpuHealthProbe, text
from agent.collectors.workloads import WorkloadResolver
from agent.collectors.xid import normalise_pci
from agent.wire import Reading

logger = logging.getLogger(__name__)

SYSTEM = "system"  # the error policy's key for calls that concern no single GPU
MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Down:
    """A GPU that did not answer this cycle, with the labels it last had and why."""

    labels: Mapping[str, str]
    reason: str


@dataclass(frozen=True, slots=True)
class NvmlSample:
    """One cycle's result: readings, the GPUs enumerated, and the ones down (by key)."""

    readings: tuple[Reading, ...]
    gpus: tuple[GpuIdentity, ...]
    down: Mapping[str, Down] = field(default_factory=dict)


class NvmlSession:
    """An initialised NVML with its enumerated GPUs, sampled once per collection cycle."""

    def __init__(
        self,
        nvml: NvmlModule,
        calls: NvmlCalls,
        workloads: WorkloadResolver,
        *,
        expected_gpus: int | None,
        lost_retry_cycles: int,
        rare_every: int = 1,
        nvlink_errors_every: int = 1,
    ) -> None:
        self.nvml = nvml
        self.calls = calls
        self.workloads = workloads
        self.expected_gpus = expected_gpus
        self.lost_retry_cycles = lost_retry_cycles
        self.opened = False
        self.versions: dict[str, str] = {}
        self.gpus: tuple[GpuIdentity, ...] = ()
        self._known: dict[str, GpuIdentity] = {}
        self._unidentified: dict[str, Down] = {}
        self._probes: dict[str, tuple[GpuProbe, GpuHealthProbe]] = {}
        self._lost: dict[str, tuple[str, int]] = {}
        self._cycle = 0
        self.rare_every = rare_every
        self.nvlink_errors_every = nvlink_errors_every  # in rare cycles
        self._slow_cycles = 0
        self._rare_cycles = 0

    def open(self) -> None:
        """Initialise NVML, read the versions and enumerate the GPUs.

        Raises:
            NvmlUnavailable: the library, the driver or the binding cannot be used.
        """
        try:
            self.nvml.nvmlInit()
        except self.nvml.NVMLError as exc:
            raise unavailable(exc) from exc
        self.opened = True
        self.versions = self._versions()
        self._enumerate()
        logger.info(
            "NVML %s, driver %s: %d GPU(s)",
            self.versions["nvml_version"],
            self.versions["driver_version"],
            len(self.gpus),
        )

    def close(self) -> None:
        """Shut NVML down (errors are logged, not raised)."""
        if self.opened:
            self.opened = False
            try:
                self.nvml.nvmlShutdown()
            except self.nvml.NVMLError as exc:
                logger.warning("nvmlShutdown failed: %s", exc)

    def sample(self, now: float, *, slow: bool) -> NvmlSample:
        """Return every GPU's readings at `now` (with the slow set when `slow`)."""
        if not self.opened:
            self.open()
        self._cycle += 1
        self._recount()
        rare = slow and self._slow_cycles % self.rare_every == 0
        links = rare and self._rare_cycles % self.nvlink_errors_every == 0
        self._slow_cycles += slow
        self._rare_cycles += rare
        readings: list[Reading] = []
        down: dict[str, Down] = {}
        for gpu in self.gpus:
            reason = self._read_gpu(gpu, now, (slow, rare, links), readings)
            if reason is not None:
                down[gpu.uuid] = Down(gpu.labels(), reason)
        down.update(self._missing())
        readings.extend(Reading(GPU_UP, d.labels, now, 0.0) for d in down.values())
        return NvmlSample(tuple(readings), self.gpus, down)

    def watch(self, now: float, metrics: frozenset[str]) -> list[Reading]:
        """Return the fast readings among `metrics` of every GPU that answers, between cycles.

        A GPU known to be lost is skipped, and one that turns out lost now is left to the next
        cycle, which reports it (``gpu_up`` 0 and the ``gpu_lost`` event).
        """
        readings: list[Reading] = []
        for gpu in self.gpus:
            if gpu.uuid in self._lost:
                continue
            try:
                readings.extend(self._probes[gpu.uuid][0].watch(now, metrics))
            except GpuLost:
                continue
        return readings

    def _read_gpu(
        self, gpu: GpuIdentity, now: float, cadence: tuple[bool, bool, bool], out: list[Reading]
    ) -> str | None:
        lost = self._lost.get(gpu.uuid)
        if lost is not None and (self._cycle - lost[1]) % self.lost_retry_cycles != 0:
            return lost[0]
        probe, health = self._probes[gpu.uuid]
        slow, rare, links = cadence
        try:
            readings = probe.fast(now)
            if slow:
                readings += health.slow(now, self.versions, rare=rare, nvlink_errors=links)
        except GpuLost as exc:
            self._lost.setdefault(gpu.uuid, (exc.reason, self._cycle))
            return exc.reason
        if self._lost.pop(gpu.uuid, None) is not None:
            logger.info("GPU %d (%s) answers again", gpu.index, gpu.uuid)
        out.extend(readings)
        out.append(Reading(GPU_UP, gpu.labels(), now, 1.0))
        return None

    def _versions(self) -> dict[str, str]:
        get = self.calls.get
        cuda = get(SYSTEM, "cuda_v2", "nvmlSystemGetCudaDriverVersion_v2")
        if cuda is None:
            cuda = get(SYSTEM, "cuda", "nvmlSystemGetCudaDriverVersion")
        return {
            "driver_version": text(get(SYSTEM, "driver", "nvmlSystemGetDriverVersion")),
            "cuda_driver_version": "" if cuda is None else f"{cuda // 1000}.{cuda % 1000 // 10}",
            "nvml_version": text(get(SYSTEM, "nvml", "nvmlSystemGetNVMLVersion")),
        }

    def _recount(self) -> None:
        try:
            count = self.calls.get(SYSTEM, "count", "nvmlDeviceGetCount")
        except GpuLost as exc:
            logger.warning("nvmlDeviceGetCount failed (%s); keeping the GPUs known", exc.reason)
            return
        if count is not None and count != len(self.gpus):
            logger.warning("NVML now counts %d GPU(s), was %d; enumerating", count, len(self.gpus))
            self._enumerate()

    def _enumerate(self) -> None:
        count = self.calls.get(SYSTEM, "count", "nvmlDeviceGetCount") or 0
        self._unidentified = {}
        gpus = [gpu for index in range(count) if (gpu := self._identify(index)) is not None]
        self.gpus = tuple(gpus)
        for gpu in gpus:
            self._known[gpu.uuid] = gpu
            probe = GpuProbe(gpu, self.calls)
            self._probes[gpu.uuid] = (probe, GpuHealthProbe(probe, self.workloads))

    def _identify(self, index: int) -> GpuIdentity | None:
        key = f"index-{index}"
        try:
            handle = self.calls.get(key, "handle", "nvmlDeviceGetHandleByIndex", index)
            if handle is None:
                return None
            uuid = text(self.calls.get(key, "uuid", "nvmlDeviceGetUUID", handle))
            name = text(self.calls.get(key, "name", "nvmlDeviceGetName", handle))
            pci = self.calls.get(key, "pci", "nvmlDeviceGetPciInfo", handle)
        except GpuLost as exc:
            logger.warning("GPU %d could not be identified: %s", index, exc.reason)
            labels = {"gpu": str(index), "uuid": "", "model_name": ""}
            self._unidentified[key] = Down(labels, exc.reason)
            return None
        bus_id = "" if pci is None else normalise_pci(text(pci.busId))
        return GpuIdentity(index, uuid or key, name, bus_id, handle)

    def _missing(self) -> dict[str, Down]:
        present = {gpu.uuid for gpu in self.gpus}
        missing = {
            uuid: Down(gpu.labels(), MISSING)
            for uuid, gpu in self._known.items()
            if uuid not in present
        }
        missing.update(self._unidentified)
        if self.expected_gpus is None:
            return missing
        taken = {gpu.index for gpu in self.gpus} | {int(d.labels["gpu"]) for d in missing.values()}
        free = [i for i in range(self.expected_gpus) if i not in taken]
        unseen = self.expected_gpus - len(present) - len(missing)
        for index in free[: max(0, unseen)]:
            labels = {"gpu": str(index), "uuid": "", "model_name": ""}
            missing[f"index-{index}"] = Down(labels, MISSING)
        return missing
