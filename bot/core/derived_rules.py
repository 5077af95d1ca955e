"""Derived-signal rules: samples of one metric become samples of a new metric to alert on.

A :class:`DerivedRule` names a ``kind`` of calculator from :mod:`bot.core.derived`, the metric it
reads and the metric it writes; threshold rules then watch the output like any other series::

    kind              reads                                 writes
    leak_rate         memory in bytes                       growth in bytes per minute
    rate              a counter                             its increase per second
    loss_fluctuation  training loss                         (max - min) / |median| of 20 values
    recall_drop       Top-K recall (0-1)                    fractional drop below its baseline
    throughput_drop   throughput (tokens/s …)               fractional drop below its baseline
                                                            for the time of day
    kl_divergence     one series per histogram bucket       KL(current || reference) in nats
                      (label ``bucket``), same timestamp

Every kind but ``kl_divergence`` keeps one calculator per input series, and its output keeps the
series' labels. ``kl_divergence`` reads the buckets of one histogram as the series that differ
only in the ``bucket`` label and share a timestamp (an agent ships them in one batch): one
calculator per histogram, one output series without the ``bucket`` label. A histogram is complete
when its batch ends (:meth:`Derivations.flush`) or when one of its series moves to a newer
timestamp.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.core.derived import (
    CounterRate,
    DistributionDrift,
    Histogram,
    LeakRate,
    LossFluctuation,
    RecallDrop,
    ThroughputDrop,
)
from bot.core.signals import Sample, SeriesKey

BUCKET_LABEL = "bucket"
Labels = tuple[tuple[str, str], ...]


class Derivation(Protocol):
    """An incremental calculator: ``update(ts, value)`` → derived value or None (warming up)."""

    def update(self, timestamp: float, value: float) -> float | None:
        """Feed one sample; return the derived value, if there is one yet."""
        ...


class HistogramDerivation(Protocol):
    """An incremental calculator over whole histograms (bucket → count or share)."""

    def update(self, timestamp: float, histogram: Histogram) -> float | None:
        """Feed one histogram; return the derived value, if there is one yet."""
        ...


DERIVATIONS: Mapping[str, Callable[[], Derivation]] = {
    "leak_rate": LeakRate,
    "rate": CounterRate,
    "loss_fluctuation": LossFluctuation,
    "recall_drop": RecallDrop,
    "throughput_drop": ThroughputDrop,
}
HISTOGRAM_DERIVATIONS: Mapping[str, Callable[[], HistogramDerivation]] = {
    "kl_divergence": DistributionDrift,
}
KINDS = (*DERIVATIONS, *HISTOGRAM_DERIVATIONS)


@dataclass(frozen=True, slots=True)
class DerivedRule:
    """Samples of ``metric`` become samples of ``output`` through a derivation (``kind``)."""

    name: str
    kind: str
    metric: str
    output: str
    match: Labels = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            msg = f"rule {self.name!r}: unknown kind {self.kind!r}; expected one of {KINDS}"
            raise ValueError(msg)

    def applies_to(self, series: SeriesKey) -> bool:
        """Whether this rule reads the series."""
        if series.metric != self.metric:
            return False
        labels = dict(series.labels)
        return all(labels.get(k) == v for k, v in self.match)


@dataclass(slots=True, eq=False)
class _Histogram:
    """The buckets of one histogram seen so far, and the calculator they will go to."""

    calculator: HistogramDerivation
    output: SeriesKey
    ts: float | None = None
    buckets: dict[Hashable, float] | None = None


# what the first sample of a series settles: per rule, a scalar calculator or a histogram's
_Step = tuple[str, Derivation | _Histogram]


class Derivations:
    """Feeds samples to their rules' calculators and emits the derived samples."""

    def __init__(self, rules: tuple[DerivedRule, ...]) -> None:
        self._rules = rules
        self._metrics = frozenset(rule.metric for rule in rules)
        self._plans: dict[SeriesKey, tuple[_Step, ...]] = {}
        self._histograms: dict[tuple[str, Labels], _Histogram] = {}
        self._open: dict[_Histogram, None] = {}  # with buckets not yet derived, in arrival order

    def feed(self, sample: Sample) -> list[Sample]:
        """Derived samples computed from this one (none while a calculator warms up)."""
        if sample.series.metric not in self._metrics:
            return []
        plan = self._plans.get(sample.series)
        if plan is None:
            plan = self._plans[sample.series] = self._plan(sample.series)
        out = []
        for output, step in plan:
            if isinstance(step, _Histogram):
                out += self._add_bucket(step, sample)
                continue
            value = step.update(sample.ts, sample.value)
            if value is not None:
                out.append(Sample(SeriesKey(output, sample.series.labels), sample.ts, value))
        return out

    def flush(self) -> list[Sample]:
        """Derived samples of the histograms completed by the end of a batch."""
        if not self._open:
            return []
        out = [s for h in self._open for s in _derive(h)]
        self._open.clear()
        return out

    def _add_bucket(self, histogram: _Histogram, sample: Sample) -> list[Sample]:
        out: list[Sample] = []
        if histogram.ts is None or sample.ts > histogram.ts:
            out = _derive(histogram)  # a newer histogram starts: the last one is complete
            histogram.ts, histogram.buckets = sample.ts, {}
        if sample.ts == histogram.ts and histogram.buckets is not None:
            histogram.buckets[sample.series.label(BUCKET_LABEL)] = sample.value
            self._open[histogram] = None
        return out  # older buckets, and late ones of a histogram already derived, are dropped

    def _plan(self, series: SeriesKey) -> tuple[_Step, ...]:
        steps: list[_Step] = []
        for rule in self._rules:
            if not rule.applies_to(series):
                continue
            if rule.kind in DERIVATIONS:
                steps.append((rule.output, DERIVATIONS[rule.kind]()))
                continue
            labels = tuple((k, v) for k, v in series.labels if k != BUCKET_LABEL)
            histogram = self._histograms.get((rule.name, labels))
            if histogram is None:
                calculator = HISTOGRAM_DERIVATIONS[rule.kind]()
                histogram = _Histogram(calculator, SeriesKey(rule.output, labels))
                self._histograms[(rule.name, labels)] = histogram
            steps.append((rule.output, histogram))
        return tuple(steps)


def _derive(histogram: _Histogram) -> list[Sample]:
    """The derived sample of a complete histogram (none while its calculator warms up)."""
    if histogram.ts is None or not histogram.buckets:
        return []
    value = histogram.calculator.update(histogram.ts, histogram.buckets)
    histogram.buckets = None  # derived once; later buckets of this timestamp are too late
    return [] if value is None else [Sample(histogram.output, histogram.ts, value)]
