"""Peer outliers: one GPU against the other GPUs of its node, per metric, in the same tick.

Each snapshot (one metric, every GPU of one node at one time) is scored with a robust z-score,
``0.6745 * (x - median) / MAD``, against the node's median and median absolute deviation. The MAD
is floored (``mad_floor`` absolute, ``mad_floor_ratio`` of the median) so that eight GPUs at an
identical 99 % do not turn a 98 % into an outlier. A node with fewer than ``min_gpus`` values for
the metric is skipped. ``direction`` says which side is bad: a straggler is *low* on utilisation
and SM clock. An outlier enters at ``z >= enter_z`` held for ``for_samples`` snapshots and
``for_s`` seconds, and leaves at ``z <= exit_z`` (hysteresis); ``z`` is measured towards the bad
side. Alerts carry labels node/gpu and the signed z-score as their value.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.core.alert_book import AlertBook
from bot.core.alerts import Alert, AlertTransition, Level
from bot.core.delivery import POST_P3, Delivery
from bot.core.signals import Sample

_MAD_TO_SIGMA = 0.6745  # the MAD of a normal distribution is 0.6745 sigma
_Z_CAP = 1e6  # an alert's value stays finite when the MAD is zero


class Direction(StrEnum):
    """Which side of the node's median is bad."""

    LOW = "low"
    HIGH = "high"
    BOTH = "both"

    def badness(self, z: float) -> float:
        """``z`` measured towards the bad side (positive is worse)."""
        if self is Direction.LOW:
            return -z
        return z if self is Direction.HIGH else abs(z)


@dataclass(frozen=True, slots=True)
class PeerRule:
    """One metric compared across the GPUs of a node."""

    name: str
    metric: str
    direction: Direction = Direction.LOW
    enter_z: float = 3.5
    exit_z: float = 2.0
    for_samples: int = 3
    for_s: float = 0.0
    min_gpus: int = 4
    mad_floor: float = 0.0
    mad_floor_ratio: float = 0.02
    level: Level = Level.WARN
    delivery: Delivery = POST_P3

    def __post_init__(self) -> None:
        if not 0 <= self.exit_z < self.enter_z:
            msg = f"peer rule {self.name!r}: expected 0 <= exit_z < enter_z, got {self.exit_z}"
            raise ValueError(msg)


# Conservative by default: GPUs of one node often run different jobs, so only a GPU far below its
# peers (z 5) for two minutes is reported, and it posts (P3) without paging.
DEFAULT_PEER_RULES = (
    PeerRule(
        "gpu_straggler_utilization",
        "gpuwarden_gpu_utilization_ratio",
        enter_z=5.0,
        exit_z=2.5,
        for_s=120.0,
        mad_floor=0.02,
    ),
    PeerRule(
        "gpu_straggler_sm_clock",
        "gpuwarden_gpu_sm_clock_hertz",
        enter_z=5.0,
        exit_z=2.5,
        for_s=120.0,
    ),
    PeerRule(
        "gpu_power_outlier",
        "gpuwarden_gpu_power_usage_watts",
        enter_z=5.0,
        exit_z=2.5,
        for_s=120.0,
        mad_floor=10.0,
    ),
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One metric of every GPU of one node at one time."""

    node: str
    metric: str
    values_by_gpu: Mapping[str, float]
    ts: float


def snapshots(samples: Iterable[Sample]) -> list[Snapshot]:
    """Group samples that carry node and gpu labels into per-(node, metric) snapshots."""
    values: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    times: dict[tuple[str, str], float] = {}
    for sample in samples:
        node = gpu = ""
        for name, value in sample.series.labels:
            if name == "node":
                node = value
            elif name == "gpu":
                gpu = value
        if not node or not gpu:
            continue
        key = (node, sample.series.metric)
        values[key][gpu] = sample.value
        times[key] = max(times.get(key, sample.ts), sample.ts)
    return [
        Snapshot(node, metric, v, times[(node, metric)]) for (node, metric), v in values.items()
    ]


def robust_z(value: float, median: float, scale: float) -> float:
    """Robust z-score of ``value``; ±inf when the scale is zero and the value differs."""
    if scale > 0:
        return _MAD_TO_SIGMA * (value - median) / scale
    if value == median:
        return 0.0
    return math.copysign(math.inf, value - median)


@dataclass(frozen=True, slots=True)
class _Run:
    """An unbroken run of snapshots beyond ``enter_z``."""

    since: float
    samples: int


class PeerOutliers:
    """Scores node snapshots against each rule and returns outlier transitions."""

    def __init__(self, rules: tuple[PeerRule, ...] = DEFAULT_PEER_RULES) -> None:
        self._rules = rules
        self._runs: dict[tuple[str, str, str], _Run] = {}
        self._book = AlertBook()

    def observe(
        self, node: str, metric: str, values_by_gpu: Mapping[str, float], now: float
    ) -> list[AlertTransition]:
        """Score one snapshot of ``metric`` on ``node`` against every rule that watches it."""
        transitions: list[AlertTransition] = []
        for rule in self._rules:
            if rule.metric != metric or len(values_by_gpu) < rule.min_gpus:
                continue
            median = statistics.median(values_by_gpu.values())
            mad = statistics.median(abs(v - median) for v in values_by_gpu.values())
            scale = max(mad, rule.mad_floor, rule.mad_floor_ratio * abs(median))
            for gpu, value in sorted(values_by_gpu.items()):
                z = robust_z(value, median, scale)
                summary = (
                    f"GPU {gpu} on {node}: {metric} {value:.4g} vs node median {median:.4g}"
                    f" (robust z {z:+.1f})"
                )
                level = self._level(rule, node, gpu, rule.direction.badness(z), now)
                transition = self._book.settle(
                    rule.name,
                    (("node", node), ("gpu", gpu)),
                    level,
                    now=now,
                    value=max(-_Z_CAP, min(_Z_CAP, z)),
                    summary=summary,
                )
                transitions.extend(() if transition is None else (transition,))
        return transitions

    def delivery(self, alert: Alert) -> Delivery:
        """P-level and loudness of one of this detector's alerts."""
        return next((r.delivery for r in self._rules if r.name == alert.rule), POST_P3)

    def firing(self) -> tuple[Alert, ...]:
        """Every peer-outlier alert now firing."""
        return self._book.firing()

    def restore(self, alert: Alert) -> None:
        """Resume a firing alert after a restart, so it resolves instead of firing again."""
        self._book.restore(alert)

    def _level(self, rule: PeerRule, node: str, gpu: str, bad: float, now: float) -> Level | None:
        """The level the alert should have after this snapshot (None: not firing)."""
        key = (rule.name, node, gpu)
        firing = self._book.get(rule.name, (("node", node), ("gpu", gpu))) is not None
        if firing:
            return None if bad <= rule.exit_z else rule.level
        if bad < rule.enter_z:
            self._runs.pop(key, None)
            return None
        run = self._runs.get(key)
        run = _Run(now, 1) if run is None else _Run(run.since, run.samples + 1)
        if run.samples >= rule.for_samples and now - run.since >= rule.for_s:
            self._runs.pop(key, None)
            return rule.level
        self._runs[key] = run
        return None
