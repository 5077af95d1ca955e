# ruff: noqa: N802, N815 - the stand-in must use pynvml's own names
"""A stand-in for the `pynvml` module: the names the collectors use, over scripted GPUs.

The error classes are generated the way `pynvml` generates them: one `NVMLError_<CapWords>`
subclass per `NVML_ERROR_*` constant, `NVMLError(code)` returning the matching subclass, and
`.value` holding the code.
"""

from __future__ import annotations

import string
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

ERROR_CODES = {
    "NVML_ERROR_UNINITIALIZED": 1,
    "NVML_ERROR_INVALID_ARGUMENT": 2,
    "NVML_ERROR_NOT_SUPPORTED": 3,
    "NVML_ERROR_NO_PERMISSION": 4,
    "NVML_ERROR_DRIVER_NOT_LOADED": 9,
    "NVML_ERROR_TIMEOUT": 10,
    "NVML_ERROR_LIBRARY_NOT_FOUND": 12,
    "NVML_ERROR_FUNCTION_NOT_FOUND": 13,
    "NVML_ERROR_GPU_IS_LOST": 15,
    "NVML_ERROR_RESET_REQUIRED": 16,
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH": 18,
    "NVML_ERROR_UNKNOWN": 999,
}


class NVMLError(Exception):
    _by_code: dict[int, type[NVMLError]] = {}  # noqa: RUF012 - as in pynvml
    value: int

    def __new__(cls, value: int) -> NVMLError:
        typ = NVMLError._by_code.get(value, cls) if cls is NVMLError else cls
        obj = Exception.__new__(typ)
        obj.value = value
        return obj

    def __str__(self) -> str:
        return f"NVML error {self.value}"


def _error_class(name: str, code: int) -> type[NVMLError]:
    class_name = "NVMLError_" + string.capwords(name.replace("NVML_ERROR_", ""), "_").replace(
        "_", ""
    )

    def new(cls: type[NVMLError], *_args: Any) -> NVMLError:
        return NVMLError.__new__(cls, code)

    made = type(class_name, (NVMLError,), {"__new__": new})
    NVMLError._by_code[code] = made
    return made


ERRORS = {name: _error_class(name, code) for name, code in ERROR_CODES.items()}
NotSupported = ERRORS["NVML_ERROR_NOT_SUPPORTED"]
GpuIsLost = ERRORS["NVML_ERROR_GPU_IS_LOST"]


@dataclass
class FakeGpu:
    """One scripted GPU: its answers, and which calls fail or block."""

    uuid: str
    bus_id: str = "00000000:3B:00.0"
    name: str = "NVIDIA H100 80GB HBM3"
    util: tuple[int, int] = (42, 10)
    memory: tuple[int, int, int, int] = (
        80 * 2**30,
        500 * 2**20,
        70 * 2**30,
        10 * 2**30 - 500 * 2**20,
    )
    temperature: int = 55
    slowdown: int = 87
    power_mw: int = 350_500
    limit_mw: int = 700_000
    energy_mj: int = 123_456_789
    sm_mhz: int = 1980
    mem_mhz: int = 2619
    clock_reasons: int = 0x4  # sw_power_cap
    ecc: dict[tuple[int, int], int] = field(
        default_factory=lambda: {(0, 0): 3, (0, 1): 30, (1, 0): 0, (1, 1): 1}
    )
    remapped: tuple[int, int, int, int] = (2, 1, 1, 0)
    pcie: tuple[int, int, int, int, int] = (7, 5, 5, 16, 16)  # replays, gen cur/max, width
    nvlinks: list[int] = field(default_factory=lambda: [1, 0])
    nvlink_errors: int = 4
    nvlink_dl_fields: bool = True  # per-link DL error fields in nvmlDeviceGetFieldValues
    persistence: int = 1
    recovery_action: int = 0
    processes: list[tuple[int, int | None]] = field(default_factory=list)
    graphics: list[tuple[int, int | None]] = field(default_factory=list)
    unsupported: set[str] = field(
        default_factory=lambda: {
            "nvmlDeviceGetRetiredPages",
            "nvmlDeviceGetRetiredPagesPendingStatus",
        }
    )
    fail: dict[str, NVMLError] = field(default_factory=dict)
    block: dict[str, threading.Event] = field(default_factory=dict)


@dataclass(frozen=True)
class Handle:
    gpu: FakeGpu


class FakeNvml:
    """The module stand-in; `calls` counts each function's calls."""

    NVMLError = NVMLError
    NVML_SUCCESS = 0
    NVML_NVLINK_MAX_LINKS = 4
    NVML_FI_DEV_GET_GPU_RECOVERY_ACTION = 230
    NVML_FI_DEV_NVLINK_ERROR_DL_REPLAY = 161  # the numbers of nvidia-ml-py
    NVML_FI_DEV_NVLINK_ERROR_DL_RECOVERY = 162
    NVML_FI_DEV_NVLINK_ERROR_DL_CRC = 163
    nvmlMemory_v2 = 0x02000028
    nvmlEventTypeXidCriticalError = 0x8

    def __init__(self, *gpus: FakeGpu, init_error: NVMLError | None = None) -> None:
        for name, cls in ERRORS.items():
            setattr(self, cls.__name__, cls)
            setattr(self, name, ERROR_CODES[name])
        self.gpus = list(gpus)
        self.init_error = init_error
        self.calls: Counter[str] = Counter()
        self.initialised = 0
        self.shutdowns = 0
        self.xid_events: deque[tuple[FakeGpu, int]] = deque()
        self.registered: list[FakeGpu] = []
        self.freed = 0
        self.count_error: NVMLError | None = None
        self._handles: dict[str, Handle] = {}
        self.hidden: set[str] = set()

    def __getattribute__(self, name: str) -> Any:
        if name in object.__getattribute__(self, "hidden"):
            raise AttributeError(name)  # an older binding without this name
        return object.__getattribute__(self, name)

    def handle(self, gpu: FakeGpu) -> Handle:
        """Return the one handle of `gpu` (NVML hands out the same handle every time)."""
        return self._handles.setdefault(gpu.uuid, Handle(gpu))

    # -- library ------------------------------------------------------------------------
    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise self.init_error
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlSystemGetDriverVersion(self) -> str:
        return "580.159.04"

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return 13000

    def nvmlSystemGetNVMLVersion(self) -> str:
        return "13.580.159.04"

    def nvmlDeviceGetCount(self) -> int:
        self.calls["nvmlDeviceGetCount"] += 1
        if self.count_error is not None:
            raise self.count_error
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Handle:
        return self.handle(self.gpus[index])

    def _gpu(self, handle: Handle, function: str) -> FakeGpu:
        self.calls[function] += 1
        gpu = handle.gpu
        if function in gpu.block:
            gpu.block[function].wait(5)
        if function in gpu.fail:
            raise gpu.fail[function]
        if function in gpu.unsupported:
            raise NotSupported()
        return gpu

    # -- identity -----------------------------------------------------------------------
    def nvmlDeviceGetUUID(self, h: Handle) -> str:
        return self._gpu(h, "nvmlDeviceGetUUID").uuid

    def nvmlDeviceGetName(self, h: Handle) -> bytes:
        return self._gpu(h, "nvmlDeviceGetName").name.encode()  # older bindings: bytes

    def nvmlDeviceGetPciInfo(self, h: Handle) -> SimpleNamespace:
        return SimpleNamespace(busId=self._gpu(h, "nvmlDeviceGetPciInfo").bus_id)

    def nvmlDeviceGetCudaComputeCapability(self, h: Handle) -> tuple[int, int]:
        self._gpu(h, "nvmlDeviceGetCudaComputeCapability")
        return (9, 0)

    def nvmlDeviceGetVbiosVersion(self, h: Handle) -> str:
        self._gpu(h, "nvmlDeviceGetVbiosVersion")
        return "96.00.99.00.01"

    # -- fast ---------------------------------------------------------------------------
    def nvmlDeviceGetUtilizationRates(self, h: Handle) -> SimpleNamespace:
        gpu, memory = self._gpu(h, "nvmlDeviceGetUtilizationRates").util
        return SimpleNamespace(gpu=gpu, memory=memory)

    def nvmlDeviceGetMemoryInfo(self, h: Handle, version: int | None = None) -> SimpleNamespace:
        name = "nvmlDeviceGetMemoryInfo_v2" if version else "nvmlDeviceGetMemoryInfo"
        total, reserved, used, free = self._gpu(h, name).memory
        if version:
            return SimpleNamespace(total=total, reserved=reserved, used=used, free=free)
        return SimpleNamespace(total=total, used=used + reserved, free=free)

    def nvmlDeviceGetTemperatureV(self, h: Handle, sensor: int) -> int:
        assert sensor == 0
        return self._gpu(h, "nvmlDeviceGetTemperatureV").temperature

    def nvmlDeviceGetPowerUsage(self, h: Handle) -> int:
        return self._gpu(h, "nvmlDeviceGetPowerUsage").power_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, h: Handle) -> int:
        return self._gpu(h, "nvmlDeviceGetEnforcedPowerLimit").limit_mw

    def nvmlDeviceGetClockInfo(self, h: Handle, clock: int) -> int:
        gpu = self._gpu(h, "nvmlDeviceGetClockInfo")
        return {1: gpu.sm_mhz, 2: gpu.mem_mhz}[clock]

    def nvmlDeviceGetCurrentClocksEventReasons(self, h: Handle) -> int:
        return self._gpu(h, "nvmlDeviceGetCurrentClocksEventReasons").clock_reasons

    # -- slow ---------------------------------------------------------------------------
    def nvmlDeviceGetTemperatureThreshold(self, h: Handle, threshold: int) -> int:
        assert threshold == 1
        return self._gpu(h, "nvmlDeviceGetTemperatureThreshold").slowdown

    def nvmlDeviceGetTotalEnergyConsumption(self, h: Handle) -> int:
        return self._gpu(h, "nvmlDeviceGetTotalEnergyConsumption").energy_mj

    def nvmlDeviceGetPersistenceMode(self, h: Handle) -> int:
        return self._gpu(h, "nvmlDeviceGetPersistenceMode").persistence

    def nvmlDeviceGetTotalEccErrors(self, h: Handle, error_type: int, counter: int) -> int:
        return self._gpu(h, "nvmlDeviceGetTotalEccErrors").ecc[error_type, counter]

    def nvmlDeviceGetRemappedRows(self, h: Handle) -> tuple[int, int, int, int]:
        return self._gpu(h, "nvmlDeviceGetRemappedRows").remapped

    def nvmlDeviceGetRetiredPages(self, h: Handle, cause: int) -> list[int]:
        self._gpu(h, "nvmlDeviceGetRetiredPages")
        return [0x1000] * (cause + 1)

    def nvmlDeviceGetRetiredPagesPendingStatus(self, h: Handle) -> int:
        self._gpu(h, "nvmlDeviceGetRetiredPagesPendingStatus")
        return 0

    def nvmlDeviceGetPcieReplayCounter(self, h: Handle) -> int:
        return self._gpu(h, "nvmlDeviceGetPcieReplayCounter").pcie[0]

    def nvmlDeviceGetCurrPcieLinkGeneration(self, h: Handle) -> int:
        return self._gpu(h, "nvmlDeviceGetCurrPcieLinkGeneration").pcie[1]

    def nvmlDeviceGetMaxPcieLinkGeneration(self, h: Handle) -> int:
        return self._gpu(h, "nvmlDeviceGetMaxPcieLinkGeneration").pcie[2]

    def nvmlDeviceGetCurrPcieLinkWidth(self, h: Handle) -> int:
        return self._gpu(h, "nvmlDeviceGetCurrPcieLinkWidth").pcie[3]

    def nvmlDeviceGetMaxPcieLinkWidth(self, h: Handle) -> int:
        return self._gpu(h, "nvmlDeviceGetMaxPcieLinkWidth").pcie[4]

    def nvmlDeviceGetNvLinkState(self, h: Handle, link: int) -> int:
        gpu = self._gpu(h, "nvmlDeviceGetNvLinkState")
        if link >= len(gpu.nvlinks):
            raise ERRORS["NVML_ERROR_INVALID_ARGUMENT"]()
        return gpu.nvlinks[link]

    def nvmlDeviceGetNvLinkErrorCounter(self, h: Handle, link: int, counter: int) -> int:
        return self._gpu(h, "nvmlDeviceGetNvLinkErrorCounter").nvlink_errors + counter + link

    def nvmlDeviceGetFieldValues(
        self, h: Handle, ids: list[int] | list[tuple[int, int]]
    ) -> list[SimpleNamespace]:
        gpu = self._gpu(h, "nvmlDeviceGetFieldValues")
        if ids == [230]:
            value = SimpleNamespace(uiVal=gpu.recovery_action)
            return [SimpleNamespace(nvmlReturn=0, valueType=1, value=value)]
        answers = []
        for field_id, link in ids:  # type: ignore[misc]  # per-link DL error counters
            assert 161 <= field_id <= 163
            if not gpu.nvlink_dl_fields:
                answers.append(SimpleNamespace(nvmlReturn=ERROR_CODES["NVML_ERROR_NOT_SUPPORTED"]))
                continue
            count = gpu.nvlink_errors + (field_id - 161) + link  # as the per-counter call
            answers.append(
                SimpleNamespace(nvmlReturn=0, valueType=3, value=SimpleNamespace(ullVal=count))
            )
        return answers

    def nvmlDeviceGetComputeRunningProcesses(self, h: Handle) -> list[SimpleNamespace]:
        gpu = self._gpu(h, "nvmlDeviceGetComputeRunningProcesses")
        return [SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in gpu.processes]

    def nvmlDeviceGetGraphicsRunningProcesses(self, h: Handle) -> list[SimpleNamespace]:
        gpu = self._gpu(h, "nvmlDeviceGetGraphicsRunningProcesses")
        return [SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in gpu.graphics]

    # -- events -------------------------------------------------------------------------
    def nvmlEventSetCreate(self) -> object:
        return object()

    def nvmlDeviceRegisterEvents(self, h: Handle, mask: int, _event_set: object) -> None:
        assert mask == self.nvmlEventTypeXidCriticalError
        self.registered.append(self._gpu(h, "nvmlDeviceRegisterEvents"))

    def nvmlEventSetWait_v2(self, _event_set: object, timeout_ms: int) -> SimpleNamespace:
        assert timeout_ms > 0
        if not self.xid_events:
            raise ERRORS["NVML_ERROR_TIMEOUT"]()
        gpu, xid = self.xid_events.popleft()
        return SimpleNamespace(device=self.handle(gpu), eventType=0x8, eventData=xid)

    def nvmlEventSetFree(self, _event_set: object) -> None:
        self.freed += 1
