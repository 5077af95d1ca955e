import copy
import math
import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.anomaly import DEFAULT_ALERT_THRESHOLD, AnomalyDetector

STEP = 15.0  # seconds between samples
DAY = 86_400.0


def warmed(seed: int = 1, n: int = 400, level: float = 0.5, sd: float = 0.02):
    """A detector that has seen ``n`` normal samples; returns it, the last timestamp and rng."""
    rng = random.Random(seed)
    detector = AnomalyDetector()
    t = 1_700_000_000.0
    for _ in range(n):
        t += STEP
        detector.update(t, level + rng.gauss(0, sd))
    return detector, t, rng


def state_size(detector: AnomalyDetector) -> int:
    """Bytes held by the detector's slots, counting the contents of its lists."""
    total = sys.getsizeof(detector)
    for name in type(detector).__slots__:
        value = getattr(detector, name)
        total += sys.getsizeof(value)
        if isinstance(value, list):
            total += sum(sys.getsizeof(item) for item in value)
    return total


def test_scores_zero_during_warmup__even_for_wild_values():
    detector = AnomalyDetector(warmup=30)
    scores = [detector.update(i * STEP, 1e6 if i == 10 else 0.5) for i in range(30)]
    assert scores == [0.0] * 30
    assert detector.warmed_up


def test_scores_stay_low_for_normal_noise():
    detector, t, rng = warmed()
    scores = [detector.update(t + i * STEP, 0.5 + rng.gauss(0, 0.02)) for i in range(1, 2000)]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert sum(s >= DEFAULT_ALERT_THRESHOLD for s in scores) == 0


def test_spike_scores_above_threshold__scored_against_the_past_only():
    detector, t, _ = warmed()  # level 0.5, sd 0.02
    before = copy.deepcopy(detector)
    spike = 0.6  # about five sigmas: high, but short of saturating at 1.0
    score = detector.update(t + STEP, spike)
    assert DEFAULT_ALERT_THRESHOLD <= score < 1.0
    # the same score as a read-only look at the model before the spike was learnt
    assert before.score(t + STEP, spike) == score
    # and a model that had learnt the spike first would have scored it lower
    learnt_first = copy.deepcopy(before)
    learnt_first.update(t + STEP, spike)
    assert learnt_first.score(t + STEP + 1, spike) < score


def test_outlier_does_not_poison_the_baseline():
    detector, t, rng = warmed()
    assert detector.update(t + STEP, 50.0) >= DEFAULT_ALERT_THRESHOLD
    after = [detector.update(t + i * STEP, 0.5 + rng.gauss(0, 0.02)) for i in range(2, 12)]
    assert max(after) < 0.5
    # a second identical outlier is still an outlier
    assert detector.update(t + 12 * STEP, 50.0) >= DEFAULT_ALERT_THRESHOLD


@pytest.mark.parametrize("shift", [0.3, -0.3, 5.0])
def test_learnt_level_shift_decays_below_threshold_within_bounded_samples(shift):
    detector, t, rng = warmed()
    scores = [
        detector.update(t + i * STEP, 0.5 + shift + rng.gauss(0, 0.02)) for i in range(1, 200)
    ]
    assert scores[0] >= DEFAULT_ALERT_THRESHOLD
    bound = 8 + 1  # adopt_after + 1
    assert max(scores[bound:]) < DEFAULT_ALERT_THRESHOLD


def daily_peak(t: float, rng: random.Random) -> float:
    """0.3 all day, 0.8 between 14:00 and 15:00 UTC, plus noise."""
    hour = (t % DAY) / 3600
    return (0.8 if 14 <= hour < 15 else 0.3) + rng.gauss(0, 0.02)


def test_daily_peak_at_its_usual_hour_scores_low__the_same_value_at_another_hour_high():
    rng = random.Random(7)
    detector = AnomalyDetector()
    t, step = 0.0, 60.0
    peak_scores: list[list[float]] = []
    for _day in range(5):
        today = []
        for _ in range(int(DAY / step)):
            t += step
            score = detector.update(t, daily_peak(t, rng))
            if 14 <= (t % DAY) / 3600 < 15:
                today.append(score)
        peak_scores.append(today)
    assert max(peak_scores[0]) >= DEFAULT_ALERT_THRESHOLD  # new the first time
    assert max(peak_scores[-1]) < 0.5  # learnt after a few days
    while (t % DAY) / 3600 < 3:  # day 6, 03:00
        t += step
        detector.update(t, daily_peak(t, rng))
    assert detector.update(t + step, 0.8) >= DEFAULT_ALERT_THRESHOLD


def test_constant_series_does_not_divide_by_zero__and_a_change_scores_high():
    detector = AnomalyDetector()
    scores = [detector.update(i * STEP, 42.0) for i in range(500)]
    assert scores[-1] == 0.0
    # whole units (as NVML reports degrees): one unit is one sigma, several are a surprise
    assert detector.score(500 * STEP, 43.0) < 0.2
    assert detector.update(500 * STEP, 48.0) >= DEFAULT_ALERT_THRESHOLD
    continuous = AnomalyDetector()  # more decimals than a reading unit: no resolution floor
    assert [continuous.update(i * STEP, 42.123456789) for i in range(500)][-1] == 0.0
    assert continuous.update(500 * STEP, 42.2) == pytest.approx(1.0)
    zeros = AnomalyDetector()
    assert [zeros.update(i * STEP, 0.0) for i in range(100)][-1] == 0.0
    assert 0.0 <= zeros.update(100 * STEP, 1e-12) <= 1.0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_input_returns_last_score_and_learns_nothing(bad):
    detector, t, _ = warmed()
    untouched = copy.deepcopy(detector)
    last = detector.update(t + STEP, 0.9)
    untouched.update(t + STEP, 0.9)
    assert detector.update(t + 2 * STEP, bad) == last
    assert detector.update(math.nan, 0.5) == last
    assert detector.update(t + 3 * STEP, 0.51) == untouched.update(t + 3 * STEP, 0.51)


def test_gap_and_repeated_timestamps():
    detector, t, _ = warmed()
    # a normal value after six silent hours is not an anomaly
    assert detector.update(t + 6 * 3600, 0.5) < 0.5
    # a repeated or older timestamp is scored but not learnt
    clone = copy.deepcopy(detector)
    assert detector.update(t + 6 * 3600, 0.9) >= DEFAULT_ALERT_THRESHOLD
    assert detector.update(t, 0.9) >= DEFAULT_ALERT_THRESHOLD
    assert detector.update(t + 6 * 3600 + STEP, 0.5) == clone.update(t + 6 * 3600 + STEP, 0.5)


def test_memory_stays_constant_over_100k_updates():
    rng = random.Random(3)
    detector = AnomalyDetector()
    t = 0.0
    for _ in range(1_000):
        t += rng.uniform(1, 120)
        detector.update(t, rng.gauss(10, 1))
    size = state_size(detector)
    for _ in range(100_000):
        t += rng.uniform(1, 120)
        detector.update(t, rng.gauss(10, 1) + (100 if rng.random() < 0.001 else 0))
    assert state_size(detector) == size
    assert len(detector._season) == 24


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"warmup": 0}, "warmup"), ({"fast_tau_s": -1}, "fast_tau_s"), ({"buckets": 0}, "buckets")],
)
def test_rejects_bad_tunables_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        AnomalyDetector(**kwargs)


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1e6, allow_nan=False), finite), min_size=1, max_size=80))
def test_any_finite_sequence_scores_in_unit_interval(steps):
    detector = AnomalyDetector(warmup=3, adopt_after=2)
    t = 0.0
    for dt, value in steps:
        t += dt
        assert 0.0 <= detector.update(t, value) <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(), st.floats()), min_size=1, max_size=60))
def test_any_input_at_all_never_raises(samples):
    detector = AnomalyDetector(warmup=2, adopt_after=2)
    for t, value in samples:
        assert 0.0 <= detector.update(t, value) <= 1.0
        assert 0.0 <= detector.score(t, value) <= 1.0
