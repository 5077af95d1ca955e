from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from agent.collectors.nvml import NvmlCollector
from agent.collectors.workloads import WorkloadResolver

from .conftest import NOW, values
from .fake_nvml import ERRORS, FakeGpu, FakeNvml

H100 = "NVIDIA H100 80GB HBM3"
UUID0 = "GPU-0000aaaa"
UUID1 = "GPU-1111bbbb"


NOWHERE = Path("/nonexistent-gpuwarden-test")


def _collector(nvml: FakeNvml, registry: CollectorRegistry, **options) -> NvmlCollector:
    options.setdefault("workloads", WorkloadResolver(proc_root=NOWHERE, log_root=NOWHERE))
    return NvmlCollector(node="n1", registry=registry, nvml=nvml, **options)


def _errors(registry: CollectorRegistry, reason: str) -> float:
    value = registry.get_sample_value(
        "gpuwarden_collect_errors_total", {"collector": "nvml", "reason": reason}
    )
    return value or 0.0


def test_reports_every_reading_in_base_units__from_one_cycle(registry):
    nvml = FakeNvml(FakeGpu(UUID0))
    readings, events = _collector(nvml, registry).collect(NOW)

    assert events == []
    assert all(r.ts == NOW for r in readings)
    gpu0 = [r for r in readings if r.labels.get("uuid") == UUID0]
    assert {r.labels["gpu"] for r in gpu0} == {"0"}
    assert {r.labels["model_name"] for r in gpu0} == {H100}
    got = values(readings, uuid=UUID0)
    expected = {
        ("gpuwarden_gpu_up",): 1.0,
        ("gpuwarden_gpu_utilization_ratio",): 0.42,
        ("gpuwarden_gpu_memory_activity_ratio",): 0.10,
        ("gpuwarden_gpu_memory_total_bytes",): 80 * 2**30,
        ("gpuwarden_gpu_memory_reserved_bytes",): 500 * 2**20,
        ("gpuwarden_gpu_memory_used_bytes",): 70 * 2**30,
        ("gpuwarden_gpu_memory_free_bytes",): 10 * 2**30 - 500 * 2**20,
        ("gpuwarden_gpu_temperature_celsius",): 55.0,
        ("gpuwarden_gpu_slowdown_temperature_celsius",): 87.0,
        ("gpuwarden_gpu_power_usage_watts",): 350.5,
        ("gpuwarden_gpu_power_limit_watts",): 700.0,
        ("gpuwarden_gpu_energy_joules_total",): 123_456.789,
        ("gpuwarden_gpu_sm_clock_hertz",): 1.98e9,
        ("gpuwarden_gpu_memory_clock_hertz",): 2.619e9,
        ("gpuwarden_gpu_ecc_errors_total", "scope=volatile", "type=corrected"): 3,
        ("gpuwarden_gpu_ecc_errors_total", "scope=aggregate", "type=corrected"): 30,
        ("gpuwarden_gpu_ecc_errors_total", "scope=volatile", "type=uncorrected"): 0,
        ("gpuwarden_gpu_ecc_errors_total", "scope=aggregate", "type=uncorrected"): 1,
        ("gpuwarden_gpu_remapped_rows_total", "cause=correctable"): 2,
        ("gpuwarden_gpu_remapped_rows_total", "cause=uncorrectable"): 1,
        ("gpuwarden_gpu_remapped_rows_pending",): 1,
        ("gpuwarden_gpu_remapped_rows_failure",): 0,
        ("gpuwarden_gpu_pcie_replay_errors_total",): 7,
        ("gpuwarden_gpu_pcie_link_generation", "kind=current"): 5,
        ("gpuwarden_gpu_pcie_link_generation", "kind=max"): 5,
        ("gpuwarden_gpu_pcie_link_width", "kind=current"): 16,
        ("gpuwarden_gpu_pcie_link_width", "kind=max"): 16,
        ("gpuwarden_gpu_nvlink_up", "link=0"): 1,
        ("gpuwarden_gpu_nvlink_up", "link=1"): 0,
        ("gpuwarden_gpu_nvlink_errors_total", "link=0", "type=replay"): 4,
        ("gpuwarden_gpu_nvlink_errors_total", "link=0", "type=recovery"): 5,
        ("gpuwarden_gpu_nvlink_errors_total", "link=0", "type=crc_flit"): 6,
        ("gpuwarden_gpu_persistence_mode",): 1,
        ("gpuwarden_gpu_recovery_action",): 0,
        (
            "gpuwarden_gpu_info",
            "compute_capability=9.0",
            "cuda_driver_version=13.0",
            "driver_version=580.159.04",
            "nvml_version=13.580.159.04",
            "pci_bus_id=0000:3b:00",
            "vbios_version=96.00.99.00.01",
        ): 1,
    }
    events_by_reason = {
        ("gpuwarden_gpu_clock_event_active", f"reason={reason}"): float(reason == "sw_power_cap")
        for reason in (
            "idle",
            "app_clocks",
            "sw_power_cap",
            "hw_slowdown",
            "sync_boost",
            "sw_thermal",
            "hw_thermal",
            "hw_power_brake",
        )
    }
    assert got == pytest.approx(expected | events_by_reason)
    stale = [r for r in readings if r.metric == "gpuwarden_collect_stale"]
    assert [(r.labels, r.value) for r in stale] == [({"collector": "nvml"}, 0.0)]


def test_slow_readings_come_every_n_cycles__fast_ones_every_cycle(registry):
    nvml = FakeNvml(FakeGpu(UUID0))
    collector = _collector(nvml, registry, slow_every=3)
    metrics = [{r.metric for r in collector.collect(NOW + i)[0]} for i in range(4)]

    assert ["gpuwarden_gpu_ecc_errors_total" in m for m in metrics] == [True, False, False, True]
    assert all("gpuwarden_gpu_utilization_ratio" in m for m in metrics)
    assert nvml.calls["nvmlDeviceGetComputeRunningProcesses"] == 2


def test_rare_readings_come_every_m_slow_cycles__energy_among_them(registry):
    nvml = FakeNvml(FakeGpu(UUID0))
    collector = _collector(nvml, registry, slow_every=2, rare_every=3)
    metrics = [{r.metric for r in collector.collect(NOW + i)[0]} for i in range(8)]

    energy = ["gpuwarden_gpu_energy_joules_total" in m for m in metrics]
    assert energy == [True, False, False, False, False, False, True, False]
    assert ["gpuwarden_gpu_info" in m for m in metrics] == energy
    assert ["gpuwarden_gpu_ecc_errors_total" in m for m in metrics] == [True, False] * 4
    assert nvml.calls["nvmlDeviceGetTotalEnergyConsumption"] == 2
    assert nvml.calls["nvmlDeviceGetPcieReplayCounter"] == 2


def test_unsupported_field_is_absent_and_never_asked_again(registry):
    gpu = FakeGpu(UUID0)
    gpu.unsupported |= {"nvmlDeviceGetTotalEnergyConsumption", "nvmlDeviceGetNvLinkState"}
    nvml = FakeNvml(gpu)
    collector = _collector(nvml, registry, slow_every=1)
    for i in range(3):
        readings, _ = collector.collect(NOW + i)
        metrics = {r.metric for r in readings}
        assert "gpuwarden_gpu_energy_joules_total" not in metrics
        assert "gpuwarden_gpu_nvlink_up" not in metrics
        assert "gpuwarden_gpu_retired_pages_total" not in metrics

    assert nvml.calls["nvmlDeviceGetTotalEnergyConsumption"] == 1
    assert nvml.calls["nvmlDeviceGetNvLinkState"] == nvml.NVML_NVLINK_MAX_LINKS
    assert _errors(registry, "not_supported") == 0


def test_links_past_the_last_answer_invalid_argument__asked_once(registry):
    nvml = FakeNvml(FakeGpu(UUID0))  # 2 links of NVML_NVLINK_MAX_LINKS = 4
    collector = _collector(nvml, registry, slow_every=1, rare_every=1)
    collector.collect(NOW)
    collector.collect(NOW + 1)

    assert nvml.calls["nvmlDeviceGetNvLinkState"] == 4 + 2


def _nvlink_errors(readings) -> dict[tuple[str, str], float]:
    return {
        (r.labels["link"], r.labels["type"]): r.value
        for r in readings
        if r.metric == "gpuwarden_gpu_nvlink_errors_total"
    }


def test_nvlink_errors_are_read_in_one_field_call_every_n_rare_cycles__reported_between(registry):
    gpu = FakeGpu(UUID0, nvlinks=[1, 1, 0])
    nvml = FakeNvml(gpu)
    collector = _collector(nvml, registry, slow_every=1, rare_every=1, nvlink_errors_every=3)
    cycles = [_nvlink_errors(collector.collect(NOW + i)[0]) for i in range(4)]

    assert cycles[0] == {
        ("0", "replay"): 4,
        ("0", "recovery"): 5,
        ("0", "crc_flit"): 6,
        ("1", "replay"): 5,
        ("1", "recovery"): 6,
        ("1", "crc_flit"): 7,
    }  # link 2 is down: no counters
    assert cycles[1] == cycles[2] == cycles[0]  # the last counts, reported again
    assert nvml.calls["nvmlDeviceGetFieldValues"] == 2 + 4  # NVLink twice, recovery 4 times
    assert nvml.calls["nvmlDeviceGetNvLinkErrorCounter"] == 0
    gpu.nvlink_errors = 10
    assert _nvlink_errors(collector.collect(NOW + 4)[0]) == cycles[0]
    assert _nvlink_errors(collector.collect(NOW + 5)[0]) == cycles[0]
    assert _nvlink_errors(collector.collect(NOW + 6)[0])[("0", "replay")] == 10  # read afresh


def test_nvlink_errors_fall_back_to_per_counter_calls_without_the_fields(registry):
    nvml = FakeNvml(FakeGpu(UUID0, nvlink_dl_fields=False))
    collector = _collector(nvml, registry, slow_every=1, rare_every=1)
    first = _nvlink_errors(collector.collect(NOW)[0])
    second = _nvlink_errors(collector.collect(NOW + 1)[0])

    assert (
        first
        == second
        == {
            ("0", "replay"): 4,
            ("0", "recovery"): 5,
            ("0", "crc_flit"): 6,
            ("0", "crc_data"): 7,
        }
    )
    assert nvml.calls["nvmlDeviceGetNvLinkErrorCounter"] == 4  # once (then reported again)
    assert nvml.calls["nvmlDeviceGetFieldValues"] == 1 + 2  # the fields tried once; recovery x2
    assert _errors(registry, "not_supported") == 0


def test_function_missing_from_the_binding__field_absent(registry):
    nvml = FakeNvml(FakeGpu(UUID0))
    nvml.hidden |= {"nvmlMemory_v2", "nvmlDeviceGetTotalEnergyConsumption"}
    readings, _ = _collector(nvml, registry).collect(NOW)
    got = values(readings, uuid=UUID0)

    assert ("gpuwarden_gpu_energy_joules_total",) not in got
    assert got[("gpuwarden_gpu_memory_used_bytes",)] == 70 * 2**30 + 500 * 2**20  # v1: + reserved
    assert ("gpuwarden_gpu_memory_reserved_bytes",) not in got


def test_falls_back_to_memory_v1__when_v2_is_not_supported(registry):
    gpu = FakeGpu(UUID0)
    gpu.unsupported.add("nvmlDeviceGetMemoryInfo_v2")
    readings, _ = _collector(FakeNvml(gpu), registry).collect(NOW)
    got = values(readings, uuid=UUID0)

    assert got[("gpuwarden_gpu_memory_total_bytes",)] == 80 * 2**30
    assert ("gpuwarden_gpu_memory_reserved_bytes",) not in got


def test_other_errors_are_counted_and_asked_again(registry):
    gpu = FakeGpu(UUID0, fail={"nvmlDeviceGetPowerUsage": ERRORS["NVML_ERROR_NO_PERMISSION"]()})
    nvml = FakeNvml(gpu)
    collector = _collector(nvml, registry)
    for i in range(2):
        readings, _ = collector.collect(NOW + i)
        assert "gpuwarden_gpu_power_usage_watts" not in {r.metric for r in readings}
        assert "gpuwarden_gpu_temperature_celsius" in {r.metric for r in readings}

    assert nvml.calls["nvmlDeviceGetPowerUsage"] == 2
    assert _errors(registry, "no_permission") == 2


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("NVML_ERROR_GPU_IS_LOST", "gpu_is_lost"),
        ("NVML_ERROR_RESET_REQUIRED", "reset_required"),
        ("NVML_ERROR_UNKNOWN", "unknown"),
    ],
)
def test_lost_gpu_reports_gpu_up_0_and_one_event_per_episode(registry, error, reason):
    healthy, sick = FakeGpu(UUID0), FakeGpu(UUID1, bus_id="00000000:9B:00.0")
    collector = _collector(FakeNvml(healthy, sick), registry, lost_repeat_s=None)
    collector.collect(NOW)

    sick.fail["nvmlDeviceGetUtilizationRates"] = ERRORS[error]()
    lost_events = []
    for i in range(1, 4):
        readings, events = collector.collect(NOW + i)
        lost_events += events
        assert values(readings, uuid=UUID1) == {("gpuwarden_gpu_up",): 0.0}
        assert values(readings, uuid=UUID0)[("gpuwarden_gpu_up",)] == 1.0

    assert len(lost_events) == 1
    event = lost_events[0]
    assert (event.kind, event.ts) == ("gpu_lost", NOW + 1)
    assert event.labels == {"gpu": "1", "uuid": UUID1, "model_name": H100}
    assert event.attrs == {"gpu": 1, "uuid": UUID1, "reason": reason, "since": NOW + 1}

    del sick.fail["nvmlDeviceGetUtilizationRates"]
    recovered = [collector.collect(NOW + i) for i in range(4, 10)]
    assert values(recovered[-1][0], uuid=UUID1)[("gpuwarden_gpu_up",)] == 1.0
    sick.fail["nvmlDeviceGetUtilizationRates"] = ERRORS[error]()
    assert [e.kind for e in collector.collect(NOW + 10)[1]] == ["gpu_lost"]


def test_lost_gpu_is_not_polled_every_cycle(registry):
    gpu = FakeGpu(UUID0, fail={"nvmlDeviceGetUtilizationRates": ERRORS["NVML_ERROR_GPU_IS_LOST"]()})
    nvml = FakeNvml(gpu)
    collector = _collector(nvml, registry, slow_every=5)
    for i in range(10):
        collector.collect(NOW + i)

    assert nvml.calls["nvmlDeviceGetUtilizationRates"] == 2  # cycle 1, then once per 5 cycles


def test_lost_event_repeats_every_lost_repeat_s_while_the_episode_lasts(registry):
    gpu = FakeGpu(UUID0, fail={"nvmlDeviceGetUtilizationRates": ERRORS["NVML_ERROR_GPU_IS_LOST"]()})
    collector = _collector(FakeNvml(gpu), registry, lost_repeat_s=60.0)
    events = [e for i in range(0, 150, 5) for e in collector.collect(NOW + i)[1]]

    assert [e.ts - NOW for e in events] == [0, 60, 120]
    assert {e.attrs["since"] for e in events} == {NOW}


def test_gpu_gone_from_the_count__reports_gpu_up_0_and_an_event(registry):
    first, second = FakeGpu(UUID0), FakeGpu(UUID1, bus_id="00000000:9B:00.0")
    nvml = FakeNvml(first, second)
    collector = _collector(nvml, registry)
    collector.collect(NOW)
    nvml.gpus.remove(second)

    readings, events = collector.collect(NOW + 1)

    assert values(readings, uuid=UUID1) == {("gpuwarden_gpu_up",): 0.0}
    assert [(e.kind, e.attrs["reason"], e.labels["gpu"]) for e in events] == [
        ("gpu_lost", "missing", "1")
    ]
    assert collector.gpu_count == 2


def test_gpu_expected_but_never_enumerated__reports_gpu_up_0_for_its_index(registry):
    collector = _collector(FakeNvml(FakeGpu(UUID0)), registry, expected_gpus=2)
    readings, events = collector.collect(NOW)

    up = {r.labels["gpu"]: r.value for r in readings if r.metric == "gpuwarden_gpu_up"}
    assert up == {"0": 1.0, "1": 0.0}
    assert [e.attrs["gpu"] for e in events] == [1]
    assert collector.gpu_count == 2


def test_library_missing__one_clear_line_and_no_readings(registry, caplog):
    nvml = FakeNvml(init_error=ERRORS["NVML_ERROR_LIBRARY_NOT_FOUND"]())
    collector = _collector(nvml, registry)
    with caplog.at_level(logging.ERROR):
        assert collector.open() is False
        assert collector.collect(NOW) == ([], [])
        assert collector.collect(NOW + 1) == ([], [])

    assert [r.getMessage() for r in caplog.records] == [collector.unavailable]
    assert "libnvidia-ml.so.1" in (collector.unavailable or "")
    assert "\n" not in (collector.unavailable or "")
    assert collector.xid_reader() is None
    assert collector.gpu_count == 0


def test_pynvml_not_installed__reported_unavailable(registry, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    collector = NvmlCollector(node="n1", registry=registry)

    assert collector.collect(NOW) == ([], [])
    assert "nvidia-ml-py" in (collector.unavailable or "")


def test_driver_unloaded_mid_run__switches_the_collector_off(registry):
    gpu = FakeGpu(UUID0)
    collector = _collector(FakeNvml(gpu), registry)
    collector.collect(NOW)
    gpu.fail["nvmlDeviceGetUtilizationRates"] = ERRORS["NVML_ERROR_DRIVER_NOT_LOADED"]()

    assert collector.collect(NOW + 1) == ([], [])
    assert "driver is not loaded" in (collector.unavailable or "")


def test_the_first_cycle_gets_the_open_time_box__a_cold_driver_probing_every_field(registry):
    gpu = FakeGpu(UUID0)
    nvml = FakeNvml(gpu)
    collector = _collector(nvml, registry, timeout_s=0.2, open_timeout_s=5.0)
    assert collector.open()
    cold = threading.Event()
    gpu.block["nvmlDeviceGetUtilizationRates"] = cold
    threading.Timer(0.5, cold.set).start()  # longer than a cycle's box, shorter than open's

    first, _ = collector.collect(NOW)

    assert ("gpuwarden_collect_stale", 0.0) in [(r.metric, r.value) for r in first]
    assert collector.gpu_count == 1
    assert _errors(registry, "timeout") == 0


def test_hung_call_is_time_boxed__last_good_sample_served_stale(registry):
    gpu = FakeGpu(UUID0)
    nvml = FakeNvml(gpu)
    collector = _collector(nvml, registry, timeout_s=0.2)
    good, _ = collector.collect(NOW)
    release = threading.Event()
    gpu.block["nvmlDeviceGetUtilizationRates"] = release
    try:
        stale, events = collector.collect(NOW + 5)
        again, _ = collector.collect(NOW + 10)  # still hung: no second call is started
    finally:
        release.set()

    assert events == []
    assert stale[:-1] == good[:-1]  # the same readings, with their own (old) timestamps
    assert (stale[-1].metric, stale[-1].value, stale[-1].ts) == (
        "gpuwarden_collect_stale",
        1,
        NOW + 5,
    )
    assert again[:-1] == good[:-1]
    assert nvml.calls["nvmlDeviceGetUtilizationRates"] == 2
    assert _errors(registry, "timeout") == 2
    assert registry.get_sample_value("gpuwarden_collect_stale", {"collector": "nvml"}) == 1
    duration = registry.get_sample_value(
        "gpuwarden_collect_duration_seconds_count", {"collector": "nvml"}
    )
    assert duration == 3


def test_per_process_memory_is_summed_per_container(registry, tmp_path):
    proc, logs = tmp_path / "proc", tmp_path / "log"
    cid_a, cid_b = "a" * 64, "b" * 64
    uid_a = "3c8f9e2a-1b2c-4d5e-8f90-123456789abc"
    _process(proc, 101, f"12:memory:/kubepods/burstable/pod{uid_a}/{cid_a}\n", "python3")
    _process(proc, 102, f"12:memory:/kubepods/burstable/pod{uid_a}/{cid_a}\n", "python3")
    uid_b = "11111111_2222_3333_4444_555555555555"
    _process(
        proc,
        201,
        "0::/kubepods.slice/kubepods-besteffort.slice/"
        f"kubepods-besteffort-pod{uid_b}.slice/crio-{cid_b}.scope\n",
        "sglang",
    )
    _process(proc, 301, "0::/user.slice/user-1000.slice/session-1.scope\n", "train.py")
    (logs / "containers").mkdir(parents=True)
    (logs / "containers" / f"vllm-0_serving_engine-{cid_a}.log").touch()
    (logs / "pods").mkdir()
    (logs / "pods" / "llm_sglang-7f9_11111111-2222-3333-4444-555555555555").mkdir()
    gpu = FakeGpu(UUID0, processes=[(101, 30 * 2**30), (102, 2**30), (201, 5 * 2**30), (999, 7)])
    gpu.graphics = [(301, 2**20), (102, 2**30), (302, None)]
    workloads = WorkloadResolver(proc_root=proc, log_root=logs)

    readings, _ = _collector(FakeNvml(gpu), registry, workloads=workloads).collect(NOW)

    used = {
        tuple(r.labels[k] for k in ("pod", "namespace", "container", "process")): r.value
        for r in readings
        if r.metric == "gpuwarden_gpu_process_memory_used_bytes"
    }
    assert used == {
        ("vllm-0", "serving", "engine", ""): 31 * 2**30,
        ("sglang-7f9", "llm", "b" * 12, ""): 5 * 2**30,
        ("", "", "", "train.py"): 2**20,
    }


def _process(proc, pid: int, cgroup: str, comm: str) -> None:
    folder = proc / str(pid)
    folder.mkdir(parents=True)
    (folder / "cgroup").write_text(cgroup)
    (folder / "comm").write_text(comm + "\n")


def test_close_shuts_nvml_down_once(registry):
    nvml = FakeNvml(FakeGpu(UUID0))
    collector = _collector(nvml, registry)
    assert collector.open() is True
    assert collector.open() is True
    collector.close()
    collector.close()

    assert (nvml.initialised, nvml.shutdowns) == (1, 1)


def test_gpus_by_pci_maps_kernel_bus_ids_to_gpu_labels(registry):
    collector = _collector(FakeNvml(FakeGpu(UUID0, bus_id="00000000:3B:00.0")), registry)
    assert collector.gpus_by_pci() == {}
    collector.open()

    assert collector.gpus_by_pci() == {
        "0000:3b:00": {"gpu": "0", "uuid": UUID0, "model_name": H100}
    }
