"""The NVIDIA XID table as data: code → class, level, delivery, recommended action, meaning.

Rows follow NVIDIA's resolution buckets (NVSentinel's ``xiderrorsmapping.csv``) and the device
plugin's list of application XIDs (13, 31, 43, 45, 68), which never make a GPU unhealthy and so
never drain anything. XID 94 (contained ECC) and the application class post a warning but do not
page. A code missing from the table is answered by :func:`xid_info` with a safe default that pages
as "unknown XID, inspect".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.core.alerts import Level
from bot.core.delivery import PAGE_P1, PAGE_P2, POST_P3, RECORD_P3, Delivery


class XidClass(StrEnum):
    """What part of the system an XID points at."""

    HARDWARE_FATAL = "hardware_fatal"
    MEMORY_ECC = "memory_ecc"
    CONTAINED_ECC = "contained_ecc"
    ROW_REMAP = "row_remap"
    NVLINK = "nvlink"
    APPLICATION = "application"
    DRIVER = "driver"
    POWER = "power"
    UNKNOWN = "unknown"


class XidAction(StrEnum):
    """The remediation the bot recommends for an XID."""

    REBOOT_NODE_AND_DRAIN = "reboot_node_and_drain"
    DRAIN_AND_RESET_GPU = "drain_and_reset_gpu"
    RESTART_APP_ONLY = "restart_app_only"
    SCHEDULE_GPU_RESET = "schedule_gpu_reset"  # at the next maintenance window; no drain now
    INSPECT = "inspect"
    NONE = "none"


ACTION_TEXT: Mapping[XidAction, str] = {
    XidAction.REBOOT_NODE_AND_DRAIN: "cordon and drain the node, then reboot / power-cycle it",
    XidAction.DRAIN_AND_RESET_GPU: "drain the GPU's pods, reset the GPU and run diagnostics",
    XidAction.RESTART_APP_ONLY: "restart the affected app only; do not drain",
    XidAction.SCHEDULE_GPU_RESET: "schedule a GPU reset at the next maintenance window",
    XidAction.INSPECT: "inspect the node (kernel log, nvidia-bug-report) before acting",
    XidAction.NONE: "no action",
}


@dataclass(frozen=True, slots=True)
class XidInfo:
    """One row of the XID table."""

    code: int
    name: str
    xid_class: XidClass
    action: XidAction
    level: Level
    delivery: Delivery
    meaning: str

    @property
    def pages(self) -> bool:
        """Whether an XID of this code pages on-call."""
        return self.delivery.pages

    @property
    def drains(self) -> bool:
        """Whether the recommended action takes workloads off the GPU or node."""
        return self.action in {XidAction.REBOOT_NODE_AND_DRAIN, XidAction.DRAIN_AND_RESET_GPU}


_C, _A = XidClass, XidAction
_CRIT, _WARN = Level.CRIT, Level.WARN
_RESET = (_A.DRAIN_AND_RESET_GPU, _CRIT, PAGE_P2)
_APP = (_A.RESTART_APP_ONLY, _WARN, POST_P3)
_LOG = (_A.NONE, _WARN, RECORD_P3)

_ROWS: tuple[tuple[int, str, XidClass, tuple[XidAction, Level, Delivery], str], ...] = (
    (8, "FIFO_ERROR_IDLE_TIMEOUT", _C.APPLICATION, _APP, "GPU stopped processing"),
    (13, "GR_EXCEPTION", _C.APPLICATION, _APP, "graphics engine exception (usually an app bug)"),
    (31, "FIFO_ERROR_MMU_ERR_FLT", _C.APPLICATION, _APP, "GPU memory page fault (app bug)"),
    (43, "RESETCHANNEL_VERIF_ERROR", _C.APPLICATION, _LOG, "GPU stopped processing one app"),
    (45, "PREEMPTIVE_REMOVAL", _C.APPLICATION, _LOG, "cleanup after an earlier XID"),
    (46, "GPU_TIMEOUT_ERROR", _C.DRIVER, _RESET, "GPU timeout"),
    (48, "GPU_ECC_DBE", _C.MEMORY_ECC, _RESET, "double-bit (uncorrectable) ECC error"),
    (
        54,
        "PWR_REDUCED_CLOCKING",
        _C.POWER,
        (_A.INSPECT, _CRIT, PAGE_P2),
        "auxiliary power is not connected (check cables / PSU)",
    ),
    (61, "PMU_BREAKPOINT", _C.DRIVER, _RESET, "internal micro-controller breakpoint"),
    (62, "PMU_HALT_ERROR", _C.DRIVER, _RESET, "internal micro-controller halt"),
    (
        63,
        "INFOROM_DRAM_RETIREMENT_EVENT",
        _C.ROW_REMAP,
        (_A.SCHEDULE_GPU_RESET, _WARN, POST_P3),
        "row remap recorded; a GPU reset activates it",
    ),
    (
        64,
        "INFOROM_DRAM_RETIREMENT_FAILURE",
        _C.ROW_REMAP,
        _RESET,
        "row remap failed (RMA if it recurs)",
    ),
    (68, "NVDEC0_ERROR", _C.APPLICATION, _APP, "video decoder error"),
    (74, "NVLINK_ERROR", _C.NVLINK, _RESET, "NVLink error (tensor-parallel group broken)"),
    (
        79,
        "GPU_HAS_FALLEN_OFF_THE_BUS",
        _C.HARDWARE_FATAL,
        (_A.REBOOT_NODE_AND_DRAIN, _CRIT, PAGE_P1),
        "GPU has fallen off the bus",
    ),
    (
        92,
        "EXCESSIVE_SBE_INTERRUPTS",
        _C.MEMORY_ECC,
        (_A.INSPECT, _WARN, POST_P3),
        "high single-bit ECC error rate",
    ),
    (
        94,
        "CONTAINED_ERROR",
        _C.CONTAINED_ECC,
        _APP,
        "contained ECC error; only the affected app must restart",
    ),
    (95, "UNCONTAINED_ERROR", _C.MEMORY_ECC, _RESET, "uncontained ECC error"),
    (109, "CTXSW_TIMEOUT_ERROR", _C.DRIVER, _RESET, "context-switch timeout"),
    (110, "SEC_FAULT_ERROR", _C.DRIVER, _RESET, "security fault"),
    (119, "GSP_RPC_TIMEOUT", _C.DRIVER, _RESET, "GSP firmware RPC timeout"),
    (120, "GSP_ERROR", _C.DRIVER, _RESET, "GSP firmware error"),
    (121, "C2C_ERROR", _C.NVLINK, _LOG, "chip-to-chip link error (logged only)"),
    (136, "ALI_TRAINING_FAIL", _C.NVLINK, _RESET, "NVLink training failed"),
    (140, "UNRECOVERABLE_ECC_ERROR_ESCAPE", _C.MEMORY_ECC, _RESET, "unrecoverable ECC escape"),
    (143, "GPU_INIT_ERROR", _C.HARDWARE_FATAL, _RESET, "GPU initialisation failed"),
    *(
        (code, f"NVLINK_{part}_ERROR", _C.NVLINK, _RESET, f"NVLink-5 {part} error")
        for code, part in zip(
            range(144, 151),
            ("SAW", "RLW", "TLW", "TREX", "NVLPW_CTRL", "NETIR", "MSE"),
            strict=True,
        )
    ),
    (
        154,
        "GPU_RECOVERY_ACTION_CHANGED",
        _C.DRIVER,
        (_A.INSPECT, _WARN, POST_P3),
        "GPU recovery action changed; read it from NVML and follow it",
    ),
    (155, "NVLINK_SW_DEFINED_ERROR", _C.NVLINK, _RESET, "NVLink software-defined error"),
)

XID_TABLE: Mapping[int, XidInfo] = {
    code: XidInfo(code, name, cls, action, level, delivery, meaning)
    for code, name, cls, (action, level, delivery), meaning in _ROWS
}


def xid_info(code: int, overrides: Iterable[XidInfo] = ()) -> XidInfo:
    """The table row for ``code`` (an override wins); unknown codes page as "inspect"."""
    for row in overrides:
        if row.code == code:
            return row
    known = XID_TABLE.get(code)
    if known is not None:
        return known
    return XidInfo(
        code=code,
        name="UNKNOWN",
        xid_class=XidClass.UNKNOWN,
        action=XidAction.INSPECT,
        level=Level.CRIT,
        delivery=PAGE_P2,
        meaning="unknown XID; inspect the kernel log",
    )
