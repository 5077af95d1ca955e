"""Streaming anomaly score for one series: O(1) state, O(1) work per sample, daily seasonality.

Usage::

    detector = AnomalyDetector()                  # one per series; keyword-only tunables
    score = detector.update(timestamp, value)     # unix seconds, any float; score in [0, 1]
    if score >= DEFAULT_ALERT_THRESHOLD: ...      # the point is at least ~4.5 robust sigmas off

**What the score says.** Each point is scored *before* the detector learns from it, against two
baselines built only from earlier points:

- the *recent level*: a Huber-clipped, time-decayed EWMA of the series (``fast_tau_s``) with a
  robust scale (EWMA of the absolute residual, ``scale_tau_s``);
- the *seasonal profile*: a slow deseasonalised level (``slow_tau_s``) plus, per time-of-day
  bucket (``buckets`` over ``period_s``), an offset from that level and a robust scale. Both are
  bias-corrected EWMAs over the bucket's own time with a memory of ``season_tau_periods``
  periods, so the first visit to an hour already gives it a level and later days are averaged
  in. A bucket never seen gives no seasonal excuse: the score then rests on the recent level.

``z`` is the smaller of the two absolute residuals in units of their robust sigma, so a point is
anomalous only when it is surprising both against what the series did a moment ago and against
what it usually does at this time of day. The score is ``1 - exp(-(z / z_scale) ** 2)``:
0 at z = 0, 0.63 at z = 3, 0.9 at z = 4.55 (with the default ``z_scale=3``), 1 in the limit.

**Robustness.** A point far off the recent level moves the baselines by at most ``huber_k``
sigmas (a spike does not poison them); a sustained move is adopted instead: after
``adopt_after`` consecutive samples on the same side of the recent level beyond ``adopt_z``
sigmas, the recent level jumps to their mean (and the scale widens to their spread if larger), so
the score of a level shift falls below the threshold within ``adopt_after + 1`` samples. The
seasonal profile learns everything that is not an outlier against the recent level, so a daily
peak that recurs at the same hour stops scoring after a day or two while the same value at
another hour still scores high.

**Not detected.** Slow drifts and ramps (a leak, a failing fan) move the recent level with them,
so they never look surprising: use derived signals (``bot.core.derived.LeakRate``) or thresholds.
A state that persists is reported as a change for ``adopt_after`` samples, not for as long as it
lasts. A single sample over the threshold happens a few times a day on heavy-tailed series;
alert on two consecutive samples (``for`` of two sampling intervals) where pages are costly.

**Time.** Learning rates come from the time since the previous sample (irregular timestamps and
gaps are fine): a sample weighs ``1 - exp(-dt / tau)``, at most ``max_weight``; after a gap the
recent level's sigma is widened by ``sqrt(1 + dt / fast_tau_s)``. A sample whose timestamp is not
after the previous one is scored but not learnt. A NaN or infinite timestamp or value returns the
previous score and learns nothing.

**Warm-up.** The first ``warmup`` finite samples return 0.0; their median and MAD seed the
baselines. Every sigma has a floor, ``max(min_scale, rel_min_scale * |level|, resolution)``.
``resolution`` is the finest decimal unit the values are written in (1, 0.1 … 1e-6; 0 for values
with more decimals): a series read in whole units (NVML reports whole degrees and percent)
that moves by one unit has moved one sigma, not made a surprise, however flat it was before. A
series that has been exactly constant has a scale at that floor, so a change of several units
scores high until the detector has seen variation; nothing divides by zero.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

DEFAULT_ALERT_THRESHOLD = 0.9
"""Alert at score >= 0.9: |z| >= 3 * sqrt(ln 10) ≈ 4.55 robust sigmas against both baselines."""

_SIGMA_PER_ABS_DEV = math.sqrt(math.pi / 2)  # sigma / E|x - mean| for a normal distribution
_SIGMA_PER_MAD = 1.4826  # sigma / median|x - median| for a normal distribution
_FINEST_RESOLUTION = 1.5e-6  # below this a series counts as continuous (resolution 0)
_UNIT_TOLERANCE = 1e-6  # how far from a whole number of units a value may be (float error)
_Q_OVERFLOW = 1e150  # (z / z_scale) beyond this would overflow when squared; the score is 1
# Per-step coefficients by (configuration, dt): agents push at a fixed interval, so detectors of
# one configuration share a handful of these instead of recomputing them every sample.
_MAX_STEPS = 4096  # distinct (configuration, dt) pairs kept; more clears the table


@dataclass(frozen=True, slots=True)
class _Step:
    """What a step of ``dt`` seconds means for one configuration: sigma stretch, EWMA weights."""

    dt: float
    stretch: float
    fast: float
    scale: float
    season: float
    slow: float


_STEPS: dict[tuple[float, ...], _Step] = {}
_NO_STEP = _Step(dt=math.nan, stretch=1.0, fast=0.0, scale=0.0, season=0.0, slow=0.0)  # NaN: no dt


class AnomalyDetector:
    """Streaming anomaly detector for one series: ``update(timestamp, value) -> score``.

    Args:
        warmup: samples that return 0.0 and seed the baselines (median / MAD).
        fast_tau_s: time constant of the recent level.
        scale_tau_s: time constant of the recent level's robust sigma.
        slow_tau_s: time constant of the deseasonalised level.
        period_s: length of the season (a day).
        buckets: time-of-day buckets per period (24 = hourly).
        season_tau_periods: memory of each bucket, in periods (days).
        phase_s: added to timestamps before bucketing (e.g. a time zone's UTC offset).
        huber_k: outliers move a baseline by at most this many sigmas.
        adopt_z: a deviation beyond this many sigmas counts towards adopting a new level.
        adopt_after: consecutive same-side deviations after which the new level is adopted.
        z_scale: the z at which the score is 1 - 1/e (0.63).
        max_weight: most weight one sample can carry in any EWMA (after long gaps).
        min_scale: absolute floor of every sigma.
        rel_min_scale: floor of every sigma relative to the recent level's magnitude.
    """

    __slots__ = (
        "_adopt_after",
        "_adopt_z",
        "_bucket_s",
        "_fast",
        "_fast_sigma",
        "_fast_tau",
        "_huber_k",
        "_last_ts",
        "_max_weight",
        "_min_scale",
        "_period",
        "_phase",
        "_rel_min_scale",
        "_resolution",
        "_run_m2",
        "_run_mean",
        "_run_n",
        "_run_side",
        "_scale_tau",
        "_score",
        "_season",
        "_season_dev",
        "_season_tau",
        "_season_weight",
        "_slow",
        "_slow_tau",
        "_step",
        "_warm",
        "_warmup",
        "_z_scale",
    )
    _step: _Step  # the coefficients of the last step's dt
    _warm: list[float] | None  # warm-up samples; None once warmed up
    _last_ts: float
    _score: float
    _fast: float  # recent level and its robust sigma
    _fast_sigma: float
    _slow: float  # deseasonalised level; + the bucket's offset = the seasonal expectation
    # per bucket, EWMAs started at 0 (divide by the weight for the bias-corrected value):
    _season: list[float]  # offset from the deseasonalised level
    _season_dev: list[float]  # robust sigma of the residual
    _season_weight: list[float]  # accumulated weight; 0 = this time of day not seen yet
    _run_n: int  # the current run of same-side deviations from the recent level
    _run_side: int
    _run_mean: float
    _run_m2: float

    def __init__(
        self,
        *,
        warmup: int = 30,
        fast_tau_s: float = 600.0,
        scale_tau_s: float = 3600.0,
        slow_tau_s: float = 86_400.0,
        period_s: float = 86_400.0,
        buckets: int = 24,
        season_tau_periods: float = 3.0,
        phase_s: float = 0.0,
        huber_k: float = 3.0,
        adopt_z: float = 3.0,
        adopt_after: int = 8,
        z_scale: float = 3.0,
        max_weight: float = 0.5,
        min_scale: float = 1e-9,
        rel_min_scale: float = 1e-4,
    ) -> None:
        positive = {
            "fast_tau_s": fast_tau_s,
            "scale_tau_s": scale_tau_s,
            "slow_tau_s": slow_tau_s,
            "period_s": period_s,
            "season_tau_periods": season_tau_periods,
            "huber_k": huber_k,
            "adopt_z": adopt_z,
            "z_scale": z_scale,
            "max_weight": max_weight,
            "min_scale": min_scale,
        }
        for name, number in positive.items():
            if not 0 < number < math.inf:
                msg = f"AnomalyDetector: {name} must be a positive finite number, got {number!r}"
                raise ValueError(msg)
        for name, count in {
            "warmup": warmup,
            "buckets": buckets,
            "adopt_after": adopt_after,
        }.items():
            if count < 1:
                msg = f"AnomalyDetector: {name} must be an integer >= 1, got {count!r}"
                raise ValueError(msg)
        self._warmup = warmup
        self._fast_tau = fast_tau_s
        self._scale_tau = scale_tau_s
        self._slow_tau = slow_tau_s
        self._period = period_s
        self._bucket_s = period_s / buckets
        self._season_tau = season_tau_periods * self._bucket_s  # in-bucket time, per bucket
        self._phase = phase_s
        self._huber_k = huber_k
        self._adopt_z = adopt_z
        self._adopt_after = adopt_after
        self._z_scale = z_scale
        self._max_weight = min(max_weight, 1.0)
        self._min_scale = min_scale
        self._rel_min_scale = max(rel_min_scale, 0.0)
        self._season = [0.0] * buckets
        self._season_dev = [0.0] * buckets
        self._season_weight = [0.0] * buckets
        self._step = _NO_STEP
        self._reset()

    def update(self, timestamp: float, value: float) -> float:
        """Score ``value`` at ``timestamp`` against the past, then learn from it; in [0, 1]."""
        if not (math.isfinite(timestamp) and math.isfinite(value)):
            return self._score
        resolution = self._resolution  # still a whole number of units? (steady state: one test)
        if resolution > 0.0 and _off_the_grid(value / resolution):
            self._refine_resolution(value)
        if self._warm is not None:
            self._warm_up(timestamp, value)
            return self._score
        dt = timestamp - self._last_ts
        if dt <= 0:  # out of order or repeated: score it, learn nothing
            z_fast, z_season, _, _, _ = self._residuals(timestamp, value, 1.0)
            self._score = self._squash(min(z_fast, z_season))
            return self._score
        step = self._step
        if step.dt != dt:
            step = self._step = self._step_for(dt)
        z_fast, z_season, r_fast, r_season, bucket = self._residuals(timestamp, value, step.stretch)
        self._score = self._squash(min(z_fast, z_season))
        self._learn(step, value, z_fast=z_fast, r_fast=r_fast, r_season=r_season, bucket=bucket)
        self._last_ts = timestamp
        return self._score

    def score(self, timestamp: float, value: float) -> float:
        """The score ``update`` would return for this sample, without learning from it."""
        if not (math.isfinite(timestamp) and math.isfinite(value)):
            return self._score
        if self._warm is not None:
            return 0.0
        dt = max(timestamp - self._last_ts, 0.0)
        z_fast, z_season, _, _, _ = self._residuals(timestamp, value, self._stretch(dt))
        return self._squash(min(z_fast, z_season))

    @property
    def warmed_up(self) -> bool:
        """Whether the detector has seen enough samples to score."""
        return self._warm is None

    # ------------------------------------------------------------------------------ internals

    def _reset(self) -> None:
        """Forget everything and start a new warm-up."""
        self._warm = []
        self._last_ts = -math.inf
        self._resolution = 1.0  # the decimal unit of the values; finer as values need it
        self._score = 0.0
        self._fast = self._slow = self._fast_sigma = 0.0
        for bucket_state in (self._season, self._season_dev, self._season_weight):
            bucket_state[:] = [0.0] * len(bucket_state)
        self._end_run()

    def _warm_up(self, timestamp: float, value: float) -> None:
        """Collect warm-up samples; on the last one seed the baselines with their median/MAD."""
        warm = self._warm
        assert warm is not None  # only called while warming up
        warm.append(value)
        self._last_ts = max(self._last_ts, timestamp)
        if len(warm) < self._warmup:
            return
        level = statistics.median(warm)
        sigma = _SIGMA_PER_MAD * statistics.median(abs(x - level) for x in warm)
        if sigma == 0.0:  # mostly constant: fall back to the mean absolute deviation
            sigma = _SIGMA_PER_ABS_DEV * statistics.fmean(abs(x - level) for x in warm)
        self._fast = self._slow = level
        self._fast_sigma = sigma
        self._warm = None

    def _residuals(
        self, timestamp: float, value: float, stretch: float
    ) -> tuple[float, float, float, float, int]:
        """The z and residual against the recent level and the seasonal profile; the bucket.

        ``stretch`` widens the recent level's sigma for the time since the last sample.
        """
        floor = self._floor()
        r_fast = value - self._fast
        sigma_fast = max(self._fast_sigma, floor) * stretch
        z_fast = abs(r_fast) / sigma_fast
        weights = self._season_weight
        bucket = int((timestamp + self._phase) % self._period / self._bucket_s) % len(weights)
        weight = weights[bucket]
        if weight > 0.0:
            r_season = value - (self._slow + self._season[bucket] / weight)
            z_season = abs(r_season) / max(self._season_dev[bucket] / weight, floor)
        else:  # this time of day has not been seen: no seasonal excuse
            r_season = value - self._slow
            z_season = math.inf
        # NaN only arises from inf/inf at absurd magnitudes: call that surprising
        return (
            math.inf if math.isnan(z_fast) else z_fast,
            math.inf if math.isnan(z_season) else z_season,
            r_fast,
            r_season,
            bucket,
        )

    def _refine_resolution(self, value: float) -> None:
        """The coarsest finer decimal unit ``value`` is a whole number of; 0 if none is."""
        resolution = self._resolution
        while resolution > _FINEST_RESOLUTION:
            resolution /= 10.0
            if not _off_the_grid(value / resolution):
                self._resolution = resolution
                return
        self._resolution = 0.0

    def _floor(self) -> float:
        """The least any sigma may be: absolute, relative to the level, and the resolution."""
        return max(self._min_scale, self._rel_min_scale * abs(self._fast), self._resolution)

    def _squash(self, z: float) -> float:
        """Map |z| to [0, 1): 0 at 0, 1 - 1/e at ``z_scale``."""
        q = z / self._z_scale
        return -math.expm1(-q * q) if q < _Q_OVERFLOW else 1.0

    def _weight(self, dt: float, tau: float) -> float:
        """How much a sample covering ``dt`` seconds weighs in an EWMA with time constant tau."""
        return min(-math.expm1(-dt / tau), self._max_weight)

    def _stretch(self, dt: float) -> float:
        """How much ``dt`` seconds since the last sample widen the recent level's sigma."""
        return math.sqrt(1.0 + dt / self._fast_tau)

    def _step_for(self, dt: float) -> _Step:
        """The coefficients of a step of ``dt`` seconds (shared by detectors configured alike)."""
        key = (
            dt,
            self._fast_tau,
            self._scale_tau,
            self._slow_tau,
            self._season_tau,
            self._bucket_s,
            self._max_weight,
        )
        step = _STEPS.get(key)
        if step is None:
            if len(_STEPS) >= _MAX_STEPS:
                _STEPS.clear()
            step = _STEPS[key] = _Step(
                dt=dt,
                stretch=self._stretch(dt),
                fast=self._weight(dt, self._fast_tau),
                scale=self._weight(dt, self._scale_tau),
                season=self._weight(min(dt, self._bucket_s), self._season_tau),
                slow=self._weight(dt, self._slow_tau),
            )
        return step

    def _learn(
        self,
        step: _Step,
        value: float,
        *,
        z_fast: float,
        r_fast: float,
        r_season: float,
        bucket: int,
    ) -> None:
        """Move both baselines towards the sample, Huber-clipped; adopt sustained shifts."""
        k = self._huber_k
        floor = self._floor()
        limit = k * max(self._fast_sigma, floor) * step.stretch
        self._fast += step.fast * max(-limit, min(r_fast, limit))
        self._fast_sigma += step.scale * (
            _SIGMA_PER_ABS_DEV * min(abs(r_fast), limit) - self._fast_sigma
        )
        # the profile learns all but outliers against the recent level (those it learns clipped)
        seen = self._season_weight[bucket]
        offset = self._season[bucket] / seen if seen > 0.0 else 0.0
        sigma = self._season_dev[bucket] / seen if seen > 0.0 else limit / k
        cap = k * max(sigma, floor) if z_fast > k else math.inf
        error = max(-cap, min(r_season, cap))
        deviation = min(abs(r_season if seen > 0.0 else r_fast), cap)
        weight = step.season
        keep = 1.0 - weight
        self._season[bucket] = keep * self._season[bucket] + weight * (offset + error)
        self._season_dev[bucket] = (
            keep * self._season_dev[bucket] + weight * _SIGMA_PER_ABS_DEV * deviation
        )
        self._season_weight[bucket] = keep * seen + weight
        self._slow += step.slow * error
        self._track_run(value, r_fast, z_fast)
        state = self._fast + self._fast_sigma + self._slow + self._season[bucket]
        if not math.isfinite(state + self._season_dev[bucket]):
            self._reset()  # only reachable with values near the float limits

    def _track_run(self, value: float, r_fast: float, z_fast: float) -> None:
        """Count consecutive same-side deviations; adopt their mean as the new recent level."""
        if z_fast <= self._adopt_z:
            self._end_run()
            return
        side = 1 if r_fast > 0 else -1
        if side != self._run_side:
            self._end_run()
            self._run_side = side
        self._run_n += 1
        delta = value - self._run_mean
        self._run_mean += delta / self._run_n
        self._run_m2 += delta * (value - self._run_mean)
        if self._run_n >= self._adopt_after:
            self._fast = self._run_mean
            spread = math.sqrt(self._run_m2 / max(self._run_n - 1, 1))
            self._fast_sigma = max(self._fast_sigma, spread)
            self._end_run()

    def _end_run(self) -> None:
        self._run_n = self._run_side = 0
        self._run_mean = self._run_m2 = 0.0


def _off_the_grid(units: float) -> bool:
    """Whether ``units`` is not a whole number (beyond float error); inf and NaN count as whole."""
    fraction = units % 1.0
    return min(fraction, 1.0 - fraction) > _UNIT_TOLERANCE
