"""What the read-only Kubernetes probes report, as values (pure).

Runbook diagnostics show these in the incident thread: recent events of an object, the status of
a Deployment's pods (with their last log lines where the cluster serves them), the last rollout
revisions with their images and change causes, and the nodes with their GPU capacity.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    """One core/v1 Event about an object."""

    type: str  # Normal | Warning
    reason: str
    message: str
    involved: str  # Kind/namespace/name
    count: int
    last_seen: float | None  # unix seconds


@dataclass(frozen=True, slots=True)
class PodStatus:
    """One pod of a Deployment."""

    name: str
    phase: str
    ready: bool
    restarts: int
    node: str | None
    reason: str | None = None  # waiting/terminated reason (CrashLoopBackOff, OOMKilled …)
    log_tail: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RolloutRevision:
    """One revision of a Deployment (one of its ReplicaSets), newest first in a history."""

    revision: int
    images: tuple[str, ...]
    change_cause: str | None
    created: float | None  # unix seconds
    current: bool


@dataclass(frozen=True, slots=True)
class NodeCapacity:
    """A node with its GPUs and whether new pods may be scheduled there."""

    name: str
    gpus: int  # capacity nvidia.com/gpu
    gpus_allocatable: int
    gpus_requested: int  # by the pods running there
    unschedulable: bool
    ready: bool

    @property
    def gpus_free(self) -> int:
        """GPUs a new pod could still request here (0 when cordoned)."""
        return 0 if self.unschedulable else max(self.gpus_allocatable - self.gpus_requested, 0)
