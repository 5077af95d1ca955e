"""Gated remediation end to end on the in-memory store and a fake cluster: exactly once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

import pytest

from bot.core.actions import (
    ActionKind,
    ActionRequest,
    BlastRadius,
    Outcome,
    Plan,
    RiskPolicy,
    assess_risk,
)
from bot.core.approvals import ActionRecord, ActionState, ApprovalPolicy, Decision, Role, RolePolicy
from bot.core.audit import verify_chain
from bot.core.cluster import ClusterEvent, NodeCapacity, PodStatus, RolloutRevision
from bot.core.errors import AdapterError, Conflict, UserError
from bot.core.guards import GuardPolicy
from bot.core.incidents import Severity
from bot.core.oncall import UserGroup
from bot.services.remediation import (
    RemediationDeps,
    decide_action,
    expire_due,
    recover_in_flight,
    request_action,
    request_undo,
    role_groups,
)
from storage.memory import InMemoryStore, InMemoryUnitOfWork
from tests.fakes import FakeNotifier, FakeUserGroups, FrozenClock

TARGET = "serving/ds"


@dataclass
class FakeCluster:
    """A Deployment's replicas in memory; counts every apply. ``fail`` / ``conflict`` inject."""

    replicas: int = 4
    version: int = 1
    applied: list[Plan] = field(default_factory=list)
    conflict: bool = False
    crash_after_apply: bool = False

    async def plan(self, request: ActionRequest) -> Plan:
        wanted = request.replicas if request.replicas is not None else self.replicas
        blast = BlastRadius(
            replicas=abs(wanted - self.replicas), gpus=8 * max(wanted - self.replicas, 0)
        )
        return Plan(
            request=request,
            observed={"spec.replicas": str(self.replicas)},
            diff=() if wanted == self.replicas else (f"spec.replicas: {self.replicas} → {wanted}",),
            expected={"spec.replicas": str(wanted)},
            blast=blast,
            undo=ActionRequest(ActionKind.SCALE, request.target, replicas=self.replicas),
            resource_version=str(self.version),
            risk=assess_risk(
                request, current_replicas=self.replicas, blast=blast, policy=RiskPolicy()
            ),
        )

    async def execute(self, plan: Plan) -> Outcome:
        if self.conflict or plan.resource_version != str(self.version):
            raise Conflict("the Deployment changed since the plan (409)")
        self.applied.append(plan)
        self.replicas = plan.request.replicas or 0
        self.version += 1
        if self.crash_after_apply:
            raise AdapterError("connection reset after the PATCH")
        return Outcome(True, f"spec.replicas is {self.replicas}")

    async def verify(self, plan: Plan, *, timeout_s: float) -> Outcome:
        return await self.observe(plan)

    async def observe(self, plan: Plan) -> Outcome:
        ok = str(self.replicas) == plan.expected["spec.replicas"]
        return Outcome(ok, f"spec.replicas is {self.replicas}")

    async def events(self, target: str, *, limit: int = 20) -> list[ClusterEvent]:
        return []

    async def pods(self, target: str, *, log_lines: int = 20) -> list[PodStatus]:
        return []

    async def rollout_history(self, target: str, *, limit: int = 3) -> list[RolloutRevision]:
        return []

    async def nodes(self) -> list[NodeCapacity]:
        return [NodeCapacity(f"n{i}", 8, 8, 2, unschedulable=False, ready=True) for i in range(10)]


World = tuple[RemediationDeps, FakeCluster, int]
ROLES = RolePolicy(
    users={Role.RESPONDER: frozenset({"*"}), Role.APPROVER: frozenset({"bob", "carol", "alice"})}
)


@pytest.fixture
def world() -> World:
    store = InMemoryStore()
    cluster = FakeCluster()
    deps = RemediationDeps(
        uow=lambda: InMemoryUnitOfWork(store),
        cluster=cluster,
        notifier=FakeNotifier(),
        clock=FrozenClock(),
        roles=ROLES,
        approvals=ApprovalPolicy(),
        guards=GuardPolicy(),
    )
    with deps.uow() as tx:
        incident = tx.incidents.create(
            title="TTFT", severity=Severity.P2, group_key="g", created_at=1.0
        )
        tx.commit()
    return deps, cluster, incident.id


async def _request(
    deps: RemediationDeps, incident_id: int, replicas: int = 5, key: str = "k1"
) -> ActionRecord:
    return await request_action(
        deps=deps,
        request=ActionRequest(ActionKind.SCALE, TARGET, replicas=replicas),
        user="alice",
        key=key,
        incident_id=incident_id,
    )


async def _approve(
    deps: RemediationDeps,
    action: ActionRecord,
    user: str = "bob",
    *,
    groups: frozenset[str] = frozenset(),
) -> ActionRecord:
    """``user`` approves ``action`` on the plan it was requested with."""
    return await decide_action(
        deps=deps,
        action_id=action.id,
        user=user,
        decision=Decision.APPROVE,
        digest=action.plan.digest,
        groups=groups,
    )


async def test_one_approval_runs_a_low_risk_scale_once_and_it_is_audited(world: World) -> None:
    deps, cluster, incident_id = world
    action = await _request(deps, incident_id)

    done = await _approve(deps, action)

    assert done.state is ActionState.SUCCEEDED
    assert cluster.replicas == 5
    assert len(cluster.applied) == 1
    with deps.uow() as tx:
        chain = tx.audit.chain()
        texts = [e.text for e in tx.timeline.list(incident_id)]
    assert verify_chain(chain).intact
    assert [e.action for e in chain] == [
        "action.request",
        "action.approve",
        "action.execute",
        "action.finish",
        "action.verify",
    ]
    assert any("verified" in t for t in texts)


@pytest.mark.parametrize("still_in_group", [True, False])
async def test_an_approver_through_a_user_group_counts_while_still_in_it(
    world: World, still_in_group: bool
) -> None:
    deps, cluster, incident_id = world
    approvers = UserGroup("S0APPROVERS", "gpu-approvers", ("U0DAVE",))
    groups = FakeUserGroups({approvers.id: approvers})
    roles = replace(ROLES, groups={Role.APPROVER: frozenset({"gpu-approvers"})})
    deps = replace(deps, roles=roles, groups=groups)
    action = await _request(deps, incident_id)
    members = await role_groups(deps, "U0DAVE")
    assert members == frozenset({"gpu-approvers"})
    if not still_in_group:  # left the group between approving and the execution's recheck
        groups.groups[approvers.id] = UserGroup(approvers.id, approvers.handle, ())

    async def approve() -> ActionRecord:
        return await _approve(deps, action, "U0DAVE", groups=members)

    if still_in_group:
        assert (await approve()).state is ActionState.SUCCEEDED
        assert len(cluster.applied) == 1
    else:
        with pytest.raises(UserError, match="approvers must still hold the role"):
            await approve()
        assert cluster.applied == []


async def test_the_requester_cannot_approve_and_a_repeat_request_is_the_same(world: World) -> None:
    deps, cluster, incident_id = world
    action = await _request(deps, incident_id)
    again = await _request(deps, incident_id)

    with pytest.raises(UserError, match="someone else"):
        await _approve(deps, action, "alice")
    assert again.id == action.id
    assert cluster.applied == []


async def test_two_approvers_clicking_together_and_double_clicks_run_it_once(world: World) -> None:
    deps, cluster, incident_id = world
    action = await _request(deps, incident_id, replicas=8)  # +4: high risk, two approvers
    assert action.approvals_needed == 2
    click = lambda who: _approve(deps, action, who)  # noqa: E731

    results = await asyncio.gather(
        click("bob"), click("bob"), click("carol"), click("carol"), return_exceptions=True
    )

    assert len(cluster.applied) == 1
    assert cluster.replicas == 8
    assert any(getattr(r, "state", None) is ActionState.SUCCEEDED for r in results)


async def test_a_409_supersedes_the_action_and_nothing_is_reapplied(world: World) -> None:
    deps, cluster, incident_id = world
    action = await _request(deps, incident_id)
    cluster.version += 1  # someone else changed the Deployment

    done = await _approve(deps, action)

    assert done.state is ActionState.SUPERSEDED
    assert cluster.applied == []


async def test_after_a_crash_mid_execution_the_true_outcome_is_recorded_without_a_reapply(
    world,
) -> None:  # type: ignore[no-untyped-def]
    deps, cluster, incident_id = world
    action = await _request(deps, incident_id)
    cluster.crash_after_apply = True  # the apply went through, the answer was lost

    done = await _approve(deps, action)

    assert done.state is ActionState.SUCCEEDED
    assert len(cluster.applied) == 1


async def test_recover_settles_an_executing_action_from_the_cluster_state(world: World) -> None:
    deps, cluster, incident_id = world
    action = await _request(deps, incident_id)
    with deps.uow() as tx:  # the state a process killed right after its PATCH leaves behind
        tx.actions.save(replace(action, state=ActionState.EXECUTING, version=9), expected_version=1)
        tx.commit()
    cluster.replicas = 5

    settled = await recover_in_flight(deps=deps)

    assert [a.state for a in settled] == [ActionState.SUCCEEDED]
    assert cluster.applied == []
    with deps.uow() as tx:
        assert "After a restart" in tx.timeline.list(incident_id)[-1].text


async def test_guard_rails_block_a_request(world: World) -> None:
    deps, _, incident_id = world

    with pytest.raises(UserError, match="outside 1…10"):
        await _request(deps, incident_id, replicas=11)


async def test_an_unapproved_request_expires(world: World) -> None:
    deps, _, incident_id = world
    clock = deps.clock
    assert isinstance(clock, FrozenClock)
    action = await _request(deps, incident_id)
    clock.advance(901)

    expired = await expire_due(deps=deps)

    assert [a.id for a in expired] == [action.id]
    assert expired[0].state is ActionState.EXPIRED


async def test_undo_is_a_gated_request_of_the_plans_undo(world: World) -> None:
    deps, cluster, incident_id = world
    clock = deps.clock
    assert isinstance(clock, FrozenClock)
    action = await _request(deps, incident_id)
    await _approve(deps, action)
    clock.advance(400)  # past the target's cooldown

    undo = await request_undo(deps=deps, action_id=action.id, user="carol")

    assert undo.undo_of == action.id
    assert undo.state is ActionState.PENDING
    assert undo.plan.request.replicas == 4
    assert cluster.replicas == 5
