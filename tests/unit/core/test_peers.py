import math

import pytest

from bot.core.alerts import Level, TransitionKind
from bot.core.peers import (
    DEFAULT_PEER_RULES,
    Direction,
    PeerOutliers,
    PeerRule,
    Snapshot,
    robust_z,
    snapshots,
)
from bot.core.signals import Sample, SeriesKey

UTIL = "gpuwarden_gpu_utilization_ratio"
RULE = PeerRule("straggler", UTIL, enter_z=3.5, exit_z=2.0, for_samples=3, mad_floor=0.02)


def node_util(straggler: float | None, *, gpus: int = 8, busy: float = 0.95) -> dict[str, float]:
    """Eight GPUs at ``busy`` with a little jitter; GPU 3 at ``straggler`` if given."""
    values = {str(i): busy + (0.01 if i % 2 else -0.01) for i in range(gpus)}
    if straggler is not None:
        values["3"] = straggler
    return values


def run(detector: PeerOutliers, series: list[dict[str, float]], *, step: float = 10.0):
    out = []
    for i, values in enumerate(series):
        for t in detector.observe("n1", UTIL, values, i * step):
            out.append((i, t.kind.value, t.alert.label("gpu")))
    return out


def test_straggler_fires_after_its_for_samples():
    detector = PeerOutliers((RULE,))
    assert run(detector, [node_util(0.40)] * 3) == [(2, "fired", "3")]
    (alert,) = detector.firing()
    assert alert.rule == "straggler"
    assert alert.labels == (("node", "n1"), ("gpu", "3"))
    assert alert.level is Level.WARN
    assert alert.value < -3.5
    assert "vs node median" in alert.summary
    assert not detector.delivery(alert).pages


@pytest.mark.parametrize(
    "values",
    [
        node_util(None),  # uniform load with jitter
        node_util(None, busy=0.0),  # an idle node: all zero, MAD zero
        {str(i): 1.0 for i in range(8)},  # saturated: MAD zero, floor keeps z finite
        node_util(0.93),  # inside the MAD floor
    ],
)
def test_uniform_load_is_not_an_outlier(values):
    assert run(PeerOutliers((RULE,)), [values] * 5) == []


@pytest.mark.parametrize("gpus", [1, 2, 3])
def test_fewer_than_four_gpus_are_not_compared(gpus):
    values = {str(i): 0.95 for i in range(gpus)}
    values["0"] = 0.1
    assert run(PeerOutliers((RULE,)), [values] * 5) == []


def test_four_gpus_are_enough():
    values = {"0": 0.95, "1": 0.96, "2": 0.94, "3": 0.10}
    assert run(PeerOutliers((RULE,)), [values] * 3) == [(2, "fired", "3")]


@pytest.mark.parametrize(
    ("stragglers", "expected"),
    [
        # a run broken before three snapshots starts again
        ([0.4, 0.4, None, 0.4, 0.4], []),
        # between exit (2.0) and enter (3.5) keeps it firing: z(0.87) ≈ -2.4
        ([0.4, 0.4, 0.4, 0.87, 0.87], [(2, "fired", "3")]),
        # at or below exit it resolves
        ([0.4, 0.4, 0.4, 0.87, 0.94], [(2, "fired", "3"), (4, "resolved", "3")]),
        # entering needs z >= 3.5: z(0.84) ≈ -3.4 does not fire
        ([0.84] * 5, []),
    ],
)
def test_hysteresis(stragglers, expected):
    series = [node_util(s) for s in stragglers]
    assert run(PeerOutliers((RULE,)), series) == expected


def test_for_seconds_is_honoured_besides_samples():
    rule = PeerRule("straggler", UTIL, for_samples=1, for_s=30.0, mad_floor=0.02)
    assert run(PeerOutliers((rule,)), [node_util(0.4)] * 5) == [(3, "fired", "3")]


@pytest.mark.parametrize(
    ("direction", "value", "fires"),
    [
        (Direction.LOW, 0.10, True),
        (Direction.LOW, 1.60, False),  # high is fine for a straggler rule
        (Direction.HIGH, 1.60, True),
        (Direction.HIGH, 0.10, False),
        (Direction.BOTH, 0.10, True),
        (Direction.BOTH, 1.60, True),
    ],
)
def test_direction_decides_which_side_is_bad(direction, value, fires):
    rule = PeerRule("outlier", UTIL, direction, for_samples=1, mad_floor=0.02)
    assert bool(run(PeerOutliers((rule,)), [node_util(value)])) is fires


def test_each_rule_watches_only_its_metric_and_defaults_cover_clock_and_power():
    detector = PeerOutliers()
    clocks = {str(i): 1.98e9 for i in range(8)} | {"5": 1.1e9}
    fired = [
        t
        for now in (0.0, 60.0, 120.0)  # the defaults want two minutes before they report
        for t in detector.observe("n1", "gpuwarden_gpu_sm_clock_hertz", clocks, now)
    ]
    assert [(t.alert.rule, t.alert.label("gpu")) for t in fired] == [
        ("gpu_straggler_sm_clock", "5")
    ]
    assert detector.observe("n1", "gpuwarden_gpu_temperature_celsius", clocks, 3.0) == []
    assert {r.metric for r in DEFAULT_PEER_RULES} == {
        UTIL,
        "gpuwarden_gpu_sm_clock_hertz",
        "gpuwarden_gpu_power_usage_watts",
    }


def test_restored_alert_resolves_instead_of_firing_again():
    first = PeerOutliers((RULE,))
    run(first, [node_util(0.4)] * 3)
    (alert,) = first.firing()
    second = PeerOutliers((RULE,))
    second.restore(alert)
    transitions = second.observe("n1", UTIL, node_util(None), 100.0)
    assert [t.kind for t in transitions] == [TransitionKind.RESOLVED]


@pytest.mark.parametrize(
    ("value", "median", "scale", "z"),
    [
        (1.0, 1.0, 0.0, 0.0),
        (2.0, 1.0, 0.0, math.inf),
        (0.0, 1.0, 0.0, -math.inf),
        (1.6745, 1.0, 0.6745, 0.6745),
    ],
)
def test_robust_z(value, median, scale, z):
    assert robust_z(value, median, scale) == pytest.approx(z)


def test_snapshots_group_samples_by_node_and_metric():
    samples = [
        Sample(SeriesKey.of(UTIL, {"node": "n1", "gpu": str(g)}), 10.0 + g, 0.9) for g in range(3)
    ]
    samples.append(Sample(SeriesKey.of(UTIL, {"node": "n1"}), 10.0, 0.9))  # no gpu: skipped
    assert snapshots(samples) == [Snapshot("n1", UTIL, {"0": 0.9, "1": 0.9, "2": 0.9}, 12.0)]


def test_exit_must_be_below_enter():
    with pytest.raises(ValueError, match="exit_z < enter_z"):
        PeerRule("bad", UTIL, enter_z=2.0, exit_z=3.0)
