"""Approval policy: roles, the two-person rule, plan binding, expiry, exactly-once claims."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.core.actions import ActionKind, ActionRequest, BlastRadius, Plan, Risk
from bot.core.approvals import (
    ActionEvent,
    ActionRecord,
    ActionState,
    Approval,
    ApprovalPolicy,
    Decision,
    Role,
    RolePolicy,
    check_execution,
    decide,
    expired,
    transition,
)
from bot.core.errors import UserError

POLICY = ApprovalPolicy()
ROLES = RolePolicy(
    users={
        Role.RESPONDER: frozenset({"*"}),
        Role.APPROVER: frozenset({"alice", "bob", "carol"}),
        Role.ADMIN: frozenset({"root"}),
    },
    groups={Role.APPROVER: frozenset({"S-sre"})},
)
APPROVE, REJECT = Decision.APPROVE, Decision.REJECT


def _plan(risk: Risk = Risk.LOW, replicas: int = 5) -> Plan:
    return Plan(
        request=ActionRequest(ActionKind.SCALE, "serving/ds", replicas=replicas),
        observed={"spec.replicas": "4"},
        diff=(f"spec.replicas: 4 → {replicas}",),
        expected={"spec.replicas": str(replicas)},
        blast=BlastRadius(replicas=1, gpus=8, capacity_share=0.2),
        undo=ActionRequest(ActionKind.SCALE, "serving/ds", replicas=4),
        resource_version="17",
        risk=risk,
    )


def _action(plan: Plan | None = None, *, by: str = "alice") -> ActionRecord:
    chosen = plan or _plan()
    return ActionRecord(
        id=1,
        key="k",
        plan=chosen,
        requested_by=by,
        requested_at=0.0,
        expires_at=POLICY.ttl_s,
        approvals_needed=POLICY.needed(chosen),
    )


def _decide(
    action: ActionRecord,
    approvals: list[Approval],
    who: str,
    decision: Decision = APPROVE,
    *,
    digest: str | None = None,
    now: float = 10.0,
) -> tuple[ActionRecord, Approval | None]:
    return decide(
        action,
        approvals,
        approver=who,
        roles=ROLES.roles_of(who),
        decision=decision,
        digest=digest or action.plan.digest,
        now=now,
        policy=POLICY,
    )


def test_roles_come_from_user_ids_groups_and_the_wildcard() -> None:
    assert ROLES.roles_of("alice") == {Role.RESPONDER, Role.APPROVER}
    assert ROLES.roles_of("dave") == {Role.RESPONDER}
    assert ROLES.roles_of("dave", groups=["S-sre"]) == {Role.RESPONDER, Role.APPROVER}
    assert Role.ADMIN in ROLES.roles_of("root")
    assert ROLES.named_groups() == {"S-sre"}


def test_the_requester_cannot_approve_their_own_request() -> None:
    with pytest.raises(UserError, match="someone else must approve"):
        _decide(_action(by="alice"), [], "alice")


def test_a_responder_who_is_no_approver_cannot_approve() -> None:
    with pytest.raises(UserError, match="not an approver"):
        _decide(_action(), [], "dave")


def test_one_approver_approves_a_low_risk_plan() -> None:
    approved, approval = _decide(_action(), [], "bob")

    assert approved.state is ActionState.APPROVED
    assert approval == Approval(1, "bob", APPROVE, approved.plan.digest, 10.0)


def test_a_high_risk_plan_needs_two_distinct_approvers() -> None:
    action = _action(_plan(Risk.HIGH))
    once, first = _decide(action, [], "bob")
    again, repeat = _decide(once, [first], "bob")  # a double click
    both, second = _decide(again, [first], "carol")

    assert once.state is ActionState.PENDING
    assert (again, repeat) == (once, None)
    assert both.state is ActionState.APPROVED
    assert second is not None


def test_an_approval_of_another_plan_digest_is_refused() -> None:
    with pytest.raises(UserError, match="plan of ACT-1 changed"):
        _decide(_action(), [], "bob", digest=_plan(replicas=9).digest)


def test_a_rejection_ends_the_request() -> None:
    rejected, _ = _decide(_action(), [], "bob", REJECT)

    assert rejected.state is ActionState.REJECTED
    with pytest.raises(UserError, match="nothing to decide"):
        _decide(rejected, [], "carol")


def test_a_request_expires_after_fifteen_minutes() -> None:
    action = _action()

    assert not expired(action, now=899.0)
    assert expired(action, now=900.0)
    with pytest.raises(UserError, match="expired"):
        _decide(action, [], "bob", now=901.0)


def test_execution_rechecks_state_expiry_and_the_approvers_roles() -> None:
    approved, approval = _decide(_action(), [], "bob", now=100.0)
    assert approval is not None
    everyone = frozenset({"bob", "carol"})

    check_execution(approved, [approval], approvers_now=everyone, now=200.0, policy=POLICY)
    with pytest.raises(UserError, match="0 valid approval"):
        check_execution(approved, [approval], approvers_now=frozenset(), now=200.0, policy=POLICY)
    with pytest.raises(UserError, match="expired"):
        check_execution(approved, [approval], approvers_now=everyone, now=950.0, policy=POLICY)
    with pytest.raises(UserError, match="not approved"):
        check_execution(_action(), [], approvers_now=everyone, now=1.0, policy=POLICY)


def test_an_approval_older_than_the_ttl_no_longer_counts() -> None:
    action = replace(_action(), expires_at=10_000.0)
    approved, approval = _decide(action, [], "bob", now=100.0)
    assert approval is not None

    with pytest.raises(UserError, match="valid approval"):
        check_execution(
            approved, [approval], approvers_now=frozenset({"bob"}), now=1001.0, policy=POLICY
        )


def test_the_transition_table_allows_one_claim_only() -> None:
    approved, _ = _decide(_action(), [], "bob")
    claimed = transition(approved, ActionEvent.CLAIM, now=11.0)

    assert (claimed.state, claimed.started_at) == (ActionState.EXECUTING, 11.0)
    with pytest.raises(UserError, match="cannot claim"):
        transition(claimed, ActionEvent.CLAIM, now=12.0)


# ----------------------------------------------------------------------------- property


USERS = ("alice", "bob", "carol", "dave", "root")


class ApprovalMachine(RuleBasedStateMachine):
    """Requests, approvals, double clicks, retries, expiry, re-plans and concurrent claims.

    The store is a compare-and-set on ``version``, as the database's is. Two executors reading
    the same version model two approvers clicking together, or a Slack retry.
    """

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.actions: dict[int, ActionRecord] = {}
        self.approvals: dict[int, list[Approval]] = {}
        self.executed: dict[int, int] = {}
        self.executed_with: dict[int, frozenset[str]] = {}

    def _cas(self, new: ActionRecord, expected: int) -> bool:
        if self.actions[new.id].version != expected:
            return False
        self.actions[new.id] = new
        return True

    @rule(who=st.sampled_from(USERS), high=st.booleans(), replicas=st.integers(1, 9))
    def request(self, who: str, high: bool, replicas: int) -> None:
        plan = _plan(Risk.HIGH if high else Risk.LOW, replicas)
        new_id = len(self.actions) + 1
        self.actions[new_id] = replace(
            _action(plan, by=who),
            id=new_id,
            requested_at=self.now,
            expires_at=self.now + POLICY.ttl_s,
        )
        self.approvals[new_id] = []

    @precondition(lambda self: self.actions)
    @rule(data=st.data(), who=st.sampled_from(USERS), decision=st.sampled_from(list(Decision)))
    def click(self, data: st.DataObject, who: str, decision: Decision) -> None:
        action_id = data.draw(st.sampled_from(sorted(self.actions)))
        stale = data.draw(st.booleans())  # an old message: the digest of another plan
        action = self.actions[action_id]
        digest = _plan(replicas=0).digest if stale else action.plan.digest
        try:
            changed, approval = decide(
                action,
                self.approvals[action_id],
                approver=who,
                roles=ROLES.roles_of(who),
                decision=decision,
                digest=digest,
                now=self.now,
                policy=POLICY,
            )
        except UserError:
            return
        if self._cas(changed, action.version) and approval is not None:
            self.approvals[action_id].append(approval)

    @precondition(lambda self: self.actions)
    @rule(data=st.data(), executors=st.integers(1, 3))
    def execute(self, data: st.DataObject, executors: int) -> None:
        action_id = data.draw(st.sampled_from(sorted(self.actions)))
        seen = self.actions[action_id]  # every executor read the same row
        for _ in range(executors):
            try:
                check_execution(
                    seen,
                    self.approvals[action_id],
                    approvers_now=frozenset({"bob", "carol", "root", "alice"}),
                    now=self.now,
                    policy=POLICY,
                )
                claimed = transition(seen, ActionEvent.CLAIM, now=self.now)
            except UserError:
                return
            if self._cas(claimed, seen.version):
                self.executed[action_id] = self.executed.get(action_id, 0) + 1
                self.executed_with[action_id] = frozenset(
                    a.approver for a in self.approvals[action_id] if a.decision is APPROVE
                )

    @precondition(lambda self: self.actions)
    @rule(data=st.data())
    def replan(self, data: st.DataObject) -> None:
        action_id = data.draw(st.sampled_from(sorted(self.actions)))
        action = self.actions[action_id]
        try:
            self._cas(transition(action, ActionEvent.SUPERSEDE, now=self.now), action.version)
        except UserError:
            return

    @rule(seconds=st.sampled_from([1.0, 60.0, 600.0, 1000.0]))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds

    @invariant()
    def nothing_runs_twice(self) -> None:
        assert all(count == 1 for count in self.executed.values())

    @invariant()
    def no_requester_approves_their_own_action(self) -> None:
        for action_id, approvals in self.approvals.items():
            requester = self.actions[action_id].requested_by
            assert all(a.approver != requester for a in approvals)

    @invariant()
    def what_ran_had_enough_distinct_approvers(self) -> None:
        for action_id, approvers in self.executed_with.items():
            action = self.actions[action_id]
            assert action.requested_by not in approvers
            assert len(approvers) >= action.approvals_needed


ApprovalMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=30, deadline=None
)
test_approval_property = ApprovalMachine.TestCase
