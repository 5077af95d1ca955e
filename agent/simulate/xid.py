"""The ``xid`` fault kind: an XID error raised on one GPU, as the real XID collector reports it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar

from agent.simulate.fault_base import SERIES_GPU_UP, FaultContext, FaultKind, Load, Param
from agent.wire import NodeEvent

XID_EVENT = "xid"
GPU_LOST_EVENT = "gpu_lost"
XID_GPU_LOST = 79  # GPU has fallen off the bus: NVML answers GPU_IS_LOST from then on
XIDS_PENDING_REMAP = frozenset({48, 63, 94})  # a row is marked for remapping, reset pending
_XID_TEXT = {
    13: "Graphics Engine Exception",
    31: "GPU memory page fault",
    48: "An uncorrectable double bit error (DBE) has been detected on GPU",
    63: "Row Remapper: New row marked for remapping, reset gpu to activate.",
    64: "Row Remapper: Failed to mark row for remapping",
    74: "NVLink: fatal error detected on link 7",
    79: "GPU has fallen off the bus.",
    94: "Contained ECC error.",
    95: "Uncontained ECC error.",
    119: "Timeout after 6s of waiting for RPC response from GPU GSP!",
}


class Xid(FaultKind):
    """An XID error on one GPU: an urgent ``xid`` event, and its consequences while it lasts.

    XID 79 (fallen off the bus) leaves the GPU lost: ``gpuwarden_gpu_up 0``, no other readings and
    a ``gpu_lost`` event. XIDs 48, 63 and 94 leave a remapped row pending. `then_xid` follows the
    first one `then_after_s` later (48 then 63, as the driver reports a double-bit error).
    """

    name: ClassVar[str] = "xid"
    series: ClassVar[frozenset[str]] = frozenset({SERIES_GPU_UP})
    params: ClassVar[Mapping[str, Param]] = {
        "xid": Param(79.0, 1.0, 255.0, "XID code raised when the fault begins"),
        "then_xid": Param(0.0, 0.0, 255.0, "XID code raised after then_after_s (0: none)"),
        "then_after_s": Param(5.0, 0.0, 3600.0, "seconds between the first XID and then_xid"),
    }

    def _raised(self, ctx: FaultContext) -> list[int]:
        codes = [int(ctx.params["xid"])]
        if ctx.params["then_xid"] and ctx.elapsed_s >= ctx.params["then_after_s"]:
            codes.append(int(ctx.params["then_xid"]))
        return codes

    def apply(self, load: Load, ctx: FaultContext) -> Load:
        """Return `load` marked lost (XID 79) or with a remap pending (48, 63, 94)."""
        codes = self._raised(ctx)
        return replace(
            load,
            up=load.up and XID_GPU_LOST not in codes,
            remap_pending=load.remap_pending or bool(XIDS_PENDING_REMAP.intersection(codes)),
        )

    def events(self, ctx: FaultContext) -> list[NodeEvent]:
        """Return the XIDs raised at this tick (and ``gpu_lost`` for XID 79)."""
        moments = [(0.0, int(ctx.params["xid"]))]
        if ctx.params["then_xid"]:
            moments.append((ctx.params["then_after_s"], int(ctx.params["then_xid"])))
        events: list[NodeEvent] = []
        for moment, code in moments:
            if ctx.passed(moment):
                events.append(xid_event(ctx, code))
                if code == XID_GPU_LOST:
                    events.append(_lost_event(ctx))
        return events


def xid_event(ctx: FaultContext, code: int) -> NodeEvent:
    """Return the ``xid`` event the real agent ships for XID `code` on the fault's GPU."""
    gpu = ctx.labels.get("gpu", "")
    message = _XID_TEXT.get(code, "simulated XID")
    return NodeEvent(
        kind=XID_EVENT,
        ts=ctx.now,
        labels=dict(ctx.labels),
        message=f"Xid {code} on GPU {gpu} ({ctx.pci}): {message}",
        attrs={"xid": code, "pci": ctx.pci, "gpu": int(gpu), "message": message, "source": "sim"},
    )


def _lost_event(ctx: FaultContext) -> NodeEvent:
    gpu, uuid = ctx.labels.get("gpu", ""), ctx.labels.get("uuid", "")
    return NodeEvent(
        kind=GPU_LOST_EVENT,
        ts=ctx.now,
        labels=dict(ctx.labels),
        message=f"GPU {gpu} ({uuid}) is lost: gpu_is_lost",
        attrs={"gpu": int(gpu), "uuid": uuid, "reason": "gpu_is_lost", "since": ctx.now},
    )
