"""What the API server rejects with 422 Invalid, for the resources the stand-in serves."""

from __future__ import annotations

import re
from collections.abc import Callable

from sandbox.kube.errors import invalid
from sandbox.kube.resources import DEPLOYMENTS, PDBS, PODS, REPLICASETS, SERVICES, Resource
from sandbox.kube.store import Object

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
Causes = list[tuple[str, str]]


def validate(resource: Resource, obj: Object) -> None:
    """Raise 422 naming every invalid field of ``obj``."""
    name = str(obj["metadata"].get("name", ""))
    causes: Causes = []
    if not _NAME.match(name) or len(name) > 253:  # noqa: PLR2004 - DNS subdomain limit
        causes.append(
            (
                "metadata.name",
                f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must '
                "consist of lower case alphanumeric characters, '-' or '.'",
            )
        )
    check = _CHECKS.get(resource.qualified)
    if check is not None:
        check(obj, causes)
    if causes:
        raise invalid(resource, name, causes)


def check_replicas(value: object, path: str, causes: Causes) -> None:
    """``value`` must be a whole number ≥ 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        causes.append((path, f"Invalid value: {value!r}: must be an integer"))
    elif value < 0:
        causes.append((path, f"Invalid value: {value}: must be greater than or equal to 0"))


def _workload(obj: Object, causes: Causes) -> None:
    spec = obj.get("spec") or {}
    check_replicas(spec.get("replicas", 1), "spec.replicas", causes)
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    if not selector:
        causes.append(("spec.selector", "Required value"))
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        causes.append(
            (
                "spec.template.metadata.labels",
                "Invalid value: `selector` does not match template `labels`",
            )
        )
    _containers((spec.get("template") or {}).get("spec") or {}, "spec.template.spec", causes)


def _containers(pod_spec: Object, path: str, causes: Causes) -> None:
    containers = pod_spec.get("containers") or []
    if not containers:
        causes.append((f"{path}.containers", "Required value"))
    for index, container in enumerate(containers):
        for field in ("name", "image"):
            if not container.get(field):
                causes.append((f"{path}.containers[{index}].{field}", "Required value"))


def _pod(obj: Object, causes: Causes) -> None:
    _containers(obj.get("spec") or {}, "spec", causes)


def _service(obj: Object, causes: Causes) -> None:
    selector = (obj.get("spec") or {}).get("selector") or {}
    for key, value in selector.items():
        if not isinstance(value, str):
            causes.append((f"spec.selector.{key}", f"Invalid value: {value!r}: must be a string"))


def _budget(obj: Object, causes: Causes) -> None:
    spec = obj.get("spec") or {}
    if "minAvailable" in spec and "maxUnavailable" in spec:
        causes.append(("spec", "Invalid value: minAvailable and maxUnavailable cannot be both set"))


_CHECKS: dict[str, Callable[[Object, Causes], None]] = {
    DEPLOYMENTS.qualified: _workload,
    REPLICASETS.qualified: _workload,
    PODS.qualified: _pod,
    SERVICES.qualified: _service,
    PDBS.qualified: _budget,
}
