"""Node-wide fault kinds on the serving replica: a slow release, a surge, drift, a bad driver.

They bend the node's `NodeLoad` (see `agent.simulate.serving` for what follows from it), so every
GPU of the node and the engine's signals move together.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar

from agent.collectors.logs import LOG_EVENT
from agent.simulate.fault_base import (
    SERIES_GPU_INFO,
    SERIES_OUTPUT_HISTOGRAM,
    FaultContext,
    FaultKind,
    NodeLoad,
    Param,
    ramp,
)
from agent.simulate.serving import RELEASE_IMAGE
from agent.wire import NodeEvent

CUDA_MISMATCH_MESSAGE = (
    "RuntimeError: CUDA driver version is insufficient for CUDA runtime version "
    "(driver {driver}, runtime {required})"
)


class TtftRegression(FaultKind):
    """A deploy reaches the node: its replica runs a new image whose first token comes later.

    The image changes to the release image (a ``deploy`` event, and the new image in
    ``gpuwarden_serving_info``) and TTFT is multiplied by `factor` while the fault lasts; at its
    end the node runs the old image again (a rollback).
    """

    name: ClassVar[str] = "ttft_regression"
    needs_gpu: ClassVar[bool] = False
    params: ClassVar[Mapping[str, Param]] = {
        "factor": Param(2.0, 1.0, 20.0, "multiplier on the first-token latency of the release"),
    }

    def apply_node(self, load: NodeLoad, ctx: FaultContext) -> NodeLoad:
        """Return `load` running the release image, slower to the first token."""
        return replace(
            load, image=RELEASE_IMAGE, ttft_factor=load.ttft_factor * ctx.params["factor"]
        )


class TrafficSurge(FaultKind):
    """Traffic to the node's replica grows `factor`-fold: requests queue, the KV cache fills.

    Past the queueing knee the waiting requests climb, KV-cache usage goes to ~0.99, requests
    are preempted and TTFT p99 passes the critical line; the hardware stays clean. More replicas
    (a scale-out the simulator sees in Kubernetes) share the surge and bring it back.
    """

    name: ClassVar[str] = "traffic_surge"
    needs_gpu: ClassVar[bool] = False
    params: ClassVar[Mapping[str, Param]] = {
        "factor": Param(2.2, 1.0, 20.0, "multiplier on the node's traffic at the top"),
        "ramp_s": Param(30.0, 0.0, 3600.0, "seconds to reach the top"),
    }

    def apply_node(self, load: NodeLoad, ctx: FaultContext) -> NodeLoad:
        """Return `load` with the traffic multiplied (ramped in)."""
        factor = 1.0 + (ctx.params["factor"] - 1.0) * ramp(ctx, ctx.params["ramp_s"])
        return replace(load, demand=load.demand * factor)


class OutputDrift(FaultKind):
    """The model's output distribution moves away from its reference (KL ramps to `kl`).

    The node pushes the output histogram from the start of the run (the bot learns its reference
    from the first pushes); infrastructure stays clean, so this is the model owners' problem.
    """

    name: ClassVar[str] = "output_drift"
    needs_gpu: ClassVar[bool] = False
    series: ClassVar[frozenset[str]] = frozenset({SERIES_OUTPUT_HISTOGRAM})
    from_start: ClassVar[bool] = True
    params: ClassVar[Mapping[str, Param]] = {
        "kl": Param(0.16, 0.0, 5.0, "KL divergence (nats) from the reference at the top"),
        "ramp_s": Param(60.0, 0.0, 3600.0, "seconds to reach the top"),
    }

    def apply_node(self, load: NodeLoad, ctx: FaultContext) -> NodeLoad:
        """Return `load` with its outputs drifted."""
        return replace(load, output_drift=ctx.params["kl"] * ramp(ctx, ctx.params["ramp_s"]))


class DriverMismatch(FaultKind):
    """A node image update leaves a driver too old for the serving image's CUDA runtime.

    The GPUs' ``gpuwarden_gpu_info`` shows the old driver and its CUDA version,
    ``gpuwarden_cuda_compat_ok`` drops to 0, and the replica crash-loops: it serves nothing (its
    GPUs go idle) and logs the CUDA error every `crash_every_s` seconds (``log`` events, as the
    log collector ships them). The node reports both series from the start of the run.
    """

    name: ClassVar[str] = "driver_mismatch"
    needs_gpu: ClassVar[bool] = False
    series: ClassVar[frozenset[str]] = frozenset({SERIES_GPU_INFO})
    from_start: ClassVar[bool] = True
    params: ClassVar[Mapping[str, Param]] = {
        "driver_major": Param(535.0, 400.0, 999.0, "major version of the driver installed"),
        "cuda_driver": Param(12.2, 10.0, 20.0, "CUDA version that driver supports"),
        "cuda_required": Param(12.8, 10.0, 20.0, "CUDA version the serving image needs"),
        "crash_every_s": Param(30.0, 1.0, 3600.0, "seconds between the replica's crashes"),
    }

    def apply_node(self, load: NodeLoad, ctx: FaultContext) -> NodeLoad:
        """Return `load` with the old driver and the image's CUDA requirement."""
        return replace(
            load,
            driver_version=f"{int(ctx.params['driver_major'])}.183.01",
            cuda_driver=ctx.params["cuda_driver"],
            cuda_required=ctx.params["cuda_required"],
        )

    def events(self, ctx: FaultContext) -> list[NodeEvent]:
        """Return the replica's CUDA error log line each time it crashes."""
        every = ctx.params["crash_every_s"]
        if not ctx.passed(math.floor(ctx.elapsed_s / every) * every):
            return []
        message = CUDA_MISMATCH_MESSAGE.format(
            driver=f"{ctx.params['cuda_driver']:g}", required=f"{ctx.params['cuda_required']:g}"
        )
        logged_at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ctx.now))
        return [
            NodeEvent(
                kind=LOG_EVENT,
                ts=ctx.now,
                message=message,
                attrs={
                    "level": "ERROR",
                    "component": "MODEL_INFER",
                    "node": ctx.labels.get("node", ""),
                    "message": message,
                    "logged_at": logged_at,
                },
            )
        ]
