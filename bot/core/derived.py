"""Derived signals: small incremental calculators that turn samples into new values to alert on.

Each calculator belongs to one series, takes ``update(timestamp, value)`` (unix seconds) and
returns the derived value, or ``None`` while it has not seen enough data. Its output is meant to be
fed to the threshold rules as a sample of a new metric. Non-finite inputs and samples that are not
newer than the previous one are ignored (the last result is returned). State and work per update
are bounded.

Units and the seed's thresholds:

- :class:`LeakRate` returns **bytes per minute**. The seed's "MB/min" is read as MiB/min
  (1 MB = 2**20 bytes, as nvidia-smi and NVML-based tools report GPU memory), so warn, crit and
  recover are :data:`LEAK_WARN_BYTES_PER_MIN` (10 MiB/min), :data:`LEAK_CRIT_BYTES_PER_MIN`
  (50 MiB/min) and :data:`LEAK_RECOVER_BYTES_PER_MIN` (5 MiB/min).
- :class:`DistributionDrift` returns KL(current || reference) in nats; seed: alert at
  :data:`KL_DRIFT_THRESHOLD` = 0.1.
- :class:`LossFluctuation` returns a ratio; seed: alert at :data:`LOSS_FLUCTUATION_THRESHOLD` = 5 %.
- :class:`RecallDrop` and :class:`ThroughputDrop` return the fractional drop (0.4 = 40 % below
  the baseline, never negative); the seed's P2 is "performance down > 30 %"
  (:data:`THROUGHPUT_DROP_P2`).
- :class:`CounterRate` returns a counter's increase per second (seconds of CPU pressure per
  second: the seed's "CPU wait > 50 ms" is :data:`CPU_WAIT_THRESHOLD` = 0.05).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Hashable, Mapping, Sequence

MIB = 2**20
LEAK_WARN_BYTES_PER_MIN = 10 * MIB
LEAK_CRIT_BYTES_PER_MIN = 50 * MIB
LEAK_RECOVER_BYTES_PER_MIN = 5 * MIB
KL_DRIFT_THRESHOLD = 0.1
LOSS_FLUCTUATION_THRESHOLD = 0.05
THROUGHPUT_DROP_P2 = 0.30
CPU_WAIT_THRESHOLD = 0.05

_TRUSTED_WEIGHT = -math.expm1(-1.0)  # an EWMA's weight after one time constant

Histogram = Mapping[Hashable, float] | Sequence[float]
"""Counts (or probabilities) per bucket: a mapping bucket → count, or counts by position."""


def _positive(owner: str, **numbers: float) -> None:
    for name, number in numbers.items():
        if not 0 < number < math.inf:
            msg = f"{owner}: {name} must be a positive finite number, got {number!r}"
            raise ValueError(msg)


class LeakRate:
    """Robust growth rate of a memory series (bytes) in bytes per minute (Theil-Sen slope).

    Samples are averaged into ``max_points`` bins per ``window_s``; the slope is the median of the
    pairwise slopes between the bins of the last ``window_s``, recomputed when a bin closes: at
    most O(max_points²) per update (about 70 µs with the defaults at a 15 s cadence). ``None``
    until the bins span half the window with at least ``min_points`` bins. A fall below
    ``(1 - reset_ratio)`` of the previous value on two consecutive samples (a process restart, a
    freed pool) restarts the window; a single low sample is treated as an outlier and dropped.
    """

    __slots__ = (
        "_bin",
        "_bin_s",
        "_min_points",
        "_pending",
        "_points",
        "_rate",
        "_reset",
        "_t",
        "_value",
        "_window",
    )

    def __init__(
        self,
        *,
        window_s: float = 600.0,
        min_points: int = 8,
        max_points: int = 64,
        reset_ratio: float = 0.2,
    ) -> None:
        _positive("LeakRate", window_s=window_s, reset_ratio=reset_ratio)
        if not 2 <= min_points <= max_points:  # noqa: PLR2004 - a slope needs two points
            msg = (
                f"LeakRate: expected 2 <= min_points <= max_points, got {min_points}, {max_points}"
            )
            raise ValueError(msg)
        self._window = window_s
        self._bin_s = window_s / max_points
        self._min_points = min_points
        self._reset = 1.0 - min(reset_ratio, 1.0)
        self._points: deque[tuple[float, float]] = deque(maxlen=max_points + 1)
        self._bin: list[float] = [math.nan, 0.0, 0.0, 0.0]  # bin index, Σt, Σv, n
        self._pending: tuple[float, float] | None = None
        self._t = -math.inf
        self._value = math.nan
        self._rate: float | None = None

    def update(self, timestamp: float, value: float) -> float | None:
        """Add one memory sample (bytes); the current leak rate in bytes per minute, or None."""
        if not (math.isfinite(timestamp) and math.isfinite(value)) or timestamp <= self._t:
            return self._rate
        self._t = timestamp
        if value < self._reset * self._value:  # a drop: a restart, or a single bad sample
            if self._pending is None:
                self._pending = (timestamp, value)
                return self._rate
            self._points.clear()
            self._bin = [math.nan, 0.0, 0.0, 0.0]
            self._rate = None
            self._add(*self._pending)
        self._pending = None
        self._value = value
        self._add(timestamp, value)
        return self._rate

    def _add(self, timestamp: float, value: float) -> None:
        index = timestamp // self._bin_s
        open_bin = self._bin
        if open_bin[0] != index:
            if open_bin[3]:
                n = open_bin[3]
                self._points.append((open_bin[1] / n, open_bin[2] / n))
                self._rate = self._estimate(timestamp)
            open_bin[:] = [index, 0.0, 0.0, 0.0]
        open_bin[1] += timestamp
        open_bin[2] += value
        open_bin[3] += 1

    def _estimate(self, now: float) -> float | None:
        points = self._points
        while points and points[0][0] < now - self._window:
            points.popleft()
        if len(points) < self._min_points or points[-1][0] - points[0][0] < self._window / 2:
            return None
        pts = list(points)
        slopes = [
            (vj - vi) / (tj - ti)
            for i, (ti, vi) in enumerate(pts)
            for tj, vj in pts[i + 1 :]
            if tj > ti
        ]
        return 60.0 * statistics.median(slopes)


def kl_divergence(p: Histogram, q: Histogram, *, smoothing: float = 1e-4) -> float:
    """KL(p || q) in nats between two histograms, each normalised to sum to 1.

    Buckets are the union of both; ``smoothing`` is added to every normalised probability (and
    the result renormalised) so that a bucket empty in ``q`` costs ``p_i * ln(p_i / smoothing)``
    instead of infinity. With ``smoothing=0`` such a bucket gives ``math.inf``.
    """
    if smoothing < 0:
        msg = f"kl_divergence: smoothing must be >= 0, got {smoothing!r}"
        raise ValueError(msg)
    pn, qn = _normalised(p, "p"), _normalised(q, "q")
    buckets = pn.keys() | qn.keys()
    norm = 1.0 + smoothing * len(buckets)
    total = 0.0
    for bucket in buckets:
        pi = (pn.get(bucket, 0.0) + smoothing) / norm
        if pi == 0.0:
            continue
        qi = (qn.get(bucket, 0.0) + smoothing) / norm
        if qi == 0.0:
            return math.inf
        total += pi * math.log(pi / qi)
    return max(total, 0.0)


def _normalised(histogram: Histogram, name: str) -> dict[Hashable, float]:
    counts: dict[Hashable, float] = (
        dict(histogram.items()) if isinstance(histogram, Mapping) else dict(enumerate(histogram))
    )
    for bucket, count in counts.items():
        if not 0 <= count < math.inf:
            msg = f"{name}[{bucket!r}]: expected a finite count >= 0, got {count!r}"
            raise ValueError(msg)
    total = math.fsum(counts.values())
    if total <= 0:
        msg = f"{name}: expected a histogram with a positive total, got {total!r}"
        raise ValueError(msg)
    return {bucket: count / total for bucket, count in counts.items()}


class DistributionDrift:
    """KL(current || reference) of output-token histograms; the reference is the first N."""

    __slots__ = ("_count", "_drift", "_reference", "_smoothing", "_sums", "_t", "_window")

    def __init__(self, *, reference_window: int = 10, smoothing: float = 1e-4) -> None:
        if reference_window < 1:
            msg = f"DistributionDrift: reference_window must be >= 1, got {reference_window!r}"
            raise ValueError(msg)
        self._window = reference_window
        self._smoothing = smoothing
        self._sums: dict[Hashable, float] = {}
        self._count = 0
        self._reference: dict[Hashable, float] | None = None
        self._t = -math.inf
        self._drift: float | None = None

    def update(self, timestamp: float, histogram: Histogram) -> float | None:
        """Add one window's histogram; its KL against the reference, or None while learning it.

        Empty histograms are skipped. The reference is the mean of the first ``reference_window``
        normalised histograms, then frozen until :meth:`rebase`.
        """
        if not math.isfinite(timestamp) or timestamp <= self._t:
            return self._drift
        try:
            current = _normalised(histogram, "histogram")
        except ValueError:
            return self._drift
        self._t = timestamp
        if self._reference is not None:
            self._drift = kl_divergence(current, self._reference, smoothing=self._smoothing)
            return self._drift
        for bucket, share in current.items():
            self._sums[bucket] = self._sums.get(bucket, 0.0) + share
        self._count += 1
        if self._count >= self._window:
            self._reference = {b: s / self._count for b, s in self._sums.items()}
        return None

    def rebase(self) -> None:
        """Forget the reference and learn a new one (after an intended model or prompt change)."""
        self._sums, self._count, self._reference, self._drift = {}, 0, None, None


class LossFluctuation:
    """Relative fluctuation of training loss: (max - min) / |median| over the last N values."""

    __slots__ = ("_t", "_values")

    def __init__(self, *, window: int = 20) -> None:
        if window < 2:  # noqa: PLR2004 - a range needs two values
            msg = f"LossFluctuation: window must be >= 2, got {window!r}"
            raise ValueError(msg)
        self._values: deque[float] = deque(maxlen=window)
        self._t = -math.inf

    def update(self, timestamp: float, loss: float) -> float | None:
        """Add one loss value; the fluctuation ratio (0.05 = 5 %), or None until N values."""
        if math.isfinite(timestamp) and math.isfinite(loss) and timestamp > self._t:
            self._t = timestamp
            self._values.append(loss)
        values = self._values
        if len(values) < (values.maxlen or 0):
            return None
        spread = max(values) - min(values)
        middle = abs(statistics.median(values))
        if middle == 0.0:
            return 0.0 if spread == 0.0 else math.inf
        return spread / middle


class RecallDrop:
    """Relative drop of Top-K recall below a given or learnt baseline (0.1 = 10 % lower)."""

    __slots__ = ("_adapt", "_baseline", "_drop", "_t", "_tolerance", "_warm", "_warmup")

    def __init__(
        self,
        *,
        baseline: float | None = None,
        warmup: int = 5,
        adapt: float = 0.05,
        tolerance: float = 0.02,
    ) -> None:
        if baseline is not None:
            _positive("RecallDrop", baseline=baseline)
        self._baseline = baseline
        self._warmup = max(warmup, 1)
        self._warm: list[float] = []
        self._adapt = 0.0 if baseline is not None else min(max(adapt, 0.0), 1.0)
        self._tolerance = tolerance
        self._t = -math.inf
        self._drop: float | None = None

    def update(self, timestamp: float, recall: float) -> float | None:
        """Add one recall measurement; the drop below the baseline, or None while learning it.

        Without a fixed ``baseline`` the median of the first ``warmup`` values is the baseline;
        afterwards values within ``tolerance`` of it (relative) move it by ``adapt`` (an EWMA
        weight), so a model that improved raises it and a degradation does not teach itself.
        """
        if not (math.isfinite(timestamp) and math.isfinite(recall)) or timestamp <= self._t:
            return self._drop
        self._t = timestamp
        if self._baseline is None:
            self._warm.append(recall)
            if len(self._warm) < self._warmup:
                return None
            self._baseline = statistics.median(self._warm)
            self._warm = []
            return None
        baseline = self._baseline
        self._drop = max(0.0, (baseline - recall) / baseline) if baseline > 0 else None
        if self._drop is not None and self._drop <= self._tolerance:
            self._baseline = baseline + self._adapt * (recall - baseline)
        return self._drop


class ThroughputDrop:
    """Fractional drop of throughput below its baseline for this time of day (0.4 = 40 % lower).

    The baseline is a time-decayed EWMA (``tau_s``) blended with one EWMA per time-of-day bucket
    (``buckets`` over ``period_s``, learnt over ``season_tau_periods`` periods): a bucket's own
    level takes over from the global one as it accumulates time (alone after
    ``season_tau_periods`` periods), so a nightly dip in traffic is not a drop once it has been
    seen for a few days. Samples more than ``tolerance`` below the
    baseline teach the global EWMA at ``dropped_weight`` of the normal rate, and a bucket learns
    only from its own hour (about a quarter of the gap per hour of a sustained drop), so a
    degradation does not hide itself quickly while a lasting new normal is adopted over a few
    days. Set ``buckets=1`` for no season.
    """

    __slots__ = (
        "_bucket_s",
        "_drop",
        "_dropped_weight",
        "_global",
        "_level",
        "_period",
        "_season_tau",
        "_t",
        "_tau",
        "_tolerance",
        "_warm",
        "_warmup",
        "_weight",
    )

    def __init__(
        self,
        *,
        tau_s: float = 3600.0,
        warmup: int = 10,
        buckets: int = 24,
        period_s: float = 86_400.0,
        season_tau_periods: float = 3.0,
        tolerance: float = 0.1,
        dropped_weight: float = 0.1,
    ) -> None:
        _positive("ThroughputDrop", tau_s=tau_s, period_s=period_s, tau=season_tau_periods)
        if buckets < 1:
            msg = f"ThroughputDrop: buckets must be >= 1, got {buckets!r}"
            raise ValueError(msg)
        self._tau = tau_s
        self._period = period_s
        self._bucket_s = period_s / buckets
        self._season_tau = season_tau_periods * self._bucket_s
        self._warmup = max(warmup, 1)
        self._tolerance = tolerance
        self._dropped_weight = min(max(dropped_weight, 0.0), 1.0)
        self._warm: list[float] | None = []
        self._global = 0.0
        self._level = [0.0] * buckets  # per-bucket EWMA, started at 0 …
        self._weight = [0.0] * buckets  # … and its accumulated weight (for bias correction)
        self._t = -math.inf
        self._drop: float | None = None

    def update(self, timestamp: float, throughput: float) -> float | None:
        """Add one throughput sample; the fractional drop below the baseline, or None."""
        if not (math.isfinite(timestamp) and math.isfinite(throughput)) or timestamp <= self._t:
            return self._drop
        dt, self._t = timestamp - self._t, timestamp
        if self._warm is not None:
            self._warm.append(throughput)
            if len(self._warm) >= self._warmup:
                self._global, self._warm = statistics.median(self._warm), None
            return None
        bucket = int(timestamp % self._period / self._bucket_s) % len(self._level)
        weight = self._weight[bucket]
        trust = min(1.0, weight / _TRUSTED_WEIGHT)
        own = self._level[bucket] / weight if weight > 0 else 0.0  # bias-corrected EWMA
        baseline = trust * own + (1.0 - trust) * self._global
        self._drop = max(0.0, 1.0 - throughput / baseline) if baseline > 0 else None
        slow = self._dropped_weight if (self._drop or 0.0) > self._tolerance else 1.0
        a = slow * -math.expm1(-dt / self._tau)
        self._global += a * (throughput - self._global)
        b = -math.expm1(-min(dt, self._bucket_s) / self._season_tau)
        self._level[bucket] += b * (throughput - self._level[bucket])
        self._weight[bucket] += b * (1.0 - self._weight[bucket])
        return self._drop


class CounterRate:
    """Per-second increase of a counter over the last ``window_s`` (as PromQL's ``rate``).

    A fall of the counter is a reset (the process restarted from 0): the value before it is
    carried over, so the increase is never negative. Points are kept at least ``window_s / 64``
    apart (at most 65 per series) plus the latest; ``None`` until they span half the window.
    """

    __slots__ = ("_gap", "_last", "_offset", "_points", "_raw", "_window")

    def __init__(self, *, window_s: float = 60.0) -> None:
        _positive("CounterRate", window_s=window_s)
        self._window = window_s
        self._gap = window_s / 64
        self._points: deque[tuple[float, float]] = deque()  # (ts, counter with resets undone)
        self._last: tuple[float, float] | None = None
        self._raw = math.nan
        self._offset = 0.0

    def update(self, timestamp: float, value: float) -> float | None:
        """Add one counter reading; its rate per second, or None until half the window."""
        last = self._last
        if (
            math.isfinite(timestamp)
            and math.isfinite(value)
            and (last is None or timestamp > last[0])
        ):
            if value < self._raw:
                self._offset += self._raw
            self._raw = value
            last = self._last = (timestamp, value + self._offset)
            points = self._points
            if not points or timestamp - points[-1][0] >= self._gap:
                points.append(last)
            while timestamp - points[0][0] > self._window:
                points.popleft()
        if last is None or not self._points:
            return None
        first = self._points[0]
        span = last[0] - first[0]
        return (last[1] - first[1]) / span if span >= self._window / 2 else None
