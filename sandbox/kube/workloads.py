"""The controllers the stand-in runs: Deployments → ReplicaSets → Pods on GPU nodes.

Scheduling, readiness over a short simulated time and the status blocks are simulated here.

A Deployment's pod template hashes to one ReplicaSet per template (its revision in the
``deployment.kubernetes.io/revision`` annotation; returning to an old template re-uses that
ReplicaSet under a new revision, as ``kubectl rollout undo`` does). The new ReplicaSet is scaled
to the desired replicas at once; old ones shrink as new pods turn ready (with the ``Recreate``
strategy, to zero at once: nothing serves until the new pods are ready). A pod is scheduled on the
schedulable, Ready node with the most free ``nvidia.com/gpu`` and turns ready ``ready_after_s``
later; an image whose tag contains ``broken`` never does (CrashLoopBackOff), which is how the
demo makes a bad deploy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sandbox.kube.budgets import budget_status, is_ready
from sandbox.kube.clocks import rfc3339
from sandbox.kube.events import EventRecorder
from sandbox.kube.resources import DEPLOYMENTS, NODES, PDBS, PODS, REPLICASETS, Resource
from sandbox.kube.store import Object, Store, matches_selector

REVISION = "deployment.kubernetes.io/revision"
TEMPLATE_HASH = "pod-template-hash"
RECREATE = "Recreate"  # the Deployment strategy that stops the old pods before the new start
GPU = "nvidia.com/gpu"
_NOT_COPIED = (
    REVISION,
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "kubectl.kubernetes.io/last-applied-configuration",
)
_MAX_PASSES = 6


class Workloads:
    """Reconciles Deployments, ReplicaSets, Pods and PodDisruptionBudgets in the store."""

    def __init__(
        self, store: Store, events: EventRecorder, clock: Callable[[], float], ready_after_s: float
    ) -> None:
        self._store = store
        self._events = events
        self._clock = clock
        self.ready_after_s = ready_after_s
        self._ready_at: dict[str, float] = {}  # pod uid → when it turns ready
        self.logs: dict[str, list[str]] = {}  # pod uid → its log lines
        self._pods_made = 0

    def reconcile(self) -> None:
        """Run every controller until nothing changes (or a few passes)."""
        for _ in range(_MAX_PASSES):
            changed = [self._sync_deployment(d) for d in self._store.list(DEPLOYMENTS)]
            changed += [self._sync_replicaset(rs) for rs in self._store.list(REPLICASETS)]
            changed += [self._sync_pod(pod) for pod in self._store.list(PODS)]
            if not any(changed):
                break
        for rs in self._store.list(REPLICASETS):
            self._save(REPLICASETS, rs, {**rs, "status": self._replicaset_status(rs)})
        for deployment in self._store.list(DEPLOYMENTS):
            status = self._deployment_status(deployment)
            self._save(DEPLOYMENTS, deployment, {**deployment, "status": status})
        for pdb in self._store.list(PDBS):
            pods = self._store.list(PODS, pdb["metadata"]["namespace"])
            self._save(PDBS, pdb, {**pdb, "status": budget_status(pdb, pods, self._clock())})

    def settle(self) -> None:
        """Let every pod that waits for readiness turn ready now (to seed a running world)."""
        self.reconcile()
        for uid in self._ready_at:
            self._ready_at[uid] = 0.0
        self.reconcile()

    def forget(self, pod: Object) -> None:
        """Drop what the controllers remember of a deleted pod."""
        self._ready_at.pop(pod["metadata"]["uid"], None)

    # ---------------------------------------------------------------- deployments

    def _sync_deployment(self, deployment: Object) -> bool:
        owned = self.owned(REPLICASETS, deployment)
        template = deployment["spec"]["template"]
        digest = template_hash(template)
        current = next((rs for rs in owned if _labels(rs).get(TEMPLATE_HASH) == digest), None)
        newest = max((revision_of(rs) for rs in owned), default=0)
        changed = False
        if current is None:
            current = self._new_replicaset(deployment, digest, newest + 1)
            changed = True
        elif revision_of(current) != newest:
            current["metadata"]["annotations"][REVISION] = str(newest + 1)
        annotations = current["metadata"].setdefault("annotations", {})
        for key, value in (deployment["metadata"].get("annotations") or {}).items():
            if key not in _NOT_COPIED:
                annotations[key] = value
        annotations["deployment.kubernetes.io/desired-replicas"] = str(_replicas(deployment))
        current["spec"]["replicas"] = _replicas(deployment)
        changed |= self._save(REPLICASETS, self._store.get(REPLICASETS, *_key(current)), current)
        changed |= self._shrink_old(deployment, current, owned)
        meta = deployment["metadata"]
        if (meta.get("annotations") or {}).get(REVISION) != annotations[REVISION]:
            updated = {**deployment, "metadata": {**meta}}
            updated["metadata"]["annotations"] = {
                **(meta.get("annotations") or {}),
                REVISION: annotations[REVISION],
            }
            changed |= self._save(DEPLOYMENTS, deployment, updated)
        return changed

    def _new_replicaset(self, deployment: Object, digest: str, revision: int) -> Object:
        meta = deployment["metadata"]
        template = json.loads(json.dumps(deployment["spec"]["template"]))
        template["metadata"].setdefault("labels", {})[TEMPLATE_HASH] = digest
        selector = json.loads(json.dumps(deployment["spec"]["selector"]))
        selector.setdefault("matchLabels", {})[TEMPLATE_HASH] = digest
        name = f"{meta['name']}-{digest}"
        self._events.record(
            deployment,
            "ScalingReplicaSet",
            f"Scaled up replica set {name} from 0 to {_replicas(deployment)}",
            component="deployment-controller",
        )
        return {
            "kind": "ReplicaSet",
            "apiVersion": "apps/v1",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "uid": self._store.new_uid(),
                "creationTimestamp": rfc3339(self._clock()),
                "generation": 1,
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {REVISION: str(revision)},
                "ownerReferences": [owner_reference(deployment)],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
            "status": {"replicas": 0},
        }

    def _shrink_old(self, deployment: Object, current: Object, owned: list[Object]) -> bool:
        ready_new = sum(1 for pod in self.owned(PODS, current) if is_ready(pod))
        budget = max(_replicas(deployment) - ready_new, 0)
        if (deployment["spec"].get("strategy") or {}).get("type") == RECREATE:
            budget = 0
        changed = False
        old = [rs for rs in owned if rs["metadata"]["uid"] != current["metadata"]["uid"]]
        for rs in sorted(old, key=revision_of, reverse=True):
            keep = min(rs["spec"].get("replicas", 0), budget)
            budget -= keep
            if keep != rs["spec"].get("replicas", 0):
                self._events.record(
                    deployment,
                    "ScalingReplicaSet",
                    f"Scaled down replica set {rs['metadata']['name']} from "
                    f"{rs['spec'].get('replicas', 0)} to {keep}",
                    component="deployment-controller",
                )
                changed |= self._save(
                    REPLICASETS, rs, {**rs, "spec": {**rs["spec"], "replicas": keep}}
                )
        return changed

    def _deployment_status(self, deployment: Object) -> dict[str, Any]:
        desired = _replicas(deployment)
        owned = self.owned(REPLICASETS, deployment)
        digest = template_hash(deployment["spec"]["template"])
        pods = [pod for rs in owned for pod in self.owned(PODS, rs)]
        updated = [pod for pod in pods if _labels(pod).get(TEMPLATE_HASH) == digest]
        ready = sum(1 for pod in pods if is_ready(pod))
        complete = len(updated) == desired == len(pods) and all(is_ready(p) for p in updated)
        minimum = desired - desired // 4  # maxUnavailable 25 %
        old = (deployment.get("status") or {}).get("conditions") or []
        status: dict[str, Any] = {
            "observedGeneration": deployment["metadata"].get("generation", 1),
            "replicas": len(pods),
            "updatedReplicas": len(updated),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": max(desired - ready, 0),
            "conditions": [
                self._condition(
                    old,
                    "Available",
                    ready >= minimum,
                    "MinimumReplicasAvailable",
                    "MinimumReplicasUnavailable",
                ),
                self._condition(
                    old,
                    "Progressing",
                    True,
                    "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                    "",
                ),
            ],
        }
        return {key: value for key, value in status.items() if value != 0}

    def _condition(
        self, old: list[dict[str, Any]], type_: str, true: bool, reason: str, false_reason: str
    ) -> dict[str, Any]:
        state = "True" if true else "False"
        why = reason if true else false_reason
        now = rfc3339(self._clock())
        previous = next((c for c in old if c["type"] == type_), None)
        if previous and previous["status"] == state and previous["reason"] == why:
            return previous
        changed = (
            now if not previous or previous["status"] != state else previous["lastTransitionTime"]
        )
        return {
            "type": type_,
            "status": state,
            "reason": why,
            "message": f"{type_}: {why}",
            "lastUpdateTime": now,
            "lastTransitionTime": changed,
        }

    # ---------------------------------------------------------------- replicasets and pods

    def _sync_replicaset(self, rs: Object) -> bool:
        pods = self.owned(PODS, rs)
        wanted = int(rs["spec"].get("replicas", 0))
        for _ in range(wanted - len(pods)):
            self._create_pod(rs)
        surplus = sorted(pods, key=lambda p: (is_ready(p), p["metadata"]["creationTimestamp"]))
        for pod in surplus[: max(len(pods) - wanted, 0)]:
            self._store.remove(PODS, *_key(pod))
            self.forget(pod)
            self._events.record(
                rs,
                "SuccessfulDelete",
                f"Deleted pod: {pod['metadata']['name']}",
                component="replicaset-controller",
            )
        return len(pods) != wanted

    def _create_pod(self, rs: Object) -> None:
        self._pods_made += 1
        suffix = hashlib.sha256(f"{rs['metadata']['uid']}/{self._pods_made}".encode()).hexdigest()
        template = json.loads(json.dumps(rs["spec"]["template"]))
        pod = {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {
                "name": f"{rs['metadata']['name']}-{suffix[:5]}",
                "namespace": rs["metadata"]["namespace"],
                "uid": self._store.new_uid(),
                "creationTimestamp": rfc3339(self._clock()),
                "labels": template["metadata"].get("labels", {}),
                "annotations": template["metadata"].get("annotations", {}),
                "ownerReferences": [owner_reference(rs)],
            },
            "spec": template["spec"],
            "status": {"phase": "Pending", "qosClass": "Guaranteed"},
        }
        stored = self._store.put(PODS, pod)
        self._events.record(
            rs,
            "SuccessfulCreate",
            f"Created pod: {pod['metadata']['name']}",
            component="replicaset-controller",
        )
        self.logs[stored["metadata"]["uid"]] = []

    def _sync_pod(self, pod: Object) -> bool:
        if not pod["spec"].get("nodeName"):
            return self._schedule(pod)
        uid = pod["metadata"]["uid"]
        if is_ready(pod) or self._clock() < self._ready_at.get(uid, 0.0):
            return False
        broken = any("broken" in c.get("image", "") for c in pod["spec"]["containers"])
        status = pod_status(pod, ready=not broken, restarts=0, now=self._clock())
        if broken:
            previous = (pod["status"].get("containerStatuses") or [{}])[0].get("restartCount", 0)
            status = pod_status(pod, ready=False, restarts=previous + 1, now=self._clock())
            self._ready_at[uid] = self._clock() + self.ready_after_s
            self._log(
                pod,
                "RuntimeError: CUDA error: no kernel image is available for execution "
                "on the device",
            )
            self._events.record(
                pod,
                "BackOff",
                "Back-off restarting failed container",
                type_="Warning",
                component="kubelet",
            )
        else:
            self._log(pod, "INFO:     Application startup complete.")
            self._log(
                pod, "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)"
            )
        return self._save(PODS, pod, {**pod, "status": status})

    def _schedule(self, pod: Object) -> bool:
        wanted = gpu_request(pod)
        nodes = [n for n in self._store.list(NODES) if schedulable(n)]
        used = gpus_in_use(self._store.list(PODS))
        fits = [n for n in nodes if gpus_of(n) - used.get(n["metadata"]["name"], 0) >= wanted]
        if not fits:
            message = (
                f"0/{len(self._store.list(NODES))} nodes are available: "
                f"insufficient {GPU} or node(s) were unschedulable."
            )
            if not pod["status"].get("conditions"):
                self._events.record(
                    pod, "FailedScheduling", message, type_="Warning", component="default-scheduler"
                )
                status = {
                    **pod["status"],
                    "conditions": [
                        {
                            "type": "PodScheduled",
                            "status": "False",
                            "reason": "Unschedulable",
                            "message": message,
                            "lastTransitionTime": rfc3339(self._clock()),
                        }
                    ],
                }
                return self._save(PODS, pod, {**pod, "status": status})
            return False
        node = max(
            fits,
            key=lambda n: (
                gpus_of(n) - used.get(n["metadata"]["name"], 0),
                [-ord(c) for c in n["metadata"]["name"]],
            ),
        )
        name = node["metadata"]["name"]
        self._events.record(
            pod,
            "Scheduled",
            f"Successfully assigned {pod['metadata']['namespace']}/"
            f"{pod['metadata']['name']} to {name}",
            component="default-scheduler",
        )
        self._ready_at[pod["metadata"]["uid"]] = self._clock() + self.ready_after_s
        image = pod["spec"]["containers"][0].get("image", "")
        self._log(pod, f"INFO:     Started server process; loading {image} on {name}")
        scheduled = {**pod, "spec": {**pod["spec"], "nodeName": name}}
        scheduled["status"] = pod_status(scheduled, ready=False, restarts=0, now=self._clock())
        return self._save(PODS, pod, scheduled)

    def _log(self, pod: Object, line: str) -> None:
        stamp = rfc3339(self._clock())
        self.logs.setdefault(pod["metadata"]["uid"], []).append(f"{stamp} {line}")

    # ---------------------------------------------------------------- helpers

    def owned(self, resource: Resource, owner: Object) -> list[Object]:
        """Objects of ``resource`` whose controller is ``owner``."""
        uid = owner["metadata"]["uid"]
        return self._store.list(
            resource,
            owner["metadata"].get("namespace"),
            lambda obj: any(
                ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences", [])
            ),
        )

    def _save(self, resource: Resource, before: Object | None, after: Object) -> bool:
        if before == after:
            return False
        self._store.put(resource, after)
        return True

    def _replicaset_status(self, rs: Object) -> dict[str, Any]:
        pods = self.owned(PODS, rs)
        ready = sum(1 for pod in pods if is_ready(pod))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        return {key: value for key, value in status.items() if value != 0 or key == "replicas"}


def pod_status(pod: Object, *, ready: bool, restarts: int, now: float) -> dict[str, Any]:
    """The status block of a scheduled pod."""
    stamp = rfc3339(now)
    flag = "True" if ready else "False"
    container = pod["spec"]["containers"][0]
    state: dict[str, Any] = (
        {"running": {"startedAt": stamp}}
        if ready or not restarts
        else {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off restarting failed container {container['name']}",
            }
        }
    )
    node_index = "".join(c for c in pod["spec"].get("nodeName", "") if c.isdigit()) or "0"
    return {
        "phase": "Running",
        "hostIP": f"10.0.0.{node_index}",
        "podIP": f"10.244.{node_index}.{int(pod['metadata']['uid'][-4:]) % 250 + 2}",
        "startTime": pod["status"].get("startTime", stamp),
        "qosClass": "Guaranteed",
        "conditions": [
            {"type": t, "status": s, "lastTransitionTime": stamp}
            for t, s in (
                ("PodScheduled", "True"),
                ("Initialized", "True"),
                ("ContainersReady", flag),
                ("Ready", flag),
            )
        ],
        "containerStatuses": [
            {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": "",
                "ready": ready,
                "restartCount": restarts,
                "started": ready,
                "state": state,
            }
            for c in pod["spec"]["containers"]
        ],
    }


def template_hash(template: dict[str, Any]) -> str:
    """The pod-template-hash of a pod template (stable over key order)."""
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def revision_of(obj: Object) -> int:
    """The ``deployment.kubernetes.io/revision`` annotation as a number (0 when unset)."""
    return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0"))


def owner_reference(owner: Object) -> dict[str, Any]:
    """A controller ownerReference to ``owner``."""
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def gpu_request(pod: Object) -> int:
    """GPUs the pod's containers request (limits count where requests are unset)."""
    total = 0
    for container in pod["spec"].get("containers", []):
        resources = container.get("resources") or {}
        amount = (resources.get("requests") or {}).get(GPU) or (resources.get("limits") or {}).get(
            GPU
        )
        total += int(amount or 0)
    return total


def gpus_of(node: Object) -> int:
    """The node's allocatable ``nvidia.com/gpu``."""
    return int((node.get("status") or {}).get("allocatable", {}).get(GPU, "0"))


def gpus_in_use(pods: list[Object]) -> dict[str, int]:
    """GPUs requested per node by the pods scheduled there."""
    used: dict[str, int] = {}
    for pod in pods:
        if node := pod["spec"].get("nodeName"):
            used[node] = used.get(node, 0) + gpu_request(pod)
    return used


def schedulable(node: Object) -> bool:
    """Whether new pods may land on ``node``: not cordoned, and Ready."""
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    return ready and not node["spec"].get("unschedulable", False)


def matches_pods(selector: dict[str, Any] | None, pod: Object) -> bool:
    """Whether a LabelSelector object selects ``pod``."""
    return matches_selector(selector, _labels(pod))


def _labels(obj: Object) -> dict[str, str]:
    return dict(obj["metadata"].get("labels") or {})


def _replicas(deployment: Object) -> int:
    return int(deployment["spec"].get("replicas", 1))


def _key(obj: Object) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
