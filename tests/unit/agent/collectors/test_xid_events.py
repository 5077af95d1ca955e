from __future__ import annotations

import threading
from pathlib import Path

from agent.collectors.kmsg import KmsgReader
from agent.collectors.nvml import NvmlCollector
from agent.collectors.workloads import WorkloadResolver
from agent.collectors.xid import Xid
from agent.collectors.xid_events import XidCollector

from .conftest import NOW
from .fake_nvml import ERRORS, FakeGpu, FakeNvml

UUID0, UUID1 = "GPU-0000aaaa", "GPU-1111bbbb"
H100 = "NVIDIA H100 80GB HBM3"
NOWHERE = Path("/nonexistent-gpuwarden-test")
XID_79 = "NVRM: Xid (PCI:0000:9b:00): 79, pid=0, name=, GPU has fallen off the bus."
XID_13 = "NVRM: Xid (PCI:0000:3b:00): 13, pid=4242, name=python3, Graphics Exception: ESR 0x50"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _world(tmp_path, registry, **options):
    gpus = FakeGpu(UUID0, bus_id="00000000:3B:00.0"), FakeGpu(UUID1, bus_id="00000000:9B:00.0")
    nvml = FakeNvml(*gpus)
    workloads = WorkloadResolver(proc_root=NOWHERE, log_root=NOWHERE)
    gpu_source = NvmlCollector(node="n1", registry=registry, nvml=nvml, workloads=workloads)
    assert gpu_source.open()
    gpu_source.collect(NOW)
    log = tmp_path / "kern.log"
    log.touch()
    kmsg, events = KmsgReader(log), gpu_source.xid_reader()
    assert events is not None
    options.setdefault("clock", Clock())
    xids = XidCollector(
        node="n1",
        registry=registry,
        readers=[events, kmsg],
        gpus_by_pci=gpu_source.gpus_by_pci,
        **options,
    )
    return nvml, gpus, log, xids, (events, kmsg)


def _append(path, *lines: str) -> None:
    with path.open("a") as out:
        out.writelines(line + "\n" for line in lines)


def test_xid_from_the_kernel_log_becomes_an_event_on_its_gpu(tmp_path, registry):
    _nvml, _gpus, log, xids, (_events, kmsg) = _world(tmp_path, registry)
    _append(log, XID_79)
    assert xids.pump(kmsg) == 1

    readings, events = xids.collect(NOW + 1)

    assert len(events) == 1
    event = events[0]
    assert (event.kind, event.ts) == ("xid", NOW)
    assert event.labels == {"gpu": "1", "uuid": UUID1, "model_name": H100}
    assert event.attrs == {
        "xid": 79,
        "pci": "0000:9b:00",
        "gpu": 1,
        "message": "GPU has fallen off the bus.",
        "source": "kmsg",
    }
    assert event.message == "Xid 79 on GPU 1 (0000:9b:00): GPU has fallen off the bus."
    series = {
        "gpu": "1",
        "uuid": UUID1,
        "model_name": H100,
        "pci_bus_id": "0000:9b:00",
        "xid": "79",
    }
    assert [(r.metric, dict(r.labels), r.value) for r in readings] == [
        ("gpuwarden_gpu_xid_errors_total", series, 1.0),
        ("gpuwarden_gpu_last_xid_timestamp_seconds", series, NOW),
    ]


def test_xid_from_nvml_events__and_the_same_from_the_log__is_reported_once(tmp_path, registry):
    nvml, gpus, log, xids, (events, kmsg) = _world(tmp_path, registry)
    nvml.xid_events.append((gpus[0], 13))
    nvml.xid_events.append((gpus[0], 0))  # eventData 0 carries no XID
    assert xids.pump(events) == 1
    assert xids.pump(events) == 0
    assert xids.pump(events) == 0  # timeout: nothing
    _append(log, XID_13)
    assert xids.pump(kmsg) == 0

    readings, found = xids.collect(NOW + 1)

    assert [(e.attrs["xid"], e.attrs["gpu"], e.attrs["source"]) for e in found] == [(13, 0, "nvml")]
    assert {r.value for r in readings if r.metric == "gpuwarden_gpu_xid_errors_total"} == {1.0}


def test_repeat_after_the_window_is_counted_again(tmp_path, registry):
    clock = Clock()
    _nvml, _gpus, log, xids, (_events, kmsg) = _world(tmp_path, registry, clock=clock)
    _append(log, XID_79)
    xids.pump(kmsg)
    clock.now += 60
    _append(log, XID_79)
    xids.pump(kmsg)

    readings, events = xids.collect(NOW + 61)

    assert [e.ts for e in events] == [NOW, NOW + 60]
    got = {r.metric: r.value for r in readings}
    assert got == {
        "gpuwarden_gpu_xid_errors_total": 2.0,
        "gpuwarden_gpu_last_xid_timestamp_seconds": NOW + 60,
    }


def test_urgent_hand_off_gets_the_event_at_once__collect_does_not_repeat_it(tmp_path, registry):
    handed: list = []
    _nvml, _gpus, log, xids, (_events, kmsg) = _world(
        tmp_path, registry, urgent=lambda node, event: handed.append((node, event))
    )
    _append(log, XID_79)
    xids.pump(kmsg)

    assert [(node, e.attrs["xid"]) for node, e in handed] == [("n1", 79)]
    readings, events = xids.collect(NOW + 1)
    assert events == []
    assert [r.value for r in readings if r.metric == "gpuwarden_gpu_xid_errors_total"] == [1.0]


def test_xid_pid_is_attributed_to_its_workload(tmp_path, registry):
    proc = tmp_path / "proc" / "4242"
    proc.mkdir(parents=True)
    cid = "c" * 64
    (proc / "cgroup").write_text(f"0::/kubepods/burstable/pod{'1' * 32}/{cid}\n")
    (tmp_path / "log" / "containers").mkdir(parents=True)
    (tmp_path / "log" / "containers" / f"vllm-0_serving_engine-{cid}.log").touch()
    workloads = WorkloadResolver(proc_root=tmp_path / "proc", log_root=tmp_path / "log")
    _nvml, _gpus, log, xids, (_events, kmsg) = _world(tmp_path, registry, workloads=workloads)
    _append(log, XID_13)
    xids.pump(kmsg)

    (event,) = xids.collect(NOW)[1]

    assert {k: event.attrs[k] for k in ("pid", "pod", "namespace", "container")} == {
        "pid": 4242,
        "pod": "vllm-0",
        "namespace": "serving",
        "container": "engine",
    }


def test_xid_on_an_unknown_gpu_keeps_its_bus_id(tmp_path, registry):
    xids = XidCollector(node="n1", registry=registry, readers=[])
    xids.feed.add(
        [__import__("agent.collectors.xid", fromlist=["Xid"]).Xid(31, "0000:af:00", "kmsg")]
    )

    (event,) = xids.collect(NOW)[1]

    assert event.labels == {}
    assert event.attrs == {"xid": 31, "pci": "0000:af:00", "message": "", "source": "kmsg"}
    assert event.message == "Xid 31 on 0000:af:00"


def test_reader_threads_follow_the_log_and_stop_on_close(tmp_path, registry):
    arrived = threading.Event()
    nvml, _gpus, log, xids, _readers = _world(
        tmp_path, registry, urgent=lambda _node, _event: arrived.set()
    )
    xids.start()
    try:
        _append(log, XID_79)
        assert arrived.wait(5)
    finally:
        xids.close()

    assert nvml.freed == 1


class FlakyReader:
    source = "flaky"
    idle_wait_s = 0.0

    def __init__(self) -> None:
        self.calls = 0
        self.retried = threading.Event()
        self.closed = False

    def read(self) -> list[Xid]:
        self.calls += 1
        if self.calls == 1:
            raise ERRORS["NVML_ERROR_GPU_IS_LOST"]()
        self.retried.set()
        return []

    def close(self) -> None:
        self.closed = True


def test_failing_reader_is_counted_and_retried(registry):
    reader = FlakyReader()
    xids = XidCollector(node="n1", registry=registry, readers=[reader], error_backoff_s=0.01)
    xids.start()
    try:
        assert reader.retried.wait(5)
    finally:
        xids.close()

    value = registry.get_sample_value(
        "gpuwarden_collect_errors_total", {"collector": "xid_flaky", "reason": "read_failed"}
    )
    assert value == 1
    assert reader.closed
