import pytest

from bot.core.alerts import AlertState, TransitionKind
from bot.core.signals import Sample, SeriesKey
from bot.core.thresholds import Direction, Evaluator, ThresholdRule

RULE = ThresholdRule(
    name="gpu_utilization_high",
    metric="util",
    warn=0.85,
    crit=0.95,
    recover=0.75,
    for_warn_s=30,
    for_crit_s=10,
    group_by=("node", "gpu"),
    summary="GPU {gpu} on {node} at {value:.0%}",
)
SERIES = SeriesKey.of("util", {"node": "n1", "gpu": "3"})


def feed(evaluator: Evaluator, points: list[tuple[float, float]]) -> list[tuple[float, str, str]]:
    out = []
    for ts, value in points:
        for t in evaluator.observe(Sample(SERIES, ts, value)):
            out.append((ts, t.kind.value, t.alert.level.value))
    return out


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        # below warn: nothing
        ([(0, 0.5), (60, 0.8)], []),
        # above warn but not for 30 s: nothing
        ([(0, 0.9), (20, 0.9), (25, 0.5)], []),
        # above warn for 30 s: fires warn
        ([(0, 0.9), (15, 0.9), (30, 0.9)], [(30, "fired", "warn")]),
        # above crit for 10 s fires crit straight away (crit's own `for`)
        ([(0, 0.97), (5, 0.97), (10, 0.98)], [(10, "fired", "crit")]),
        # warn first, then crit → escalated
        (
            [(0, 0.9), (30, 0.9), (40, 0.96), (50, 0.96)],
            [(30, "fired", "warn"), (50, "escalated", "crit")],
        ),
        # crit falls below warn but above recover → deescalated, not resolved
        ([(0, 0.97), (10, 0.97), (20, 0.8)], [(10, "fired", "crit"), (20, "deescalated", "warn")]),
        # value hysteresis: dipping between recover and warn keeps it firing; recover resolves
        (
            [(0, 0.9), (30, 0.9), (40, 0.8), (50, 0.86), (60, 0.75)],
            [(30, "fired", "warn"), (60, "resolved", "warn")],
        ),
        # a run broken by a dip restarts the `for` clock
        ([(0, 0.9), (20, 0.7), (25, 0.9), (50, 0.9), (55, 0.9)], [(55, "fired", "warn")]),
    ],
)
def test_threshold_transitions(points, expected):
    assert feed(Evaluator((RULE,)), points) == expected


def test_fired_alert_carries_identifying_labels_and_summary():
    evaluator = Evaluator((RULE,))
    feed(evaluator, [(0, 0.97)])
    (transition,) = evaluator.observe(Sample(SERIES, 10, 0.98))
    assert transition.kind is TransitionKind.FIRED
    assert transition.alert.labels == (("node", "n1"), ("gpu", "3"))
    assert transition.alert.summary == "GPU 3 on n1 at 98%"
    assert transition.alert.state is AlertState.FIRING
    assert transition.alert.started_at == 0


def test_restored_alert_resolves_instead_of_firing_again():
    first = Evaluator((RULE,))
    feed(first, [(0, 0.97)])
    (fired,) = first.observe(Sample(SERIES, 10, 0.98))
    second = Evaluator((RULE,))
    second.restore(fired.alert)
    assert feed(second, [(20, 0.97), (40, 0.97), (50, 0.7)]) == [(50, "resolved", "crit")]


def test_other_metrics_and_unmatched_labels_are_ignored():
    rule = ThresholdRule(
        name="r", metric="util", warn=0.5, crit=0.6, recover=0.4, match=(("gpu", "0"),)
    )
    evaluator = Evaluator((rule,))
    assert evaluator.observe(Sample(SeriesKey.of("temp", {"gpu": "0"}), 1, 0.99)) == []
    assert evaluator.observe(Sample(SeriesKey.of("util", {"gpu": "1"}), 1, 0.99)) == []
    assert len(evaluator.observe(Sample(SeriesKey.of("util", {"gpu": "0"}), 1, 0.99))) == 1


@pytest.mark.parametrize(("warn", "crit", "recover"), [(0.9, 0.8, 0.7), (0.8, 0.9, 0.8)])
def test_rule_refuses_unordered_thresholds(warn, crit, recover):
    with pytest.raises(ValueError, match="recover < warn <= crit"):
        ThresholdRule(name="r", metric="m", warn=warn, crit=crit, recover=recover)


# lower is worse: a hit ratio, warn at 0.6 or below for 30 s, crit at 0.4 or below for 10 s
LOW = ThresholdRule(
    name="cache_hits_low",
    metric="util",
    direction=Direction.BELOW,
    warn=0.6,
    crit=0.4,
    recover=0.7,
    for_warn_s=30,
    for_crit_s=10,
    group_by=("node", "gpu"),
)


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        # above warn (the good side): nothing, however high
        ([(0, 0.9), (60, 0.65), (90, 1.0)], []),
        # at or below warn but not for 30 s: nothing
        ([(0, 0.6), (20, 0.5), (25, 0.8)], []),
        # at or below warn for 30 s: fires warn (warn is inclusive)
        ([(0, 0.6), (15, 0.55), (30, 0.6)], [(30, "fired", "warn")]),
        # at or below crit for 10 s fires crit straight away (crit's own `for`)
        ([(0, 0.3), (5, 0.3), (10, 0.4)], [(10, "fired", "crit")]),
        # warn first, then crit → escalated
        (
            [(0, 0.5), (30, 0.5), (40, 0.3), (50, 0.3)],
            [(30, "fired", "warn"), (50, "escalated", "crit")],
        ),
        # crit rises above warn but stays below recover → deescalated, not resolved
        ([(0, 0.3), (10, 0.3), (20, 0.65)], [(10, "fired", "crit"), (20, "deescalated", "warn")]),
        # value hysteresis: between warn and recover keeps it firing; recover resolves (inclusive)
        (
            [(0, 0.5), (30, 0.5), (40, 0.65), (50, 0.69), (60, 0.7)],
            [(30, "fired", "warn"), (60, "resolved", "warn")],
        ),
        # a run broken by a rise restarts the `for` clock
        ([(0, 0.5), (20, 0.8), (25, 0.5), (50, 0.5), (55, 0.5)], [(55, "fired", "warn")]),
    ],
)
def test_threshold_transitions_where_lower_is_worse(points, expected):
    assert feed(Evaluator((LOW,)), points) == expected


def test_an_up_signal_going_down_fires_crit_at_once_and_resolves_when_up_again():
    up = ThresholdRule(
        name="model_unavailable",
        metric="util",
        direction=Direction.BELOW,
        warn=0.5,
        crit=0.5,
        recover=1.0,
        group_by=("node",),
    )
    assert feed(Evaluator((up,)), [(0, 1), (1, 0), (2, 0), (3, 1), (4, 1)]) == [
        (1, "fired", "crit"),
        (3, "resolved", "crit"),
    ]


@pytest.mark.parametrize(
    ("direction", "warn", "crit", "recover", "expected"),
    [
        (Direction.ABOVE, 0.9, 0.8, 0.7, "recover < warn <= crit"),
        (Direction.ABOVE, 0.8, 0.9, 0.8, "recover < warn <= crit"),
        (Direction.ABOVE, 0.5, 0.5, 1.0, "recover < warn <= crit"),  # an up/down rule, not below
        (Direction.BELOW, 0.5, 0.6, 1.0, "crit <= warn < recover"),
        (Direction.BELOW, 0.5, 0.4, 0.5, "crit <= warn < recover"),
        (Direction.BELOW, 0.8, 0.9, 0.7, "crit <= warn < recover"),
    ],
)
def test_rule_refuses_values_out_of_order_for_its_direction(
    direction, warn, crit, recover, expected
):
    with pytest.raises(ValueError, match=f"rule 'r': expected {expected}"):
        ThresholdRule(
            name="r", metric="m", direction=direction, warn=warn, crit=crit, recover=recover
        )
