"""Cordon, uncordon and drain a node.

A drain evicts through ``pods/eviction`` so that PodDisruptionBudgets hold, and reports the
pods it could not evict in time.
"""

from __future__ import annotations

import time

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bot.adapters.k8s.connection import MERGE_PATCH, call, status_message
from bot.adapters.k8s.planning import Context, build_plan, share
from bot.adapters.k8s.reads import GPU, Obj, Reader, gpus_per_pod
from bot.core.actions import ActionKind, ActionRequest, BlastRadius, Outcome, Plan
from bot.core.errors import AdapterError

_TOO_MANY_REQUESTS, _NOT_FOUND = 429, 404


class CordonChange:
    """``spec.unschedulable`` on (cordon) or off (uncordon)."""

    def plan(self, reader: Reader, request: ActionRequest, context: Context) -> Plan:
        """Read the node, dry-run the patch, and plan it."""
        node = reader.node(request.name)
        wanted = request.kind is not ActionKind.UNCORDON
        current = bool(node["spec"].get("unschedulable", False))
        rv = node["metadata"]["resourceVersion"]
        set_unschedulable(reader, request.name, wanted, rv, dry_run=True)
        opposite = ActionKind.UNCORDON if wanted else ActionKind.CORDON
        return build_plan(
            request,
            observed={"spec.unschedulable": _flag(current)},
            diff=[]
            if current == wanted
            else [f"spec.unschedulable: {_flag(current)} → {_flag(wanted)}"],
            expected={"spec.unschedulable": _flag(wanted)},
            blast=BlastRadius(gpus=_gpus(node), nodes=(request.name,)),
            undo=ActionRequest(opposite, request.name),
            resource_version=rv,
            context=context,
        )

    def apply(self, reader: Reader, plan: Plan, context: Context) -> Outcome:  # noqa: ARG002
        """Patch the node, conditioned on the planned resourceVersion."""
        wanted = plan.expected["spec.unschedulable"] == "true"
        set_unschedulable(reader, plan.request.name, wanted, plan.resource_version, dry_run=False)
        return Outcome(True, f"{plan.request.describe()}: done", dict(plan.expected))

    def check(self, reader: Reader, plan: Plan, *, converged: bool) -> Outcome:  # noqa: ARG002
        """The node's flag is the planned one."""
        node = reader.node(plan.request.name)
        flag = _flag(bool(node["spec"].get("unschedulable", False)))
        ok = flag == plan.expected["spec.unschedulable"]
        detail = f"{plan.request.describe()}: {'done' if ok else 'not in effect'}"
        return Outcome(ok, detail, {"spec.unschedulable": flag})


class DrainChange:
    """Cordon, then evict every pod on the node (DaemonSet and mirror pods stay)."""

    def plan(self, reader: Reader, request: ActionRequest, context: Context) -> Plan:
        """Dry-run the cordon and every eviction; pods a budget protects now are noted."""
        node = reader.node(request.name)
        rv = node["metadata"]["resourceVersion"]
        cordoned = bool(node["spec"].get("unschedulable", False))
        set_unschedulable(reader, request.name, True, rv, dry_run=True)
        pods = evictable(reader, request.name)
        blocked = [_ref(pod) for pod in pods if evict(reader, pod, dry_run=True) == "blocked"]
        serving = {
            _ref(pod)
            for namespace in sorted({pod["metadata"]["namespace"] for pod in pods})
            for pod in reader.serving_pods(namespace)
        }
        moved = [pod for pod in pods if _ref(pod) in serving]
        diff = [] if cordoned else ["spec.unschedulable: false → true"]
        return build_plan(
            request,
            observed={
                "spec.unschedulable": _flag(cordoned),
                "pods": ",".join(_ref(pod) for pod in pods),
                "blocked_by_pdb_now": ",".join(blocked),
            },
            diff=diff + [f"evict {_ref(pod)}" for pod in pods],
            expected={"spec.unschedulable": "true", "pods": "0"},
            blast=BlastRadius(
                replicas=len(pods),
                gpus=sum(gpus_per_pod(pod["spec"]) for pod in pods),
                capacity_share=share(len(moved), len(serving)),
                nodes=(request.name,),
            ),
            undo=ActionRequest(ActionKind.UNCORDON, request.name),
            resource_version=rv,
            context=context,
        )

    def apply(self, reader: Reader, plan: Plan, context: Context) -> Outcome:
        """Cordon (conditioned on the resourceVersion), then evict until done or timed out."""
        name = plan.request.name
        set_unschedulable(reader, name, True, plan.resource_version, dry_run=False)
        deadline = time.monotonic() + context.eviction_timeout_s
        evicted: list[str] = []
        while True:
            waiting: list[str] = []
            for pod in evictable(reader, name):
                result = evict(reader, pod, dry_run=False)
                (evicted if result == "evicted" else waiting).append(_ref(pod))
            if not waiting or time.monotonic() >= deadline:
                break
            time.sleep(context.poll_s)
        observed = {"evicted": ",".join(evicted), "not_evicted": ",".join(waiting)}
        if waiting:
            detail = (
                f"drained {name} except {len(waiting)} pod(s) a PodDisruptionBudget "
                f"kept: {', '.join(waiting)}"
            )
            return Outcome(False, detail, observed)
        return Outcome(True, f"drained {name}: {len(evicted)} pod(s) evicted", observed)

    def check(self, reader: Reader, plan: Plan, *, converged: bool) -> Outcome:  # noqa: ARG002
        """Drained when the node is cordoned and no evictable pod is left on it."""
        node = reader.node(plan.request.name)
        left = [_ref(pod) for pod in evictable(reader, plan.request.name)]
        cordoned = bool(node["spec"].get("unschedulable", False))
        observed = {"spec.unschedulable": _flag(cordoned), "pods": ",".join(left)}
        if cordoned and not left:
            return Outcome(True, f"{plan.request.name} is drained", observed)
        return Outcome(False, f"{plan.request.name} still runs {len(left)} pod(s)", observed)


def set_unschedulable(reader: Reader, name: str, wanted: bool, rv: str, *, dry_run: bool) -> None:
    """Patch ``spec.unschedulable`` with a resourceVersion precondition."""
    call(
        f"{'cordon' if wanted else 'uncordon'} {name}",
        reader.core.patch_node,
        name,
        {"metadata": {"resourceVersion": rv}, "spec": {"unschedulable": wanted}},
        dry_run="All" if dry_run else None,
        _content_type=MERGE_PATCH,
    )


def evictable(reader: Reader, node: str) -> list[Obj]:
    """Pods on ``node`` that a drain evicts: not DaemonSet-owned, not mirror pods, not done."""
    pods = reader.pods(None, fields=f"spec.nodeName={node}")
    return [
        pod
        for pod in pods
        if not any(
            ref.get("kind") == "DaemonSet" for ref in pod["metadata"].get("ownerReferences", [])
        )
        and "kubernetes.io/config.mirror" not in (pod["metadata"].get("annotations") or {})
        and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]


def evict(reader: Reader, pod: Obj, *, dry_run: bool) -> str:
    """Evict one pod: ``evicted``, ``blocked`` (a budget said 429) or ``gone`` (404)."""
    meta = pod["metadata"]
    body = client.V1Eviction(
        metadata=client.V1ObjectMeta(name=meta["name"], namespace=meta["namespace"])
    )
    try:
        reader.core.create_namespaced_pod_eviction(
            meta["name"], meta["namespace"], body, dry_run="All" if dry_run else None
        )
    except ApiException as exc:
        if exc.status == _TOO_MANY_REQUESTS:
            return "blocked"
        if exc.status == _NOT_FOUND:
            return "gone"
        msg = f"evict {_ref(pod)}: Kubernetes API answered {exc.status}: {status_message(exc)}"
        raise AdapterError(msg) from exc
    return "evicted"


def _ref(pod: Obj) -> str:
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _gpus(node: Obj) -> int:
    return int(((node.get("status") or {}).get("capacity") or {}).get(GPU, "0"))
