"""Anomaly detector quality and cost on labelled synthetic GPU-fleet series (NAB-style scoring).

Usage: ``python -m bench.anomaly_quality [--seeds 4] [--days 7] [--cadence 60]``

Generates series like those a GPU node reports (utilisation with a daily cycle, TTFT latency,
a daily batch job, temperature, process memory, token throughput, heavy-tailed power), injects
labelled anomalies (spikes and dips, level shifts, a batch at an unusual hour, slow drifts,
memory leaks, a partial throughput outage), and scores two detectors on the same samples:

- ``AnomalyDetector()`` with its defaults, alerting at ``DEFAULT_ALERT_THRESHOLD``;
- a naive baseline: mean ± 3 sigma of the first day, fixed afterwards.

Scoring follows the Numenta Anomaly Benchmark: the first day is probationary (not scored); in
each labelled window only the first detection counts, rewarded by NAB's scaled sigmoid of its
position in the window (≈ 1 at the start, 0 at the end); every flagged sample outside a window
costs the profile's false-positive weight (less when it trails a window closely); a missed window
costs the false-negative weight. Scores are normalised to 0 (never alert) … 100 (perfect).
It also times ``update()`` per sample against a bare time-decayed EWMA on the same samples.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.core.anomaly import DEFAULT_ALERT_THRESHOLD, AnomalyDetector

DAY = 86_400.0
HOUR = 3_600.0
MIN = 60.0
GIB = 2.0**30
MIB = 2.0**20
PROFILES = {  # NAB's cost matrices: (true positive, false positive, false negative) weights
    "standard": (1.0, 0.11, 1.0),
    "reward_low_FP_rate": (1.0, 0.22, 1.0),
    "reward_low_FN_rate": (1.0, 0.11, 2.0),
}


@dataclass
class Series:
    """One labelled series: samples and anomaly windows (start, end) in seconds."""

    kind: str
    samples: list[tuple[float, float]]
    windows: list[tuple[float, float]] = field(default_factory=list)


# ----------------------------------------------------------------------------------- data


def timestamps(rng: random.Random, days: int, cadence: float) -> list[float]:
    """Jittered sample times with two collection gaps (agent restarts, network blips)."""
    starts = [onset(rng, days, first_day=1) for _ in range(2)]
    gaps = [(start, start + rng.uniform(10 * MIN, 2 * HOUR)) for start in starts]
    out = []
    for i in range(int(days * DAY / cadence)):
        t = (i + rng.uniform(-0.1, 0.1)) * cadence
        if not any(a <= t < b for a, b in gaps):
            out.append(t)
    return out


def daily(t: float, peak_hour: float = 15.0) -> float:
    """A smooth daily traffic cycle in [0, 1], highest at ``peak_hour`` UTC."""
    return 0.5 + 0.5 * math.cos(2 * math.pi * ((t / HOUR - peak_hour) % 24) / 24)


def onset(rng: random.Random, days: int, first_day: int = 2) -> float:
    """A random anomaly start after the probationary first day(s)."""
    return rng.uniform(first_day * DAY, (days - 1) * DAY)


def util_spikes(rng: random.Random, ts: list[float], days: int) -> Series:
    """GPU utilisation with a daily cycle; brief hangs (drops to 0) and bursts."""
    events = sorted(onset(rng, days) for _ in range(3))
    kinds = [rng.choice(["hang", "burst"]) for _ in events]
    samples, noise = [], 0.0
    for t in ts:
        noise = 0.8 * noise + rng.gauss(0, 0.02)
        value = 0.3 + 0.5 * daily(t) + noise
        for start, kind in zip(events, kinds, strict=True):
            if start <= t < start + 4 * MIN:
                value = 0.0 if kind == "hang" else 1.0
        samples.append((t, min(max(value, 0.0), 1.0)))
    return Series("util spikes/dips", samples, [(e - 5 * MIN, e + HOUR) for e in events])


def latency_shift(rng: random.Random, ts: list[float], days: int) -> Series:
    """TTFT p95 (seconds), traffic-dependent with lognormal noise; a lasting 1.6x shift."""
    start = onset(rng, days)
    samples = []
    for t in ts:
        value = (0.09 + 0.05 * daily(t)) * math.exp(rng.gauss(0, 0.06))
        samples.append((t, value * (1.6 if t >= start else 1.0)))
    return Series("latency level shift", samples, [(start - 5 * MIN, start + HOUR)])


def batch_at_odd_hour(rng: random.Random, ts: list[float], days: int) -> Series:
    """A daily batch job 14:00-15:00 UTC; once it runs at 03:00 instead."""
    odd_day = rng.randrange(3, days)
    odd = odd_day * DAY + 3 * HOUR
    samples = []
    for t in ts:
        hour = t % DAY / HOUR
        busy = 14 <= hour < 15 or odd <= t < odd + HOUR
        value = (0.85 if busy else 0.3) + rng.gauss(0, 0.02)
        if odd_day * DAY + 14 * HOUR <= t < odd_day * DAY + 15 * HOUR:
            value = 0.3 + rng.gauss(0, 0.02)  # the usual slot stays idle that day
        samples.append((t, value))
    return Series("batch at odd hour", samples, [(odd - 5 * MIN, odd + HOUR)])


def temperature_drift(rng: random.Random, ts: list[float], days: int) -> Series:
    """GPU temperature with a daily cycle; a slow +1 °C/h drift for 10 h (failing fan)."""
    start = onset(rng, days)
    samples = []
    for t in ts:
        value = 55 + 12 * daily(t) + rng.gauss(0, 0.7)
        if start <= t < start + 10 * HOUR:
            value += (t - start) / HOUR
        samples.append((t, value))
    return Series("slow drift", samples, [(start, start + 10 * HOUR)])


def memory_leak(rng: random.Random, ts: list[float], days: int) -> Series:
    """Process GPU memory (bytes), flat with noise; a 20 MiB/min leak for 8 h, then a restart."""
    start = onset(rng, days)
    samples = []
    for t in ts:
        value = 60 * GIB + rng.gauss(0, 8 * MIB)
        if start <= t < start + 8 * HOUR:
            value += 20 * MIB * (t - start) / MIN
        samples.append((t, value))
    # the restart that ends the leak belongs to the incident
    return Series("memory leak", samples, [(start, start + 8 * HOUR + 30 * MIN)])


def throughput_outage(rng: random.Random, ts: list[float], days: int) -> Series:
    """Generated tokens/s following traffic; one replica lost for 45 min (-50 %)."""
    start = onset(rng, days)
    samples = []
    for t in ts:
        value = (800 + 1600 * daily(t, 20.0)) * (1 + rng.gauss(0, 0.04))
        if start <= t < start + 45 * MIN:
            value *= 0.5
        samples.append((t, value))
    return Series("throughput outage", samples, [(start - 5 * MIN, start + 45 * MIN)])


def power_heavy_tail(rng: random.Random, ts: list[float], days: int) -> Series:
    """Board power (W) with heavy-tailed noise and two power-brake events (drop to 150 W)."""
    events = sorted(onset(rng, days) for _ in range(2))
    samples = []
    for t in ts:
        value = 450 + 150 * daily(t) + rng.gauss(0, 12) * (3 if rng.random() < 0.02 else 1)
        if any(e <= t < e + 10 * MIN for e in events):
            value = 150 + rng.gauss(0, 5)
        samples.append((t, value))
    return Series("power heavy tail", samples, [(e - 5 * MIN, e + HOUR) for e in events])


GENERATORS: list[Callable[[random.Random, list[float], int], Series]] = [
    util_spikes,
    latency_shift,
    batch_at_odd_hour,
    temperature_drift,
    memory_leak,
    throughput_outage,
    power_heavy_tail,
]


def dataset(seeds: int, days: int, cadence: float) -> list[Series]:
    """Every generator once per seed."""
    out = []
    for seed in range(seeds):
        for number, make in enumerate(GENERATORS):
            rng = random.Random(1000 * seed + number)
            out.append(make(rng, timestamps(rng, days, cadence), days))
    return out


# ----------------------------------------------------------------------------- detectors


def detect_ours(series: Series) -> list[bool]:
    """Flags of the streaming detector at its default threshold."""
    detector = AnomalyDetector()
    return [detector.update(t, v) >= DEFAULT_ALERT_THRESHOLD for t, v in series.samples]


def detect_ours_for2(series: Series) -> list[bool]:
    """Flags of the streaming detector when two consecutive samples must be over the threshold."""
    flags = detect_ours(series)
    return [flag and previous for flag, previous in zip(flags, [False, *flags], strict=False)]


def detect_static(series: Series) -> list[bool]:
    """Flags of mean ± 3 sigma learnt on the first day and fixed afterwards."""
    first = [v for t, v in series.samples if t < DAY]
    mean, sd = statistics.fmean(first), statistics.pstdev(first)
    return [t >= DAY and abs(v - mean) > 3 * sd for t, v in series.samples]


# ------------------------------------------------------------------------------- scoring


def scaled_sigmoid(position: float) -> float:
    """NAB's reward for a detection at ``position`` (-1 window start, 0 window end, >0 after)."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


@dataclass
class Tally:
    """Per-detector totals over a set of series."""

    raw: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PROFILES, 0.0))
    perfect: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PROFILES, 0.0))
    null: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PROFILES, 0.0))
    windows: int = 0
    detected: int = 0
    fp_points: int = 0
    fp_episodes: int = 0
    series_days: float = 0.0

    def normalised(self, profile: str) -> float:
        """NAB's 0 (never alert) … 100 (perfect) score."""
        span = self.perfect[profile] - self.null[profile]
        return 100.0 * (self.raw[profile] - self.null[profile]) / span


def score_series(series: Series, flags: list[bool], tally: Tally) -> None:
    """Add one series' NAB score under every profile to ``tally``."""
    windows = sorted(series.windows)
    first_hit: list[float | None] = [None] * len(windows)
    false_positions: list[float] = []
    previous = False
    for (t, _), flag in zip(series.samples, flags, strict=True):
        inside = next((i for i, (a, b) in enumerate(windows) if a <= t <= b), None)
        if t >= DAY and flag:
            if inside is None:
                false_positions.append(_position_after_window(t, windows))
                tally.fp_episodes += not previous
            elif first_hit[inside] is None:
                a, b = windows[inside]
                first_hit[inside] = -(b - t) / (b - a)
        previous = flag and inside is None and t >= DAY
    tally.fp_points += len(false_positions)
    tally.windows += len(windows)
    tally.detected += sum(hit is not None for hit in first_hit)
    tally.series_days += (series.samples[-1][0] - DAY) / DAY
    for name, (a_tp, a_fp, a_fn) in PROFILES.items():
        raw = sum(a_tp * scaled_sigmoid(h) if h is not None else -a_fn for h in first_hit)
        raw += sum(a_fp * scaled_sigmoid(p) for p in false_positions)
        tally.raw[name] += raw
        tally.perfect[name] += a_tp * scaled_sigmoid(-1.0) * len(windows)
        tally.null[name] += -a_fn * len(windows)


def _position_after_window(t: float, windows: Iterable[tuple[float, float]]) -> float:
    """Relative position of a false positive after the closest preceding window (NAB)."""
    before = [(a, b) for a, b in windows if b < t]
    if not before:
        return math.inf  # scaled_sigmoid → -1
    a, b = before[-1]
    return (t - b) / (b - a)


# -------------------------------------------------------------------------------- timing


class BareEwma:
    """The cheapest per-series state one could keep: a time-decayed EWMA of the value."""

    __slots__ = ("last", "level")

    def __init__(self) -> None:
        self.level = 0.0
        self.last = 0.0

    def update(self, timestamp: float, value: float) -> float:
        """Move the EWMA towards the value."""
        a = -math.expm1(-(timestamp - self.last) / 600.0)
        self.last = timestamp
        self.level += a * (value - self.level)
        return self.level


def per_sample_us(make: Callable[[], AnomalyDetector | BareEwma], data: list[Series]) -> float:
    """Mean wall time of ``update()`` per sample, in microseconds (best of three)."""
    best = math.inf
    total = sum(len(s.samples) for s in data)
    for _ in range(3):
        detectors = [make() for _ in data]
        started = time.perf_counter()
        for detector, series in zip(detectors, data, strict=True):
            update = detector.update
            for t, v in series.samples:
                update(t, v)
        best = min(best, time.perf_counter() - started)
    return best / total * 1e6


# ---------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="series per generator")
    parser.add_argument("--days", type=int, default=7, help="days per series")
    parser.add_argument("--cadence", type=float, default=60.0, help="seconds between samples")
    args = parser.parse_args()

    data = dataset(args.seeds, args.days, args.cadence)
    samples = sum(len(s.samples) for s in data)
    print(f"{len(data)} series x {args.days} days, {samples} samples, cadence {args.cadence:g} s")
    print(f"detector: AnomalyDetector() at score >= {DEFAULT_ALERT_THRESHOLD}")
    print("ours+for2: the same, alerting only on two consecutive samples over the threshold")
    print("baseline: static mean ± 3 sigma of the first day\n")

    detectors = {"ours": detect_ours, "ours+for2": detect_ours_for2, "static3sd": detect_static}
    tallies = {name: Tally() for name in detectors}
    by_kind: dict[str, dict[str, list[int]]] = {}
    for series in data:
        for name, detect in detectors.items():
            before = (tallies[name].detected, tallies[name].fp_episodes, tallies[name].windows)
            score_series(series, detect(series), tallies[name])
            row = by_kind.setdefault(series.kind, {}).setdefault(name, [0, 0, 0])
            row[0] += tallies[name].detected - before[0]
            row[1] += tallies[name].windows - before[2]
            row[2] += tallies[name].fp_episodes - before[1]

    print(f"{'kind':20}" + "".join(f"{name + ': found   FA':>24}" for name in detectors))
    for kind, rows in by_kind.items():
        cells = [f"{r[0]:>3}/{r[1]:<3} {r[2]:>4}" for r in rows.values()]
        print(f"{kind:20}" + "".join(f"{cell:>24}" for cell in cells))
    print("(found = windows detected / windows; FA = false-alarm episodes outside windows)\n")

    for name, tally in tallies.items():
        scores = "  ".join(f"{p} {tally.normalised(p):6.1f}" for p in PROFILES)
        print(f"{name:10} NAB {scores}")
        print(
            f"{'':10} detected {tally.detected}/{tally.windows} windows, "
            f"{tally.fp_points} false-positive samples, "
            f"{tally.fp_episodes / tally.series_days:.2f} false-alarm episodes per series-day"
        )
    ours, base = tallies["ours"], tallies["static3sd"]
    for profile in PROFILES:
        a, b = ours.normalised(profile), base.normalised(profile)
        ratio = f"{a / b:.2f}x" if b > 0 else "n/a (baseline score <= 0)"
        print(f"NAB {profile}: ours - static3sd = {a - b:+.1f} points; ratio {ratio}")
    print(
        f"windows detected: ratio ours/static3sd {ours.detected / max(base.detected, 1):.2f}x; "
        f"false-alarm episodes: ratio static3sd/ours "
        f"{base.fp_episodes / max(ours.fp_episodes, 1):.1f}x"
    )

    ours_us = per_sample_us(AnomalyDetector, data)
    ewma_us = per_sample_us(BareEwma, data)
    print(f"\nupdate() cost: {ours_us:.2f} µs/sample; bare EWMA {ewma_us:.2f} µs/sample; ", end="")
    print(f"ratio {ours_us / ewma_us:.1f}x")
    print(
        f"update() alone, one core, 15 s cadence: {15e6 / ours_us:,.0f} series "
        f"({1000 * ours_us / 15e6:.3%} of a core per 1,000 series)"
    )


if __name__ == "__main__":
    main()
