"""Guard rails: kill switch, breaker, cooldown, replica limits, GPU headroom, room to drain."""

from __future__ import annotations

from bot.core.actions import ActionKind, ActionRequest, BlastRadius, Plan, Risk
from bot.core.cluster import NodeCapacity
from bot.core.guards import GuardPolicy, PastAction, violations

POLICY = GuardPolicy()
TARGET = "serving/ds"


def _scale(current: int, wanted: int, gpus: int = 8) -> Plan:
    return Plan(
        request=ActionRequest(ActionKind.SCALE, TARGET, replicas=wanted),
        observed={"spec.replicas": str(current)},
        diff=(f"spec.replicas: {current} → {wanted}",),
        expected={"spec.replicas": str(wanted)},
        blast=BlastRadius(replicas=abs(wanted - current), gpus=gpus),
        undo=None,
        resource_version="1",
        risk=Risk.LOW,
    )


def _drain(node: str) -> Plan:
    return Plan(
        request=ActionRequest(ActionKind.DRAIN, node),
        observed={},
        diff=("evict pods",),
        expected={},
        blast=BlastRadius(replicas=1, gpus=8, nodes=(node,)),
        undo=None,
        resource_version="1",
        risk=Risk.HIGH,
    )


def _nodes(*requested: int, gpus: int = 8) -> list[NodeCapacity]:
    return [
        NodeCapacity(f"n{i}", gpus, gpus, used, unschedulable=False, ready=True)
        for i, used in enumerate(requested)
    ]


def _check(
    plan: Plan,
    history: list[PastAction] | None = None,
    nodes: list[NodeCapacity] | None = None,
    policy: GuardPolicy = POLICY,
) -> list[str]:
    return violations(plan, policy=policy, history=history or [], nodes=nodes, now=10_000.0)


def test_a_modest_scale_up_with_room_passes() -> None:
    assert _check(_scale(3, 4), nodes=_nodes(8, 0, 0, 0, 0)) == []


def test_the_kill_switch_stops_everything() -> None:
    found = _check(_scale(3, 4), policy=GuardPolicy(kill_switch=True))

    assert found == ["remediation is switched off (kill switch in remediation.yaml)"]


def test_replicas_stay_within_min_and_max_and_the_step() -> None:
    assert "outside 1…10" in _check(_scale(9, 11))[0]
    assert "outside 1…10" in _check(_scale(1, 0))[0]
    assert "more than 4 replicas" in _check(_scale(2, 7))[0]


def test_scaling_up_keeps_the_twenty_percent_gpu_reserve() -> None:
    # 5 nodes of 8 = 40 GPUs; 26 in use → 14 free; adding 8 leaves 6 < 8 (20 %)
    found = _check(_scale(3, 4), nodes=_nodes(8, 8, 8, 2, 0))

    assert len(found) == 1
    assert "leaves 6 of 40 free" in found[0]
    assert "20%" in found[0]


def test_scaling_down_is_never_blocked_by_headroom() -> None:
    assert _check(_scale(4, 3), nodes=_nodes(8, 8, 8, 8, 8)) == []


def test_a_second_action_on_a_target_waits_for_the_cooldown() -> None:
    recent = [PastAction(TARGET, 10_000.0 - 60, ok=True)]
    old = [PastAction(TARGET, 10_000.0 - 400, ok=True)]
    other = [PastAction("serving/other", 10_000.0 - 60, ok=True)]

    assert "wait 240 s" in _check(_scale(3, 4), recent)[0]
    assert _check(_scale(3, 4), old) == []
    assert _check(_scale(3, 4), other) == []


def test_the_breaker_opens_after_three_failures_in_thirty_minutes() -> None:
    failures = [PastAction(f"t{i}", 10_000.0 - 600 * i - 400, ok=False) for i in range(3)]

    assert "circuit breaker open" in _check(_scale(3, 4), failures)[0]
    assert _check(_scale(3, 4), failures[:2]) == []
    spread = [PastAction(f"t{i}", 10_000.0 - 1000 * i - 400, ok=False) for i in range(3)]
    assert _check(_scale(3, 4), spread) == []


def test_a_drain_needs_room_elsewhere_for_the_pods_it_moves() -> None:
    assert _check(_drain("n0"), nodes=_nodes(8, 4, 4)) == []
    found = _check(_drain("n0"), nodes=_nodes(8, 6, 6))
    assert found == ["the drained pods need 8 GPU(s) elsewhere, only 4 are free"]


def test_a_cordoned_node_offers_no_free_gpus() -> None:
    cordoned = NodeCapacity("n9", 8, 8, 0, unschedulable=True, ready=True)

    assert cordoned.gpus_free == 0
    assert _check(_drain("n0"), nodes=[*_nodes(8), cordoned])
