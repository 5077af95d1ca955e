"""A simulated node's serving replica (vLLM, tensor-parallel over all its GPUs) and its readings.

The node's traffic is one mean-reverting walk around the node's own level with a daily cycle; all
its GPUs follow it (one replica's requests keep all of them busy), each with a small skew of its
own. `NodeLoad.demand` is that traffic as a share of one replica's capacity; from it come the
engine's signals, named as the serving collector forwards vLLM's::

    demand < ~0.85   requests run, none wait; KV cache ~0.1 + 0.9 * demand^1.5; TTFT p99 ~60-110 ms
    demand > ~0.85   requests queue (waiting grows), KV cache → ~0.99, preemptions, TTFT p99 ↑
                     steeply (queueing), GPU utilisation ~0.97

`ttft_factor` (a slower release) multiplies the first-token latencies; a replica that does not
serve (`serving` false, or a CUDA runtime its driver cannot run) runs no requests. As the serving
collector does, each node reports ``gpuwarden_serving_up{target}``: 1 while the engine runs (also
when the Service sends it no traffic), 0 while it crash-loops: on a CUDA runtime its driver cannot
run, or as a release whose pods the Service routes to never turn ready. Beside the engine's
readings each node reports ``gpuwarden_serving_info{image, version}`` (1), whose change is a
``deploy`` event.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

from agent.collectors.serving import (
    GENERATION_THROUGHPUT,
    ITL,
    KV_CACHE_USAGE,
    PREEMPTIONS,
    REQUESTS_RUNNING,
    REQUESTS_WAITING,
    SERVING_UP,
    TTFT,
)
from agent.exporter import MetricInfo
from agent.simulate.fault_base import NodeLoad
from agent.wire import NodeEvent, Reading

SERVING_INFO = "gpuwarden_serving_info"
CUDA_COMPAT_OK = "gpuwarden_cuda_compat_ok"
SIMULATED_METRICS: Mapping[str, MetricInfo] = {
    SERVING_INFO: MetricInfo("gauge", "The serving replica's image (labels image, version); 1."),
    CUDA_COMPAT_OK: MetricInfo(
        "gauge", "Whether the driver runs the serving image's CUDA runtime (0/1)."
    ),
}
DEPLOY_EVENT = "deploy"
MODEL = "deepseek-ai/DeepSeek-V3"
DEFAULT_IMAGE = "vllm/vllm-openai:v0.8.4"
RELEASE_IMAGE = "vllm/vllm-openai:v0.9.0"  # what a simulated deploy rolls out (slow)
SERVING_PORT = 8000

_REVERSION_S = 120.0  # how fast the node's traffic drifts back to its level
_WALK_SD = 0.05
_DEMAND_RANGE = (0.05, 0.72)  # healthy traffic: below the queueing knee
_DAILY_SWING = 0.08  # ± share of the level over a day, peaking at 15:00 UTC
_PEAK_S = 15 * 3600.0
_DAY_S = 86_400.0
_MAX_RUNNING = 48
_QUEUE_KNEE = 0.85  # above this share of capacity requests start to wait
_WAITING_PER_DEMAND = 500.0
_TOKENS_PER_S = 9_000.0  # one replica flat out
_TTFT_BASE_S, _TTFT_QUEUE_S, _TTFT_PER_WAITING_S = 0.05, 0.025, 0.002
_ITL_BASE_S = 0.025
_PREEMPTIONS_PER_KV_OVER = 200.0  # preemptions/s per unit of KV usage above 0.95
_PERCENTILE_SHARE = {"50": 0.45, "95": 0.8, "99": 1.0}


def image_version(image: str) -> str:
    """Return the tag of a container image reference (``latest`` when it has none)."""
    name = image.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"


class NodeTraffic:
    """One node's traffic: a mean-reverting walk around its own level, times a daily cycle."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.level = rng.uniform(0.45, 0.6)
        self._walk = self.level
        self._last: float | None = None

    def demand(self, now: float) -> float:
        """Advance to `now` and return the share of one replica's capacity asked for."""
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        decay = math.exp(-dt / _REVERSION_S)
        spread = _WALK_SD * math.sqrt(1.0 - decay * decay)
        self._walk = self.level + (self._walk - self.level) * decay + self._rng.gauss(0.0, spread)
        self._walk = min(_DEMAND_RANGE[1], max(_DEMAND_RANGE[0], self._walk))
        daily = 1.0 + _DAILY_SWING * math.cos(2 * math.pi * ((now - _PEAK_S) % _DAY_S) / _DAY_S)
        return self._walk * daily


class SimulatedServing:
    """The engine's readings for one node's replica, from the node's load at each tick."""

    def __init__(self, *, node: str, rng: random.Random) -> None:
        self._rng = rng
        self.labels = {
            "engine": "vllm",
            "model_name": MODEL,
            "target": f"http://vllm-{node}:{SERVING_PORT}/metrics",
        }
        self._preemptions = 0.0
        self._image: str | None = None
        self._last: float | None = None

    def utilization(self, load: NodeLoad) -> float:
        """Return the GPU utilisation the replica's work causes (before each GPU's own skew)."""
        if not (load.serving and load.cuda_compatible):
            return 0.0
        return min(0.97, load.demand)

    def observe(
        self, now: float, load: NodeLoad, itl_factor: float = 1.0
    ) -> tuple[list[Reading], list[NodeEvent]]:
        """Return the engine's readings at `now` and a ``deploy`` event if the image changed.

        `itl_factor` is the slowest GPU's (a degraded NVLink slows the whole TP group).
        """
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        events = self._deploy_events(now, load.image)
        running = load.serving and load.cuda_compatible
        demand = load.demand if running else 0.0
        kv = min(0.99, 0.1 + 0.9 * min(demand, 1.2) ** 1.5) if running else 0.0
        kv = min(0.995, max(0.0, kv + self._rng.gauss(0.0, 0.004))) if running else 0.0
        waiting = max(0.0, demand - _QUEUE_KNEE) * _WAITING_PER_DEMAND
        self._preemptions += max(0.0, kv - 0.95) * _PREEMPTIONS_PER_KV_OVER * dt
        share = min(demand, 0.95)
        ttft_p99 = _TTFT_BASE_S + _TTFT_QUEUE_S * share / (1.0 - share)
        ttft_p99 = (ttft_p99 + _TTFT_PER_WAITING_S * waiting) * load.ttft_factor
        ttft_p99 *= 1.0 + self._rng.gauss(0.0, 0.03)
        itl_p99 = _ITL_BASE_S * (1.0 + 0.5 * min(demand, 1.0)) * itl_factor
        values: dict[str, float] = {
            REQUESTS_RUNNING: float(round(_MAX_RUNNING * min(demand, 1.0))),
            REQUESTS_WAITING: float(round(waiting)),
            KV_CACHE_USAGE: round(kv, 4),
            PREEMPTIONS: float(math.floor(self._preemptions)),
            GENERATION_THROUGHPUT: round(_TOKENS_PER_S * min(demand, 1.0) / itl_factor, 1),
        }
        out = [Reading(metric, self.labels, now, value) for metric, value in values.items()]
        # the engine starts, whether or not it gets traffic, unless it crash-loops
        up = float(load.cuda_compatible and not load.crash_looping)
        out.append(Reading(SERVING_UP, {"target": self.labels["target"]}, now, up))
        if running:
            out.extend(self._percentiles(TTFT, ttft_p99, now))
            out.extend(self._percentiles(ITL, itl_p99, now))
        info = {**self.labels, "image": load.image, "version": image_version(load.image)}
        out.append(Reading(SERVING_INFO, info, now, 1.0))
        return out, events

    def _percentiles(self, metric: str, p99: float, now: float) -> list[Reading]:
        return [
            Reading(metric, {**self.labels, "percentile": p}, now, round(max(0.0, p99 * s), 5))
            for p, s in _PERCENTILE_SHARE.items()
        ]

    def _deploy_events(self, now: float, image: str) -> list[NodeEvent]:
        previous, self._image = self._image, image
        if previous is None or previous == image:
            return []
        attrs: Mapping[str, str] = {
            "image": image,
            "previous_image": previous,
            "version": image_version(image),
            "previous_version": image_version(previous),
        }
        return [
            NodeEvent(
                kind=DEPLOY_EVENT,
                ts=now,
                labels={"model_name": MODEL},
                message=f"serving image {previous} → {image}",
                attrs=dict(attrs),
            )
        ]
