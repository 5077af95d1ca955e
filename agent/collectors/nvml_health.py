"""One GPU's slow readings, taken every N cycles, and its rare ones, every M slow cycles.

Slow: ECC, row remapping, retired pages, the driver's recovery action and per-workload memory.
Rare: `gpu_info`, the slowdown temperature, energy, PCIe, persistence mode and NVLink, which
change seldom or cost much: on an H100 (driver 580) the energy counter alone takes 4.1 ms of CPU
and the PCIe replay counter 0.4 ms, against 5-30 µs for the other calls (bench/README.md).

NVLink is the dearest: on an HGX H100 (18 links a GPU) the 18 link states cost 1.7 ms of CPU and
the error counters 1 ms per link and counter through ``nvmlDeviceGetNvLinkErrorCounter`` (72 ms
a GPU), 0.28 ms each through ``nvmlDeviceGetFieldValues`` with the per-link ``DL`` fields (15 ms
a GPU for replay, recovery and CRC). So the states are read every rare cycle, and the error
counters in one field-values call (the old per-counter calls where a driver lacks the fields)
only on the rare cycles the session marks ``nvlink_errors``; in between the last counts are
reported again, so their series stay current in the exporter. Fatal NVLink faults do not wait
for that: they arrive at once as XID 74.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from agent.collectors.nvml_gpu import Emit, GpuProbe, scaled
from agent.collectors.workloads import Workload, WorkloadResolver
from agent.wire import Reading

GPU_INFO = "gpuwarden_gpu_info"
GPU_SLOWDOWN_TEMPERATURE = "gpuwarden_gpu_slowdown_temperature_celsius"
GPU_ENERGY = "gpuwarden_gpu_energy_joules_total"
GPU_ECC_ERRORS = "gpuwarden_gpu_ecc_errors_total"
GPU_REMAPPED_ROWS = "gpuwarden_gpu_remapped_rows_total"
GPU_REMAPPED_ROWS_PENDING = "gpuwarden_gpu_remapped_rows_pending"
GPU_REMAPPED_ROWS_FAILURE = "gpuwarden_gpu_remapped_rows_failure"
GPU_RETIRED_PAGES = "gpuwarden_gpu_retired_pages_total"
GPU_RETIRED_PAGES_PENDING = "gpuwarden_gpu_retired_pages_pending"
GPU_PCIE_REPLAYS = "gpuwarden_gpu_pcie_replay_errors_total"
GPU_PCIE_GENERATION = "gpuwarden_gpu_pcie_link_generation"
GPU_PCIE_WIDTH = "gpuwarden_gpu_pcie_link_width"
GPU_NVLINK_UP = "gpuwarden_gpu_nvlink_up"
GPU_NVLINK_ERRORS = "gpuwarden_gpu_nvlink_errors_total"
GPU_PERSISTENCE_MODE = "gpuwarden_gpu_persistence_mode"
GPU_RECOVERY_ACTION = "gpuwarden_gpu_recovery_action"
GPU_PROCESS_MEMORY = "gpuwarden_gpu_process_memory_used_bytes"

_THRESHOLD_SLOWDOWN = 1
_ECC = [
    (error_type, type_code, scope, scope_code)
    for error_type, type_code in (("corrected", 0), ("uncorrected", 1))
    for scope, scope_code in (("volatile", 0), ("aggregate", 1))
]
_RETIREMENT_CAUSES = (("multiple_single_bit_ecc", 0), ("double_bit_ecc", 1))
_PCIE = (
    (GPU_PCIE_GENERATION, "current", "nvmlDeviceGetCurrPcieLinkGeneration"),
    (GPU_PCIE_GENERATION, "max", "nvmlDeviceGetMaxPcieLinkGeneration"),
    (GPU_PCIE_WIDTH, "current", "nvmlDeviceGetCurrPcieLinkWidth"),
    (GPU_PCIE_WIDTH, "max", "nvmlDeviceGetMaxPcieLinkWidth"),
)
_NVLINK_ERRORS = (("replay", 0), ("recovery", 1), ("crc_flit", 2), ("crc_data", 3))
_NVLINK_ERROR_FIELDS = (  # per link (scopeId = link): one field-values call for them all
    ("replay", "NVML_FI_DEV_NVLINK_ERROR_DL_REPLAY"),
    ("recovery", "NVML_FI_DEV_NVLINK_ERROR_DL_RECOVERY"),
    ("crc_flit", "NVML_FI_DEV_NVLINK_ERROR_DL_CRC"),
)
_NVLINK_FIELDS_PROBE = "nvlink_error_fields"
_NVLINK_DEFAULT_MAX_LINKS = 18
_FEATURE_ENABLED = 1
_FIELD_VALUE_MEMBERS = ("dVal", "uiVal", "ulVal", "ullVal", "sllVal", "siVal", "usVal")
_PROCESS_LISTS = (
    ("compute_processes", "nvmlDeviceGetComputeRunningProcesses"),
    ("graphics_processes", "nvmlDeviceGetGraphicsRunningProcesses"),
)


class GpuHealthProbe:
    """The slow-cadence readings of one GPU, read through the same `GpuProbe` policy."""

    def __init__(self, probe: GpuProbe, workloads: WorkloadResolver) -> None:
        self.probe = probe
        self.workloads = workloads
        self._nvlink_counts: dict[tuple[int, str], float] = {}  # the last counts read

    def slow(
        self,
        now: float,
        versions: Mapping[str, str],
        *,
        rare: bool,
        nvlink_errors: bool = True,
    ) -> list[Reading]:
        """Return the slow readings of this GPU at `now`; with `rare`, the rare ones first.

        With `rare` and `nvlink_errors` the NVLink error counters are read afresh.
        """
        out = Emit(self.probe.gpu.labels(), now)
        get = self.probe.get
        if rare:
            self._rare(out, versions)
            self._nvlinks(out, read_errors=nvlink_errors)
        for error_type, type_code, scope, scope_code in _ECC:
            count = get(
                f"ecc_{error_type}_{scope}", "nvmlDeviceGetTotalEccErrors", type_code, scope_code
            )
            out.add(GPU_ECC_ERRORS, count, {"type": error_type, "scope": scope})
        self._memory_retirement(out)
        out.add(GPU_RECOVERY_ACTION, self._recovery_action())
        self._process_memory(out)
        return out.readings

    def _rare(self, out: Emit, versions: Mapping[str, str]) -> None:
        """Add `gpu_info` (with `versions`), slowdown temperature, energy, PCIe, persistence."""
        get = self.probe.get
        out.add(GPU_INFO, 1.0, {**versions, **self._identity()})
        slowdown = get(
            "slowdown_temperature", "nvmlDeviceGetTemperatureThreshold", _THRESHOLD_SLOWDOWN
        )
        out.add(GPU_SLOWDOWN_TEMPERATURE, slowdown)
        out.add(GPU_ENERGY, scaled(get("energy", "nvmlDeviceGetTotalEnergyConsumption"), 1e-3))
        out.add(GPU_PERSISTENCE_MODE, get("persistence_mode", "nvmlDeviceGetPersistenceMode"))
        out.add(GPU_PCIE_REPLAYS, get("pcie_replays", "nvmlDeviceGetPcieReplayCounter"))
        for metric, kind, function in _PCIE:
            out.add(metric, get(f"{metric}_{kind}", function), {"kind": kind})

    def _identity(self) -> dict[str, str]:
        capability = self.probe.get("compute_capability", "nvmlDeviceGetCudaComputeCapability")
        vbios = self.probe.get("vbios", "nvmlDeviceGetVbiosVersion")
        return {
            "pci_bus_id": self.probe.gpu.pci_bus_id,
            "compute_capability": "" if capability is None else "{}.{}".format(*capability),
            "vbios_version": text(vbios),
        }

    def _memory_retirement(self, out: Emit) -> None:
        rows = self.probe.get("remapped_rows", "nvmlDeviceGetRemappedRows")
        if rows is not None:
            correctable, uncorrectable, pending, failure = rows
            out.add(GPU_REMAPPED_ROWS, correctable, {"cause": "correctable"})
            out.add(GPU_REMAPPED_ROWS, uncorrectable, {"cause": "uncorrectable"})
            out.add(GPU_REMAPPED_ROWS_PENDING, 1.0 if pending else 0.0)
            out.add(GPU_REMAPPED_ROWS_FAILURE, 1.0 if failure else 0.0)
        for cause, code in _RETIREMENT_CAUSES:
            pages = self.probe.get(f"retired_pages_{cause}", "nvmlDeviceGetRetiredPages", code)
            out.add(GPU_RETIRED_PAGES, None if pages is None else len(pages), {"cause": cause})
        pending = self.probe.get("retired_pages_pending", "nvmlDeviceGetRetiredPagesPendingStatus")
        out.add(GPU_RETIRED_PAGES_PENDING, pending)

    def _nvlinks(self, out: Emit, *, read_errors: bool) -> None:
        links = getattr(self.probe.calls.nvml, "NVML_NVLINK_MAX_LINKS", _NVLINK_DEFAULT_MAX_LINKS)
        up: list[int] = []
        for link in range(links):
            state = self.probe.get(f"nvlink_state_{link}", "nvmlDeviceGetNvLinkState", link)
            if state is None:
                continue
            out.add(GPU_NVLINK_UP, 1.0 if state == _FEATURE_ENABLED else 0.0, {"link": str(link)})
            if state == _FEATURE_ENABLED:
                up.append(link)
        if read_errors:
            fields = self._nvlink_fields(up)
            self._nvlink_counts = self._nvlink_counters(up) if fields is None else fields
        for (link, kind), count in self._nvlink_counts.items():
            if link in up:
                out.add(GPU_NVLINK_ERRORS, count, {"link": str(link), "type": kind})

    def _nvlink_fields(self, up: list[int]) -> dict[tuple[int, str], float] | None:
        """The up links' error counts in one field-values call; None where the driver lacks it."""
        nvml, key = self.probe.calls.nvml, self.probe.key
        fields = [(kind, getattr(nvml, name, None)) for kind, name in _NVLINK_ERROR_FIELDS]
        if not up:
            return {}
        if self.probe.calls.is_absent(key, _NVLINK_FIELDS_PROBE) or any(
            field_id is None for _, field_id in fields
        ):
            return None
        wanted = list(itertools.product(up, fields))
        ids = [(field_id, link) for link, (_, field_id) in wanted]
        values = self.probe.get(_NVLINK_FIELDS_PROBE, "nvmlDeviceGetFieldValues", ids)
        if values is None:
            return None
        if all(value.nvmlReturn != 0 for value in values):  # an older driver: per-counter calls
            self.probe.calls.mark_absent(key, _NVLINK_FIELDS_PROBE, "no per-link DL fields")
            return None
        counts: dict[tuple[int, str], float] = {}
        for (link, (kind, _)), value in zip(wanted, values, strict=True):
            if value.nvmlReturn != 0:
                self.probe.calls.handle_code(value.nvmlReturn, key, f"nvlink_{kind}_{link}")
                continue
            counts[(link, kind)] = field_value(value)
        return counts

    def _nvlink_counters(self, up: list[int]) -> dict[tuple[int, str], float]:
        """The up links' error counts, one ``nvmlDeviceGetNvLinkErrorCounter`` call each."""
        counts: dict[tuple[int, str], float] = {}
        for link in up:
            for kind, counter in _NVLINK_ERRORS:
                field = f"nvlink_{kind}_{link}"
                count = self.probe.get(field, "nvmlDeviceGetNvLinkErrorCounter", link, counter)
                if count is not None:
                    counts[(link, kind)] = float(count)
        return counts

    def _recovery_action(self) -> float | None:
        field_id = getattr(self.probe.calls.nvml, "NVML_FI_DEV_GET_GPU_RECOVERY_ACTION", None)
        if field_id is None:
            return None
        values = self.probe.get("recovery_action", "nvmlDeviceGetFieldValues", [field_id])
        if not values:
            return None
        value = values[0]
        if value.nvmlReturn != 0:
            self.probe.calls.handle_code(value.nvmlReturn, self.probe.key, "recovery_action")
            return None
        return field_value(value)

    def _process_memory(self, out: Emit) -> None:
        used: dict[int, int] = {}
        for field, function in _PROCESS_LISTS:
            for process in self.probe.get(field, function) or ():
                if process.usedGpuMemory is not None:
                    used[process.pid] = max(used.get(process.pid, 0), process.usedGpuMemory)
        per_workload: dict[Workload, int] = defaultdict(int)
        for pid, memory in used.items():
            workload = self.workloads.resolve(pid)
            if workload is not None:
                per_workload[workload] += memory
        for workload, memory in per_workload.items():
            out.add(GPU_PROCESS_MEMORY, memory, workload.labels())


def field_value(value: Any) -> float:
    """The number in one ``nvmlFieldValue_t`` answer, by its value type."""
    return float(getattr(value.value, _FIELD_VALUE_MEMBERS[value.valueType]))


def text(value: Any) -> str:
    """Return an NVML string (str, or bytes from older bindings) as str; None → ''."""
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
