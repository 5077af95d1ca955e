"""The one NVML error policy: every call of the NVML collectors goes through `NvmlCalls`.

=====================================  ==========================================================
NVML error (code)                      what happens
=====================================  ==========================================================
NotSupported (3), FunctionNotFound     the field is absent; remembered per (GPU, field) and never
(13), InvalidArgument (2), or a        asked again (a link index past the last NVLink answers
binding without the function           InvalidArgument)
GpuIsLost (15), ResetRequired (16),    `GpuLost`: the GPU's sample stops, it reports
Unknown (999)                          ``gpuwarden_gpu_up 0`` and one ``gpu_lost`` event
LibraryNotFound (12), DriverNotLoaded  `NvmlUnavailable` with a one-line message: the NVML
(9), LibRmVersionMismatch (18)         collector switches itself off, the others keep running
anything else                          counted in ``gpuwarden_collect_errors_total``; the field is
                                       absent this cycle and asked again next cycle
=====================================  ==========================================================
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from enum import Enum
from typing import Any

logger = logging.getLogger(__name__)

# The pynvml module, or a stand-in with the same names (tests).
NvmlModule = Any

NOT_SUPPORTED = 3
INVALID_ARGUMENT = 2
TIMEOUT = 10
_ABSENT = frozenset({INVALID_ARGUMENT, NOT_SUPPORTED, 13})
_LOST = {15: "gpu_is_lost", 16: "reset_required", 999: "unknown"}
_UNAVAILABLE = {
    9: "the NVIDIA kernel driver is not loaded on this node",
    12: "libnvidia-ml.so.1 was not found (mount the NVIDIA driver libraries into the agent)",
    18: "the NVML library does not match the loaded kernel driver (driver upgraded in place? "
    "reboot the node)",
}
NOT_INSTALLED = "the nvidia-ml-py package (module pynvml) is not installed"
OFF_SUFFIX = "; GPU metrics are off, the other collectors keep running"


class Verdict(Enum):
    """What an NVML error means for the collector."""

    ABSENT = "absent"
    LOST = "lost"
    UNAVAILABLE = "unavailable"
    TRANSIENT = "transient"


class GpuLost(Exception):
    """The GPU stopped answering (lost, needs a reset, or unknown error)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NvmlUnavailable(Exception):
    """NVML cannot be used on this node; the message is the one line to log."""


def error_code(exc: BaseException) -> int | None:
    """Return the NVML return code an `NVMLError` carries (its `value`)."""
    value = getattr(exc, "value", None)
    return value if isinstance(value, int) else None


def verdict(exc: BaseException) -> Verdict:
    """Classify an NVML error by its code."""
    code = error_code(exc)
    if code in _ABSENT:
        return Verdict.ABSENT
    if code in _LOST:
        return Verdict.LOST
    if code in _UNAVAILABLE:
        return Verdict.UNAVAILABLE
    return Verdict.TRANSIENT


def reason_of(exc: BaseException) -> str:
    """Return a snake_case reason for an NVML error, e.g. ``no_permission``."""
    code = error_code(exc)
    if code in _LOST:
        return _LOST[code]
    name = type(exc).__name__.removeprefix("NVMLError_")
    if name == "NVMLError":
        return f"nvml_{code}"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def unavailable(exc: BaseException) -> NvmlUnavailable:
    """Return the `NvmlUnavailable` error, with its one-line message, for a failed start."""
    code = error_code(exc)
    cause = _UNAVAILABLE.get(code) if code is not None else None
    if isinstance(exc, ImportError):
        cause = NOT_INSTALLED
    elif cause is None:
        cause = f"nvmlInit failed: {exc}"
    return NvmlUnavailable(f"NVML unavailable: {cause}{OFF_SUFFIX}")


class NvmlCalls:
    """Calls NVML functions by name and applies the error policy to what they raise."""

    def __init__(self, nvml: NvmlModule, on_error: Callable[[str], None]) -> None:
        self.nvml = nvml
        self._on_error = on_error
        self._absent: set[tuple[str, str]] = set()

    def get(self, gpu: str, field: str, function: str, *args: Any, **kwargs: Any) -> Any:
        """Return `nvml.<function>(*args)`, or None when the field is absent for `gpu`.

        Raises:
            GpuLost: the GPU is lost, needs a reset, or answers Unknown.
            NvmlUnavailable: the library or driver went away.
        """
        if (gpu, field) in self._absent:
            return None
        call = getattr(self.nvml, function, None)
        if call is None:
            self.mark_absent(gpu, field, "the binding lacks " + function)
            return None
        try:
            return call(*args, **kwargs)
        except self.nvml.NVMLError as exc:
            self.handle(exc, gpu, field)
            return None

    def handle(self, exc: BaseException, gpu: str, field: str) -> None:
        """Apply the policy to `exc`, raised while reading `field` of `gpu`."""
        match verdict(exc):
            case Verdict.ABSENT:
                self.mark_absent(gpu, field, reason_of(exc))
            case Verdict.LOST:
                raise GpuLost(reason_of(exc)) from exc
            case Verdict.UNAVAILABLE:
                raise unavailable(exc) from exc
            case Verdict.TRANSIENT:
                self._on_error(reason_of(exc))

    def handle_code(self, code: int, gpu: str, field: str) -> None:
        """Apply the policy to a per-field NVML return code (as in `nvmlDeviceGetFieldValues`)."""
        self.handle(self.nvml.NVMLError(code), gpu, field)

    def mark_absent(self, gpu: str, field: str, why: str) -> None:
        """Remember that `field` of `gpu` is not there, so it is not asked for again."""
        self._absent.add((gpu, field))
        logger.debug("GPU %s: %s is absent (%s); not asking again", gpu, field, why)

    def is_absent(self, gpu: str, field: str) -> bool:
        """Return whether `field` of `gpu` is known to be absent."""
        return (gpu, field) in self._absent
