"""One node's collectors as a single `Source`: a failing collector costs only its own part.

It is also a `Sampler`: watched metrics are sampled from the collectors that can (NVML).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry

from agent.collectors.collect_metrics import CollectMetrics
from agent.source import Sampler
from agent.wire import NodeEvent, Reading

logger = logging.getLogger(__name__)


class Collector(Protocol):
    """A named `Source` that holds resources until closed."""

    @property
    def name(self) -> str:
        """Return the collector's name (the `collector` label of the self-metrics)."""
        ...

    @property
    def gpu_count(self) -> int:
        """Return how many GPUs this collector knows of (0 if it does not deal in GPUs)."""
        ...

    def collect(self, now: float) -> tuple[Sequence[Reading], Sequence[NodeEvent]]:
        """Return the readings and events observed at `now`."""
        ...

    def close(self) -> None:
        """Release threads, files and libraries."""
        ...


class NodeSource:
    """Collects from every collector of one node; one batch carries them all."""

    def __init__(
        self, *, node: str, collectors: Sequence[Collector], registry: CollectorRegistry
    ) -> None:
        self.node = node
        self.collectors = tuple(collectors)
        self._samplers: tuple[tuple[str, Sampler], ...] = tuple(
            (c.name, c) for c in self.collectors if isinstance(c, Sampler)
        )
        self._metrics = CollectMetrics.on(registry)

    @property
    def gpu_count(self) -> int:
        """Return the most GPUs any collector knows of."""
        return max((c.gpu_count for c in self.collectors), default=0)

    def collect(self, now: float) -> tuple[list[Reading], list[NodeEvent]]:
        """Return every collector's readings and events; a collector that raises is skipped."""
        readings: list[Reading] = []
        events: list[NodeEvent] = []
        for collector in self.collectors:
            try:
                found, happened = collector.collect(now)
            except Exception:
                logger.exception("collector %s failed; the others go on", collector.name)
                self._metrics.error(collector.name, "exception")
                continue
            readings.extend(found)
            events.extend(happened)
        return readings, events

    def sample(self, now: float, metrics: frozenset[str]) -> list[Reading]:
        """Return the readings of `metrics` from the collectors that sample; a raise is skipped."""
        readings: list[Reading] = []
        for name, sampler in self._samplers:
            try:
                readings.extend(sampler.sample(now, metrics))
            except Exception:
                logger.exception("collector %s failed to sample; the others go on", name)
                self._metrics.error(name, "exception")
        return readings

    def close(self) -> None:
        """Close the collectors, last one first."""
        for collector in reversed(self.collectors):
            try:
                collector.close()
            except Exception:
                logger.exception("closing collector %s failed", collector.name)
