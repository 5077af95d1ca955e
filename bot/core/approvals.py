"""Who may request and approve remediation, and the life of an action request (pure).

Rules (two-person rule, as in Teleport's access requests and the reliability notes):

- roles come from configuration: **responder** (may request), **approver** (may approve or
  reject), **admin** (both); each role lists Slack user ids or Slack user groups;
- the requester never approves their own request; a high-risk plan needs two distinct approvers,
  a low-risk one needs one; one person's decision counts once (a double click is a no-op);
- an approval is bound to the plan digest the approver saw: approving another digest is refused;
- a request, and each approval, expires ``ttl_s`` after it was made (default 15 minutes);
- at execution every condition is checked again, the roles included (someone removed from the
  approvers since has no approval that counts).

The request's state follows :data:`TRANSITIONS`; a claim (approved → executing) is the one
compare-and-set that lets an action run exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bot.core.actions import Outcome, Plan, Risk
from bot.core.errors import UserError


class Role(StrEnum):
    """What a person may do with remediation."""

    RESPONDER = "responder"
    APPROVER = "approver"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class RolePolicy:
    """Roles by Slack user id and by Slack user group; the user ``*`` means everybody."""

    users: Mapping[Role, frozenset[str]]
    groups: Mapping[Role, frozenset[str]] = field(default_factory=dict)

    def roles_of(self, user: str, groups: Iterable[str] = ()) -> frozenset[Role]:
        """The roles of ``user``, who is a member of ``groups`` (ids or handles)."""
        mine = set(groups)
        by_user = {role for role, who in self.users.items() if user in who or "*" in who}
        by_group = {role for role, named in self.groups.items() if mine & named}
        return frozenset(by_user | by_group)

    def named_groups(self) -> frozenset[str]:
        """Every user group the policy names (their members must be looked up)."""
        return frozenset(name for named in self.groups.values() for name in named)


def may_request(roles: frozenset[Role]) -> bool:
    """Responders, approvers and admins may request an action."""
    return bool(roles)


def may_approve(roles: frozenset[Role]) -> bool:
    """Approvers and admins may approve or reject."""
    return bool(roles & {Role.APPROVER, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    """How many approvers, and how long requests and approvals stay valid."""

    ttl_s: float = 900.0
    high_risk_approvers: int = 2
    low_risk_approvers: int = 1

    def needed(self, plan: Plan) -> int:
        """Distinct approvers ``plan`` needs."""
        return self.high_risk_approvers if plan.risk is Risk.HIGH else self.low_risk_approvers


class ActionState(StrEnum):
    """Where an action request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"  # its plan went stale (the world changed): re-plan, re-approve
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ActionEvent(StrEnum):
    """What can happen to an action request."""

    APPROVE = "approve"  # the last approval needed arrived
    REJECT = "reject"
    EXPIRE = "expire"
    CANCEL = "cancel"
    SUPERSEDE = "supersede"
    CLAIM = "claim"  # one executor takes it
    SUCCEED = "succeed"
    FAIL = "fail"


_S, _E = ActionState, ActionEvent
TRANSITIONS: dict[tuple[ActionState, ActionEvent], ActionState] = {
    (_S.PENDING, _E.APPROVE): _S.APPROVED,
    (_S.PENDING, _E.REJECT): _S.REJECTED,
    (_S.PENDING, _E.EXPIRE): _S.EXPIRED,
    (_S.PENDING, _E.CANCEL): _S.CANCELLED,
    (_S.PENDING, _E.SUPERSEDE): _S.SUPERSEDED,
    (_S.APPROVED, _E.CLAIM): _S.EXECUTING,
    (_S.APPROVED, _E.EXPIRE): _S.EXPIRED,
    (_S.APPROVED, _E.SUPERSEDE): _S.SUPERSEDED,
    (_S.APPROVED, _E.CANCEL): _S.CANCELLED,
    (_S.EXECUTING, _E.SUCCEED): _S.SUCCEEDED,
    (_S.EXECUTING, _E.SUPERSEDE): _S.SUPERSEDED,  # 409: nothing was applied
    (_S.EXECUTING, _E.FAIL): _S.FAILED,
}
FINAL_STATES = frozenset(
    {_S.REJECTED, _S.EXPIRED, _S.CANCELLED, _S.SUPERSEDED, _S.SUCCEEDED, _S.FAILED}
)


class Decision(StrEnum):
    """One approver's answer."""

    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Approval:
    """One person's decision on one action, bound to the plan digest they were shown."""

    action_id: int
    approver: str
    decision: Decision
    plan_digest: str
    at: float


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """A stored action request with its frozen plan; ``version`` guards every state change."""

    id: int
    key: str
    plan: Plan
    requested_by: str
    requested_at: float
    expires_at: float
    approvals_needed: int
    state: ActionState = ActionState.PENDING
    version: int = 1
    updated_at: float = 0.0
    incident_id: int | None = None
    run_id: int | None = None
    step: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    outcome: str = ""
    undo_of: int | None = None
    slack_ts: str | None = None

    @property
    def ref(self) -> str:
        """The short name people use: ``ACT-7``."""
        return f"ACT-{self.id}"


def transition(action: ActionRecord, event: ActionEvent, *, now: float) -> ActionRecord:
    """The action after ``event``; UserError if the table does not allow it."""
    target = TRANSITIONS.get((action.state, event))
    if target is None:
        msg = f"{action.ref} is {action.state}; it cannot {event}"
        raise UserError(msg)
    changed = replace(action, state=target, updated_at=now, version=action.version + 1)
    if target is ActionState.EXECUTING:
        changed = replace(changed, started_at=now)
    if target in {ActionState.SUCCEEDED, ActionState.FAILED}:
        changed = replace(changed, finished_at=now)
    return changed


def finish(action: ActionRecord, outcome: Outcome, *, now: float) -> ActionRecord:
    """The executing action after its outcome."""
    done = transition(action, ActionEvent.SUCCEED if outcome.ok else ActionEvent.FAIL, now=now)
    return replace(done, outcome=outcome.detail)


def decide(
    action: ActionRecord,
    approvals: Sequence[Approval],
    *,
    approver: str,
    roles: frozenset[Role],
    decision: Decision,
    digest: str,
    now: float,
    policy: ApprovalPolicy,
) -> tuple[ActionRecord, Approval | None]:
    """Record one decision; returns the action (maybe approved/rejected) and the new approval.

    A repeat of the same person's decision returns ``(action, None)``: nothing changes.
    """
    if any(a.approver == approver for a in approvals):
        return action, None
    _check_may_decide(action, approver=approver, roles=roles, digest=digest, now=now)
    approval = Approval(action.id, approver, decision, digest, now)
    if decision is Decision.REJECT:
        return transition(action, ActionEvent.REJECT, now=now), approval
    valid = valid_approvers(action, [*approvals, approval], now=now, policy=policy)
    if len(valid) >= action.approvals_needed:
        return transition(action, ActionEvent.APPROVE, now=now), approval
    return replace(action, updated_at=now, version=action.version + 1), approval


def expired(action: ActionRecord, *, now: float) -> bool:
    """Whether a request still waiting (or approved but not started) has run out of time."""
    return action.state in {ActionState.PENDING, ActionState.APPROVED} and now >= action.expires_at


def valid_approvers(
    action: ActionRecord,
    approvals: Iterable[Approval],
    *,
    now: float,
    policy: ApprovalPolicy,
    still_approvers: frozenset[str] | None = None,
) -> frozenset[str]:
    """Distinct people whose approval counts now (``still_approvers``: re-checked roles)."""
    return frozenset(
        a.approver
        for a in approvals
        if a.decision is Decision.APPROVE
        and a.approver != action.requested_by
        and a.plan_digest == action.plan.digest
        and now < a.at + policy.ttl_s
        and (still_approvers is None or a.approver in still_approvers)
    )


def check_execution(
    action: ActionRecord,
    approvals: Sequence[Approval],
    *,
    approvers_now: frozenset[str],
    now: float,
    policy: ApprovalPolicy,
) -> None:
    """Raise UserError unless ``action`` may run now; ``approvers_now``: who still may approve."""
    if action.state is not ActionState.APPROVED:
        msg = f"{action.ref} is {action.state}, not approved"
        raise UserError(msg)
    if expired(action, now=now):
        msg = f"{action.ref} expired before it ran; request it again"
        raise UserError(msg)
    valid = valid_approvers(
        action, approvals, now=now, policy=policy, still_approvers=approvers_now
    )
    if len(valid) < action.approvals_needed:
        msg = (
            f"{action.ref} has {len(valid)} valid approval(s) of {action.approvals_needed} "
            "needed now (approvals expire, and approvers must still hold the role)"
        )
        raise UserError(msg)


def _check_may_decide(
    action: ActionRecord, *, approver: str, roles: frozenset[Role], digest: str, now: float
) -> None:
    if action.state is not ActionState.PENDING:
        msg = f"{action.ref} is {action.state}; there is nothing to decide"
        raise UserError(msg)
    if expired(action, now=now):
        msg = f"{action.ref} expired; request it again"
        raise UserError(msg)
    if approver == action.requested_by:
        msg = f"you requested {action.ref}: someone else must approve it"
        raise UserError(msg)
    if not may_approve(roles):
        msg = "you are not an approver; ask an admin to add you to remediation.yaml"
        raise UserError(msg)
    if digest != action.plan.digest:
        msg = f"the plan of {action.ref} changed since you saw it; look at the new plan"
        raise UserError(msg)
