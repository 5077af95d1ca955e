from __future__ import annotations

import pytest

from agent.collectors.workloads import CgroupPath, Workload, WorkloadResolver, parse_cgroup

UID = "3c8f9e2a-1b2c-4d5e-8f90-123456789abc"
UID_ = UID.replace("-", "_")
CID = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            f"12:memory:/kubepods/burstable/pod{UID}/{CID}\n11:cpu,cpuacct:/kubepods/burstable/pod{UID}/{CID}\n",
            id="v1-cgroupfs",
        ),
        pytest.param(f"4:pids:/kubepods/pod{UID}/{CID}\n", id="v1-guaranteed"),
        pytest.param(
            "10:memory:/kubepods.slice/kubepods-burstable.slice/"
            f"kubepods-burstable-pod{UID_}.slice/docker-{CID}.scope\n",
            id="v1-systemd-docker",
        ),
        pytest.param(
            "0::/kubepods.slice/kubepods-besteffort.slice/"
            f"kubepods-besteffort-pod{UID_}.slice/cri-containerd-{CID}.scope\n",
            id="v2-systemd-containerd",
        ),
        pytest.param(
            f"0::/kubepods.slice/kubepods-pod{UID_}.slice/crio-{CID}.scope\n", id="v2-crio"
        ),
        pytest.param(f"0::/kubepods/burstable/pod{UID}/{CID}\n", id="v2-cgroupfs"),
        pytest.param(
            "0::/system.slice/containerd.service/"
            f"kubepods-burstable-pod{UID_}.slice:cri-containerd:{CID}\n",
            id="v2-containerd-no-slices",
        ),
        pytest.param(
            f"1:name=systemd:/user.slice\n0::/kubepods/besteffort/pod{UID}/{CID}\n",
            id="hybrid-prefers-unified",
        ),
    ],
)
def test_finds_pod_uid_and_container_id__in_every_kubelet_layout(text):
    assert parse_cgroup(text) == CgroupPath(UID, CID)


def test_static_pod_uid_without_dashes_is_kept():
    uid = "d6e1f1c7e7e0e6f5a9b8c7d6e5f4a3b2"
    assert parse_cgroup(f"0::/kubepods/burstable/pod{uid}/{CID}\n") == CgroupPath(uid, CID)


@pytest.mark.parametrize(
    "text",
    [
        "0::/user.slice/user-1000.slice/session-3.scope\n",
        f"0::/system.slice/docker-{CID}.scope\n",
        "0::/\n",
        "",
    ],
)
def test_processes_outside_kubernetes_have_no_pod(text):
    assert parse_cgroup(text) is None


def _proc(tmp_path, pid: int, cgroup: str, comm: str = "python3"):
    folder = tmp_path / "proc" / str(pid)
    folder.mkdir(parents=True)
    (folder / "cgroup").write_text(cgroup)
    (folder / "comm").write_text(comm + "\n")
    return tmp_path / "proc"


def test_names_come_from_the_kubelet_log_links(tmp_path):
    proc = _proc(tmp_path, 7, f"0::/kubepods/burstable/pod{UID}/{CID}\n")
    logs = tmp_path / "log"
    (logs / "containers").mkdir(parents=True)
    (logs / "containers" / f"vllm-llama-0_serving_vllm-{CID}.log").touch()

    assert WorkloadResolver(proc, logs).resolve(7) == Workload("vllm-llama-0", "serving", "vllm")


def test_a_container_without_log_link__pod_from_pods_folder_and_short_container_id(tmp_path):
    proc = _proc(tmp_path, 7, f"0::/kubepods/burstable/pod{UID}/{CID}\n")
    logs = tmp_path / "log"
    (logs / "pods" / f"serving_vllm-llama-0_{UID}").mkdir(parents=True)

    assert WorkloadResolver(proc, logs).resolve(7) == Workload("vllm-llama-0", "serving", CID[:12])


def test_unnamed_pod__falls_back_to_its_uid(tmp_path):
    proc = _proc(tmp_path, 7, f"0::/kubepods/burstable/pod{UID}/{CID}\n")
    workload = WorkloadResolver(proc, tmp_path / "nolog").resolve(7)

    assert workload == Workload(pod=UID, container=CID[:12])


def test_plain_process_is_named_by_its_command__never_its_pid(tmp_path):
    proc = _proc(tmp_path, 4242, "0::/user.slice\n", comm="train.py")
    workload = WorkloadResolver(proc, tmp_path).resolve(4242)

    assert workload == Workload(process="train.py")
    assert "4242" not in workload.labels().values()


def test_gone_process_resolves_to_none(tmp_path):
    assert WorkloadResolver(tmp_path, tmp_path).resolve(1) is None


def test_log_links_are_rescanned_at_most_every_ten_seconds(tmp_path):
    proc = _proc(tmp_path, 7, f"0::/kubepods/burstable/pod{UID}/{CID}\n")
    logs = tmp_path / "log"
    (logs / "containers").mkdir(parents=True)
    now = [100.0]
    resolver = WorkloadResolver(proc, logs, clock=lambda: now[0])
    assert resolver.resolve(7) == Workload(pod=UID, container=CID[:12])
    (logs / "containers" / f"p_ns_c-{CID}.log").touch()

    assert resolver.resolve(7) == Workload(pod=UID, container=CID[:12])
    now[0] += 10
    assert resolver.resolve(7) == Workload("p", "ns", "c")
