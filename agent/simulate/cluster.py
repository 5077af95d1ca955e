"""The simulator follows a Kubernetes cluster: who serves, on which node, with which image.

`ClusterFollower` reads the Kubernetes API with plain GETs on its standard JSON paths (the
stand-in in ``sandbox/kube``, or a real cluster with a bearer token) every few seconds, in a
background thread, and turns what it finds into a `Placement` per node (`cluster_view`):

- the Service's selector decides which pods take traffic (the blue/green colour);
- a node serves with the Ready pods selected that run on it, while it is Ready and schedulable
  (a cordoned or drained node goes idle); each pod covers its ``nvidia.com/gpu`` limit of the
  node's GPUs, from GPU 0 on; selected pods that are not Ready (a broken release crash-looping)
  are counted as `Placement.crashing`;
- each replica's traffic is the traffic the fleet was sized for (the replicas serving at the first
  read) shared among the replicas serving now;
- the image of a node's pod is the replica's image (the fleet slows an image it knows as slow).

When the API cannot be read the last view is kept, and that is logged once per outage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from agent.polling import PollingThread
from agent.simulate.fleet import Placement

logger = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "serving"
DEFAULT_SERVICE = "deepseek-v3"
DEFAULT_POLL_S = 3.0
GPU_RESOURCE = "nvidia.com/gpu"
IDLE = Placement(pods=0)

Object = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ClusterView:
    """What the cluster runs where: a placement per node, and the replicas serving in all."""

    placements: Mapping[str, Placement]
    replicas: int


def _ready(obj: Object) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _gpus(pod: Object) -> int | None:
    containers = (pod.get("spec") or {}).get("containers") or []
    total = 0
    for container in containers:
        resources = container.get("resources") or {}
        amount = (resources.get("limits") or {}).get(GPU_RESOURCE) or (
            resources.get("requests") or {}
        ).get(GPU_RESOURCE)
        if amount is not None and str(amount).isdigit():
            total += int(amount)
    return total or None


def _selected(pod: Object, selector: Mapping[str, str]) -> bool:
    metadata = pod.get("metadata") or {}
    labels = metadata.get("labels") or {}
    return (
        bool(selector)
        and metadata.get("deletionTimestamp") is None
        and all(labels.get(key) == value for key, value in selector.items())
    )


def cluster_view(
    *, service: Object, pods: Sequence[Object], nodes: Sequence[Object], reference: int
) -> ClusterView:
    """Return the placements the Service, pods and nodes say; `reference` replicas sized traffic.

    `reference` 0 means "the replicas serving now" (the first read).
    """
    selector = (service.get("spec") or {}).get("selector") or {}
    serving_nodes = {
        node["metadata"]["name"]
        for node in nodes
        if _ready(node) and not (node.get("spec") or {}).get("unschedulable")
    }
    by_node: dict[str, list[Object]] = {}
    crashing: dict[str, list[Object]] = {}
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        if isinstance(node, str) and node in serving_nodes and _selected(pod, selector):
            (by_node if _ready(pod) else crashing).setdefault(node, []).append(pod)
    replicas = sum(len(found) for found in by_node.values())
    scale = (reference or replicas) / replicas if replicas else 1.0
    placements = {}
    for node in by_node.keys() | crashing.keys():
        ready, down = by_node.get(node, []), crashing.get(node, [])
        first = (ready or down)[0]
        containers = (first.get("spec") or {}).get("containers") or [{}]
        placements[node] = Placement(
            pods=len(ready),
            image=str(containers[0].get("image", "")),
            load_scale=scale,
            gpus_per_pod=_gpus(first),
            crashing=len(down),
        )
    return ClusterView(placements, replicas)


class ClusterFollower:
    """Polls the Kubernetes API in a daemon thread; `placement(node)` answers from the last read."""

    def __init__(
        self,
        url: str,
        token: str = "",
        *,
        namespace: str = DEFAULT_NAMESPACE,
        service: str = DEFAULT_SERVICE,
        poll_s: float = DEFAULT_POLL_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.url, headers=headers, timeout=5.0, transport=transport
        )
        self._paths = (
            f"/api/v1/namespaces/{namespace}/services/{service}",
            f"/api/v1/namespaces/{namespace}/pods",
            "/api/v1/nodes",
        )
        self._poll_s = poll_s
        self._view: ClusterView | None = None
        self._reference = 0
        self._unreachable = False
        self._polling = PollingThread("cluster-follower", self._poll)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def placement(self, node: str) -> Placement:
        """Return what the cluster ran on `node` at the last read (idle if nothing serves there).

        Before the first successful read every node serves as if unmanaged.
        """
        view = self._view
        if view is None:
            return Placement()
        return view.placements.get(node, IDLE)

    def refresh(self) -> bool:
        """Read the cluster once; return whether it worked (the last view stays if not)."""
        try:
            service, pods, nodes = (self._get(path) for path in self._paths)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            if not self._unreachable:
                logger.warning(
                    "cannot read the cluster at %s (%s); keeping its last known state",
                    self.url,
                    exc,
                )
                self._unreachable = True
            return False
        view = cluster_view(
            service=service, pods=pods["items"], nodes=nodes["items"], reference=self._reference
        )
        if not self._reference and view.replicas:
            self._reference = view.replicas
        if self._unreachable or self._view is None or view != self._view:
            logger.info(
                "cluster at %s: %d replica(s) serving on %s",
                self.url,
                view.replicas,
                ", ".join(sorted(n for n, p in view.placements.items() if p.pods)) or "no node",
            )
        self._unreachable = False
        self._view = view
        return True

    def start(self) -> None:
        """Read now, before returning, then every `poll_s` seconds in a daemon thread.

        The first read is synchronous so that the fleet's first collection already serves what
        the cluster runs: a collection before it would serve as unmanaged (another image), and the
        change to the cluster's image would look like a deploy.
        """
        self.refresh()
        self._polling.start()

    def close(self) -> None:
        """Stop polling and close the HTTP client."""
        self._polling.stop()
        self._client.close()

    def _get(self, path: str) -> Any:
        response = self._client.get(path)
        response.raise_for_status()
        return response.json()

    def _poll(self) -> float:
        self.refresh()
        return self._poll_s
