"""Every action through the real kubernetes client against the stand-in process: plan (a dry
run that changes nothing), execute with a resourceVersion precondition, 409 → re-plan, verify,
observe and undo; a drain that honours a PodDisruptionBudget; errors as the API returns them."""

from __future__ import annotations

import pytest
from kubernetes import client

from bot.adapters.k8s import KubernetesCluster
from bot.core.actions import ActionKind, ActionRequest, Risk
from bot.core.errors import AdapterError, Conflict, NotFound, UserError
from tests.integration.kube.conftest import KubeServer

K = ActionKind
BLUE, GREEN = "deepseek-v3-blue", "deepseek-v3-green"


async def test_scale__plan_is_a_dry_run__execute_verify_observe_undo(
    cluster: KubernetesCluster, kube: KubeServer
) -> None:
    before = kube.state()
    plan = await cluster.plan(ActionRequest(K.SCALE, BLUE, replicas=6))
    assert kube.state() == before  # the server-side dry run persisted nothing
    assert plan.request.target == f"serving/{BLUE}"
    assert plan.diff == ("spec.replicas: 4 → 6",)
    # 2 more replicas against the 4 the Service sends traffic to (green is the standby)
    assert (plan.blast.replicas, plan.blast.gpus, plan.blast.capacity_share) == (2, 4, 0.5)
    assert plan.risk is Risk.LOW
    assert plan.resource_version == kube.deployment(BLUE)["resourceVersion"]
    assert not (await cluster.observe(plan)).ok

    assert (await cluster.execute(plan)).ok
    verified = await cluster.verify(plan, timeout_s=10)
    assert verified.ok, verified.detail
    assert verified.observed["status.readyReplicas"] == "6"
    assert (await cluster.observe(plan)).ok

    assert plan.undo == ActionRequest(K.SCALE, f"serving/{BLUE}", replicas=4)
    undo = await cluster.plan(plan.undo)
    await cluster.execute(undo)
    assert (await cluster.verify(undo, timeout_s=10)).ok
    assert kube.deployment(BLUE)["replicas"] == 4


async def test_a_change_between_plan_and_execute_raises_conflict__and_replanning_works(
    cluster: KubernetesCluster, kube: KubeServer, api: client.ApiClient
) -> None:
    plan = await cluster.plan(ActionRequest(K.SCALE, BLUE, replicas=6))
    client.AppsV1Api(api).patch_namespaced_deployment_scale(
        BLUE, "serving", {"spec": {"replicas": 5}}, _content_type="application/merge-patch+json"
    )
    with pytest.raises(Conflict, match="changed since the plan"):
        await cluster.execute(plan)
    assert kube.deployment(BLUE)["replicas"] == 5  # nothing blindly re-applied

    again = await cluster.plan(plan.request)
    assert again.digest != plan.digest
    assert again.diff == ("spec.replicas: 5 → 6",)
    await cluster.execute(again)
    assert kube.deployment(BLUE)["replicas"] == 6


async def test_injected_409_is_a_conflict_too(cluster: KubernetesCluster, kube: KubeServer) -> None:
    plan = await cluster.plan(ActionRequest(K.CORDON, "gpu-node-2"))
    kube.automation("POST", "faults", {"status": 409, "verb": "patch", "resource": "nodes"})
    with pytest.raises(Conflict):
        await cluster.execute(plan)
    assert not (await cluster.observe(plan)).ok


async def test_failover_moves_the_service_to_the_standby__and_back(
    cluster: KubernetesCluster, kube: KubeServer
) -> None:
    before = kube.state()
    plan = await cluster.plan(ActionRequest(K.FAILOVER, "deepseek-v3", standby=GREEN))
    assert kube.state() == before
    assert plan.risk is Risk.HIGH
    assert plan.diff == (
        "spec.selector: app=deepseek-v3,colour=blue → app=deepseek-v3,colour=green",
    )
    assert plan.blast.capacity_share == 1.0
    assert plan.undo == ActionRequest(K.FAILOVER, "serving/deepseek-v3", standby=BLUE)

    await cluster.execute(plan)
    assert (await cluster.verify(plan, timeout_s=5)).ok
    service = kube.state()["services"][0]
    assert service["deployments"] == [GREEN]

    undo = await cluster.plan(plan.undo)
    await cluster.execute(undo)
    assert kube.state()["services"][0]["deployments"] == [BLUE]
    with pytest.raises(UserError, match="already sends traffic"):
        await cluster.plan(plan.undo)


async def test_rollback_returns_to_the_previous_revision__and_undo_returns(
    cluster: KubernetesCluster, kube: KubeServer
) -> None:
    plan = await cluster.plan(ActionRequest(K.ROLLBACK, BLUE))
    assert plan.observed["revision"] == "3"
    assert plan.expected["revision"] == "2"
    assert any("--max-num-seqs" in line for line in plan.diff)
    assert kube.deployment(BLUE)["revision"] == 3

    await cluster.execute(plan)
    assert (await cluster.verify(plan, timeout_s=10)).ok
    assert kube.deployment(BLUE)["revision"] == 4  # revision 2's template, re-applied as 4
    history = await cluster.rollout_history(f"serving/{BLUE}")
    assert [h.revision for h in history] == [4, 3, 1]
    assert history[0].change_cause == "upgrade vLLM to v0.8.5"

    assert plan.undo == ActionRequest(K.ROLLBACK, f"serving/{BLUE}", revision=3)
    undo = await cluster.plan(plan.undo)
    await cluster.execute(undo)
    assert (await cluster.verify(undo, timeout_s=10)).ok
    assert (await cluster.rollout_history(f"serving/{BLUE}"))[0].change_cause == (
        "raise --max-num-seqs to 384"
    )


async def test_rollback_to_a_missing_revision_names_the_known_ones(
    cluster: KubernetesCluster,
) -> None:
    with pytest.raises(UserError, match=r"no revision 9 .*revisions: 1, 2, 3"):
        await cluster.plan(ActionRequest(K.ROLLBACK, BLUE, revision=9))


async def test_restart_rolls_every_pod(cluster: KubernetesCluster, kube: KubeServer) -> None:
    pods_before = {p for n in kube.state()["nodes"] for p in n["pods"] if GREEN in p}
    plan = await cluster.plan(ActionRequest(K.RESTART, GREEN))
    assert plan.undo is None
    await cluster.execute(plan)
    assert (await cluster.verify(plan, timeout_s=10)).ok
    pods_after = {p for n in kube.state()["nodes"] for p in n["pods"] if GREEN in p}
    assert len(pods_after) == 2
    assert not pods_before & pods_after


async def test_cordon_and_uncordon(cluster: KubernetesCluster, kube: KubeServer) -> None:
    plan = await cluster.plan(ActionRequest(K.CORDON, "gpu-node-3"))
    assert plan.blast.gpus == 8
    await cluster.execute(plan)
    assert (await cluster.verify(plan, timeout_s=2)).ok
    assert next(n for n in kube.state()["nodes"] if n["name"] == "gpu-node-3")["unschedulable"]
    assert plan.undo == ActionRequest(K.UNCORDON, "gpu-node-3")
    undo = await cluster.plan(plan.undo)
    await cluster.execute(undo)
    assert not next(n for n in kube.state()["nodes"] if n["name"] == "gpu-node-3")["unschedulable"]


async def test_drain_honours_the_disruption_budget(
    cluster: KubernetesCluster, kube: KubeServer, api: client.ApiClient
) -> None:
    policy = client.PolicyV1Api(api)
    policy.patch_namespaced_pod_disruption_budget(
        BLUE,
        "serving",
        {"spec": {"minAvailable": 4}},
        _content_type="application/merge-patch+json",
    )
    plan = await cluster.plan(ActionRequest(K.DRAIN, "gpu-node-1"))
    assert plan.risk is Risk.HIGH
    assert plan.blast.replicas == 2  # one blue, one green pod
    assert BLUE in plan.observed["blocked_by_pdb_now"]

    outcome = await cluster.execute(plan)
    assert not outcome.ok
    assert BLUE in outcome.observed["not_evicted"]
    assert GREEN in outcome.observed["evicted"]
    assert not (await cluster.observe(plan)).ok

    policy.patch_namespaced_pod_disruption_budget(
        BLUE,
        "serving",
        {"spec": {"minAvailable": 3}},
        _content_type="application/merge-patch+json",
    )
    again = await cluster.plan(ActionRequest(K.DRAIN, "gpu-node-1"))
    assert (await cluster.execute(again)).ok
    assert (await cluster.verify(again, timeout_s=5)).ok
    node = next(n for n in kube.state()["nodes"] if n["name"] == "gpu-node-1")
    assert node["pods"] == []
    assert node["unschedulable"]


async def test_unknown_target_is_not_found(cluster: KubernetesCluster) -> None:
    with pytest.raises(NotFound, match=r'deployments\.apps "nope" not found'):
        await cluster.plan(ActionRequest(K.SCALE, "nope", replicas=1))


async def test_forbidden_is_an_adapter_error_pointing_at_rbac(
    cluster: KubernetesCluster, kube: KubeServer
) -> None:
    kube.automation(
        "POST", "faults", {"status": 403, "verb": "patch", "resource": "deployments/scale"}
    )
    with pytest.raises(AdapterError, match="forbidden by the cluster's RBAC"):
        await cluster.plan(ActionRequest(K.SCALE, BLUE, replicas=5))


async def test_probes_show_events_pods_history_and_gpus(cluster: KubernetesCluster) -> None:
    events = await cluster.events(f"serving/{BLUE}", limit=5)
    assert events
    assert all(BLUE in e.involved for e in events)
    pods = await cluster.pods(f"serving/{BLUE}", log_lines=2)
    assert len(pods) == 4
    assert all(p.ready and p.log_tail for p in pods)
    history = await cluster.rollout_history(f"serving/{BLUE}")
    assert [(h.revision, h.current) for h in history] == [(3, True), (2, False), (1, False)]
    assert history[2].images == ("vllm/vllm-openai:v0.8.4",)
    nodes = await cluster.nodes()
    assert [(n.name, n.gpus) for n in nodes] == [(f"gpu-node-{i}", 8) for i in range(1, 5)]
    assert sum(n.gpus_requested for n in nodes) == 12
