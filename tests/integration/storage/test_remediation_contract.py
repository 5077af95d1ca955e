"""Contract of the runbook and action repositories and the audit chain, on every implementation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace

from bot.core.actions import ActionKind, ActionRequest, BlastRadius, Plan, Risk
from bot.core.approvals import (
    ActionEvent,
    ActionRecord,
    ActionState,
    Approval,
    Decision,
    transition,
)
from bot.core.audit import verify_chain
from bot.core.incidents import AuditEntry, Severity
from bot.core.ports import UnitOfWork, UnitOfWorkFactory
from bot.core.runbooks import RunbookRun, RunState, StepOutcome, StepRecord

PLAN = Plan(
    request=ActionRequest(ActionKind.SCALE, "serving/ds", replicas=5),
    observed={"spec.replicas": "4"},
    diff=("spec.replicas: 4 → 5",),
    expected={"spec.replicas": "5"},
    blast=BlastRadius(replicas=1, gpus=8, capacity_share=0.2),
    undo=ActionRequest(ActionKind.SCALE, "serving/ds", replicas=4),
    resource_version="17",
    risk=Risk.HIGH,
)


def _incident(uow: UnitOfWork) -> int:
    return uow.incidents.create(
        title="TTFT", severity=Severity.P2, group_key="g", created_at=1.0
    ).id


def _action(incident_id: int, key: str = "run:1:scale-out") -> ActionRecord:
    return ActionRecord(
        id=0,
        key=key,
        plan=PLAN,
        requested_by="alice",
        requested_at=2.0,
        expires_at=902.0,
        approvals_needed=2,
        incident_id=incident_id,
        step="scale-out",
    )


def test_a_run_starts_once_per_incident_and_runbook_and_moves_by_compare_and_set(
    new_uow: UnitOfWorkFactory,
) -> None:
    with new_uow() as uow:
        incident_id = _incident(uow)
        run = RunbookRun(
            0, incident_id, "traffic-surge", "kv-cache", RunState.ACTIVE, "U1", 2.0, 2.0
        )
        started = uow.runbooks.start(run)
        assert started is not None
        assert uow.runbooks.start(run) is None
        moved = replace(started, step="capacity", version=2, updated_at=3.0)
        assert uow.runbooks.save(moved, expected_version=1)
        assert not uow.runbooks.save(replace(moved, step="x"), expected_version=1)
        record = uow.runbooks.record(
            StepRecord(started.id, "kv-cache", StepOutcome.PROBED, "U1", 3.0, (("value", "0.97"),))
        )
        uow.commit()

    with new_uow() as uow:
        assert uow.runbooks.get(started.id) == moved
        assert uow.runbooks.for_incident(incident_id) == [moved]
        assert uow.runbooks.steps(started.id) == [record]


def test_an_action_is_stored_once_per_key_with_its_plan_intact(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        incident_id = _incident(uow)
        stored, created = uow.actions.add(_action(incident_id))
        again, created_again = uow.actions.add(_action(incident_id))
        uow.commit()

    assert (created, created_again) == (True, False)
    assert again == stored
    with new_uow() as uow:
        loaded = uow.actions.get(stored.id)
    assert loaded == stored
    assert loaded.plan.digest == PLAN.digest


def test_each_person_decides_once_and_states_are_found(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        action, _ = uow.actions.add(_action(_incident(uow)))
        first = Approval(action.id, "bob", Decision.APPROVE, PLAN.digest, 3.0)
        assert uow.actions.approve(first)
        assert not uow.actions.approve(replace(first, at=4.0))
        approved = replace(action, state=ActionState.APPROVED, version=2)
        assert uow.actions.save(approved, expected_version=1)
        uow.commit()

    with new_uow() as uow:
        assert uow.actions.approvals(action.id) == [first]
        assert uow.actions.in_states(frozenset({ActionState.APPROVED})) == [approved]
        assert uow.actions.in_states(frozenset({ActionState.PENDING})) == []


def test_finished_actions_are_listed_for_the_guard_rails(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        action, _ = uow.actions.add(_action(_incident(uow)))
        done = replace(action, state=ActionState.FAILED, finished_at=50.0, version=2)
        uow.actions.save(done, expected_version=1)
        uow.commit()

    with new_uow() as uow:
        assert uow.actions.finished_since(40.0) == [done]
        assert uow.actions.finished_since(60.0) == []


def test_the_audit_log_is_a_chain_that_verifies(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        for i in range(4):
            uow.audit.append(AuditEntry(float(i), "alice", "action.request", f"ACT-{i}", "{}"))
        uow.commit()
    with new_uow() as uow:
        uow.audit.append(AuditEntry(9.0, "bob", "action.approve", "ACT-1"))
        uow.commit()

    with new_uow() as uow:
        chain = uow.audit.chain()
    assert len(chain) == 5
    assert verify_chain(chain).intact


def test_of_two_concurrent_claims_exactly_one_wins(new_sql_uow: UnitOfWorkFactory) -> None:
    with new_sql_uow() as uow:
        action, _ = uow.actions.add(_action(_incident(uow)))
        approved = replace(action, state=ActionState.APPROVED, version=2)
        uow.actions.save(approved, expected_version=1)
        uow.commit()

    def claim() -> bool:
        with new_sql_uow() as uow:
            seen = uow.actions.get(action.id)
            if seen.state is not ActionState.APPROVED:
                return False
            won = uow.actions.save(
                transition(seen, ActionEvent.CLAIM, now=5.0), expected_version=seen.version
            )
            uow.commit()
            return won

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(claim) for _ in range(4)]
        wait(futures, timeout=30)
    wins = [f.result() for f in futures if f.exception() is None]

    assert wins.count(True) == 1
    with new_sql_uow() as uow:
        assert uow.actions.get(action.id).state is ActionState.EXECUTING


def test_concurrent_audit_appends_never_fork_the_chain(new_sql_uow: UnitOfWorkFactory) -> None:
    def append(i: int) -> None:
        with new_sql_uow() as uow:
            uow.audit.append(AuditEntry(float(i), f"U{i}", "x", "y"))
            uow.commit()

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(append, i) for i in range(8)]
        wait(futures, timeout=60)
    appended = sum(1 for f in futures if f.exception() is None)

    with new_sql_uow() as uow:
        chain = uow.audit.chain()
    assert len(chain) == appended
    assert appended >= 1
    assert verify_chain(chain).intact
