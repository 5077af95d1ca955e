"""Reading the cluster as plain JSON objects, plus the few facts plans need.

The client's typed models are serialised back to the JSON the API server sent, so that plans
work on one shape; serving capacity, GPUs per pod and readiness are computed from it.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from bot.adapters.k8s.connection import call

Obj = dict[str, Any]
GPU = "nvidia.com/gpu"
REVISION = "deployment.kubernetes.io/revision"


class Reader:
    """Typed client calls whose results come back as JSON dicts."""

    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)

    def json(self, model: Any) -> Obj:
        """A client model as the JSON the API server sent."""
        data = self.api.sanitize_for_serialization(model)  # type: ignore[no-untyped-call]
        return data if isinstance(data, dict) else {}

    def deployment(self, namespace: str, name: str) -> Obj:
        """One Deployment."""
        what = f"deployment {namespace}/{name}"
        return self.json(call(what, self.apps.read_namespaced_deployment, name, namespace))

    def service(self, namespace: str, name: str) -> Obj:
        """One Service."""
        what = f"service {namespace}/{name}"
        return self.json(call(what, self.core.read_namespaced_service, name, namespace))

    def node(self, name: str) -> Obj:
        """One Node."""
        return self.json(call(f"node {name}", self.core.read_node, name))

    def deployments(self, namespace: str) -> list[Obj]:
        """The namespace's Deployments."""
        found = call(f"deployments in {namespace}", self.apps.list_namespaced_deployment, namespace)
        return [self.json(item) for item in found.items]

    def replicasets(self, deployment: Obj) -> list[Obj]:
        """The ReplicaSets a Deployment controls, oldest revision first."""
        meta = deployment["metadata"]
        selector = ",".join(
            f"{k}={v}" for k, v in sorted(deployment["spec"]["selector"]["matchLabels"].items())
        )
        found = call(
            f"replicasets of {meta['namespace']}/{meta['name']}",
            self.apps.list_namespaced_replica_set,
            meta["namespace"],
            label_selector=selector,
        )
        owned = [
            rs
            for rs in (self.json(item) for item in found.items)
            if any(
                ref.get("uid") == meta["uid"] for ref in rs["metadata"].get("ownerReferences", [])
            )
        ]
        return sorted(owned, key=revision)

    def pods(self, namespace: str | None, *, labels: str = "", fields: str = "") -> list[Obj]:
        """Pods matching the selectors, in one namespace or all."""
        what = f"pods in {namespace or 'all namespaces'}"
        if namespace is None:
            found = call(
                what,
                self.core.list_pod_for_all_namespaces,
                label_selector=labels,
                field_selector=fields,
            )
        else:
            found = call(
                what,
                self.core.list_namespaced_pod,
                namespace,
                label_selector=labels,
                field_selector=fields,
            )
        return [self.json(item) for item in found.items]

    def serving_pods(self, namespace: str) -> list[Obj]:
        """Ready pods that a Service of ``namespace`` selects: the serving capacity."""
        services = call(f"services in {namespace}", self.core.list_namespaced_service, namespace)
        selectors = [s.spec.selector for s in services.items if s.spec and s.spec.selector]
        pods = self.pods(namespace)
        return [
            pod
            for pod in pods
            if is_ready(pod) and any(_selects(selector, pod) for selector in selectors)
        ]


def revision(obj: Obj) -> int:
    """The Deployment / ReplicaSet revision annotation as a number (0 when unset)."""
    return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0"))


def is_ready(pod: Obj) -> bool:
    """Whether the pod's Ready condition is True."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def gpus_per_pod(template_spec: Obj) -> int:
    """GPUs one pod of this spec requests (limits where requests are unset)."""
    total = 0
    for container in template_spec.get("containers", []):
        resources = container.get("resources") or {}
        amount = (resources.get("requests") or {}).get(GPU) or (resources.get("limits") or {}).get(
            GPU
        )
        total += int(amount or 0)
    return total


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether a Service-style selector (a label map) picks ``labels``."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _selects(selector: dict[str, str], pod: Obj) -> bool:
    return selects(selector, pod["metadata"].get("labels") or {})
