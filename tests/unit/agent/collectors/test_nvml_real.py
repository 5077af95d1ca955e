"""The NVML collector against the real driver: runs where a GPU is, skips elsewhere."""

from __future__ import annotations

import time

import pytest

from agent.collectors.nvml import NvmlCollector


@pytest.mark.gpu
def test_real_nvml_collects_one_cycle(registry):
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        pytest.skip(f"NVML cannot initialise here: {exc}")
    pynvml.nvmlShutdown()
    collector = NvmlCollector(node="gpu-test", registry=registry, timeout_s=5.0)
    try:
        assert collector.open(), collector.unavailable
        readings, events = collector.collect(time.time())
        assert collector.xid_reader() is not None or collector.gpu_count > 0
    finally:
        collector.close()

    assert events == []
    assert collector.gpu_count >= 1
    by_metric: dict[str, list[float]] = {}
    for reading in readings:
        by_metric.setdefault(reading.metric, []).append(reading.value)
    assert by_metric["gpuwarden_gpu_up"] == [1.0] * collector.gpu_count
    assert all(0.0 <= v <= 1.0 for v in by_metric["gpuwarden_gpu_utilization_ratio"])
    assert all(v > 0 for v in by_metric["gpuwarden_gpu_memory_total_bytes"])
    assert len(by_metric["gpuwarden_gpu_info"]) == collector.gpu_count
