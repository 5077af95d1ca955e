import re
import statistics

import pytest

from agent.errors import ConfigError, ScheduleError
from agent.simulate import FaultSchedule, Fleet, ScheduledFault, gpu_uuid
from agent.simulate.fleet import H100_MEMORY_TOTAL_BYTES, H100_MODEL
from agent.wire import (
    GPU_MEMORY_TOTAL,
    GPU_MEMORY_USED,
    GPU_POWER,
    GPU_SM_CLOCK,
    GPU_TEMPERATURE,
    GPU_UTILIZATION,
    Reading,
)

START = 1_700_000_000.0
METRICS = {
    GPU_UTILIZATION,
    GPU_MEMORY_USED,
    GPU_MEMORY_TOTAL,
    GPU_TEMPERATURE,
    GPU_POWER,
    GPU_SM_CLOCK,
}


def _run(fleet: Fleet, *, seconds: float, step: float = 2.0) -> list[tuple[str, Reading]]:
    out: list[tuple[str, Reading]] = []
    for tick in range(int(seconds / step)):
        for node in fleet.nodes:
            readings, events = node.collect(START + tick * step)
            assert events == []
            out.extend((node.node, r) for r in readings)
    return out


def _uuids(readings: list[tuple[str, Reading]]) -> set[str]:
    return {r.labels["uuid"] for _, r in readings if "uuid" in r.labels}


def _values(readings: list[tuple[str, Reading]], metric: str) -> list[float]:
    return [r.value for _, r in readings if r.metric == metric]


def test_fleet_has_named_nodes_each_with_its_gpus():
    fleet = Fleet(nodes=3, gpus_per_node=4, seed=1)

    assert [n.node for n in fleet.nodes] == ["gpu-node-1", "gpu-node-2", "gpu-node-3"]
    assert {n.gpu_count for n in fleet.nodes} == {4}


def test_every_gpu_reports_every_metric_once_per_tick_with_its_labels():
    fleet = Fleet(nodes=2, gpus_per_node=8, seed=1)

    readings, _ = fleet.nodes[1].collect(START)
    per_gpu = [r for r in readings if "gpu" in r.labels]

    assert len(per_gpu) == 8 * len(METRICS)
    for gpu in range(8):
        mine = [r for r in per_gpu if r.labels["gpu"] == str(gpu)]
        assert {r.metric for r in mine} == METRICS
        assert {r.labels["uuid"] for r in mine} == {gpu_uuid("gpu-node-2", gpu)}
        assert {r.labels["model_name"] for r in mine} == {H100_MODEL}
        assert {r.ts for r in mine} == {START}


def test_readings_stay_in_realistic_ranges_without_faults():
    readings = _run(Fleet(nodes=2, gpus_per_node=8, seed=7), seconds=1200)

    assert all(0.0 <= v < 0.85 for v in _values(readings, GPU_UTILIZATION))
    assert set(_values(readings, GPU_MEMORY_TOTAL)) == {float(H100_MEMORY_TOTAL_BYTES)}
    used = _values(readings, GPU_MEMORY_USED)
    assert all(0.85 * H100_MEMORY_TOTAL_BYTES < v < H100_MEMORY_TOTAL_BYTES for v in used)
    assert all(25 <= v <= 95 for v in _values(readings, GPU_TEMPERATURE))
    assert all(60 <= v <= 700 for v in _values(readings, GPU_POWER))
    assert all(345e6 <= v <= 1980e6 for v in _values(readings, GPU_SM_CLOCK))


def test_utilisation_wanders_around_each_gpus_own_level():
    readings = _run(Fleet(nodes=1, gpus_per_node=8, seed=3), seconds=1800)
    by_gpu: dict[str, list[float]] = {}
    for _, r in readings:
        if r.metric == GPU_UTILIZATION:
            by_gpu.setdefault(r.labels["gpu"], []).append(r.value)

    for series in by_gpu.values():
        assert 0.3 < statistics.fmean(series) < 0.8
        assert statistics.stdev(series) > 0.01
        assert len(set(series)) > len(series) / 2


def test_power_rises_with_utilisation():
    readings = _run(Fleet(nodes=1, gpus_per_node=8, seed=5), seconds=600)

    correlation = statistics.correlation(
        _values(readings, GPU_UTILIZATION), _values(readings, GPU_POWER)
    )

    assert correlation > 0.9


def test_same_seed_gives_the_same_readings():
    first = _run(Fleet(seed=42), seconds=60)
    second = _run(Fleet(seed=42), seconds=60)

    assert first == second


def test_different_seeds_give_different_readings_but_the_same_gpu_identities():
    first = _run(Fleet(seed=1), seconds=10)
    second = _run(Fleet(seed=2), seconds=10)

    assert _values(first, GPU_UTILIZATION) != _values(second, GPU_UTILIZATION)
    assert _uuids(first) == _uuids(second)


def test_gpu_uuids_are_unique_across_the_fleet():
    fleet = Fleet(nodes=4, gpus_per_node=8, seed=0)
    uuids = _uuids([(node.node, r) for node in fleet.nodes for r in node.collect(START)[0]])

    assert len(uuids) == 32
    assert all(u.startswith("GPU-") for u in uuids)


def test_fault_times_count_from_the_first_collection_unless_start_is_given():
    assert Fleet(seed=0).offset(START + 5) == 0.0
    assert Fleet(seed=0, start=START).offset(START + 5) == 5.0


@pytest.mark.parametrize(
    ("nodes", "gpus", "message"),
    [
        (0, 8, "nodes must be between 1 and 256, got 0"),
        (2, 0, "gpus per node must be between 1 and 16, got 0"),
        (2, 17, "gpus per node must be between 1 and 16, got 17"),
    ],
)
def test_refuses_fleet_sizes_out_of_range(nodes, gpus, message):
    with pytest.raises(ConfigError, match=message):
        Fleet(nodes=nodes, gpus_per_node=gpus)


def test_refuses_a_fault_on_a_node_the_fleet_lacks():
    schedule = FaultSchedule((ScheduledFault(0, 10, "gpu-node-5", 0, "gpu_saturation"),))

    with pytest.raises(
        ScheduleError,
        match=re.escape(
            "fault 1: node 'gpu-node-5' is not in the simulated fleet (gpu-node-1 ... gpu-node-2)"
        ),
    ):
        Fleet(nodes=2, schedule=schedule)


def test_refuses_a_fault_on_a_gpu_the_node_lacks():
    schedule = FaultSchedule((ScheduledFault(0, 10, "gpu-node-1", 8, "gpu_saturation"),))

    with pytest.raises(ScheduleError, match="fault 1: gpu-node-1 has GPUs 0-7, not gpu 8"):
        Fleet(nodes=2, gpus_per_node=8, schedule=schedule)
