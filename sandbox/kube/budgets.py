"""PodDisruptionBudgets: their status as the disruption controller computes it."""

from __future__ import annotations

import math
from typing import Any

from sandbox.kube.clocks import rfc3339
from sandbox.kube.store import Object, matches_selector


def desired_healthy(spec: dict[str, Any], expected: int) -> int:
    """Healthy pods the budget requires out of ``expected``."""
    if (minimum := spec.get("minAvailable")) is not None:
        return _count(minimum, expected)
    if (maximum := spec.get("maxUnavailable")) is not None:
        return max(expected - _count(maximum, expected), 0)
    return 0


def budget_status(pdb: Object, pods: list[Object], now: float) -> dict[str, Any]:
    """The status block of ``pdb`` over the namespace's ``pods``."""
    selected = [p for p in pods if matches_selector(pdb["spec"].get("selector"), _labels(p))]
    healthy = sum(1 for pod in selected if is_ready(pod))
    desired = desired_healthy(pdb["spec"], len(selected))
    allowed = max(healthy - desired, 0)
    previous = {c["type"]: c for c in (pdb.get("status") or {}).get("conditions", [])}
    state = "True" if allowed > 0 else "False"
    old = previous.get("DisruptionAllowed")
    changed_at = old["lastTransitionTime"] if old and old["status"] == state else rfc3339(now)
    generation = pdb["metadata"].get("generation", 1)
    return {
        "observedGeneration": generation,
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": len(selected),
        "conditions": [
            {
                "type": "DisruptionAllowed",
                "status": state,
                "reason": "SufficientPods" if allowed > 0 else "InsufficientPods",
                "message": "",
                "lastTransitionTime": changed_at,
                "observedGeneration": generation,
            }
        ],
    }


def is_ready(pod: Object) -> bool:
    """Whether the pod's Ready condition is True."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _labels(pod: Object) -> dict[str, str]:
    return dict(pod["metadata"].get("labels") or {})


def _count(value: int | str, total: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(total * int(value[:-1]) / 100)
    return int(value)
