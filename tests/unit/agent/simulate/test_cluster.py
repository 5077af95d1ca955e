"""Following the cluster: the first read, pods routed to but not ready, and the engine's up."""

from __future__ import annotations

import time

import httpx
import pytest

from agent.collectors.serving import SERVING_UP
from agent.simulate import Fleet
from agent.simulate.cluster import ClusterFollower, cluster_view
from agent.simulate.fleet import Placement

START = 1_700_000_000.0
NODES = ("gpu-node-1", "gpu-node-2", "gpu-node-3")
IMAGE = "vllm/vllm-openai:v0.8.5"
READY = {"conditions": [{"type": "Ready", "status": "True"}]}
SELECTOR = {"app": "deepseek-v3", "colour": "blue"}
POD = {
    "metadata": {"name": "blue-1", "labels": SELECTOR},
    "spec": {"nodeName": "gpu-node-1", "containers": [{"name": "vllm", "image": IMAGE}]},
    "status": READY,
}
ANSWERS = {
    "/api/v1/namespaces/serving/services/deepseek-v3": {"spec": {"selector": SELECTOR}},
    "/api/v1/namespaces/serving/pods": {"items": [POD]},
    "/api/v1/nodes": {"items": [{"metadata": {"name": "gpu-node-1"}, "spec": {}, "status": READY}]},
}


def _slow_api(request: httpx.Request) -> httpx.Response:
    time.sleep(0.1)  # a polling thread that read in the background would not be done yet
    return httpx.Response(200, json=ANSWERS[request.url.path])


def test_the_first_collection_after_start_serves_what_the_cluster_runs() -> None:
    transport = httpx.MockTransport(_slow_api)
    with ClusterFollower("http://kube.test", "tok", transport=transport) as follower:
        follower.start()

        placement = follower.placement("gpu-node-1")

    assert (placement.pods, placement.image) == (1, IMAGE)
    assert follower.placement("gpu-node-2").pods == 0


def test_routed_pods_that_are_not_ready_are_counted_as_crashing() -> None:
    broken = {
        **POD,
        "metadata": {"name": "blue-2", "labels": SELECTOR},
        "spec": {**POD["spec"], "nodeName": "gpu-node-2"},
        "status": {"conditions": [{"type": "Ready", "status": "False"}]},
    }
    standby = {**POD, "metadata": {"name": "green-1", "labels": {"app": "deepseek-v3"}}}
    nodes = [{"metadata": {"name": n}, "spec": {}, "status": READY} for n in NODES]

    view = cluster_view(
        service={"spec": {"selector": SELECTOR}},
        pods=[POD, broken, standby],
        nodes=nodes,
        reference=0,
    )

    assert (view.placements["gpu-node-1"].pods, view.placements["gpu-node-1"].crashing) == (1, 0)
    assert (view.placements["gpu-node-2"].pods, view.placements["gpu-node-2"].crashing) == (0, 1)
    assert "gpu-node-3" not in view.placements  # nothing routed there
    assert view.replicas == 1


@pytest.mark.parametrize(
    ("placement", "up"),
    [
        (Placement(pods=1), 1.0),
        (Placement(pods=0), 1.0),  # the Service routes nothing here: nothing to miss
        (Placement(pods=0, crashing=1), 0.0),  # the routed release never turns ready
        (Placement(pods=1, crashing=1), 1.0),  # a ready replica still answers
    ],
)
def test_a_node_whose_routed_pods_crash_loop_reports_its_engine_down(placement, up) -> None:
    fleet = Fleet(nodes=1, gpus_per_node=2, seed=1)
    fleet.placement = lambda _node: placement
    (node,) = fleet.nodes

    readings, _ = node.collect(START)

    assert [r.value for r in readings if r.metric == SERVING_UP] == [up]
