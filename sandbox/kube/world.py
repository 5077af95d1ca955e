"""The demo's serving cluster: DeepSeek-V3 blue (primary) and green (hot standby) on GPU nodes.

- namespace ``serving``; Service ``deepseek-v3`` selects the colour that takes traffic (blue);
- Deployment ``deepseek-v3-blue``: 4 replicas, 3 revisions of history (vLLM upgrade, a tuning
  change), PodDisruptionBudget ``deepseek-v3-blue`` with minAvailable 3;
- Deployment ``deepseek-v3-green``: 2 replicas, the standby;
- nodes ``gpu-node-1`` … ``gpu-node-4`` with 8 ``nvidia.com/gpu`` each; every pod takes 2.
"""

from __future__ import annotations

from typing import Any

from sandbox.kube.resources import DEPLOYMENTS, NAMESPACES, NODES, PDBS, SERVICES
from sandbox.kube.state import KubeState
from sandbox.kube.workloads import GPU

NAMESPACE = "serving"
SERVICE = "deepseek-v3"
PRIMARY = "deepseek-v3-blue"
STANDBY = "deepseek-v3-green"
GPU_NODES = ("gpu-node-1", "gpu-node-2", "gpu-node-3", "gpu-node-4")
GPUS_PER_NODE = 8
GPUS_PER_POD = 2
CHANGE_CAUSE = "kubernetes.io/change-cause"
_HISTORY = (
    ("vllm/vllm-openai:v0.8.4", "256", "deploy DeepSeek-V3 on vLLM v0.8.4"),
    ("vllm/vllm-openai:v0.8.5", "256", "upgrade vLLM to v0.8.5"),
    ("vllm/vllm-openai:v0.8.5", "384", "raise --max-num-seqs to 384"),
)


def seed(state: KubeState) -> None:
    """Fill an empty cluster with the demo world, every pod already running and ready."""
    for namespace in ("default", "kube-system", NAMESPACE):
        state.create(NAMESPACES, "", _namespace(namespace), dry_run=False)
    for name in GPU_NODES:
        state.create(NODES, "", node(name, GPUS_PER_NODE), dry_run=False)
    image, seqs, cause = _HISTORY[0]
    state.create(
        DEPLOYMENTS,
        NAMESPACE,
        deployment(PRIMARY, colour="blue", replicas=4, image=image, seqs=seqs, cause=cause),
        dry_run=False,
    )
    for image, seqs, cause in _HISTORY[1:]:
        state.workloads.settle()
        patch = {
            "metadata": {"annotations": {CHANGE_CAUSE: cause}},
            "spec": {"template": {"spec": {"containers": [_container(image, seqs)]}}},
        }
        state.patch(
            DEPLOYMENTS,
            NAMESPACE,
            PRIMARY,
            "application/strategic-merge-patch+json",
            patch,
            dry_run=False,
        )
    image, seqs, cause = _HISTORY[-1]
    state.create(
        DEPLOYMENTS,
        NAMESPACE,
        deployment(STANDBY, colour="green", replicas=2, image=image, seqs=seqs, cause=cause),
        dry_run=False,
    )
    state.create(SERVICES, NAMESPACE, service(SERVICE, "blue"), dry_run=False)
    state.create(
        PDBS,
        NAMESPACE,
        {
            "metadata": {"name": PRIMARY},
            "spec": {"minAvailable": 3, "selector": {"matchLabels": _labels("blue")}},
        },
        dry_run=False,
    )
    state.workloads.settle()


def node(name: str, gpus: int) -> dict[str, Any]:
    """A Ready GPU node."""
    capacity = {"cpu": "128", "memory": "2113934Mi", "pods": "110", GPU: str(gpus)}
    return {
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "nvidia.com/gpu.product": "NVIDIA-H200",
                "node-role.kubernetes.io/gpu": "",
            },
        },
        "spec": {},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                }
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.32.0",
                "containerRuntimeVersion": "containerd://1.7.22",
                "osImage": "Ubuntu 22.04.5 LTS",
                "kernelVersion": "5.15.0-125-generic",
                "architecture": "amd64",
                "operatingSystem": "linux",
                "machineID": name,
                "systemUUID": name,
                "bootID": name,
                "kubeProxyVersion": "v1.32.0",
            },
        },
    }


def deployment(
    name: str, *, colour: str, replicas: int, image: str, seqs: str, cause: str
) -> dict[str, Any]:
    """A vLLM Deployment of one colour."""
    return {
        "metadata": {"name": name, "labels": _labels(colour), "annotations": {CHANGE_CAUSE: cause}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": _labels(colour)},
            "template": {
                "metadata": {"labels": _labels(colour)},
                "spec": {"containers": [_container(image, seqs)]},
            },
        },
    }


def service(name: str, colour: str) -> dict[str, Any]:
    """The Service in front of both colours; its selector picks the one that serves."""
    return {
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "selector": _labels(colour),
            "ports": [{"name": "http", "port": 8000, "targetPort": 8000}],
        },
    }


def _container(image: str, seqs: str) -> dict[str, Any]:
    return {
        "name": "vllm",
        "image": image,
        "args": [
            "--model",
            "deepseek-ai/DeepSeek-V3",
            "--tensor-parallel-size",
            str(GPUS_PER_POD),
            "--max-num-seqs",
            seqs,
        ],
        "ports": [{"containerPort": 8000, "name": "http", "protocol": "TCP"}],
        "resources": {"limits": {GPU: str(GPUS_PER_POD)}, "requests": {GPU: str(GPUS_PER_POD)}},
    }


def _labels(colour: str) -> dict[str, str]:
    return {"app": SERVICE, "colour": colour}


def _namespace(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }
