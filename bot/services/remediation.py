"""Gated remediation: request → plan → approvals → execute exactly once → verify → undo offer.

Exactly once: the only way into ``executing`` is a compare-and-set on the request's version
(:meth:`ActionRepository.save`), committed *before* the cluster is touched. Double clicks, Slack
retries and two approvers clicking together all race for that one claim; the losers see the
new state and do nothing. A process that dies after the claim leaves the request ``executing``:
:func:`recover_in_flight` asks the cluster (``Cluster.observe``) whether the change took effect
and records the true outcome, never applying it again.

Every step is audited (hash-chained) and put on the incident's timeline.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace

from bot import messages
from bot.core.actions import ActionRequest, Outcome, Plan
from bot.core.approvals import (
    ActionEvent,
    ActionRecord,
    ActionState,
    ApprovalPolicy,
    Decision,
    RolePolicy,
    check_execution,
    decide,
    expired,
    finish,
    may_approve,
    may_request,
    transition,
)
from bot.core.errors import AdapterError, Conflict, NotFound, UserError
from bot.core.guards import GuardPolicy, PastAction, violations
from bot.core.incidents import AuditEntry, TimelineEntry
from bot.core.ports import Clock, Cluster, Notifier, UnitOfWork, UnitOfWorkFactory, UserGroups

log = logging.getLogger(__name__)
VERIFY_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class RemediationDeps:
    """The ports and policies every remediation use case needs."""

    uow: UnitOfWorkFactory
    cluster: Cluster
    notifier: Notifier
    clock: Clock
    roles: RolePolicy
    approvals: ApprovalPolicy
    guards: GuardPolicy
    groups: UserGroups | None = None  # where roles name user groups: who is in them


async def role_groups(deps: RemediationDeps, user: str) -> frozenset[str]:
    """The role-granting user groups ``user`` is in (looked up only where roles name any)."""
    named = deps.roles.named_groups()
    if not named or deps.groups is None:
        return frozenset()
    mine = set()
    for ref in named:
        try:
            group = await deps.groups.find(ref)
        except (AdapterError, NotFound):
            continue  # a group that cannot be read grants nothing now
        if user in group.users:
            mine.add(ref)
    return frozenset(mine)


async def request_action(
    *,
    deps: RemediationDeps,
    request: ActionRequest,
    user: str,
    key: str,
    groups: frozenset[str] = frozenset(),
    incident_id: int | None = None,
    run_id: int | None = None,
    step: str = "",
    undo_of: int | None = None,
) -> ActionRecord:
    """Plan ``request`` (server-side dry run), check the guard rails, store it for approval.

    ``key`` identifies the request (e.g. run and step): repeating it returns the stored one.
    """
    if not may_request(deps.roles.roles_of(user, groups)):
        raise UserError(messages.ACTION_NOT_RESPONDER)
    plan = await deps.cluster.plan(request)
    if plan.changes_nothing:
        raise UserError(messages.ACTION_NOTHING_TO_CHANGE.format(what=request.describe()))
    if reasons := await _guard_reasons(deps, plan):
        raise UserError(messages.ACTION_BLOCKED.format(what=request.describe(), reasons=reasons))
    now = deps.clock.now()
    draft = ActionRecord(
        id=0,
        key=key,
        plan=plan,
        requested_by=user,
        requested_at=now,
        expires_at=now + deps.approvals.ttl_s,
        approvals_needed=deps.approvals.needed(plan),
        updated_at=now,
        incident_id=incident_id,
        run_id=run_id,
        step=step,
        undo_of=undo_of,
    )
    with deps.uow() as tx:
        action, created = tx.actions.add(draft)
        entries = []
        if created:
            _audit(tx, now, user, "action.request", action, plan=plan.to_dict())
            entries = _timeline(tx, action, now, user, _requested_text(action, deps.approvals))
        tx.commit()
    await _tell(deps, action, entries)
    return action


async def decide_action(
    *,
    deps: RemediationDeps,
    action_id: int,
    user: str,
    decision: Decision,
    digest: str,
    groups: frozenset[str] = frozenset(),
) -> ActionRecord:
    """Record one approver's decision on the plan they saw; run the action once approved."""
    now = deps.clock.now()
    with deps.uow() as tx:
        action = tx.actions.get(action_id)
        approvals = tx.actions.approvals(action_id)
        changed, approval = decide(
            action,
            approvals,
            approver=user,
            roles=deps.roles.roles_of(user, groups),
            decision=decision,
            digest=digest,
            now=now,
            policy=deps.approvals,
        )
        if approval is None or not tx.actions.approve(approval):
            return action  # this person decided before: a double click or a retry
        if not tx.actions.save(changed, expected_version=action.version):
            raise UserError(messages.ACTION_CHANGED_CONCURRENTLY.format(ref=action.ref))
        _audit(tx, now, user, f"action.{decision}", changed, digest=digest)
        if decision is Decision.REJECT:
            text = messages.ACTION_REJECTED_BY.format(user=user, ref=action.ref)
        else:
            count = sum(1 for a in [*approvals, approval] if a.decision is Decision.APPROVE)
            text = messages.ACTION_APPROVED_BY.format(
                user=user, ref=action.ref, count=count, needed=action.approvals_needed
            )
        entries = _timeline(tx, changed, now, user, text)
        tx.commit()
    await _tell(deps, changed, entries)
    if changed.state is ActionState.APPROVED:
        return await execute_action(deps=deps, action_id=action_id)
    return changed


async def execute_action(*, deps: RemediationDeps, action_id: int) -> ActionRecord:
    """Claim the approved action (once), apply it, record the outcome, then verify it.

    The guard rails are checked again first: an action they block now is closed, never run.
    """
    with deps.uow() as tx:
        action = tx.actions.get(action_id)
    if action.state is not ActionState.APPROVED:
        return action  # claimed already (a click, a retry, the other approver), or not approved
    if reasons := await _guard_reasons(deps, action.plan):
        closed = await _close(deps, action, ActionEvent.SUPERSEDE, reasons)
        raise UserError(messages.ACTION_BLOCKED.format(what=closed.ref, reasons=reasons))
    claimed = await _claim(deps, action_id)
    if claimed is None:
        with deps.uow() as tx:
            return tx.actions.get(action_id)
    try:
        outcome = await deps.cluster.execute(claimed.plan)
    except Conflict as exc:
        return await _close(deps, claimed, ActionEvent.SUPERSEDE, str(exc))
    except AdapterError as exc:  # it may or may not have been applied: ask the cluster
        log.warning("executing %s failed (%s); observing the cluster", claimed.ref, exc)
        outcome = await deps.cluster.observe(claimed.plan)
    done = await _finish(deps, claimed, outcome, messages.ACTION_SUCCEEDED)
    if done.state is ActionState.SUCCEEDED:
        await verify_action(deps=deps, action=done)
    return done


async def verify_action(*, deps: RemediationDeps, action: ActionRecord) -> Outcome:
    """Wait for the change to converge and put the result on the timeline."""
    outcome = await deps.cluster.verify(action.plan, timeout_s=VERIFY_TIMEOUT_S)
    template = messages.ACTION_VERIFIED if outcome.ok else messages.ACTION_NOT_VERIFIED
    now = deps.clock.now()
    with deps.uow() as tx:
        _audit(tx, now, "gpuwarden", "action.verify", action, ok=outcome.ok, detail=outcome.detail)
        entries = _timeline(
            tx, action, now, "gpuwarden", template.format(ref=action.ref, detail=outcome.detail)
        )
        tx.commit()
    await _tell(deps, action, entries)
    return outcome


async def request_undo(
    *, deps: RemediationDeps, action_id: int, user: str, groups: frozenset[str] = frozenset()
) -> ActionRecord:
    """Request the undo of a finished action; it is gated like any other request."""
    with deps.uow() as tx:
        action = tx.actions.get(action_id)
    if action.state is not ActionState.SUCCEEDED or action.plan.undo is None:
        msg = f"{action.ref} is {action.state}; there is nothing to undo"
        raise UserError(msg)
    return await request_action(
        deps=deps,
        request=action.plan.undo,
        user=user,
        groups=groups,
        key=f"undo:{action.id}",
        incident_id=action.incident_id,
        run_id=action.run_id,
        step=action.step,
        undo_of=action.id,
    )


async def recover_in_flight(*, deps: RemediationDeps) -> list[ActionRecord]:
    """After a restart: settle every action left ``executing`` by what the cluster shows."""
    with deps.uow() as tx:
        stuck = tx.actions.in_states(frozenset({ActionState.EXECUTING}))
    settled = []
    for action in stuck:
        outcome = await deps.cluster.observe(action.plan)
        settled.append(await _finish(deps, action, outcome, messages.ACTION_RECOVERED))
    return settled


async def expire_due(*, deps: RemediationDeps) -> list[ActionRecord]:
    """Requests past their deadline become ``expired`` (and say so on the timeline)."""
    now = deps.clock.now()
    waiting = frozenset({ActionState.PENDING, ActionState.APPROVED})
    with deps.uow() as tx:
        due = [a for a in tx.actions.in_states(waiting) if expired(a, now=now)]
    return [await _close(deps, action, ActionEvent.EXPIRE, "") for action in due]


async def _claim(deps: RemediationDeps, action_id: int) -> ActionRecord | None:
    with deps.uow() as tx:
        approvers = {a.approver for a in tx.actions.approvals(action_id)}
    groups = {user: await role_groups(deps, user) for user in approvers}  # roles checked anew
    now = deps.clock.now()
    with deps.uow() as tx:
        action = tx.actions.get(action_id)
        if action.state is not ActionState.APPROVED:
            return None  # claimed already, or never approved
        approvals = tx.actions.approvals(action_id)
        still = frozenset(
            a.approver
            for a in approvals
            if may_approve(deps.roles.roles_of(a.approver, groups.get(a.approver, frozenset())))
        )
        check_execution(action, approvals, approvers_now=still, now=now, policy=deps.approvals)
        claimed = transition(action, ActionEvent.CLAIM, now=now)
        if not tx.actions.save(claimed, expected_version=action.version):
            return None  # another click, retry or approver won the claim
        _audit(tx, now, "gpuwarden", "action.execute", claimed, digest=claimed.plan.digest)
        text = messages.ACTION_STARTED.format(ref=claimed.ref, what=claimed.plan.request.describe())
        entries = _timeline(tx, claimed, now, "gpuwarden", text)
        tx.commit()
    await _tell(deps, claimed, entries)
    return claimed


async def _guard_reasons(deps: RemediationDeps, plan: Plan) -> str:
    """Why the guard rails stop ``plan`` now, joined ("" when it may run)."""
    now = deps.clock.now()
    since = now - max(deps.guards.breaker_window_s, deps.guards.cooldown_s)
    with deps.uow() as tx:
        history = [
            PastAction(
                a.plan.request.target, a.finished_at or now, a.state is ActionState.SUCCEEDED
            )
            for a in tx.actions.finished_since(since)
        ]
    nodes = await deps.cluster.nodes()
    return "; ".join(violations(plan, policy=deps.guards, history=history, nodes=nodes, now=now))


async def _finish(
    deps: RemediationDeps, action: ActionRecord, outcome: Outcome, template: str
) -> ActionRecord:
    done = finish(action, outcome, now=deps.clock.now())
    if template == messages.ACTION_SUCCEEDED and not outcome.ok:
        template = messages.ACTION_FAILED
    text = template.format(ref=done.ref, detail=outcome.detail)
    return await _settle(deps, action, done, "action.finish", text, ok=outcome.ok)


async def _close(
    deps: RemediationDeps, action: ActionRecord, event: ActionEvent, detail: str
) -> ActionRecord:
    closed = replace(transition(action, event, now=deps.clock.now()), outcome=detail)
    if event is ActionEvent.EXPIRE:
        text = messages.ACTION_EXPIRED.format(ref=closed.ref)
    else:
        text = messages.ACTION_SUPERSEDED.format(ref=closed.ref, detail=detail)
    return await _settle(deps, action, closed, f"action.{event}", text)


async def _settle(
    deps: RemediationDeps,
    before: ActionRecord,
    after: ActionRecord,
    what: str,
    text: str,
    **detail: object,
) -> ActionRecord:
    """Store ``after`` if ``before`` is still current; audit it and put it on the timeline."""
    with deps.uow() as tx:
        if not tx.actions.save(after, expected_version=before.version):
            return tx.actions.get(before.id)
        _audit(tx, after.updated_at, "gpuwarden", what, after, detail=after.outcome, **detail)
        entries = _timeline(tx, after, after.updated_at, "gpuwarden", text)
        tx.commit()
    await _tell(deps, after, entries)
    return after


def _requested_text(action: ActionRecord, policy: ApprovalPolicy) -> str:
    plan = action.plan
    return messages.ACTION_REQUESTED.format(
        user=action.requested_by,
        ref=action.ref,
        what=plan.request.describe(),
        diff="; ".join(plan.diff),
        blast=plan.blast.describe(),
        undo=plan.undo.describe() if plan.undo else "none",
        needed=action.approvals_needed,
        minutes=f"{policy.ttl_s / 60:g}",
    )


def _audit(
    tx: UnitOfWork, now: float, actor: str, what: str, action: ActionRecord, **detail: object
) -> None:
    text = json.dumps({"state": action.state.value, **detail}, sort_keys=True, default=str)
    tx.audit.append(AuditEntry(now, actor, what, action.ref, text))


def _timeline(
    tx: UnitOfWork, action: ActionRecord, now: float, actor: str, text: str
) -> list[TimelineEntry]:
    if action.incident_id is None:
        return []
    data = (("action", str(action.id)), ("state", action.state.value))
    entry = TimelineEntry(action.incident_id, now, "action", text, actor=actor, data=data)
    return [tx.timeline.append(entry)]


async def _tell(deps: RemediationDeps, action: ActionRecord, entries: list[TimelineEntry]) -> None:
    if not entries or action.incident_id is None:
        return
    with deps.uow() as tx:
        incident = tx.incidents.get(action.incident_id)
    try:
        for entry in entries:
            await deps.notifier.post_timeline(incident, entry)
    except AdapterError:
        log.exception("could not post %s to Slack; it stays on the timeline", action.ref)
