"""Server-side printing: the ``meta.k8s.io/v1`` Table that ``kubectl get`` asks for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.kube.budgets import is_ready
from sandbox.kube.clocks import age
from sandbox.kube.store import Object

TABLE_MEDIA = "as=Table"
Column = tuple[str, str, Callable[[Object, float], Any]]  # (name, type, cell)


def _status(obj: Object) -> dict[str, Any]:
    return obj.get("status") or {}


def _pod_state(pod: Object) -> str:
    for container in _status(pod).get("containerStatuses") or []:
        if waiting := (container.get("state") or {}).get("waiting"):
            return str(waiting.get("reason", "Waiting"))
    return str(_status(pod).get("phase", "Pending"))


def _node_state(node: Object) -> str:
    conditions = _status(node).get("conditions") or []
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    state = "Ready" if ready else "NotReady"
    return f"{state},SchedulingDisabled" if node["spec"].get("unschedulable") else state


def _restarts(pod: Object) -> int:
    return sum(c.get("restartCount", 0) for c in _status(pod).get("containerStatuses") or [])


_NAME: Column = ("Name", "string", lambda o, _: o["metadata"]["name"])
_AGE: Column = ("Age", "string", lambda o, now: age(o["metadata"]["creationTimestamp"], now))
_COLUMNS: dict[str, list[Column]] = {
    "Deployment": [
        (
            "Ready",
            "string",
            lambda o, _: f"{_status(o).get('readyReplicas', 0)}/{o['spec'].get('replicas', 1)}",
        ),
        ("Up-to-date", "integer", lambda o, _: _status(o).get("updatedReplicas", 0)),
        ("Available", "integer", lambda o, _: _status(o).get("availableReplicas", 0)),
        _AGE,
    ],
    "ReplicaSet": [
        ("Desired", "integer", lambda o, _: o["spec"].get("replicas", 0)),
        ("Current", "integer", lambda o, _: _status(o).get("replicas", 0)),
        ("Ready", "integer", lambda o, _: _status(o).get("readyReplicas", 0)),
        _AGE,
    ],
    "Pod": [
        ("Ready", "string", lambda o, _: f"{int(is_ready(o))}/{len(o['spec']['containers'])}"),
        ("Status", "string", lambda o, _: _pod_state(o)),
        ("Restarts", "integer", lambda o, _: _restarts(o)),
        _AGE,
        ("Node", "string", lambda o, _: o["spec"].get("nodeName", "<none>")),
    ],
    "Node": [
        ("Status", "string", lambda o, _: _node_state(o)),
        ("GPUs", "string", lambda o, _: _status(o).get("capacity", {}).get("nvidia.com/gpu", "0")),
        _AGE,
    ],
    "Service": [
        ("Type", "string", lambda o, _: o["spec"].get("type", "ClusterIP")),
        ("Cluster-IP", "string", lambda o, _: o["spec"].get("clusterIP", "<none>")),
        (
            "Selector",
            "string",
            lambda o, _: ",".join(
                f"{k}={v}" for k, v in sorted(o["spec"].get("selector", {}).items())
            ),
        ),
        _AGE,
    ],
}


def table(kind: str, objects: list[Object], now: float, resource_version: str) -> dict[str, Any]:
    """The Table of ``objects`` with the columns kubectl shows for ``kind``."""
    columns: list[Column] = [_NAME, *_COLUMNS.get(kind, [_AGE])]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {
                "name": name,
                "type": type_,
                "format": "name" if name == "Name" else "",
                "description": name,
                "priority": 0,
            }
            for name, type_, _ in columns
        ],
        "rows": [
            {
                "cells": [cell(obj, now) for _, _, cell in columns],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"],
                },
            }
            for obj in objects
        ],
    }
