"""The read-only probes that runbook diagnostics run.

Events, pods with their log tails, rollout history, and nodes with their GPUs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from bot.adapters.k8s.connection import call
from bot.adapters.k8s.planning import labels_text
from bot.adapters.k8s.reads import GPU, Obj, Reader, gpus_per_pod, is_ready, revision
from bot.core.cluster import ClusterEvent, NodeCapacity, PodStatus, RolloutRevision

CHANGE_CAUSE = "kubernetes.io/change-cause"


def events(reader: Reader, namespace: str | None, name: str, limit: int) -> list[ClusterEvent]:
    """Events about a Deployment (with its ReplicaSets and pods), or about a node, newest first."""
    if namespace is None:
        found = call(
            f"events of node {name}",
            reader.core.list_event_for_all_namespaces,
            field_selector=f"involvedObject.kind=Node,involvedObject.name={name}",
        )
        items = [reader.json(item) for item in found.items]
    else:
        found = call(f"events in {namespace}", reader.core.list_namespaced_event, namespace)
        items = [
            event
            for event in (reader.json(item) for item in found.items)
            if _about(event["involvedObject"].get("name", ""), name)
        ]
    items.sort(
        key=lambda e: (
            _time(e.get("lastTimestamp") or e["metadata"].get("creationTimestamp")) or 0.0
        ),
        reverse=True,
    )
    return [_event(event) for event in items[:limit]]


def pods(reader: Reader, namespace: str, name: str, log_lines: int) -> list[PodStatus]:
    """The Deployment's pods with the last ``log_lines`` lines of each one's log."""
    deployment = reader.deployment(namespace, name)
    selector = labels_text(deployment["spec"]["selector"].get("matchLabels") or {})
    return [
        _pod(pod, _log_tail(reader, pod, log_lines) if log_lines > 0 else ())
        for pod in reader.pods(namespace, labels=selector)
    ]


def rollout_history(reader: Reader, namespace: str, name: str, limit: int) -> list[RolloutRevision]:
    """The Deployment's last ``limit`` revisions, newest first."""
    deployment = reader.deployment(namespace, name)
    current = revision(deployment)
    history = sorted(reader.replicasets(deployment), key=revision, reverse=True)[:limit]
    return [
        RolloutRevision(
            revision=revision(rs),
            images=tuple(c.get("image", "") for c in rs["spec"]["template"]["spec"]["containers"]),
            change_cause=(rs["metadata"].get("annotations") or {}).get(CHANGE_CAUSE),
            created=_time(rs["metadata"].get("creationTimestamp")),
            current=revision(rs) == current,
        )
        for rs in history
    ]


def nodes(reader: Reader) -> list[NodeCapacity]:
    """Every node with its GPU capacity and the GPUs its pods request."""
    found = call("nodes", reader.core.list_node)
    requested: dict[str, int] = {}
    for pod in reader.pods(None):
        if (node := pod["spec"].get("nodeName")) and (pod.get("status") or {}).get("phase") not in (
            "Succeeded",
            "Failed",
        ):
            requested[node] = requested.get(node, 0) + gpus_per_pod(pod["spec"])
    result = []
    for node in (reader.json(item) for item in found.items):
        status = node.get("status") or {}
        name = node["metadata"]["name"]
        result.append(
            NodeCapacity(
                name=name,
                gpus=int((status.get("capacity") or {}).get(GPU, "0")),
                gpus_allocatable=int((status.get("allocatable") or {}).get(GPU, "0")),
                gpus_requested=requested.get(name, 0),
                unschedulable=bool(node["spec"].get("unschedulable", False)),
                ready=any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in status.get("conditions") or []
                ),
            )
        )
    return sorted(result, key=lambda n: n.name)


def _about(involved: str, name: str) -> bool:
    return involved == name or involved.startswith(f"{name}-")


def _event(event: Obj) -> ClusterEvent:
    involved = event["involvedObject"]
    return ClusterEvent(
        type=event.get("type") or "Normal",
        reason=event.get("reason") or "",
        message=event.get("message") or "",
        involved="/".join(
            part
            for part in (involved.get("kind"), involved.get("namespace"), involved.get("name"))
            if part
        ),
        count=int(event.get("count") or 1),
        last_seen=_time(event.get("lastTimestamp") or event["metadata"].get("creationTimestamp")),
    )


def _pod(pod: Obj, log_tail: tuple[str, ...]) -> PodStatus:
    status = pod.get("status") or {}
    containers = status.get("containerStatuses") or []
    reason = next(
        (
            (c.get("state") or {}).get(state, {}).get("reason")
            for c in containers
            for state in ("waiting", "terminated")
            if (c.get("state") or {}).get(state)
        ),
        None,
    )
    return PodStatus(
        name=pod["metadata"]["name"],
        phase=status.get("phase") or "Unknown",
        ready=is_ready(pod),
        restarts=sum(int(c.get("restartCount") or 0) for c in containers),
        node=pod["spec"].get("nodeName"),
        reason=reason,
        log_tail=log_tail,
    )


def _log_tail(reader: Reader, pod: Obj, lines: int) -> tuple[str, ...]:
    meta = pod["metadata"]
    try:
        text: Any = reader.core.read_namespaced_pod_log(
            meta["name"], meta["namespace"], tail_lines=lines
        )
    except ApiException:
        return ()  # a container that has not started has no log yet
    return tuple(str(text).splitlines()[-lines:])


def _time(value: Any) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
