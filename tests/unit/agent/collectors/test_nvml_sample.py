"""Watched sampling on a real node: `NvmlCollector.sample` between cycles, error policy included."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from agent.collectors.node import NodeSource
from agent.collectors.nvml import NvmlCollector
from agent.collectors.timebox import TimeBox
from agent.collectors.workloads import WorkloadResolver
from agent.source import Sampler

from .conftest import NOW, values
from .fake_nvml import ERRORS, FakeGpu, FakeNvml

UUID0 = "GPU-0000aaaa"
UUID1 = "GPU-1111bbbb"
UTIL = "gpuwarden_gpu_utilization_ratio"
TEMP = "gpuwarden_gpu_temperature_celsius"
MEMORY_USED = "gpuwarden_gpu_memory_used_bytes"
NOWHERE = Path("/nonexistent-gpuwarden-test")


def _collector(nvml: FakeNvml, registry: CollectorRegistry, **options) -> NvmlCollector:
    options.setdefault("workloads", WorkloadResolver(proc_root=NOWHERE, log_root=NOWHERE))
    collector = NvmlCollector(node="n1", registry=registry, nvml=nvml, **options)
    assert collector.open()
    return collector


def _errors(registry: CollectorRegistry, reason: str) -> float:
    value = registry.get_sample_value(
        "gpuwarden_collect_errors_total", {"collector": "nvml", "reason": reason}
    )
    return value or 0.0


def _two_gpus() -> tuple[FakeGpu, FakeGpu, FakeNvml]:
    first = FakeGpu(UUID0, util=(97, 10), temperature=81)
    second = FakeGpu(UUID1, bus_id="00000000:9B:00.0", util=(12, 3))
    return first, second, FakeNvml(first, second)


def test_sample_returns_only_the_watched_metrics__asking_nvml_only_for_those(registry):
    _, _, nvml = _two_gpus()
    collector = _collector(nvml, registry)
    before = dict(nvml.calls)

    readings = collector.sample(NOW, frozenset({UTIL, TEMP, "gpuwarden_serving_ttft_seconds"}))

    assert values(readings, uuid=UUID0) == {(UTIL,): 0.97, (TEMP,): 81.0}
    assert values(readings, uuid=UUID1) == {(UTIL,): 0.12, (TEMP,): 55.0}
    assert {r.ts for r in readings} == {NOW}
    asked = {name: count - before.get(name, 0) for name, count in nvml.calls.items()}
    assert {name for name, count in asked.items() if count} == {
        "nvmlDeviceGetUtilizationRates",
        "nvmlDeviceGetTemperatureV",
    }
    assert asked["nvmlDeviceGetUtilizationRates"] == 2


def test_sample_of_metrics_nvml_does_not_read__makes_no_call(registry):
    _, _, nvml = _two_gpus()
    collector = _collector(nvml, registry)
    before = sum(nvml.calls.values())

    assert collector.sample(NOW, frozenset({"gpuwarden_serving_ttft_seconds"})) == []
    assert collector.sample(NOW, frozenset()) == []
    assert sum(nvml.calls.values()) == before


def test_sample_before_nvml_is_open_or_when_it_is_missing__returns_nothing(registry):
    unopened = NvmlCollector(node="n1", registry=registry, nvml=FakeNvml(FakeGpu(UUID0)))
    assert unopened.sample(NOW, frozenset({UTIL})) == []

    missing = NvmlCollector(
        node="n1",
        registry=CollectorRegistry(),
        nvml=FakeNvml(init_error=ERRORS["NVML_ERROR_LIBRARY_NOT_FOUND"]()),
    )
    assert missing.open() is False
    assert missing.sample(NOW, frozenset({UTIL})) == []


def test_unsupported_field_is_absent_in_samples_and_never_asked_again(registry):
    gpu = FakeGpu(UUID0)
    gpu.unsupported |= {"nvmlDeviceGetPowerUsage"}
    nvml = FakeNvml(gpu)
    collector = _collector(nvml, registry)
    watched = frozenset({"gpuwarden_gpu_power_usage_watts", UTIL})

    first = collector.sample(NOW, watched)
    second = collector.sample(NOW + 0.25, watched)

    assert [r.metric for r in first] == [UTIL]
    assert [r.metric for r in second] == [UTIL]
    assert nvml.calls["nvmlDeviceGetPowerUsage"] == 1
    assert _errors(registry, "not_supported") == 0


def test_gpu_lost_during_a_sample__others_still_sampled__the_next_cycle_reports_it(registry):
    _, second, nvml = _two_gpus()
    collector = _collector(nvml, registry)
    collector.collect(NOW)
    second.fail["nvmlDeviceGetUtilizationRates"] = ERRORS["NVML_ERROR_GPU_IS_LOST"]()

    sampled = collector.sample(NOW + 0.25, frozenset({UTIL}))
    readings, events = collector.collect(NOW + 1)
    later = collector.sample(NOW + 1.25, frozenset({UTIL}))

    assert [r.labels["uuid"] for r in sampled] == [UUID0]
    assert values(readings, uuid=UUID1) == {("gpuwarden_gpu_up",): 0.0}
    assert [(e.kind, e.attrs["uuid"]) for e in events] == [("gpu_lost", UUID1)]
    assert [r.labels["uuid"] for r in later] == [UUID0]
    assert nvml.calls["nvmlDeviceGetUtilizationRates"] == 2 + 2 + 2 + 1  # lost: not asked after


def test_transient_error_in_a_sample__counted__the_field_is_asked_again(registry):
    gpu = FakeGpu(UUID0)
    nvml = FakeNvml(gpu)
    collector = _collector(nvml, registry)
    gpu.fail["nvmlDeviceGetUtilizationRates"] = ERRORS["NVML_ERROR_NO_PERMISSION"]()

    assert collector.sample(NOW, frozenset({UTIL})) == []
    del gpu.fail["nvmlDeviceGetUtilizationRates"]

    assert [r.value for r in collector.sample(NOW + 0.25, frozenset({UTIL}))] == [0.42]
    assert _errors(registry, "no_permission") == 1


def test_hung_call_in_a_sample__time_boxed_and_counted__cycles_serve_stale(registry):
    gpu = FakeGpu(UUID0)
    nvml = FakeNvml(gpu)
    collector = _collector(nvml, registry, timeout_s=0.2)
    good, _ = collector.collect(NOW)
    release = threading.Event()
    gpu.block["nvmlDeviceGetTemperatureV"] = release
    try:
        started = time.monotonic()
        hung = collector.sample(NOW + 0.25, frozenset({TEMP}))
        waited = time.monotonic() - started
        refused = collector.sample(NOW + 0.5, frozenset({UTIL}))  # the box is still busy
        stale, _ = collector.collect(NOW + 1)
    finally:
        release.set()

    assert (hung, refused) == ([], [])
    assert waited < 1.0
    assert stale[:-1] == good[:-1]
    assert stale[-1].value == 1.0
    assert nvml.calls["nvmlDeviceGetTemperatureV"] == 2  # the cycle's, then the hung sample's
    assert _errors(registry, "timeout") == 3


def test_driver_unloaded_during_a_sample__switches_the_collector_off(registry):
    gpu = FakeGpu(UUID0)
    collector = _collector(FakeNvml(gpu), registry)
    gpu.fail["nvmlDeviceGetUtilizationRates"] = ERRORS["NVML_ERROR_DRIVER_NOT_LOADED"]()

    assert collector.sample(NOW, frozenset({UTIL})) == []
    assert "driver is not loaded" in (collector.unavailable or "")
    assert collector.collect(NOW + 1) == ([], [])


class _Host:
    name = "host"
    gpu_count = 0

    def collect(self, now: float):
        return [], []

    def close(self) -> None:
        return None


class _Broken(_Host):
    name = "broken"
    node = "n1"

    def sample(self, now: float, metrics: frozenset[str]):
        raise RuntimeError("boom")


def test_node_source_samples_its_sampling_collectors__a_failing_one_is_counted(registry):
    _, _, nvml = _two_gpus()
    collector = _collector(nvml, registry)
    node = NodeSource(node="n1", collectors=[collector, _Host(), _Broken()], registry=registry)

    readings = node.sample(NOW, frozenset({MEMORY_USED}))

    assert isinstance(node, Sampler)
    assert [(r.metric, r.labels["gpu"]) for r in readings] == [
        (MEMORY_USED, "0"),
        (MEMORY_USED, "1"),
    ]
    errors = registry.get_sample_value(
        "gpuwarden_collect_errors_total", {"collector": "broken", "reason": "exception"}
    )
    assert errors == 1


def test_time_box_runs_every_job_on_one_worker_thread():
    box = TimeBox("test", 1.0)
    names = {box.run(lambda: threading.current_thread().name) for _ in range(20)}
    threads = threading.active_count()
    box.run(lambda: None)
    box.close()

    assert names == {"test-call"}
    assert threading.active_count() <= threads
