from __future__ import annotations

import os
from collections import namedtuple
from types import SimpleNamespace

import psutil
import pytest

from agent.collectors.host import HostCollector, ServingProcess
from agent.collectors.workloads import WorkloadResolver
from agent.errors import ConfigError

from .conftest import NOW

CpuTimes = namedtuple("CpuTimes", "user nice system idle iowait irq softirq steal guest guest_nice")
PSI = (
    "some avg10=1.50 avg60=0.80 avg300=0.20 total=123456789\n"
    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
)


class FakePsutil:
    """The psutil calls the host collector makes, with scripted answers."""

    Error = psutil.Error

    def __init__(self, processes=(), rss=None) -> None:
        self.times = [CpuTimes(100, 0, 50, 800, 10, 0, 0, 0, 0, 0)]
        self.processes = list(processes)
        self.rss = rss or {}

    def cpu_times(self):
        return self.times.pop(0) if len(self.times) > 1 else self.times[0]

    def virtual_memory(self):
        return SimpleNamespace(total=64 * 2**30, used=20 * 2**30, available=40 * 2**30)

    def getloadavg(self):
        return (1.5, 1.0, 0.5)

    def process_iter(self, attrs):
        assert attrs == ["pid", "name", "cmdline"]
        for pid, name, cmdline in self.processes:
            yield SimpleNamespace(info={"pid": pid, "name": name, "cmdline": cmdline})

    def Process(self, pid):  # noqa: N802 - psutil's name
        if pid not in self.rss:
            raise psutil.NoSuchProcess(pid)
        return SimpleNamespace(memory_info=lambda: SimpleNamespace(rss=self.rss[pid]))


def _proc(tmp_path, psi: str | None = PSI):
    proc = tmp_path / "proc"
    (proc / "pressure").mkdir(parents=True)
    if psi is not None:
        (proc / "pressure" / "cpu").write_text(psi)
    return proc


def _host(tmp_path, registry, ps, *, serving=(), psi: str | None = PSI):
    proc = _proc(tmp_path, psi)
    workloads = WorkloadResolver(proc_root=proc, log_root=tmp_path / "log")
    return HostCollector(
        node="n1", registry=registry, serving=serving, proc_root=proc, ps=ps, workloads=workloads
    )


def test_reads_cpu_pressure_memory_and_load_in_base_units(tmp_path, registry):
    readings, events = _host(tmp_path, registry, FakePsutil()).collect(NOW)

    assert events == []
    assert {r.metric: r.value for r in readings} == {
        "gpuwarden_cpu_pressure_waiting_seconds_total": pytest.approx(123.456789),
        "gpuwarden_cpu_iowait_seconds_total": 10.0,
        "gpuwarden_host_memory_total_bytes": 64 * 2**30,
        "gpuwarden_host_memory_used_bytes": 20 * 2**30,
        "gpuwarden_host_memory_available_bytes": 40 * 2**30,
        "gpuwarden_host_load1": 1.5,
        "gpuwarden_host_load5": 1.0,
        "gpuwarden_host_load15": 0.5,
    }
    assert all(r.ts == NOW and r.labels == {} for r in readings)


def test_iowait_ratio_is_the_share_of_cpu_time_since_the_last_cycle(tmp_path, registry):
    ps = FakePsutil()
    ps.times = [
        CpuTimes(100, 0, 50, 800, 10, 0, 0, 0, 5, 0),
        CpuTimes(130, 0, 60, 850, 20, 0, 0, 0, 10, 0),  # 100 s more, 10 of them in iowait
    ]
    host = _host(tmp_path, registry, ps)
    host.collect(NOW)
    readings, _ = host.collect(NOW + 5)

    assert {r.metric: r.value for r in readings}["gpuwarden_cpu_iowait_ratio"] == pytest.approx(0.1)


@pytest.mark.parametrize("psi", [None, "garbage\n"])
def test_kernel_without_psi__pressure_absent_not_an_error(tmp_path, registry, psi):
    readings, _ = _host(tmp_path, registry, FakePsutil(), psi=psi).collect(NOW)

    assert "gpuwarden_cpu_pressure_waiting_seconds_total" not in {r.metric for r in readings}
    assert "gpuwarden_host_load1" in {r.metric for r in readings}


def test_serving_processes_rss_is_summed_per_name_and_workload(tmp_path, registry):
    pid_file = tmp_path / "sglang.pid"
    pid_file.write_text("300\n")
    ps = FakePsutil(
        processes=[
            (100, "python3", ["python3", "-m", "vllm.entrypoints.openai.api_server"]),
            (101, "VLLM::EngineCore", ["python3", "-m", "vllm.entrypoints.openai.api_server"]),
            (102, "bash", ["bash"]),
            (103, "python3", ["python3", "-m", "vllm.entrypoints.openai.api_server"]),  # gone
            (os.getpid(), "gpuwarden", ["gpuwarden", "agent", "--serving-process", "vllm=vllm"]),
        ],
        rss={100: 2 * 2**30, 101: 6 * 2**30, 102: 1, 300: 3 * 2**30, os.getpid(): 1},
    )
    serving = [
        ServingProcess.parse(r"vllm=vllm\.entrypoints"),
        ServingProcess.parse(f"sglang={pid_file}"),
    ]
    for pid, name in ((100, "python3"), (101, "VLLM::EngineCore"), (300, "sglang")):
        folder = tmp_path / "proc" / str(pid)
        folder.mkdir(parents=True)
        (folder / "cgroup").write_text("0::/system.slice/vllm.service\n")
        (folder / "comm").write_text(name)

    readings, _ = _host(tmp_path, registry, ps, serving=serving).collect(NOW)

    rss = {
        tuple(sorted(r.labels.items())): r.value
        for r in readings
        if r.metric == "gpuwarden_process_resident_memory_bytes"
    }
    empty = {"pod": "", "namespace": "", "container": ""}
    assert rss == {
        tuple(sorted({**empty, "process": "vllm"}.items())): 8 * 2**30,
        tuple(sorted({**empty, "process": "sglang"}.items())): 3 * 2**30,
    }


@pytest.mark.parametrize("text", ["vllm", "=x", "vllm=", "bad name=x", "vllm=(unclosed"])
def test_bad_serving_process_spec_names_the_flag(text):
    with pytest.raises(ConfigError, match="--serving-process"):
        ServingProcess.parse(text)


def test_real_psutil_reads_this_host(tmp_path, registry):
    pid_file = tmp_path / "me.pid"
    pid_file.write_text(str(os.getpid()))
    host = HostCollector(
        node="n1", registry=registry, serving=[ServingProcess.parse(f"me={pid_file}")]
    )
    readings, _ = host.collect(NOW)
    got = {r.metric: r.value for r in readings}

    assert got["gpuwarden_host_memory_total_bytes"] > 0
    assert got["gpuwarden_process_resident_memory_bytes"] > 0
