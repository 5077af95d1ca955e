"""What every action's plan shares: its context, the plan builder and the blast-radius maths."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.adapters.k8s.reads import Obj, Reader, gpus_per_pod, selects
from bot.core.actions import ActionRequest, BlastRadius, Outcome, Plan, RiskPolicy, assess_risk

TEMPLATE_HASH = "pod-template-hash"


@dataclass(frozen=True, slots=True)
class Context:
    """Settings an action needs besides the cluster."""

    risk: RiskPolicy
    now: float  # unix seconds, from the injected clock
    poll_s: float
    eviction_timeout_s: float


class Change(Protocol):
    """How one kind of action is planned, applied and checked."""

    def plan(self, reader: Reader, request: ActionRequest, context: Context) -> Plan:
        """Observe the target, dry-run the change on the server, and build the plan."""
        ...

    def apply(self, reader: Reader, plan: Plan, context: Context) -> Outcome:
        """Make the change, conditioned on ``plan.resource_version``."""
        ...

    def check(self, reader: Reader, plan: Plan, *, converged: bool) -> Outcome:
        """Whether the change is in effect (and, with ``converged``, has finished rolling)."""
        ...


def build_plan(
    request: ActionRequest,
    *,
    observed: Mapping[str, str],
    diff: list[str],
    expected: Mapping[str, str],
    blast: BlastRadius,
    undo: ActionRequest | None,
    resource_version: str,
    context: Context,
    current_replicas: int | None = None,
) -> Plan:
    """A plan whose risk follows the context's policy."""
    risk = assess_risk(request, current_replicas=current_replicas, blast=blast, policy=context.risk)
    return Plan(
        request=request,
        observed=dict(observed),
        diff=tuple(diff),
        expected=dict(expected),
        blast=blast,
        undo=undo,
        resource_version=resource_version,
        risk=risk,
    )


def share(part: int, whole: int) -> float:
    """``part / whole`` clamped to 0..1 (0 when nothing serves)."""
    return min(part / whole, 1.0) if whole > 0 else 0.0


def workload_blast(reader: Reader, deployment: Obj, replicas: int) -> BlastRadius:
    """What replacing or moving ``replicas`` pods of ``deployment`` touches."""
    namespace = deployment["metadata"]["namespace"]
    serving = reader.serving_pods(namespace)
    labels = deployment["spec"]["selector"].get("matchLabels") or {}
    mine = [pod for pod in serving if selects(labels, pod["metadata"].get("labels") or {})]
    fraction = share(replicas, len(serving)) if mine else 0.0
    per_pod = gpus_per_pod(deployment["spec"]["template"].get("spec") or {})
    pods = reader.pods(namespace, labels=labels_text(labels))
    nodes = sorted({pod["spec"]["nodeName"] for pod in pods if pod["spec"].get("nodeName")})
    return BlastRadius(
        replicas=replicas, gpus=replicas * per_pod, capacity_share=fraction, nodes=tuple(nodes)
    )


def template_digest(template: Obj) -> str:
    """A digest of a pod template that ignores the controller's pod-template-hash label."""
    clean = json.loads(json.dumps(template))
    (clean.get("metadata") or {}).get("labels", {}).pop(TEMPLATE_HASH, None)
    return hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()[:16]


def rollout_done(deployment: Obj) -> tuple[bool, dict[str, str]]:
    """Whether a Deployment's rollout has finished, and the status figures that say so."""
    wanted = int(deployment["spec"].get("replicas", 1))
    status = deployment.get("status") or {}
    figures = {
        "spec.replicas": str(wanted),
        "status.replicas": str(status.get("replicas", 0)),
        "status.updatedReplicas": str(status.get("updatedReplicas", 0)),
        "status.readyReplicas": str(status.get("readyReplicas", 0)),
    }
    observed_generation = status.get("observedGeneration", 0)
    done = (
        observed_generation >= deployment["metadata"].get("generation", 1)
        and status.get("updatedReplicas", 0) == wanted
        and status.get("replicas", 0) == wanted
        and status.get("readyReplicas", 0) == wanted
    )
    return done, figures


def labels_text(labels: Mapping[str, Any]) -> str:
    """``a=b,c=d``."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
