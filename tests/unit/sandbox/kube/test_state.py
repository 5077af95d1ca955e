"""The Kubernetes stand-in's cluster: dry runs, conflicts, rollouts, evictions, patch formats."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.kube import world
from sandbox.kube.errors import ApiError
from sandbox.kube.patch import JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, apply_patch
from sandbox.kube.resources import DEPLOYMENTS, NODES, PODS, REPLICASETS, SERVICES
from sandbox.kube.state import KubeState
from sandbox.kube.store import field_matcher, label_matcher


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> KubeState:
    cluster = KubeState(clock=clock, ready_after_s=5.0)
    world.seed(cluster)
    return cluster


def patch_scale(state: KubeState, name: str, body: dict, *, dry_run: bool = False) -> dict:
    """``kubectl scale``: a merge patch of the Deployment's Scale."""
    return state.patch(DEPLOYMENTS, "serving", name, MERGE_PATCH, body, dry_run=dry_run, scale=True)


def replace_scale(state: KubeState, *args: Any, **kwargs: Any) -> dict:
    return state.replace(*args, scale=True, **kwargs)


def blue(state: KubeState) -> dict:
    return state.get(DEPLOYMENTS, "serving", "deepseek-v3-blue")


def test_demo_world_runs_blue_and_green_ready_behind_the_service(state: KubeState) -> None:
    assert blue(state)["status"]["readyReplicas"] == 4
    assert state.get(SERVICES, "serving", "deepseek-v3")["spec"]["selector"]["colour"] == "blue"
    pods = state.list(PODS, "serving")["items"]
    assert len(pods) == 6
    assert {p["spec"]["nodeName"] for p in pods} == set(world.GPU_NODES)


def test_dry_run_changes_nothing(state: KubeState) -> None:
    before = blue(state)
    scale = patch_scale(state, "deepseek-v3-blue", {"spec": {"replicas": 8}}, dry_run=True)
    assert scale["spec"]["replicas"] == 8
    assert blue(state) == before


def test_a_stale_resource_version_answers_409(state: KubeState) -> None:
    stale = blue(state)["metadata"]["resourceVersion"]
    patch_scale(state, "deepseek-v3-blue", {"spec": {"replicas": 5}})
    with pytest.raises(ApiError) as caught:
        patch_scale(
            state,
            "deepseek-v3-blue",
            {"metadata": {"resourceVersion": stale}, "spec": {"replicas": 6}},
        )
    assert caught.value.code == 409
    assert caught.value.to_status()["reason"] == "Conflict"
    assert blue(state)["spec"]["replicas"] == 5


def test_negative_replicas_answer_422_naming_the_field(state: KubeState) -> None:
    with pytest.raises(ApiError) as caught:
        replace_scale(
            state,
            DEPLOYMENTS,
            "serving",
            "deepseek-v3-blue",
            {"spec": {"replicas": -1}},
            dry_run=False,
        )
    status = caught.value.to_status()
    assert status["code"] == 422
    assert status["details"]["causes"][0]["field"] == "spec.replicas"


def test_unknown_object_answers_404_status(state: KubeState) -> None:
    with pytest.raises(ApiError) as caught:
        state.get(DEPLOYMENTS, "serving", "nope")
    assert caught.value.to_status()["message"] == 'deployments.apps "nope" not found'


def test_scale_out_turns_ready_after_the_simulated_start_time(
    state: KubeState, clock: Clock
) -> None:
    patch_scale(state, "deepseek-v3-blue", {"spec": {"replicas": 6}})
    assert blue(state)["status"]["readyReplicas"] == 4
    clock.now += 5.0
    assert blue(state)["status"]["readyReplicas"] == 6


def test_template_change_makes_a_new_revision_and_old_pods_go_as_new_ones_turn_ready(
    state: KubeState, clock: Clock
) -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.9.0"}]}
            }
        }
    }
    state.patch(
        DEPLOYMENTS, "serving", "deepseek-v3-blue", STRATEGIC_MERGE_PATCH, patch, dry_run=False
    )
    assert blue(state)["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4"
    assert blue(state)["status"]["replicas"] == 8  # old pods stay until new ones are ready
    clock.now += 5.0
    status = blue(state)["status"]
    assert (status["replicas"], status["updatedReplicas"], status["readyReplicas"]) == (4, 4, 4)
    assert len(state.list(REPLICASETS, "serving", label_selector="colour=blue")["items"]) == 4


def test_eviction_respects_the_disruption_budget(state: KubeState, clock: Clock) -> None:
    pods = state.list(PODS, "serving", label_selector="colour=blue")["items"]
    state.evict("serving", pods[0]["metadata"]["name"], dry_run=False)
    with pytest.raises(ApiError) as caught:
        state.evict("serving", pods[1]["metadata"]["name"], dry_run=False)
    assert caught.value.code == 429
    assert caught.value.to_status()["details"]["causes"][0]["reason"] == "DisruptionBudget"
    clock.now += 5.0  # the replacement turns ready: one more disruption is allowed
    state.evict("serving", pods[1]["metadata"]["name"], dry_run=False)


def test_cordon_taints_the_node_and_new_pods_avoid_it(state: KubeState, clock: Clock) -> None:
    for name in ("gpu-node-1", "gpu-node-2", "gpu-node-3"):
        state.patch(NODES, "", name, MERGE_PATCH, {"spec": {"unschedulable": True}}, dry_run=False)
    assert state.get(NODES, "", "gpu-node-1")["spec"]["taints"][0]["effect"] == "NoSchedule"
    patch_scale(state, "deepseek-v3-green", {"spec": {"replicas": 4}})
    clock.now += 5.0
    new = state.list(PODS, "serving", field_selector="spec.nodeName=gpu-node-4")["items"]
    assert len(new) == 3  # one blue, two new green pods


def test_rollback_patch_with_a_failed_test_op_is_rejected(state: KubeState) -> None:
    operations = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
        {"op": "replace", "path": "/spec/replicas", "value": 9},
    ]
    with pytest.raises(ApiError) as caught:
        state.patch(
            DEPLOYMENTS, "serving", "deepseek-v3-blue", JSON_PATCH, operations, dry_run=False
        )
    assert caught.value.code == 422
    assert blue(state)["spec"]["replicas"] == 4


@pytest.mark.parametrize(
    ("kind", "patch", "expected"),
    [
        (MERGE_PATCH, {"a": {"b": None, "c": 2}}, {"a": {"c": 2}, "l": [{"name": "x", "v": 1}]}),
        (
            STRATEGIC_MERGE_PATCH,
            {"l": [{"name": "x", "v": 2}, {"name": "y"}]},
            {"a": {"b": 1}, "l": [{"name": "x", "v": 2}, {"name": "y"}]},
        ),
        (MERGE_PATCH, {"l": [{"name": "y"}]}, {"a": {"b": 1}, "l": [{"name": "y"}]}),
        (
            JSON_PATCH,
            [
                {"op": "add", "path": "/l/-", "value": {"name": "z"}},
                {"op": "remove", "path": "/a/b"},
            ],
            {"a": {}, "l": [{"name": "x", "v": 1}, {"name": "z"}]},
        ),
    ],
)
def test_patch_formats(kind: str, patch: object, expected: dict) -> None:
    document = {"a": {"b": 1}, "l": [{"name": "x", "v": 1}]}
    assert apply_patch(document, kind, patch) == expected


def test_unknown_patch_type_answers_415() -> None:
    with pytest.raises(ApiError) as caught:
        apply_patch({}, "application/yaml", {})
    assert caught.value.code == 415


def test_selectors() -> None:
    assert label_matcher("app=x,colour in (blue,green),!gone")({"app": "x", "colour": "green"})
    assert not label_matcher("app!=x")({"app": "x"})
    assert field_matcher("spec.nodeName=n1")({"spec": {"nodeName": "n1"}})
    assert field_matcher("spec.unschedulable!=true")({"spec": {}})
