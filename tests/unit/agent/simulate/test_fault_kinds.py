"""Each fault kind beyond saturation, through the fleet as the agent collects it."""

import pytest

from agent.collectors.nvml_gpu import GPU_CLOCK_EVENT, GPU_UP
from agent.collectors.nvml_health import GPU_PROCESS_MEMORY, GPU_REMAPPED_ROWS_PENDING
from agent.collectors.xid_events import LAST_XID, XID_ERRORS
from agent.errors import ScheduleError
from agent.simulate import FaultSchedule, Fleet, ScheduledFault, parse_schedule
from agent.simulate.fleet import gpu_pci
from agent.urgent import UrgentEvents
from agent.wire import (
    GPU_MEMORY_USED,
    GPU_POWER,
    GPU_SM_CLOCK,
    GPU_TEMPERATURE,
    GPU_UTILIZATION,
    NodeEvent,
    Reading,
)

START = 1_700_000_000.0
STEP = 2.0
MIB = 1024**2


def _fleet(text: str, **kw: int) -> Fleet:
    return Fleet(nodes=2, gpus_per_node=4, seed=kw.pop("seed", 1), schedule=parse_schedule(text))


def _ticks(fleet: Fleet, seconds: float) -> list[tuple[float, str, list[Reading], list[NodeEvent]]]:
    out = []
    for tick in range(int(seconds / STEP)):
        for node in fleet.nodes:
            readings, events = node.collect(START + tick * STEP)
            out.append((tick * STEP, node.node, list(readings), list(events)))
    return out


def _series(fleet: Fleet, metric: str, seconds: float, *, node="gpu-node-1", gpu=0, **labels):
    return {
        t: r.value
        for t, n, readings, _ in _ticks(fleet, seconds)
        if n == node
        for r in readings
        if r.metric == metric
        and r.labels.get("gpu") == str(gpu)
        and all(r.labels.get(k) == v for k, v in labels.items())
    }


def _events(fleet: Fleet, seconds: float) -> list[tuple[float, str, NodeEvent]]:
    return [(t, n, e) for t, n, _, events in _ticks(fleet, seconds) for e in events]


# --- gpu_memory_leak -------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [10, 50])
def test_leak_grows_the_process_memory_at_its_rate(rate):
    fleet = _fleet(f"gpu_memory_leak@10s+10m:node=gpu-node-1,gpu=0,rate_mib_per_min={rate}")
    process = _series(fleet, GPU_PROCESS_MEMORY, 400)

    per_min = (process[398.0] - process[10.0]) / MIB / (388 / 60)
    assert per_min == pytest.approx(rate, rel=0.01)
    assert list(process.values()) == sorted(process.values())


def test_leak_labels_the_process_like_the_nvml_collector():
    fleet = _fleet("gpu_memory_leak@0s+1m:node=gpu-node-2,gpu=3")
    (_, _, readings, _) = _ticks(fleet, STEP)[1]

    (series,) = [r for r in readings if r.metric == GPU_PROCESS_MEMORY]
    assert set(series.labels) == {
        *("gpu", "uuid", "model_name", "pod", "namespace", "container", "process"),
    }
    assert (series.labels["gpu"], series.labels["pod"], series.labels["namespace"]) == (
        "3",
        "vllm-gpu-node-2",
        "serving",
    )


def test_leak_grows_the_gpu_memory_and_a_flat_process_stays_flat_after_it():
    fleet = _fleet("gpu_memory_leak@0s+60s:node=gpu-node-1,gpu=0,rate_mib_per_min=100")
    used = _series(fleet, GPU_MEMORY_USED, 200)
    process = _series(fleet, GPU_PROCESS_MEMORY, 200)

    assert used[58.0] - used[0.0] > 80 * MIB
    assert process[80.0] == process[198.0]  # the series stays; the pre-allocation is flat
    assert process[80.0] < process[58.0]


def test_leak_waits_out_its_warmup():
    fleet = _fleet("gpu_memory_leak@0s+5m:node=gpu-node-1,gpu=0,warmup_s=60")
    process = _series(fleet, GPU_PROCESS_MEMORY, 120)

    assert process[0.0] == process[58.0] < process[100.0]


def test_a_fleet_without_such_faults_reports_no_extra_series():
    readings = [r for _, _, rs, _ in _ticks(_fleet(""), 10) for r in rs]

    extra = {GPU_UP, GPU_PROCESS_MEMORY, GPU_CLOCK_EVENT, XID_ERRORS, GPU_REMAPPED_ROWS_PENDING}
    assert not {r.metric for r in readings} & extra


# --- load_spike ------------------------------------------------------------------------------


def test_load_spike_triples_utilisation_capped_at_one():
    base = _series(_fleet(""), GPU_UTILIZATION, 100)
    spiked = _series(_fleet("load_spike@20s+40s:node=gpu-node-1,gpu=0"), GPU_UTILIZATION, 100)

    for t in range(20, 60, 2):
        assert spiked[t] == pytest.approx(min(1.0, base[t] * 3), abs=1e-3)
    assert max(spiked.values()) <= 1.0
    assert spiked[80.0] == base[80.0]


def test_load_spike_factor_is_a_parameter():
    base = _series(_fleet(""), GPU_UTILIZATION, 10)
    spiked = _series(
        _fleet("load_spike@0s+1m:node=gpu-node-1,gpu=0,factor=1.5"), GPU_UTILIZATION, 10
    )

    assert spiked[4.0] == pytest.approx(min(1.0, base[4.0] * 1.5), abs=1e-3)


# --- node_silence ----------------------------------------------------------------------------


def test_a_silenced_node_reports_nothing_while_its_peers_go_on():
    fleet = _fleet("node_silence@10s+20s:node=gpu-node-2")
    ticks = _ticks(fleet, 40)

    silent = [t for t, n, readings, _ in ticks if n == "gpu-node-2" and not readings]
    assert silent == [10.0 + 2 * i for i in range(10)]
    assert all(readings for _, n, readings, _ in ticks if n == "gpu-node-1")
    assert fleet.silent_nodes(START + 12) == {"gpu-node-2"}
    assert fleet.silent_nodes(START + 30) == set()


def test_node_silence_takes_no_gpu():
    with pytest.raises(ScheduleError, match="node_silence cannot take gpu=0"):
        parse_schedule("node_silence@1s+1s:node=gpu-node-1,gpu=0")


def test_the_partition_silences_the_node_for_the_faults_duration():
    fleet = _fleet("node_silence@10s+20s:node=gpu-node-2")
    fleet.offset(START)
    silent = [t for t in range(0, 40, 2) if "gpu-node-2" in fleet.silent_nodes(START + t)]
    assert silent == list(range(10, 30, 2))
    assert not any("gpu-node-1" in fleet.silent_nodes(START + t) for t in range(0, 40, 2))


# --- xid -------------------------------------------------------------------------------------


def test_xid_79_raises_one_xid_and_one_gpu_lost_then_only_gpu_up_0():
    fleet = _fleet("xid@10s+20s:node=gpu-node-1,gpu=2")
    ticks = _ticks(fleet, 40)

    events = [(t, e) for t, n, _, es in ticks for e in es]
    assert [(t, e.kind) for t, e in events] == [(10.0, "xid"), (10.0, "gpu_lost")]
    xid = events[0][1]
    assert xid.attrs["xid"] == 79
    assert xid.attrs["gpu"] == 2
    assert xid.attrs["pci"] == gpu_pci(2)
    assert xid.labels["gpu"] == "2"
    lost = {
        r.metric: r.value
        for t, n, rs, _ in ticks
        if t == 12.0 and n == "gpu-node-1"
        for r in rs
        if r.labels.get("gpu") == "2" and r.metric not in (XID_ERRORS, LAST_XID)
    }
    assert lost == {GPU_UP: 0.0}
    back = _series(_fleet("xid@10s+20s:node=gpu-node-1,gpu=2"), GPU_UP, 40, gpu=2)
    assert back[8.0 + 24] == 1.0


def test_xid_48_then_63_leaves_a_remap_pending_and_counts_each():
    fleet = _fleet("xid@10s+60s:node=gpu-node-1,gpu=1,xid=48,then_xid=63,then_after_s=6")
    ticks = _ticks(fleet, 30)

    events = [(t, e.attrs["xid"]) for t, n, _, es in ticks for e in es]
    assert events == [(10.0, 48), (16.0, 63)]
    pending = _series(
        _fleet("xid@10s+60s:node=gpu-node-1,gpu=1,xid=48"), GPU_REMAPPED_ROWS_PENDING, 30, gpu=1
    )
    assert set(pending) == set(range(10, 30, 2))
    counts = {
        (r.labels["xid"], r.metric): r.value
        for t, n, rs, _ in ticks
        if t == 28.0 and n == "gpu-node-1"
        for r in rs
        if r.metric in (XID_ERRORS, LAST_XID)
    }
    assert counts == {
        ("48", XID_ERRORS): 1.0,
        ("48", LAST_XID): START + 10,
        ("63", XID_ERRORS): 1.0,
        ("63", LAST_XID): START + 16,
    }


def test_xid_94_keeps_the_gpu_up_and_raises_no_gpu_lost():
    fleet = _fleet("xid@4s+20s:node=gpu-node-1,gpu=0,xid=94")
    events = _events(fleet, 30)
    up = _series(_fleet("xid@4s+20s:node=gpu-node-1,gpu=0,xid=94"), GPU_UP, 30)

    assert [(e.kind, e.attrs["xid"]) for _, _, e in events] == [("xid", 94)]
    assert set(up.values()) == {1.0}


def test_xid_events_go_to_the_urgent_hand_off_when_the_fleet_has_one():
    fleet = _fleet("xid@0s+20s:node=gpu-node-2,gpu=0,xid=94")
    urgent = UrgentEvents()
    fleet.urgent = urgent.put

    _, events = fleet.nodes[1].collect(START)

    assert events == []
    ((node, event),) = urgent.drain()
    assert (node, event.kind, event.attrs["xid"]) == ("gpu-node-2", "xid", 94)


# --- thermal_throttle ------------------------------------------------------------------------


def test_thermal_throttle_heats_the_gpu_drops_its_clock_and_flags_thermal_reasons():
    text = "thermal_throttle@10s+5m:node=gpu-node-1,gpu=0,ramp_s=60,hw_after_s=100"
    temperature = _series(_fleet(text), GPU_TEMPERATURE, 200)
    clock = _series(_fleet(text), GPU_SM_CLOCK, 200)
    power = _series(_fleet(text), GPU_POWER, 200)
    sw = _series(_fleet(text), GPU_CLOCK_EVENT, 200, reason="sw_thermal")
    hw = _series(_fleet(text), GPU_CLOCK_EVENT, 200, reason="hw_thermal")

    assert temperature[8.0] < 78
    assert 78 <= temperature[12.0] <= temperature[40.0] <= temperature[80.0]
    assert 88 <= temperature[150.0] < 90  # just below the 90 degree slowdown
    assert clock[8.0] > 1_900e6
    assert clock[150.0] == pytest.approx(1_100e6, abs=20e6)
    assert max(power.values()) < 650  # power stays below the cap: cooling, not capping
    assert 8.0 not in sw  # the clock-event series appear with the first fault that sets them
    assert (sw[10.0], sw[198.0]) == (1.0, 1.0)
    assert (hw[108.0], hw[110.0]) == (0.0, 1.0)


# --- straggler -------------------------------------------------------------------------------


def test_a_straggler_runs_below_its_peers():
    text = "straggler@0s+5m:node=gpu-node-1,gpu=2"
    ticks = _ticks(_fleet(text), 120)
    util = {g: [] for g in range(4)}
    clock = {g: [] for g in range(4)}
    for _, n, readings, _ in ticks:
        for r in readings:
            if n == "gpu-node-1" and r.metric == GPU_UTILIZATION:
                util[int(r.labels["gpu"])].append(r.value)
            if n == "gpu-node-1" and r.metric == GPU_SM_CLOCK:
                clock[int(r.labels["gpu"])].append(r.value)

    calm = _series(_fleet(""), GPU_UTILIZATION, 120, gpu=2)
    assert sum(util[2]) / len(util[2]) == pytest.approx(
        0.5 * sum(calm.values()) / len(calm), rel=0.05
    )
    assert max(clock[2]) < min(min(clock[g]) for g in (0, 1, 3))


# --- power_cap -------------------------------------------------------------------------------


def test_power_cap_is_busy_at_the_limit_with_sw_power_cap_and_a_normal_temperature():
    text = "power_cap@0s+5m:node=gpu-node-1,gpu=0"
    cap = _series(_fleet(text), GPU_CLOCK_EVENT, 100, reason="sw_power_cap")
    thermal = _series(_fleet(text), GPU_CLOCK_EVENT, 100, reason="sw_thermal")
    power = _series(_fleet(text), GPU_POWER, 100)

    assert set(cap.values()) == {1.0}
    assert set(thermal.values()) == {0.0}
    assert min(power.values()) > 600


def test_faults_on_one_gpu_leave_the_others_alone():
    text = (
        "load_spike@0s+1m:node=gpu-node-1,gpu=0;straggler@0s+1m:node=gpu-node-1,gpu=0;"
        "thermal_throttle@0s+1m:node=gpu-node-1,gpu=0;gpu_memory_leak@0s+1m:node=gpu-node-1,gpu=0"
    )
    base, faulty = _fleet(""), _fleet(text)
    for (_, _, calm, _), (_, _, bent, _) in zip(_ticks(base, 60), _ticks(faulty, 60), strict=True):
        assert [r for r in calm if r.labels.get("gpu") != "0"] == [
            r for r in bent if r.labels.get("gpu") != "0"
        ]


def test_scheduled_fault_validates_kind_parameters():
    with pytest.raises(ScheduleError, match="xid must be between 1 and 255, got 300"):
        ScheduledFault(0, 1, "gpu-node-1", 0, "xid", {"xid": 300})
    assert FaultSchedule((ScheduledFault(0, 1, "gpu-node-1", None, "node_silence"),)).for_node(
        "gpu-node-1"
    )
