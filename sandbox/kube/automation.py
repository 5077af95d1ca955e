"""Automation endpoints under ``/_sandbox/`` for tests and the demo (not part of Kubernetes).

- ``POST /_sandbox/reset`` ``{empty?: bool}``: start over with the demo world (or an empty one)
- ``GET  /_sandbox/state``: a summary — deployments (replicas, ready, revision, images), services
  (selector and the Deployments it selects), nodes (cordoned, GPUs, pods) and the
  resourceVersion — that the fleet simulator and tests read
- ``POST /_sandbox/faults`` ``{status?, verb?, resource?, name?, count?, delay_s?}``;
  ``GET`` / ``DELETE /_sandbox/faults``
- ``POST /_sandbox/settle``: every pod that is starting turns ready now
- ``POST /_sandbox/nodes/{name}/ready`` ``{ready: bool}``: a node stops (or resumes) reporting
- ``POST /_sandbox/pods/{namespace}/{name}/log`` ``{lines: [str]}``: append to a pod's log
- ``GET  /_sandbox/healthz``
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from sandbox.kube.budgets import is_ready
from sandbox.kube.faults import Fault, Faults
from sandbox.kube.resources import DEPLOYMENTS, NODES, PODS, SERVICES
from sandbox.kube.state import KubeState
from sandbox.kube.store import matches_selector
from sandbox.kube.workloads import gpu_request, gpus_of, revision_of

router = APIRouter(prefix="/_sandbox")


class ResetBody(BaseModel):
    """``POST /_sandbox/reset``."""

    empty: bool = False


class FaultBody(BaseModel):
    """``POST /_sandbox/faults``."""

    status: int | None = Field(default=None, ge=400, le=599)
    verb: str | None = None
    resource: str | None = None
    name: str | None = None
    count: int = Field(default=1, ge=1)
    delay_s: float = Field(default=0.0, ge=0.0, le=60.0)


class ReadyBody(BaseModel):
    """``POST /_sandbox/nodes/{name}/ready``."""

    ready: bool


class LogBody(BaseModel):
    """``POST /_sandbox/pods/{namespace}/{name}/log``."""

    lines: list[str]


@router.get("/healthz")
async def healthz() -> dict[str, bool]:
    """Liveness of the stand-in."""
    return {"ok": True}


@router.post("/reset")
async def reset(body: ResetBody, request: Request) -> dict[str, str]:
    """Replace the cluster with a fresh one."""
    request.app.state.kube = request.app.state.fresh(empty=body.empty)
    request.app.state.faults = Faults()
    return {"resourceVersion": request.app.state.kube.store.revision}


@router.get("/state")
async def state_summary(request: Request) -> dict[str, Any]:
    """What the cluster looks like now, in a few fields per object."""
    state: KubeState = request.app.state.kube
    with state.lock:
        state.workloads.reconcile()
        return summary(state)


@router.post("/faults")
async def add_fault(body: FaultBody, request: Request) -> dict[str, Any]:
    """Inject a fault into the API."""
    faults: Faults = request.app.state.faults
    faults.active.append(Fault(**body.model_dump()))
    return {"faults": [asdict(f) for f in faults.active]}


@router.get("/faults")
async def list_faults(request: Request) -> dict[str, Any]:
    """The faults in force."""
    return {"faults": [asdict(f) for f in request.app.state.faults.active if f.count > 0]}


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, Any]:
    """Remove every fault."""
    request.app.state.faults.active.clear()
    return {"faults": []}


@router.post("/settle")
async def settle(request: Request) -> dict[str, str]:
    """Let every starting pod turn ready now."""
    state: KubeState = request.app.state.kube
    with state.lock:
        state.workloads.settle()
        return {"resourceVersion": state.store.revision}


@router.post("/nodes/{name}/ready")
async def node_ready(name: str, body: ReadyBody, request: Request) -> dict[str, Any]:
    """Mark a node Ready or NotReady (the kubelet stopped posting status)."""
    state: KubeState = request.app.state.kube
    with state.lock:
        node = state.get(NODES, "", name)
        condition = {
            "type": "Ready",
            "status": "True" if body.ready else "Unknown",
            "reason": "KubeletReady" if body.ready else "NodeStatusUnknown",
            "message": "kubelet is posting ready status"
            if body.ready
            else "Kubelet stopped posting node status.",
        }
        node["status"]["conditions"] = [condition]
        state.store.put(NODES, node)
        state.workloads.reconcile()
        return {"name": name, "ready": body.ready}


@router.post("/pods/{namespace}/{name}/log")
async def append_log(namespace: str, name: str, body: LogBody, request: Request) -> dict[str, int]:
    """Append lines to a pod's log."""
    state: KubeState = request.app.state.kube
    with state.lock:
        pod = state.get(PODS, namespace, name)
        lines = state.workloads.logs.setdefault(pod["metadata"]["uid"], [])
        lines.extend(body.lines)
        return {"lines": len(lines)}


def summary(state: KubeState) -> dict[str, Any]:
    """Deployments, services and nodes in a few fields each."""
    pods = state.store.list(PODS)
    deployments = state.store.list(DEPLOYMENTS)
    return {
        "resourceVersion": state.store.revision,
        "deployments": [
            {
                "namespace": d["metadata"]["namespace"],
                "name": d["metadata"]["name"],
                "replicas": d["spec"].get("replicas", 1),
                "readyReplicas": (d.get("status") or {}).get("readyReplicas", 0),
                "revision": revision_of(d),
                "images": [c["image"] for c in d["spec"]["template"]["spec"]["containers"]],
                "resourceVersion": d["metadata"]["resourceVersion"],
            }
            for d in deployments
        ],
        "services": [
            {
                "namespace": s["metadata"]["namespace"],
                "name": s["metadata"]["name"],
                "selector": s["spec"].get("selector", {}),
                "deployments": [
                    d["metadata"]["name"]
                    for d in deployments
                    if d["metadata"]["namespace"] == s["metadata"]["namespace"]
                    and _selects(s["spec"].get("selector") or {}, d)
                ],
                "readyEndpoints": sum(
                    1
                    for p in pods
                    if p["metadata"]["namespace"] == s["metadata"]["namespace"]
                    and is_ready(p)
                    and matches_selector(
                        {"matchLabels": s["spec"].get("selector") or {}},
                        p["metadata"].get("labels") or {},
                    )
                ),
            }
            for s in state.store.list(SERVICES)
        ],
        "nodes": [
            {
                "name": n["metadata"]["name"],
                "unschedulable": bool(n["spec"].get("unschedulable")),
                "ready": any(
                    c["type"] == "Ready" and c["status"] == "True"
                    for c in n["status"].get("conditions", [])
                ),
                "gpus": gpus_of(n),
                "gpusRequested": sum(
                    gpu_request(p)
                    for p in pods
                    if p["spec"].get("nodeName") == n["metadata"]["name"]
                ),
                "pods": [
                    f"{p['metadata']['namespace']}/{p['metadata']['name']}"
                    for p in pods
                    if p["spec"].get("nodeName") == n["metadata"]["name"]
                ],
            }
            for n in state.store.list(NODES)
        ],
    }


def _selects(selector: dict[str, str], deployment: dict[str, Any]) -> bool:
    labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
