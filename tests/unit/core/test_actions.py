"""The pure action model: requests, plans and their digest, blast radius, risk, autoscaling."""

from __future__ import annotations

import pytest

from bot.core.actions import (
    ActionKind,
    ActionRequest,
    AutoscalePolicy,
    BlastRadius,
    Plan,
    Risk,
    RiskPolicy,
    assess_risk,
    suggest_scale,
)
from bot.core.errors import UserError

K = ActionKind


def scale_plan(*, replicas: int = 6, rv: str = "100", current: int = 4) -> Plan:
    request = ActionRequest(K.SCALE, "serving/deepseek-v3-blue", replicas=replicas)
    blast = BlastRadius(
        replicas=abs(replicas - current), gpus=2 * abs(replicas - current), capacity_share=0.5
    )
    return Plan(
        request=request,
        observed={"spec.replicas": str(current)},
        diff=(f"spec.replicas: {current} → {replicas}",),
        expected={"spec.replicas": str(replicas)},
        blast=blast,
        undo=ActionRequest(K.SCALE, request.target, replicas=current),
        resource_version=rv,
        risk=assess_risk(request, current_replicas=current, blast=blast, policy=RiskPolicy()),
    )


@pytest.mark.parametrize(
    ("kind", "target", "params", "problem"),
    [
        (K.SCALE, "serving/x", {}, "needs the parameter 'replicas'"),
        (K.SCALE, "serving/x", {"replicas": -1}, "replicas must be a whole number"),
        (K.FAILOVER, "serving/svc", {}, "needs the parameter 'standby'"),
        (K.FAILOVER, "serving/svc", {"standby": "Not A Name"}, "standby must be a Deployment"),
        (K.ROLLBACK, "serving/x", {"revision": 0}, "revision must be a revision number"),
        (K.RESTART, "serving/x", {"replicas": 2}, "takes no parameter 'replicas'"),
        (K.CORDON, "serving/gpu-node-1", {}, "needs a node name"),
        (K.DRAIN, "", {}, "needs a node name"),
        (K.SCALE, "a/b/c", {"replicas": 1}, "namespace/name"),
    ],
)
def test_request_rejects_bad_input__naming_the_field(
    kind: ActionKind, target: str, params: dict[str, object], problem: str
) -> None:
    with pytest.raises(UserError, match=problem):
        ActionRequest(kind, target, **params)  # type: ignore[arg-type]


def test_request_round_trips_through_dict_and_completes_namespace() -> None:
    request = ActionRequest(K.ROLLBACK, "deepseek-v3-blue", revision=2)
    assert ActionRequest.from_dict(request.to_dict()) == request
    assert request.in_namespace("serving").target == "serving/deepseek-v3-blue"
    assert ActionRequest(K.CORDON, "gpu-node-1").in_namespace("serving").target == "gpu-node-1"
    assert request.describe() == "roll back deepseek-v3-blue to revision 2"


def test_from_dict_names_unknown_kind_and_field() -> None:
    with pytest.raises(UserError, match="action kind must be one of"):
        ActionRequest.from_dict({"kind": "explode", "target": "x"})
    with pytest.raises(UserError, match="unknown action field 'replica'"):
        ActionRequest.from_dict({"kind": "scale", "target": "s/x", "replica": 3})
    with pytest.raises(UserError, match="replicas must be a whole number"):
        ActionRequest.from_dict({"kind": "scale", "target": "s/x", "replicas": "3"})


def test_plan_digest_is_stable_and_changes_with_content() -> None:
    assert scale_plan().digest == scale_plan().digest
    assert scale_plan().digest != scale_plan(rv="101").digest
    assert scale_plan().digest != scale_plan(replicas=7).digest


def test_plan_round_trips_and_a_tampered_plan_is_refused() -> None:
    plan = scale_plan()
    assert Plan.from_dict(plan.to_dict()) == plan
    tampered = {**plan.to_dict(), "expected": {"spec.replicas": "9"}}
    with pytest.raises(UserError, match="does not match its digest"):
        Plan.from_dict(tampered)


def test_undo_of_scale_restores_the_observed_count() -> None:
    plan = scale_plan(replicas=6, current=4)
    assert plan.undo == ActionRequest(K.SCALE, "serving/deepseek-v3-blue", replicas=4)
    assert not plan.changes_nothing


@pytest.mark.parametrize(
    ("request_", "current", "blast", "risk"),
    [
        (ActionRequest(K.SCALE, "s/x", replicas=6), 4, BlastRadius(), Risk.LOW),
        (ActionRequest(K.SCALE, "s/x", replicas=7), 4, BlastRadius(), Risk.HIGH),
        (ActionRequest(K.SCALE, "s/x", replicas=1), 4, BlastRadius(), Risk.HIGH),
        (ActionRequest(K.SCALE, "s/x", replicas=0), 1, BlastRadius(), Risk.HIGH),
        (ActionRequest(K.FAILOVER, "s/svc", standby="green"), None, BlastRadius(), Risk.HIGH),
        (ActionRequest(K.DRAIN, "gpu-node-1"), None, BlastRadius(nodes=("gpu-node-1",)), Risk.HIGH),
        (ActionRequest(K.CORDON, "gpu-node-1"), None, BlastRadius(nodes=("gpu-node-1",)), Risk.LOW),
        (ActionRequest(K.RESTART, "s/x"), None, BlastRadius(nodes=("a", "b", "c")), Risk.HIGH),
        (ActionRequest(K.RESTART, "s/x"), None, BlastRadius(nodes=("a", "b")), Risk.LOW),
    ],
)
def test_risk_is_high_for_failover_drain_zero_big_steps_and_many_nodes(
    request_: ActionRequest, current: int | None, blast: BlastRadius, risk: Risk
) -> None:
    policy = RiskPolicy(max_step=2, max_nodes=2)
    assert assess_risk(request_, current_replicas=current, blast=blast, policy=policy) is risk


def test_blast_radius_share_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="capacity_share"):
        BlastRadius(capacity_share=1.5)
    assert "50% of serving capacity" in BlastRadius(2, 4, 0.5).describe()


@pytest.mark.parametrize(
    ("load", "replicas", "wanted"),
    [
        (120.0, 4, 5),  # above target: one more
        (120.0, 10, None),  # at max: stay
        (60.0, 5, 4),  # below 0.7 x target: one fewer
        (60.0, 3, None),  # at min: stay
        (80.0, 5, None),  # between 0.7 x target and target: stay
        (100.0, 5, None),  # exactly at target: stay
    ],
)
def test_autoscale_suggestion_follows_the_seed_policy(
    load: float, replicas: int, wanted: int | None
) -> None:
    suggestion = suggest_scale(deployment="serving/x", load=load, target=100.0, replicas=replicas)
    assert (suggestion.replicas if suggestion else None) == wanted


def test_autoscale_suggestion_respects_a_custom_step_and_bounds() -> None:
    policy = AutoscalePolicy(min_replicas=2, max_replicas=8, step=3)
    up = suggest_scale(deployment="s/x", load=200, target=100, replicas=7, policy=policy)
    down = suggest_scale(deployment="s/x", load=10, target=100, replicas=4, policy=policy)
    assert up == ActionRequest(K.SCALE, "s/x", replicas=8)
    assert down == ActionRequest(K.SCALE, "s/x", replicas=2)
