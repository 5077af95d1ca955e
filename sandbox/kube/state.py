"""The stand-in's cluster: the REST API's operations on the store.

Dry runs, resourceVersion preconditions, the scale subresource, evictions and pod logs live here.

Every operation first lets the controllers catch up with the clock (pods turn ready, old
ReplicaSets shrink), then acts, then reconciles again, all under one lock.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sandbox.kube.budgets import is_ready
from sandbox.kube.clocks import rfc3339
from sandbox.kube.errors import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    disruption_budget,
    invalid,
    not_found,
)
from sandbox.kube.events import EventRecorder
from sandbox.kube.patch import apply_patch
from sandbox.kube.resources import DEPLOYMENTS, NODES, PDBS, PODS, REPLICASETS, Resource
from sandbox.kube.store import Object, Store, field_matcher, label_matcher, selector_string
from sandbox.kube.validation import check_replicas, validate
from sandbox.kube.workloads import Workloads, matches_pods

_WITH_GENERATION = {DEPLOYMENTS.qualified, REPLICASETS.qualified, PDBS.qualified}
_SCALABLE = {DEPLOYMENTS.qualified, REPLICASETS.qualified}
_UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


class KubeState:
    """One simulated cluster."""

    def __init__(self, *, clock: Callable[[], float], ready_after_s: float) -> None:
        self.clock = clock
        self.store = Store()
        self.events = EventRecorder(self.store, clock)
        self.workloads = Workloads(self.store, self.events, clock, ready_after_s)
        self.lock = threading.RLock()

    # ---------------------------------------------------------------- reads

    def get(self, resource: Resource, namespace: str, name: str) -> Object:
        """The object, or 404."""
        with self.lock:
            self.workloads.reconcile()
            return self._get(resource, namespace, name)

    def list(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        label_selector: str = "",
        field_selector: str = "",
    ) -> Object:
        """The ``<Kind>List`` of matching objects."""
        labels, fields = label_matcher(label_selector), field_matcher(field_selector)
        with self.lock:
            self.workloads.reconcile()
            items = [
                obj
                for obj in self.store.list(resource, namespace)
                if labels(obj["metadata"].get("labels") or {}) and fields(obj)
            ]
            return {
                "kind": f"{resource.kind}List",
                "apiVersion": resource.api_version,
                "metadata": {"resourceVersion": self.store.revision},
                "items": items,
            }

    def log(self, namespace: str, name: str, tail_lines: int | None) -> str:
        """The pod's log, or its last ``tail_lines`` lines."""
        with self.lock:
            pod = self.get(PODS, namespace, name)
            if not pod["spec"].get("nodeName"):
                raise bad_request(
                    f'container "{pod["spec"]["containers"][0]["name"]}" in pod "{name}" is '
                    "waiting to start: ContainerCreating"
                )
            lines = self.workloads.logs.get(pod["metadata"]["uid"], [])
            shown = lines[-tail_lines:] if tail_lines else lines
            return "".join(f"{line}\n" for line in shown) if tail_lines != 0 else ""

    # ---------------------------------------------------------------- writes

    def create(self, resource: Resource, namespace: str, body: Object, *, dry_run: bool) -> Object:
        """Create ``body`` (409 AlreadyExists if its name is taken)."""
        obj = _as_object(body, resource)
        meta = obj["metadata"]
        if resource.namespaced and meta.setdefault("namespace", namespace) != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{self.store.new_uid()[-5:]}"
        with self.lock:
            self.workloads.reconcile()
            if self.store.get(
                resource, namespace if resource.namespaced else "", meta.get("name", "")
            ):
                raise already_exists(resource, meta["name"])
            meta.update(uid=self.store.new_uid(), creationTimestamp=rfc3339(self.clock()))
            meta.pop("resourceVersion", None)
            if resource.qualified in _WITH_GENERATION:
                meta["generation"] = 1
            _defaults(resource, obj)
            validate(resource, obj)
            if dry_run:
                return obj
            stored = self.store.put(resource, obj)
            self.workloads.reconcile()
            return stored

    def replace(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        body: Object,
        *,
        dry_run: bool,
        scale: bool = False,
    ) -> Object:
        """PUT the object (or its Scale); a stale ``metadata.resourceVersion`` answers 409."""
        with self._current(resource, namespace, name, scale=scale) as current:
            if scale:
                return self._apply_scale(resource, current, body, dry_run=dry_run)
            return self._update(resource, current, _as_object(body, resource), dry_run=dry_run)

    def patch(
        self,
        resource: Resource,
        namespace: str,
        name: str,
        content_type: str,
        patch: Any,
        *,
        dry_run: bool,
        scale: bool = False,
    ) -> Object:
        """PATCH the object or its Scale (as ``kubectl scale`` does) in any of three formats.

        A resourceVersion in the patched result must be the current one, else 409.
        """
        with self._current(resource, namespace, name, scale=scale) as current:
            if scale:
                patched = apply_patch(_scale_of(current), content_type, patch)
                return self._apply_scale(resource, current, patched, dry_run=dry_run)
            patched = apply_patch(current, content_type, patch)
            return self._update(resource, current, patched, dry_run=dry_run)

    def delete(self, resource: Resource, namespace: str, name: str, *, dry_run: bool) -> Object:
        """Delete the object (and, for workloads, what it owns); answer a Success Status."""
        with self._current(resource, namespace, name) as current:
            if not dry_run:
                self._delete_tree(resource, current)
                self.workloads.reconcile()
            return _success(resource, current, code=200)

    def get_scale(self, resource: Resource, namespace: str, name: str) -> Object:
        """The autoscaling/v1 Scale of a Deployment or ReplicaSet."""
        with self._current(resource, namespace, name, scale=True) as current:
            return _scale_of(current)

    def evict(self, namespace: str, name: str, *, dry_run: bool) -> Object:
        """policy/v1 Eviction: delete the pod unless a PodDisruptionBudget forbids it (429)."""
        with self._current(PODS, namespace, name) as pod:
            budgets = [
                pdb
                for pdb in self.store.list(PDBS, namespace)
                if matches_pods(pdb["spec"].get("selector"), pod)
            ]
            if len(budgets) > 1:
                raise ApiError(
                    500,
                    "InternalError",
                    "This pod has more than one PodDisruptionBudget, which the eviction "
                    "subresource does not support.",
                )
            if budgets and is_ready(pod):
                status = budgets[0].get("status") or {}
                if status.get("disruptionsAllowed", 0) <= 0:
                    raise disruption_budget(
                        budgets[0]["metadata"]["name"],
                        status.get("desiredHealthy", 0),
                        status.get("currentHealthy", 0),
                    )
            if not dry_run:
                self.events.record(
                    pod, "Killing", "Stopping container (evicted)", component="kubelet"
                )
                self._delete_tree(PODS, pod)
                self.workloads.reconcile()
            return _success(PODS, pod, code=201)

    # ---------------------------------------------------------------- internals

    @contextmanager
    def _current(
        self, resource: Resource, namespace: str, name: str, *, scale: bool = False
    ) -> Iterator[Object]:
        """Under the lock, with the controllers caught up: the object (404 if missing)."""
        with self.lock:
            self.workloads.reconcile()
            yield self._get(_scalable(resource) if scale else resource, namespace, name)

    def _get(self, resource: Resource, namespace: str, name: str) -> Object:
        found = self.store.get(resource, namespace if resource.namespaced else "", name)
        if found is None:
            raise not_found(resource, name)
        return found

    def _update(self, resource: Resource, current: Object, new: Object, *, dry_run: bool) -> Object:
        meta, old = new.setdefault("metadata", {}), current["metadata"]
        if meta.get("name", old["name"]) != old["name"]:
            raise bad_request("the name of the object does not match the name on the URL")
        expected = meta.get("resourceVersion")
        if expected and expected != old["resourceVersion"]:
            raise conflict(resource, old["name"])
        for key in ("name", "namespace", "uid", "creationTimestamp", "generation"):
            if key in old:
                meta[key] = old[key]
        meta["resourceVersion"] = old["resourceVersion"]
        new["kind"], new["apiVersion"] = resource.kind, resource.api_version
        if "status" in current:
            new["status"] = current["status"]
        if resource.qualified in _WITH_GENERATION and new.get("spec") != current.get("spec"):
            meta["generation"] = old.get("generation", 1) + 1
        if resource is NODES:
            _taint_if_cordoned(new)
        validate(resource, new)
        if dry_run or new == current:
            return new
        stored = self.store.put(resource, new)
        if resource is NODES:
            self._record_cordon(current, stored)
        self.workloads.reconcile()
        return stored

    def _apply_scale(
        self, resource: Resource, current: Object, scale: Object, *, dry_run: bool
    ) -> Object:
        replicas = (scale.get("spec") or {}).get("replicas")
        causes: list[tuple[str, str]] = []
        check_replicas(replicas, "spec.replicas", causes)
        if causes:
            raise invalid(_scale_resource(resource), current["metadata"]["name"], causes)
        wanted = copy.deepcopy(current)
        wanted["spec"]["replicas"] = replicas
        version = (scale.get("metadata") or {}).get("resourceVersion")
        wanted["metadata"]["resourceVersion"] = version or current["metadata"]["resourceVersion"]
        updated = self._update(_scalable(resource), current, wanted, dry_run=dry_run)
        if not dry_run and replicas != current["spec"].get("replicas"):
            self.events.record(
                current,
                "ScalingReplicaSet",
                f"Scaled {current['kind'].lower()} to {replicas} replicas",
                component="deployment-controller",
            )
        scale_now = _scale_of(updated)
        scale_now["spec"]["replicas"] = replicas
        return scale_now

    def _delete_tree(self, resource: Resource, obj: Object) -> None:
        if resource is DEPLOYMENTS:
            for rs in self.workloads.owned(REPLICASETS, obj):
                self._delete_tree(REPLICASETS, rs)
        elif resource is REPLICASETS:
            for pod in self.workloads.owned(PODS, obj):
                self._delete_tree(PODS, pod)
        elif resource is PODS:
            self.workloads.forget(obj)
        meta = obj["metadata"]
        self.store.remove(resource, meta.get("namespace", ""), meta["name"])

    def _record_cordon(self, before: Object, after: Object) -> None:
        was, now = (
            bool(before["spec"].get("unschedulable")),
            bool(after["spec"].get("unschedulable")),
        )
        if was != now:
            reason = "NodeNotSchedulable" if now else "NodeSchedulable"
            message = f"Node {after['metadata']['name']} status is now: {reason}"
            self.events.record(after, reason, message, component="kubelet")


def _as_object(body: Any, resource: Resource) -> Object:
    if not isinstance(body, dict):
        raise bad_request(f"the body must be a {resource.kind} object")
    obj = copy.deepcopy(body)
    if obj.get("kind", resource.kind) != resource.kind:
        raise bad_request(f"the body is a {obj['kind']}, not a {resource.kind}")
    obj["kind"], obj["apiVersion"] = resource.kind, resource.api_version
    if not isinstance(obj.setdefault("metadata", {}), dict):
        raise bad_request("metadata must be an object")
    return obj


def _defaults(resource: Resource, obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    if resource is DEPLOYMENTS:
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault(
            "strategy",
            {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
        )
    elif resource.plural == "services":
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("clusterIP", f"10.96.0.{len(obj['metadata']['uid']) % 200 + 10}")
        for port in spec.get("ports", []):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    if resource in (DEPLOYMENTS, REPLICASETS, PODS, PDBS) or resource is NODES:
        obj.setdefault("status", {})


def _taint_if_cordoned(node: Object) -> None:
    taints = [t for t in node["spec"].get("taints", []) if t["key"] != _UNSCHEDULABLE_TAINT["key"]]
    if node["spec"].get("unschedulable"):
        taints.append(dict(_UNSCHEDULABLE_TAINT))
    if taints:
        node["spec"]["taints"] = taints
    else:
        node["spec"].pop("taints", None)


def _scalable(resource: Resource) -> Resource:
    if resource.qualified not in _SCALABLE:
        raise not_found(resource, "scale")
    return resource


def _scale_resource(resource: Resource) -> Resource:
    return Resource("autoscaling", "v1", resource.plural, "Scale", namespaced=True)


def _scale_of(obj: Object) -> Object:
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"].get("replicas", 1)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": selector_string(obj["spec"]["selector"].get("matchLabels") or {}),
        },
    }


def _success(resource: Resource, obj: Object, *, code: int) -> Object:
    details: dict[str, Any] = {"name": obj["metadata"]["name"], "kind": resource.plural}
    if resource.group:
        details["group"] = resource.group
    details["uid"] = obj["metadata"]["uid"]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
        "code": code,
    }
