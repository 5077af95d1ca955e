"""The stand-in's ``Recreate`` strategy: old pods stop at once; a broken release serves nothing."""

from __future__ import annotations

from sandbox.kube import world
from sandbox.kube.patch import STRATEGIC_MERGE_PATCH
from sandbox.kube.resources import DEPLOYMENTS, PODS
from sandbox.kube.state import KubeState


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def _release(state: KubeState, image: str, strategy: dict) -> None:
    patch = {
        "spec": {
            "strategy": strategy,
            "template": {"spec": {"containers": [{"name": "vllm", "image": image}]}},
        }
    }
    state.patch(DEPLOYMENTS, "serving", world.PRIMARY, STRATEGIC_MERGE_PATCH, patch, dry_run=False)


def _blue_pods(state: KubeState) -> list[dict]:
    items = state.list(PODS, "serving", label_selector="colour=blue")["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def test_a_broken_release_with_recreate_leaves_no_ready_replica() -> None:
    clock = Clock()
    state = KubeState(clock=clock, ready_after_s=5.0)
    world.seed(state)

    _release(state, "vllm/vllm-openai:v0.9.1-broken", {"type": "Recreate", "rollingUpdate": None})
    clock.now += 30.0

    pods = _blue_pods(state)
    assert len(pods) == 4
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"vllm/vllm-openai:v0.9.1-broken"}
    assert state.get(DEPLOYMENTS, "serving", world.PRIMARY)["status"].get("readyReplicas", 0) == 0


def test_a_broken_rolling_update_keeps_the_old_replicas_serving() -> None:
    clock = Clock()
    state = KubeState(clock=clock, ready_after_s=5.0)
    world.seed(state)

    _release(state, "vllm/vllm-openai:v0.9.1-broken", {"type": "RollingUpdate"})
    clock.now += 30.0

    assert state.get(DEPLOYMENTS, "serving", world.PRIMARY)["status"]["readyReplicas"] == 4
