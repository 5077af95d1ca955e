"""Derived-signal rules: every kind turns samples of one metric into samples of another."""

from __future__ import annotations

import math

import pytest

from bot.core.derived import MIB
from bot.core.derived_rules import KINDS, Derivations, DerivedRule
from bot.core.engine import AlertEngine, EngineConfig
from bot.core.signals import Sample, SeriesKey
from bot.core.thresholds import ThresholdRule

T0 = 1_800_000_000.0
LABELS = {"node": "n1", "job": "pretrain"}


def run(kind: str, values: list[float], *, step: float = 60.0) -> list[Sample]:
    """Feed ``values`` (one per ``step``) of metric ``m`` through one rule of ``kind``."""
    derivations = Derivations((DerivedRule("r", kind, "m", "out"),))
    series = SeriesKey.of("m", LABELS)
    out: list[Sample] = []
    for i, value in enumerate(values):
        out += derivations.feed(Sample(series, T0 + step * i, value))
        out += derivations.flush()
    return out


def test_leak_rate_gives_bytes_per_minute_under_the_inputs_labels():
    out = run("leak_rate", [30 * 2**30 + 5 * MIB * i for i in range(40)], step=15.0)  # 20 MiB/min
    assert out[-1].series == SeriesKey.of("out", LABELS)
    assert out[-1].value == pytest.approx(20 * MIB)


def test_rate_gives_a_counters_increase_per_second_across_a_reset():
    # CPU pressure: 60 ms of waiting per second, then the agent restarts and counts from 0
    counter = [0.06 * i for i in range(60)] + [0.06 * i for i in range(1, 60)]
    out = run("rate", counter, step=1.0)
    assert out[0].ts == T0 + 30  # none until half the minute is covered
    assert all(s.value == pytest.approx(0.06, abs=1e-3) for s in out if s.ts < T0 + 60)
    assert min(s.value for s in out) > 0.05  # the reset does not count as a fall
    assert out[-1].value == pytest.approx(0.06, rel=0.05)


def test_loss_fluctuation_is_the_range_over_the_median_of_the_last_20_losses():
    steady = [2.0 + 0.01 * (i % 2) for i in range(20)]
    out = run("loss_fluctuation", [*steady, 2.3])
    assert out[0].value == pytest.approx(0.01 / 2.0, rel=0.01)
    assert out[-1].value == pytest.approx((2.3 - 2.0) / 2.0, rel=0.01)  # past the seed's 5 %


def test_recall_drop_is_the_fractional_drop_below_the_learnt_baseline():
    out = run("recall_drop", [0.9] * 5 + [0.9, 0.72])
    assert [round(s.value, 3) for s in out] == [0.0, 0.2]


def test_throughput_drop_is_the_fractional_drop_below_the_baseline():
    out = run("throughput_drop", [9000.0] * 30 + [5400.0])
    assert out[-1].value == pytest.approx(0.4, abs=0.02)  # the seed's P2 is a drop past 30 %


REFERENCE = [0.5, 0.3, 0.15, 0.05]
DRIFTED = [0.2, 0.3, 0.3, 0.2]


def histogram(shares: list[float], ts: float, model: str = "ds") -> list[Sample]:
    return [
        Sample(SeriesKey.of("share", {"model_name": model, "bucket": str(i)}), ts, share)
        for i, share in enumerate(shares)
    ]


def kl(p: list[float], q: list[float]) -> float:
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))


def test_kl_divergence_reads_the_buckets_of_one_timestamp_as_one_histogram():
    derivations = Derivations((DerivedRule("drift", "kl_divergence", "share", "kl"),))
    out: list[Sample] = []
    for i in range(12):  # the first 10 histograms are the reference
        shares = REFERENCE if i < 11 else DRIFTED
        for sample in histogram(shares, T0 + 60 * i):
            assert derivations.feed(sample) == []  # nothing before the batch ends
        out += derivations.flush()
    assert [s.ts for s in out] == [T0 + 600, T0 + 660]
    assert {s.series for s in out} == {SeriesKey.of("kl", {"model_name": "ds"})}  # no bucket
    assert out[0].value == pytest.approx(0.0, abs=1e-3)
    assert out[1].value == pytest.approx(kl(DRIFTED, REFERENCE), rel=0.01)
    assert out[1].value > 0.1  # the seed's drift threshold


def test_a_newer_histogram_completes_the_last_one_without_waiting_for_the_batch_end():
    derivations = Derivations((DerivedRule("drift", "kl_divergence", "share", "kl"),))
    samples = [s for i in range(11) for s in histogram(REFERENCE, T0 + 60 * i)]
    out = [d for s in samples for d in derivations.feed(s)]  # one batch, a backlog
    assert len(out) == 0  # ten histograms learnt the reference …
    assert [s.ts for s in derivations.flush()] == [T0 + 600]  # … the eleventh is measured


def test_each_model_has_its_own_histogram_and_reference():
    derivations = Derivations((DerivedRule("drift", "kl_divergence", "share", "kl"),))
    out: list[Sample] = []
    for i in range(11):
        for sample in histogram(REFERENCE, T0 + i, "a") + histogram(DRIFTED, T0 + i, "b"):
            derivations.feed(sample)
        out += derivations.flush()
    assert sorted(s.series.label("model_name") for s in out) == ["a", "b"]
    assert all(s.value == pytest.approx(0.0, abs=1e-3) for s in out)


def test_match_labels_select_the_series_a_rule_reads():
    rule = DerivedRule("r", "rate", "m", "out", match=(("job", "pretrain"),))
    derivations = Derivations((rule,))
    other = SeriesKey.of("m", {"job": "eval"})
    assert all(derivations.feed(Sample(other, T0 + i, float(i))) == [] for i in range(60))


def test_an_unknown_kind_is_refused_with_the_kinds_there_are():
    with pytest.raises(ValueError, match="unknown kind 'median'"):
        DerivedRule("r", "median", "m", "out")
    assert set(KINDS) == {
        "leak_rate",
        "rate",
        "loss_fluctuation",
        "recall_drop",
        "throughput_drop",
        "kl_divergence",
    }


def test_the_engine_alerts_on_a_drifted_output_distribution():
    rule = ThresholdRule(
        name="output_distribution_drift",
        metric="kl",
        warn=0.1,
        crit=0.5,
        recover=0.05,
        group_by=("model_name",),
    )
    engine = AlertEngine(
        EngineConfig(
            thresholds=(rule,),
            derived=(DerivedRule("drift", "kl_divergence", "share", "kl"),),
        )
    )
    fired = []
    for i in range(13):
        ts = T0 + 60 * i
        shares = REFERENCE if i < 11 else DRIFTED
        out = engine.observe_batch(node="n1", samples=histogram(shares, ts), events=[], now=ts)
        fired += [(n.transition.kind.value, n.transition.alert.labels) for n in out.notify]
    assert fired == [("fired", (("model_name", "ds"),))]
