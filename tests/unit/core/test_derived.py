import math
import random

import pytest

from bot.core.derived import (
    CPU_WAIT_THRESHOLD,
    LEAK_WARN_BYTES_PER_MIN,
    MIB,
    CounterRate,
    DistributionDrift,
    LeakRate,
    LossFluctuation,
    RecallDrop,
    ThroughputDrop,
    kl_divergence,
)

GIB = 2**30
DAY = 86_400.0


# ------------------------------------------------------------------------------------ LeakRate


def leaking(minutes: float, *, rate: float, start: float = 30 * GIB, seed: int = 1):
    """Memory samples every 15 s growing at ``rate`` bytes/min, with noise and a few outliers."""
    rng = random.Random(seed)
    samples = []
    for i in range(int(minutes * 4)):
        t = 1_700_000_000.0 + 15.0 * i
        value = start + rate * (15.0 * i / 60) + rng.gauss(0, 2 * MIB)
        if i % 37 == 5:
            value += rng.choice([-1, 1]) * 500 * MIB  # a glitch either way
        samples.append((t, value))
    return samples


def test_leak_of_10_mib_per_minute_with_noise_and_outliers_is_measured_within_5_percent():
    leak = LeakRate()
    rates = [leak.update(t, v) for t, v in leaking(30, rate=LEAK_WARN_BYTES_PER_MIN)]
    assert rates[-1] == pytest.approx(LEAK_WARN_BYTES_PER_MIN, rel=0.05)
    assert LEAK_WARN_BYTES_PER_MIN == 10 * 2**20


def test_leak_rate_is_none_until_half_the_window_is_covered():
    leak = LeakRate(window_s=600)
    rates = [leak.update(t, v) for t, v in leaking(10, rate=0)]
    assert rates[: 4 * 4] == [None] * 16  # the first four minutes
    assert rates[-1] is not None
    assert abs(rates[-1]) < 1 * MIB


def test_a_restart_resets_the_window_instead_of_reporting_a_huge_negative_slope():
    leak = LeakRate()
    for t, v in leaking(20, rate=LEAK_WARN_BYTES_PER_MIN):
        leak.update(t, v)
    restart = [(t + 1200, v - 29 * GIB) for t, v in leaking(20, rate=LEAK_WARN_BYTES_PER_MIN)]
    after = [leak.update(t, v) for t, v in restart]
    assert after[1] is None  # the window restarted
    assert all(r is None or r > 0 for r in after)
    assert after[-1] == pytest.approx(LEAK_WARN_BYTES_PER_MIN, rel=0.05)


def test_a_single_low_sample_is_an_outlier_not_a_restart():
    leak = LeakRate()
    samples = leaking(20, rate=0)
    for t, v in samples:
        leak.update(t, v)
    before = leak.update(samples[-1][0] + 15, 30 * GIB)
    assert leak.update(samples[-1][0] + 30, 1 * GIB) == before
    assert leak.update(samples[-1][0] + 45, 30 * GIB) is not None


# ------------------------------------------------------------------------------- KL divergence


def test_kl_of_identical_distributions_is_zero():
    assert kl_divergence({"a": 3, "b": 1}, {"a": 30, "b": 10}) == 0.0
    assert kl_divergence([1, 2, 3], [1, 2, 3], smoothing=0) == 0.0


def test_kl_known_small_example():
    expected = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)  # 0.5108 nats
    assert kl_divergence([0.5, 0.5], [0.9, 0.1], smoothing=0) == pytest.approx(expected)
    assert kl_divergence({"x": 5, "y": 5}, {"x": 9, "y": 1}) == pytest.approx(expected, rel=1e-3)


def test_kl_with_zero_buckets_is_finite_with_smoothing_and_infinite_without():
    p, q = {"a": 1, "b": 1}, {"a": 2}
    assert kl_divergence(p, q, smoothing=0) == math.inf
    smoothed = kl_divergence(p, q)
    assert math.isfinite(smoothed)
    assert smoothed > 1.0
    # a bucket empty in p costs nothing beyond renormalisation
    assert kl_divergence({"a": 1}, {"a": 1, "b": 0}) == 0.0


@pytest.mark.parametrize(
    ("p", "message"), [({"a": -1, "b": 2}, r"p\['a'\]"), ({}, "positive total"), ([0, 0], "total")]
)
def test_kl_rejects_bad_histograms_naming_the_bucket(p, message):
    with pytest.raises(ValueError, match=message):
        kl_divergence(p, {"a": 1})


def test_distribution_drift_learns_a_reference_then_reports_kl_against_it():
    drift = DistributionDrift(reference_window=3)
    same = {"short": 60, "medium": 30, "long": 10}
    assert [drift.update(t, same) for t in (1, 2, 3)] == [None, None, None]
    assert drift.update(4, same) == pytest.approx(0.0, abs=1e-12)
    shifted = drift.update(5, {"short": 20, "medium": 30, "long": 50})
    assert shifted is not None
    assert shifted > 0.1
    assert drift.update(6, {}) == shifted  # an empty window changes nothing
    drift.rebase()
    assert drift.update(7, same) is None


# ------------------------------------------------------------------------- loss, recall, tput


def test_loss_fluctuation_is_range_over_median():
    fluctuation = LossFluctuation(window=5)
    values = [fluctuation.update(t, loss) for t, loss in enumerate([2.0, 2.02, 1.98, 2.0, 2.01])]
    assert values[:4] == [None] * 4
    assert values[-1] == pytest.approx(0.04 / 2.0)
    assert fluctuation.update(5, 2.3) == pytest.approx(0.32 / 2.01)  # a loss spike: > 5 %
    flat = LossFluctuation(window=2)
    flat.update(0, 0.0)
    assert flat.update(1, 0.0) == 0.0


def test_recall_drop_against_a_fixed_baseline():
    drop = RecallDrop(baseline=0.9)
    assert drop.update(0, 0.81) == pytest.approx(0.1)
    assert drop.update(1, 0.95) == 0.0


def test_recall_drop_learns_its_baseline_and_a_degradation_does_not_teach_itself():
    drop = RecallDrop(warmup=3)
    assert [drop.update(t, r) for t, r in enumerate([0.90, 0.92, 0.91])] == [None] * 3
    assert drop.update(3, 0.91) == 0.0
    drops = [drop.update(t, 0.728) for t in range(4, 40)]
    assert drops[-1] == pytest.approx(0.2, abs=1e-6)


def test_throughput_drop_of_40_percent_is_0_4():
    drop = ThroughputDrop()
    for i in range(200):
        value = drop.update(i * 15.0, 1000.0)
        assert value is None or value < 1e-9
    assert drop.update(200 * 15.0, 600.0) == pytest.approx(0.4)
    # a sustained drop is not learnt away within the hour
    values = [drop.update((200 + i) * 15.0, 600.0) for i in range(1, 240)]
    assert min(v or 0.0 for v in values) > 0.25


def test_throughput_drop_learns_a_nightly_dip_as_normal():
    drop = ThroughputDrop()
    night_max: list[float] = []
    for day in range(6):
        worst = 0.0
        for i in range(int(DAY / 60)):
            t = day * DAY + i * 60.0
            night = (t % DAY) < 6 * 3600
            value = drop.update(t, 400.0 if night else 1000.0)
            if night and value is not None:
                worst = max(worst, value)
        night_max.append(worst)
    assert night_max[1] > 0.3  # the first nights look like a drop …
    assert night_max[-1] < 0.1  # … until the profile has learnt them
    assert drop.update(6 * DAY + 12 * 3600, 600.0) == pytest.approx(0.4, abs=0.02)


@pytest.mark.parametrize(
    "make",
    [LeakRate, LossFluctuation, RecallDrop, ThroughputDrop],
)
def test_non_finite_and_stale_samples_are_ignored(make):
    calc = make()
    last = None
    for i in range(40):
        last = calc.update(i * 60.0, 1000.0 + i)
    assert calc.update(40 * 60.0, math.nan) == last
    assert calc.update(math.inf, 5.0) == last
    assert calc.update(0.0, 5.0) == last


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: LeakRate(window_s=0), "window_s"),
        (lambda: LeakRate(min_points=1), "min_points"),
        (lambda: DistributionDrift(reference_window=0), "reference_window"),
        (lambda: LossFluctuation(window=1), "window"),
        (lambda: RecallDrop(baseline=0), "baseline"),
        (lambda: ThroughputDrop(buckets=0), "buckets"),
    ],
)
def test_rejects_bad_parameters_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# --------------------------------------------------------------------------------- CounterRate


def test_counter_rate_is_the_increase_per_second_over_the_window():
    rate = CounterRate(window_s=60)
    out = [rate.update(1000.0 + i, 0.08 * i) for i in range(120)]  # 80 ms of CPU wait a second
    assert out[:30] == [None] * 30  # until half the window is covered
    assert out[-1] == pytest.approx(0.08)
    assert out[-1] > CPU_WAIT_THRESHOLD


def test_counter_rate_carries_a_reset_over_instead_of_a_negative_rate():
    rate = CounterRate(window_s=60)
    values = [100.0 + 0.02 * i for i in range(60)] + [0.02 * i for i in range(60)]
    out = [rate.update(1000.0 + i, v) for i, v in enumerate(values)]
    assert min(r for r in out if r is not None) >= 0
    assert out[-1] == pytest.approx(0.02, rel=0.05)  # the step across the reset counts from 0


def test_counter_rate_ignores_non_finite_and_repeated_samples():
    rate = CounterRate(window_s=10)
    for i in range(10):
        rate.update(float(i), float(i))
    assert rate.update(9.0, 1e9) == pytest.approx(1.0)  # not newer
    assert rate.update(10.0, math.nan) == pytest.approx(1.0)
    assert rate.update(math.inf, 1.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="window_s must be a positive finite number"):
        CounterRate(window_s=0)
