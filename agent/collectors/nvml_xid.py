"""XIDs from NVML's event set: one set for every GPU, waited on with a timeout."""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Sequence
from typing import Any

from agent.collectors.nvml_calls import TIMEOUT, NvmlModule, error_code
from agent.collectors.nvml_gpu import GpuIdentity
from agent.collectors.xid import Xid

logger = logging.getLogger(__name__)

XID_CRITICAL_EVENT = 0x8  # nvmlEventTypeXidCriticalError


def handle_key(handle: Any) -> int:
    """Return a key that is equal for two NVML handles of the same device."""
    try:
        return ctypes.cast(handle, ctypes.c_void_p).value or 0
    except (TypeError, ctypes.ArgumentError):
        return id(handle)


class NvmlXidReader:
    """Waits on an NVML event set for XID-critical events; an `XidReader` whose `read` blocks."""

    source = "nvml"
    idle_wait_s = 0.0

    def __init__(self, nvml: NvmlModule, gpus: Sequence[GpuIdentity], *, wait_ms: int) -> None:
        self._nvml = nvml
        self._wait_ms = wait_ms
        self._wait = getattr(nvml, "nvmlEventSetWait_v2", None) or nvml.nvmlEventSetWait
        self._set = nvml.nvmlEventSetCreate()
        self._pci: dict[int, str] = {}
        for gpu in gpus:
            try:
                nvml.nvmlDeviceRegisterEvents(gpu.handle, XID_CRITICAL_EVENT, self._set)
            except nvml.NVMLError as exc:
                logger.warning("GPU %d: no XID events from NVML (%s)", gpu.index, exc)
                continue
            self._pci[handle_key(gpu.handle)] = gpu.pci_bus_id

    @property
    def watching(self) -> int:
        """Return how many GPUs deliver XID events to this reader."""
        return len(self._pci)

    def read(self) -> list[Xid]:
        """Wait up to the timeout for one event; return its XID, or nothing.

        Raises:
            NVMLError: the wait failed for another reason than its timeout.
        """
        try:
            data = self._wait(self._set, self._wait_ms)
        except self._nvml.NVMLError as exc:
            if error_code(exc) == TIMEOUT:
                return []
            raise
        if not data.eventType & XID_CRITICAL_EVENT or data.eventData == 0:
            return []
        pci = self._pci.get(handle_key(data.device), "")
        xid = int(data.eventData)
        return [Xid(xid, pci, self.source, f"Xid {xid} reported by NVML")]

    def close(self) -> None:
        """Free the event set; call only once no thread waits on it."""
        try:
            self._nvml.nvmlEventSetFree(self._set)
        except self._nvml.NVMLError as exc:
            logger.warning("nvmlEventSetFree failed: %s", exc)
