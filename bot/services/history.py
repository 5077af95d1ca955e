"""Recent samples and events, kept in memory for the root-cause evidence window.

The bot keeps no sample history of its own (Prometheus does, where there is one), so ingest
records what agents push here: per series a ring buffer of at most one sample per ``step_s`` over
``keep_s``, for the first ``max_series`` series seen (later ones are not kept: a fleet that large
has Prometheus for history), and the last ``max_events`` events. A restart forgets it; the
evidence then covers what arrived since. Without Prometheus it is also what an exported
incident's chart is drawn from (``query_range``), in the bot; the CLI, another process, has
only the values recorded on the timeline.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from bot.core.errors import AdapterError
from bot.core.matchers import matches_all
from bot.core.ports import RangeSeries
from bot.core.signals import Event, Sample, SeriesKey
from bot.core.walkthrough import Selector

KEEP_S = 30 * 60.0
STEP_S = 5.0
MAX_SERIES = 20_000
MAX_EVENTS = 2_000


class SampleHistory:
    """Bounded per-series ring buffers and a bounded event log (one process, one event loop)."""

    source = "the bot's recent samples"

    def __init__(
        self,
        *,
        keep_s: float = KEEP_S,
        step_s: float = STEP_S,
        max_series: int = MAX_SERIES,
        max_events: int = MAX_EVENTS,
    ) -> None:
        self._points = max(2, int(keep_s / step_s))
        self._step_s = step_s
        self._max_series = max_series
        self._series: dict[SeriesKey, deque[tuple[float, float]]] = {}
        self._events: deque[Event] = deque(maxlen=max_events)

    def record(self, samples: Iterable[Sample], events: Iterable[Event] = ()) -> None:
        """Keep a batch's samples (at most one per series per step) and its events."""
        series = self._series
        for sample in samples:
            ring = series.get(sample.series)
            if ring is None:
                if len(series) >= self._max_series:
                    continue  # full: a fleet this size has Prometheus for its history
                ring = series[sample.series] = deque(maxlen=self._points)
            elif sample.ts - ring[-1][0] < self._step_s:
                continue
            ring.append((sample.ts, sample.value))
        self._events.extend(events)

    def series(self, *, node: str | None = None) -> dict[SeriesKey, list[tuple[float, float]]]:
        """Every kept series (of one node), oldest point first."""
        return {
            key: list(ring)
            for key, ring in self._series.items()
            if node is None or key.label("node") == node
        }

    def latest(self, *, node: str | None = None) -> dict[SeriesKey, tuple[float, float]]:
        """The newest kept point of every series (of one node): runbook probes and verify."""
        return {
            key: ring[-1]
            for key, ring in self._series.items()
            if node is None or key.label("node") == node
        }

    async def query_range(
        self, promql: str, *, start: float, end: float, step_s: float
    ) -> list[RangeSeries]:
        """A range query over the kept points (MetricHistory): a plain selector, no aggregation.

        What an export charts when no Prometheus is configured. ``step_s`` is not needed: the
        points are already one per step at most. Anything beyond a selector raises AdapterError.
        """
        del step_s
        selector = Selector.parse(promql)
        if selector is None or selector.aggregation is not None:
            msg = f"the bot's own history answers plain selectors only, not {promql!r}"
            raise AdapterError(msg)
        found: list[RangeSeries] = []
        for key, ring in self._series.items():
            labels = dict(key.labels)
            if key.metric == selector.metric and matches_all(selector.matchers, labels):
                points = [(ts, value) for ts, value in ring if start <= ts <= end]
                if points:
                    found.append(({"__name__": key.metric, **labels}, points))
        return found

    def events(self, *, node: str | None = None) -> list[Event]:
        """Kept events (of one node), oldest first."""
        return [e for e in self._events if node is None or dict(e.labels).get("node") == node]
