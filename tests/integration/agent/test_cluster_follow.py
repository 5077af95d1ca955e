"""The simulated fleet follows the Kubernetes stand-in: scale-out, colour switch, cordon, image.

The stand-in (`sandbox/kube`) runs under uvicorn on loopback; changes are made through its API
with the real kubernetes client, and `ClusterFollower` reads them back with plain GETs.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator

import pytest
from kubernetes import client

from agent.collectors.serving import TTFT
from agent.simulate import Fleet
from agent.simulate.cluster import ClusterFollower
from agent.simulate.fleet import Placement
from agent.wire import GPU_UTILIZATION
from sandbox import kube
from sandbox.serving import ServerThread
from tests.processes import eventually

START = 1_700_000_000.0
NAMESPACE, SERVICE = "serving", "deepseek-v3"


@pytest.fixture
def stand_in() -> Iterator[str]:
    app = kube.create_app(tokens={"tok": kube.DEFAULT_USER}, ready_after_s=0.2)
    with ServerThread(app) as server:
        yield server.url


@pytest.fixture
def api(stand_in: str) -> client.ApiClient:
    config = client.Configuration(host=stand_in)
    config.api_key = {"authorization": "Bearer tok"}
    return client.ApiClient(config)


def _follower(url: str) -> ClusterFollower:
    follower = ClusterFollower(url, "tok")
    assert follower.refresh()
    return follower


def _serving(follower: ClusterFollower) -> dict[str, Placement]:
    return {
        node: follower.placement(node)
        for node in ("gpu-node-1", "gpu-node-2", "gpu-node-3", "gpu-node-4")
        if follower.placement(node).pods
    }


def test_reads_the_seeded_world_blue_serves_with_its_image(stand_in: str):
    with _follower(stand_in) as follower:
        placements = _serving(follower)

    assert sum(p.pods for p in placements.values()) == 4
    assert {p.image for p in placements.values()} == {"vllm/vllm-openai:v0.8.5"}
    assert {p.gpus_per_pod for p in placements.values()} == {2}
    assert {p.load_scale for p in placements.values()} == {1.0}


def test_scale_out_shares_the_traffic_among_more_replicas(stand_in: str, api):
    apps = client.AppsV1Api(api)
    with _follower(stand_in) as follower:
        apps.patch_namespaced_deployment_scale(
            "deepseek-v3-blue", NAMESPACE, {"spec": {"replicas": 6}}
        )

        def six() -> bool:
            follower.refresh()
            return sum(p.pods for p in _serving(follower).values()) == 6

        eventually(six, timeout_s=10, what="six ready replicas")
        scales = [p.load_scale for p in _serving(follower).values()]
        assert scales == pytest.approx([4 / 6] * len(scales))


def test_the_service_selector_decides_which_colour_serves(stand_in: str, api):
    core = client.CoreV1Api(api)
    service = core.read_namespaced_service(SERVICE, NAMESPACE)
    colour_key = next(k for k in service.spec.selector if "colo" in k)
    selector = {**service.spec.selector, colour_key: "green"}
    with _follower(stand_in) as follower:
        core.patch_namespaced_service(SERVICE, NAMESPACE, {"spec": {"selector": selector}})
        follower.refresh()

        assert sum(p.pods for p in _serving(follower).values()) == 2
        assert {p.load_scale for p in _serving(follower).values()} == {2.0}  # sized for 4


def test_a_cordoned_node_goes_idle_and_the_fleet_shows_it(stand_in: str, api):
    core = client.CoreV1Api(api)
    with _follower(stand_in) as follower:
        node = sorted(_serving(follower))[0]
        fleet = Fleet(nodes=4, gpus_per_node=8, seed=1)
        fleet.placement = follower.placement
        busy = _mean_util(fleet, node, START)
        core.patch_node(node, {"spec": {"unschedulable": True}})
        follower.refresh()
        idle = _mean_util(fleet, node, START + 120)

    assert node not in _serving(follower)
    assert busy > 0.1
    assert idle < 0.05


def test_an_unreachable_cluster_keeps_the_last_state_and_says_so_once(caplog):
    app = kube.create_app(tokens={"tok": kube.DEFAULT_USER})
    with ServerThread(app) as server:
        follower = _follower(server.url)
        before = _serving(follower)

    assert not follower.refresh()  # the API has gone away
    assert not follower.refresh()
    follower.close()

    assert _serving(follower) == before
    warnings = [r for r in caplog.records if "cannot read the cluster" in r.getMessage()]
    assert len(warnings) == 1


def test_a_slow_image_in_the_cluster_slows_the_first_token(stand_in: str):
    with _follower(stand_in) as follower:
        fast = Fleet(nodes=4, gpus_per_node=8, seed=1, slow_images=())
        slow = Fleet(nodes=4, gpus_per_node=8, seed=1, slow_images={"vllm/vllm-openai:v0.8.5"})
        fast.placement = slow.placement = follower.placement
        node = sorted(_serving(follower))[0]

        ratio = _mean_ttft(slow, node) / _mean_ttft(fast, node)

    assert ratio == pytest.approx(2.0, rel=0.2)


def _mean_util(fleet: Fleet, node: str, start: float) -> float:
    (source,) = [n for n in fleet.nodes if n.node == node]
    values = [
        r.value
        for tick in range(30)
        for r in source.collect(start + tick * 2.0)[0]
        if r.metric == GPU_UTILIZATION and r.labels["gpu"] in ("0", "1")
    ]
    return statistics.fmean(values)


def _mean_ttft(fleet: Fleet, node: str) -> float:
    (source,) = [n for n in fleet.nodes if n.node == node]
    return statistics.fmean(
        r.value
        for tick in range(30)
        for r in source.collect(START + tick * 2.0)[0]
        if r.metric == TTFT and r.labels.get("percentile") == "99"
    )
