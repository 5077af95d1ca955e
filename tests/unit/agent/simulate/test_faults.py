import logging

import pytest

from agent.simulate import FAULT_KINDS, FaultSchedule, Fleet, ScheduledFault, parse_schedule
from agent.wire import GPU_POWER, GPU_TEMPERATURE, GPU_UTILIZATION

START = 1_700_000_000.0
STEP = 2.0


def _series(
    fleet: Fleet, node: str, gpu: int, metric: str, seconds: float
) -> list[tuple[float, float]]:
    """Return (offset, value) for one GPU's metric, collecting every node every STEP seconds."""
    out = []
    for tick in range(int(seconds / STEP)):
        for n in fleet.nodes:
            readings, _ = n.collect(START + tick * STEP)
            if n.node == node:
                out.extend(
                    (tick * STEP, r.value)
                    for r in readings
                    if r.metric == metric and r.labels["gpu"] == str(gpu)
                )
    return out


def _saturating(at_s: float, duration_s: float, ramp_s: float, seed: int = 1) -> Fleet:
    fault = ScheduledFault(at_s, duration_s, "gpu-node-2", 3, "gpu_saturation", {"ramp_s": ramp_s})
    return Fleet(nodes=2, gpus_per_node=8, seed=seed, schedule=FaultSchedule((fault,)), start=START)


@pytest.mark.parametrize("seed", range(5))
def test_saturation_crosses_095_within_ramp_and_holds_near_the_top(seed):
    series = _series(
        _saturating(20, 120, ramp_s=30, seed=seed), "gpu-node-2", 3, GPU_UTILIZATION, 140
    )

    ramp = [v for t, v in series if 20 <= t <= 50]
    held = [v for t, v in series if 50 <= t < 140]
    assert any(v > 0.95 for v in ramp)
    assert all(0.98 <= v <= 0.99 for v in held)


def test_saturation_ramps_from_the_current_value_rather_than_jumping():
    series = dict(_series(_saturating(20, 120, ramp_s=30), "gpu-node-2", 3, GPU_UTILIZATION, 60))

    assert series[20.0] < 0.85
    assert series[20.0] < series[30.0] < series[40.0] < series[50.0]


def test_saturation_drops_back_to_normal_when_it_ends():
    series = _series(_saturating(20, 60, ramp_s=10), "gpu-node-2", 3, GPU_UTILIZATION, 200)

    assert all(v < 0.85 for t, v in series if t < 20 or t >= 80)
    assert series[-1][1] < 0.85


def test_zero_ramp_saturates_at_once():
    series = dict(_series(_saturating(10, 20, ramp_s=0), "gpu-node-2", 3, GPU_UTILIZATION, 20))

    assert series[10.0] >= 0.98


def test_saturation_heats_the_gpu_and_draws_more_power():
    fleet = _saturating(60, 300, ramp_s=10)
    power = dict(_series(fleet, "gpu-node-2", 3, GPU_POWER, 360))
    fleet = _saturating(60, 300, ramp_s=10)
    temperature = dict(_series(fleet, "gpu-node-2", 3, GPU_TEMPERATURE, 360))

    assert power[300.0] > 600 > power[50.0]
    assert temperature[300.0] >= temperature[50.0] + 10


def test_saturation_leaves_other_gpus_alone():
    others = [("gpu-node-2", gpu) for gpu in (0, 1, 2, 4, 7)] + [("gpu-node-1", 3)]
    for node, gpu in others:
        series = _series(_saturating(0, 100, ramp_s=0), node, gpu, GPU_UTILIZATION, 100)
        assert all(v < 0.85 for _, v in series), (node, gpu)


def test_start_and_end_of_a_fault_are_logged_once(caplog):
    fleet = Fleet(seed=0, schedule=parse_schedule("gpu_saturation@4s+4s:node=gpu-node-1,gpu=0"))

    with caplog.at_level(logging.INFO, logger="agent.simulate.fleet"):
        for tick in range(8):
            fleet.nodes[0].collect(START + tick * STEP)

    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "simulated fault began: gpu_saturation@4s+4s:node=gpu-node-1,gpu=0,ramp_s=30,util=0.985",
        "simulated fault ended: gpu_saturation@4s+4s:node=gpu-node-1,gpu=0,ramp_s=30,util=0.985",
    ]


@pytest.mark.parametrize("kind", sorted(FAULT_KINDS))
def test_every_kind_declares_defaults_inside_their_ranges(kind):
    for name, param in FAULT_KINDS[kind].params.items():
        assert param.low <= param.default <= param.high, name
        assert param.meaning, name
