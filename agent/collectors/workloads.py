"""Which workload a host PID belongs to: pod, namespace and container from its cgroup.

`/proc/<pid>/cgroup` names the pod UID and container ID in every kubelet layout:

- cgroup v1, cgroupfs driver: ``4:memory:/kubepods/burstable/pod<uid>/<id>``
- systemd driver (v1 or v2): ``0::/kubepods.slice/kubepods-besteffort.slice/
  kubepods-besteffort-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope``
  (``crio-<id>.scope`` for CRI-O, ``docker-<id>.scope`` for dockershim)
- containerd without systemd slices: ``…/kubepods-pod<uid>.slice:cri-containerd:<id>``

Names come from the kubelet's log links, ``/var/log/containers/<pod>_<namespace>_<container>-
<id>.log`` and ``/var/log/pods/<namespace>_<pod>_<uid>/``. Outside Kubernetes a process is named
by its command (``/proc/<pid>/comm``); a PID never becomes a label.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_POD = re.compile(
    r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})"
    r"(?:\.slice)?(?=/|:|$)"
)
_CONTAINER = re.compile(r"(?:^|[/:-])([0-9a-f]{64})(?:\.scope)?$")
_CONTAINER_LOG = re.compile(r"^([^_]+)_([^_]+)_(.+)-([0-9a-f]{64})\.log$")
_POD_LOG = re.compile(r"^([^_]+)_([^_]+)_(.+)$")
_SHORT_ID = 12
_FIELDS = 3  # hierarchy-ID:controllers:path
_RELOAD_EVERY_S = 10.0  # rescan the log links at most this often when a name is missing


@dataclass(frozen=True, slots=True)
class Workload:
    """Who runs a process: a Kubernetes container, or a plain named process."""

    pod: str = ""
    namespace: str = ""
    container: str = ""
    process: str = ""

    def labels(self) -> dict[str, str]:
        """Return the four labels, empty where they do not apply."""
        return {
            "pod": self.pod,
            "namespace": self.namespace,
            "container": self.container,
            "process": self.process,
        }


@dataclass(frozen=True, slots=True)
class CgroupPath:
    """The Kubernetes identity found in one process's cgroup file."""

    pod_uid: str
    container_id: str


def parse_cgroup(text: str) -> CgroupPath | None:
    """Return the pod UID and container ID in a `/proc/<pid>/cgroup` text, if it has any."""
    lines = [line.split(":", 2) for line in text.splitlines() if line.count(":") >= _FIELDS - 1]
    unified = [path for hid, _, path in lines if hid == "0"]
    for path in unified + [path for _, _, path in lines]:
        found = _parse_path(path.strip())
        if found is not None:
            return found
    return None


def _parse_path(path: str) -> CgroupPath | None:
    if "kubepods" not in path:
        return None
    pod = _POD.search(path)
    if pod is None:
        return None
    container = _CONTAINER.search(path)
    return CgroupPath(
        pod_uid=pod.group(1).replace("_", "-"),
        container_id=container.group(1) if container else "",
    )


class WorkloadResolver:
    """Maps host PIDs to workloads, reading `proc_root` and the kubelet's `log_root`."""

    def __init__(
        self,
        proc_root: Path = Path("/proc"),
        log_root: Path = Path("/var/log"),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._proc = proc_root
        self._logs = log_root
        self._clock = clock
        self._reloaded_at: float | None = None
        self._containers: dict[str, Workload] = {}
        self._pods: dict[str, tuple[str, str]] = {}

    def resolve(self, pid: int) -> Workload | None:
        """Return the workload of `pid`, or None when the process is gone."""
        try:
            cgroup = (self._proc / str(pid) / "cgroup").read_text()
        except OSError:
            return None
        found = parse_cgroup(cgroup)
        if found is None:
            return Workload(process=self._command(pid))
        return self._named(found)

    def _command(self, pid: int) -> str:
        try:
            return (self._proc / str(pid) / "comm").read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def _named(self, found: CgroupPath) -> Workload:
        if found.container_id and found.container_id not in self._containers:
            self._reload()
        named = self._containers.get(found.container_id)
        if named is not None:
            return named
        if found.pod_uid not in self._pods:
            self._reload()
        namespace, pod = self._pods.get(found.pod_uid, ("", found.pod_uid))
        return Workload(pod=pod, namespace=namespace, container=found.container_id[:_SHORT_ID])

    def _reload(self) -> None:
        now = self._clock()
        if self._reloaded_at is not None and now - self._reloaded_at < _RELOAD_EVERY_S:
            return
        self._reloaded_at = now
        containers = [_CONTAINER_LOG.match(n) for n in _names_in(self._logs / "containers")]
        self._containers = {
            cid: Workload(pod, namespace, container)
            for pod, namespace, container, cid in (m.groups() for m in containers if m)
        }
        pods = [_POD_LOG.match(n) for n in _names_in(self._logs / "pods")]
        self._pods = {
            uid: (namespace, pod) for namespace, pod, uid in (m.groups() for m in pods if m)
        }


def _names_in(folder: Path) -> list[str]:
    try:
        return [entry.name for entry in folder.iterdir()]
    except OSError:
        return []
