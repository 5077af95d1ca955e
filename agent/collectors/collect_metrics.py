"""How each collector is doing: durations, errors and staleness, on a registry passed in.

Every collector of one agent shares these families, so they are built once per registry:
``CollectMetrics.on(registry)`` returns the same object for the same registry.
"""

from __future__ import annotations

import threading
import weakref
from typing import ClassVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class CollectMetrics:
    """`gpuwarden_collect_*` self-metrics: one family each, labelled by collector."""

    _by_registry: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, CollectMetrics]] = (
        weakref.WeakKeyDictionary()
    )
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, registry: CollectorRegistry) -> None:
        self.errors = Counter(
            "gpuwarden_collect_errors_total",
            "Failed or timed-out collections and calls, by collector and reason.",
            ["collector", "reason"],
            registry=registry,
        )
        self.duration = Histogram(
            "gpuwarden_collect_duration_seconds",
            "Time one collection took, by collector (time-boxed ones stop at the box).",
            ["collector"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )
        self.stale = Gauge(
            "gpuwarden_collect_stale",
            "1 while a collector serves its last good sample instead of a fresh one.",
            ["collector"],
            registry=registry,
        )

    @classmethod
    def on(cls, registry: CollectorRegistry) -> CollectMetrics:
        """Return the shared families registered on `registry`, creating them once."""
        with cls._lock:
            found = cls._by_registry.get(registry)
            if found is None:
                found = cls._by_registry[registry] = cls(registry)
            return found

    def error(self, collector: str, reason: str) -> None:
        """Count one error of `collector` for `reason`."""
        self.errors.labels(collector=collector, reason=reason).inc()
