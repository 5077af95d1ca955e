"""The ``nvlink_errors`` fault kind: one NVLink of one GPU degrades, then goes down (XID 74).

The GPU reports its NVLink series from the fault's start on, as the NVML collector does
(``gpuwarden_gpu_nvlink_up{link}`` for every link, ``gpuwarden_gpu_nvlink_errors_total{link,
type}`` for the links that are up): CRC and replay errors on `link` climb at `rate_per_s`; after
`down_after_s` the link is down and XID 74 is raised. The tensor-parallel group waits on the slow
link: inter-token latency times `itl_factor`, utilisation down, throughput collapses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar

from agent.simulate.fault_base import SERIES_NVLINK, FaultContext, FaultKind, Load, Param, ramp
from agent.simulate.xid import xid_event
from agent.wire import NodeEvent

NVLINKS = 18  # an H100 SXM's links
NVLINK_ERROR_TYPES = ("replay", "recovery", "crc_flit", "crc_data")  # as the NVML collector's
XID_NVLINK = 74
_RATE_SHARE = {"crc_data": 1.0, "crc_flit": 0.5, "replay": 0.5, "recovery": 0.05}


def error_rates(rate_per_s: float) -> Mapping[str, float]:
    """Return the errors per second of each counter type for a link failing at `rate_per_s`."""
    return {kind: rate_per_s * share for kind, share in _RATE_SHARE.items()}


class NvlinkErrors(FaultKind):
    """One NVLink of a GPU: errors climbing, then the link down with XID 74."""

    name: ClassVar[str] = "nvlink_errors"
    series: ClassVar[frozenset[str]] = frozenset({SERIES_NVLINK})
    params: ClassVar[Mapping[str, Param]] = {
        "link": Param(7.0, 0.0, NVLINKS - 1.0, "the failing link"),
        "rate_per_s": Param(20.0, 0.0, 1e6, "CRC data errors per second on that link"),
        "down_after_s": Param(60.0, 0.0, 86_400.0, "seconds until the link is down (XID 74)"),
        "itl_factor": Param(5.0, 1.0, 100.0, "multiplier on inter-token latency at the worst"),
        "util_factor": Param(0.6, 0.0, 1.0, "multiplier on utilisation at the worst"),
    }

    def apply(self, load: Load, ctx: FaultContext) -> Load:
        """Return `load` with the link's error rate, its state, and the group slowed down."""
        link = int(ctx.params["link"])
        down = ctx.elapsed_s >= ctx.params["down_after_s"]
        worse = ramp(ctx, ctx.params["down_after_s"])
        return replace(
            load,
            utilization=load.utilization * (1.0 - (1.0 - ctx.params["util_factor"]) * worse),
            itl_factor=load.itl_factor * (1.0 + (ctx.params["itl_factor"] - 1.0) * worse),
            nvlink_down=load.nvlink_down | ({link} if down else set()),
            nvlink_error_rates={
                **load.nvlink_error_rates,
                link: 0.0 if down else ctx.params["rate_per_s"],
            },
        )

    def events(self, ctx: FaultContext) -> list[NodeEvent]:
        """Return XID 74 when the link goes down."""
        return [xid_event(ctx, XID_NVLINK)] if ctx.passed(ctx.params["down_after_s"]) else []
