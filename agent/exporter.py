"""Prometheus exposition of the agent's latest readings (port 9840 `/metrics`) and self-metrics.

Readings carry a metric name and labels but no type or help; a catalogue (name → `MetricInfo`)
supplies those. A name missing from the catalogue is exposed with a generic help text, as a
counter when it ends in ``_total`` and as a gauge otherwise. Every series gets the ``node`` label
of the batch it came with; a series not refreshed for `stale_after_s` disappears.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from agent.wire import (
    GPU_MEMORY_TOTAL,
    GPU_MEMORY_USED,
    GPU_POWER,
    GPU_SM_CLOCK,
    GPU_TEMPERATURE,
    GPU_UTILIZATION,
    LabelIdentities,
    Reading,
)

logger = logging.getLogger(__name__)

DEFAULT_METRICS_PORT = 9840
COUNTER_SUFFIX = "_total"
_GENERIC_HELP = "gpuwarden reading without a catalogue entry."


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """How a reading's metric is exposed: its type, help text and base unit."""

    kind: Literal["gauge", "counter"]
    help: str
    unit: str = ""


GPU_METRICS: Mapping[str, MetricInfo] = {
    GPU_UTILIZATION: MetricInfo("gauge", "Share of time the GPU was busy (0-1).", "ratio"),
    GPU_MEMORY_USED: MetricInfo("gauge", "GPU framebuffer memory in use.", "bytes"),
    GPU_MEMORY_TOTAL: MetricInfo("gauge", "GPU framebuffer memory installed.", "bytes"),
    GPU_TEMPERATURE: MetricInfo("gauge", "GPU core temperature.", "celsius"),
    GPU_POWER: MetricInfo("gauge", "GPU power draw.", "watts"),
    GPU_SM_CLOCK: MetricInfo("gauge", "GPU streaming-multiprocessor clock.", "hertz"),
}


def describe(metric: str, catalogue: Mapping[str, MetricInfo]) -> MetricInfo:
    """Return the catalogue entry of `metric`, or the generic one its name implies."""
    info = catalogue.get(metric)
    if info is not None:
        return info
    return MetricInfo("counter" if metric.endswith(COUNTER_SUFFIX) else "gauge", _GENERIC_HELP)


_SeriesKey = tuple[str, str, tuple[tuple[str, str], ...]]


class Snapshot:
    """The latest reading of every series of every node; safe to update and read across threads."""

    def __init__(
        self, *, stale_after_s: float = 60.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._stale_after_s = stale_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[_SeriesKey, tuple[str, Reading]] = {}

    def update(self, node: str, readings: Iterable[Reading]) -> None:
        """Record `readings` from `node`, replacing older values of the same series."""
        identities = LabelIdentities()
        latest = self._latest
        with self._lock:
            for reading in readings:
                latest[node, reading.metric, identities.of(reading.labels)] = (node, reading)

    def latest(self) -> list[tuple[str, Reading]]:
        """Return (node, reading) for every series refreshed within `stale_after_s`."""
        horizon = self._clock() - self._stale_after_s
        with self._lock:
            stale = [key for key, (_, r) in self._latest.items() if r.ts < horizon]
            for key in stale:
                del self._latest[key]
            return sorted(self._latest.values(), key=lambda item: item[1].metric)


class ReadingsCollector:
    """A `prometheus_client` collector rendering a `Snapshot` with types from a catalogue.

    Readings named in `exposed_elsewhere` (the agent's own self-metrics, which also travel to the
    bot as readings) are left out, so no family is exposed twice.
    """

    def __init__(
        self,
        snapshot: Snapshot,
        catalogue: Mapping[str, MetricInfo],
        exposed_elsewhere: frozenset[str] = frozenset(),
    ) -> None:
        self._snapshot = snapshot
        self._catalogue = catalogue
        self._skip = exposed_elsewhere

    @classmethod
    def beside(
        cls, registry: CollectorRegistry, snapshot: Snapshot, catalogue: Mapping[str, MetricInfo]
    ) -> ReadingsCollector:
        """A collector for `registry` that skips the families the registry already has."""
        names = {family.name for family in registry.collect()}
        return cls(snapshot, catalogue, frozenset(names | {f"{n}_total" for n in names}))

    def collect(self) -> Iterable[Metric]:
        """Return one metric family per metric name in the snapshot."""
        by_metric: dict[str, list[tuple[str, Reading]]] = {}
        for node, reading in self._snapshot.latest():
            if reading.metric not in self._skip:
                by_metric.setdefault(reading.metric, []).append((node, reading))
        return [self._family(metric, series) for metric, series in by_metric.items()]

    def _family(self, metric: str, series: Sequence[tuple[str, Reading]]) -> Metric:
        info = describe(metric, self._catalogue)
        names = sorted({"node", *(k for _, r in series for k in r.labels)})
        family: GaugeMetricFamily | CounterMetricFamily
        if info.kind == "counter":
            family = CounterMetricFamily(metric, info.help, labels=names, unit=info.unit)
        else:
            family = GaugeMetricFamily(metric, info.help, labels=names, unit=info.unit)
        for node, reading in series:
            labels = {**reading.labels, "node": node}
            family.add_metric([labels.get(name, "") for name in names], reading.value)
        return family


def serve_metrics(
    registry: CollectorRegistry,
    *,
    port: int = DEFAULT_METRICS_PORT,
    host: str = "0.0.0.0",  # noqa: S104 - Prometheus scrapes the node from outside
) -> Callable[[], None]:
    """Serve `registry` at http://host:port/metrics in a thread; return the function stopping it."""
    server, thread = start_http_server(port, addr=host, registry=registry)
    logger.info("Prometheus exposition at http://%s:%d/metrics", host, server.server_port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
