"""SQL repositories for runbook runs and for action requests with their approvals.

Inserts that must happen once (a run per incident and runbook, a request per key, a decision per
person and action) are guarded by unique constraints and tried inside a savepoint, so that the
loser of a race learns it from the database and the unit of work goes on.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from sqlalchemy import inspect, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from bot.core.actions import Plan, Risk
from bot.core.approvals import ActionRecord, ActionState, Approval, Decision
from bot.core.errors import NotFound
from bot.core.runbooks import RunbookRun, RunState, StepOutcome, StepRecord
from storage.models import ActionApprovalRow, ActionRequestRow, RunbookRunRow, RunbookStepRow
from storage.records import pairs_from_json, pairs_to_json, require_incident

R = TypeVar("R", bound=SQLModel)


class SqlRunbookRepository:
    """Runbook runs and their step records in SQL."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def start(self, run: RunbookRun) -> RunbookRun | None:
        """Insert a new run; None if the incident runs this runbook already."""
        require_incident(self._session, run.incident_id)
        row = _run_row(run)
        return _run(row) if _insert_once(self._session, row) else None

    def get(self, run_id: int) -> RunbookRun:
        """The run with this id; raises NotFound."""
        row = self._session.get(RunbookRunRow, run_id)
        if row is None:
            msg = f"No runbook run with id {run_id}."
            raise NotFound(msg)
        return _run(row)

    def for_incident(self, incident_id: int) -> list[RunbookRun]:
        """The runs of one incident, oldest first."""
        rows = _oldest_first(self._session, RunbookRunRow, RunbookRunRow.incident_id, incident_id)
        return [_run(row) for row in rows]

    def save(self, run: RunbookRun, *, expected_version: int) -> bool:
        """Write ``run`` only if the stored version is ``expected_version``."""
        statement = (
            update(RunbookRunRow)
            .where(col(RunbookRunRow.id) == run.id)
            .where(col(RunbookRunRow.version) == expected_version)
            .values(**_run_row(run).model_dump(include=_RUN_CHANGES))
        )
        return self._session.exec(statement).rowcount == 1

    def record(self, step: StepRecord) -> StepRecord:
        """Append what happened at a step."""
        row = RunbookStepRow(
            run_id=step.run_id,
            step=step.step,
            outcome=step.outcome.value,
            actor=step.actor,
            at=step.at,
            detail=pairs_to_json(step.detail),
        )
        self._session.add(row)
        self._session.flush()
        return _step(row)

    def steps(self, run_id: int) -> list[StepRecord]:
        """The step records of one run, oldest first."""
        rows = _oldest_first(self._session, RunbookStepRow, RunbookStepRow.run_id, run_id)
        return [_step(row) for row in rows]


class SqlActionRepository:
    """Action requests and approvals in SQL; a state change is a compare-and-set on version."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, action: ActionRecord) -> tuple[ActionRecord, bool]:
        """Insert a new request; for a known key return the stored one and False."""
        row = _action_row(action)
        row.id = None
        try:
            with self._session.begin_nested():
                self._session.add(row)
        except IntegrityError:
            existing = self._session.exec(
                select(ActionRequestRow).where(col(ActionRequestRow.key) == action.key)
            ).first()
            if existing is None:  # the insert failed on a foreign key, not on the key
                raise
            return _action(existing), False
        return _action(row), True

    def get(self, action_id: int) -> ActionRecord:
        """The request with this id; raises NotFound."""
        row = self._session.get(ActionRequestRow, action_id)
        if row is None:
            msg = f"No action request with id {action_id}."
            raise NotFound(msg)
        return _action(row)

    def save(self, action: ActionRecord, *, expected_version: int) -> bool:
        """Write ``action`` only if the stored version is ``expected_version``."""
        values = _action_row(action).model_dump(exclude={"id", "key"})
        statement = (
            update(ActionRequestRow)
            .where(col(ActionRequestRow.id) == action.id)
            .where(col(ActionRequestRow.version) == expected_version)
            .values(**values)
        )
        return self._session.exec(statement).rowcount == 1

    def in_states(self, states: frozenset[ActionState]) -> list[ActionRecord]:
        """Requests in any of ``states``, oldest first."""
        query = (
            select(ActionRequestRow)
            .where(col(ActionRequestRow.state).in_(sorted(s.value for s in states)))
            .order_by(col(ActionRequestRow.id))
        )
        return [_action(row) for row in self._session.exec(query)]

    def finished_since(self, since: float) -> list[ActionRecord]:
        """Requests that finished at or after ``since``, oldest first."""
        query = (
            select(ActionRequestRow)
            .where(col(ActionRequestRow.finished_at) >= since)
            .order_by(col(ActionRequestRow.finished_at), col(ActionRequestRow.id))
        )
        return [_action(row) for row in self._session.exec(query)]

    def approve(self, approval: Approval) -> bool:
        """Insert a decision; False if this person decided on this action before."""
        row = ActionApprovalRow(
            action_id=approval.action_id,
            approver=approval.approver,
            decision=approval.decision.value,
            plan_digest=approval.plan_digest,
            at=approval.at,
        )
        return _insert_once(self._session, row)

    def approvals(self, action_id: int) -> list[Approval]:
        """The decisions on one action, oldest first."""
        rows = _oldest_first(
            self._session, ActionApprovalRow, ActionApprovalRow.action_id, action_id
        )
        return [
            Approval(row.action_id, row.approver, Decision(row.decision), row.plan_digest, row.at)
            for row in rows
        ]


_RUN_CHANGES = {"step", "state", "updated_at", "version", "slack_ts"}  # what a save may change


def _insert_once(session: Session, row: SQLModel) -> bool:
    """Insert ``row`` in a savepoint; False if a unique constraint says it is there already."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def _oldest_first(session: Session, row_type: type[R], column: Any, value: int) -> list[R]:
    """The rows of ``row_type`` whose ``column`` is ``value``, in the order they were added."""
    query = select(row_type).where(col(column) == value).order_by(*inspect(row_type).primary_key)
    return list(session.exec(query))


def _run_row(run: RunbookRun) -> RunbookRunRow:
    """A new row for ``run`` (the database numbers it)."""
    return RunbookRunRow(
        incident_id=run.incident_id,
        runbook=run.runbook,
        step=run.step,
        state=run.state.value,
        started_by=run.started_by,
        started_at=run.started_at,
        updated_at=run.updated_at,
        version=run.version,
        slack_ts=run.slack_ts,
    )


def _run(row: RunbookRunRow) -> RunbookRun:
    assert row.id is not None  # flushed rows always have their id
    return RunbookRun(
        id=row.id,
        incident_id=row.incident_id,
        runbook=row.runbook,
        step=row.step,
        state=RunState(row.state),
        started_by=row.started_by,
        started_at=row.started_at,
        updated_at=row.updated_at,
        version=row.version,
        slack_ts=row.slack_ts,
    )


def _step(row: RunbookStepRow) -> StepRecord:
    return StepRecord(
        id=row.id,
        run_id=row.run_id,
        step=row.step,
        outcome=StepOutcome(row.outcome),
        actor=row.actor,
        at=row.at,
        detail=pairs_from_json(row.detail),
    )


def _action_row(action: ActionRecord) -> ActionRequestRow:
    request = action.plan.request
    return ActionRequestRow(
        id=action.id,
        key=action.key,
        incident_id=action.incident_id,
        run_id=action.run_id,
        step=action.step,
        kind=request.kind.value,
        target=request.target,
        params=json.dumps(request.to_dict(), sort_keys=True),
        plan=json.dumps(action.plan.to_dict(), sort_keys=True),
        plan_digest=action.plan.digest,
        high_risk=action.plan.risk is Risk.HIGH,
        approvals_needed=action.approvals_needed,
        state=action.state.value,
        version=action.version,
        requested_by=action.requested_by,
        requested_at=action.requested_at,
        expires_at=action.expires_at,
        updated_at=action.updated_at,
        started_at=action.started_at,
        finished_at=action.finished_at,
        outcome=action.outcome,
        undo_of=action.undo_of,
        slack_ts=action.slack_ts,
    )


def _action(row: ActionRequestRow) -> ActionRecord:
    assert row.id is not None  # flushed rows always have their id
    return ActionRecord(
        id=row.id,
        key=row.key,
        plan=Plan.from_dict(json.loads(row.plan)),
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        expires_at=row.expires_at,
        approvals_needed=row.approvals_needed,
        state=ActionState(row.state),
        version=row.version,
        updated_at=row.updated_at,
        incident_id=row.incident_id,
        run_id=row.run_id,
        step=row.step,
        started_at=row.started_at,
        finished_at=row.finished_at,
        outcome=row.outcome,
        undo_of=row.undo_of,
        slack_ts=row.slack_ts,
    )
