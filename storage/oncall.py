"""SQL repositories of on-call overrides and manual escalations, bound to one Session."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.core.escalation import ManualEscalation
from bot.core.oncall import Override, OverrideKind, ScheduleOverride
from storage.models import ManualEscalationRow, OncallOverrideRow
from storage.records import require_incident


class SqlOverrideRepository:
    """Overrides and swaps in SQL; the id orders them (a later override wins)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, override: ScheduleOverride) -> ScheduleOverride:
        """Insert an override and return it with its id."""
        row = OncallOverrideRow(
            schedule=override.schedule,
            user=override.override.user,
            starts_at=override.override.start,
            ends_at=override.override.end,
            kind=override.kind.value,
            created_by=override.created_by,
            created_at=override.created_at,
        )
        self._session.add(row)
        self._session.flush()
        return _override(row)

    def list(self, *, ending_after: float) -> list[ScheduleOverride]:
        """Overrides that end after ``ending_after``, oldest first."""
        query = (
            select(OncallOverrideRow)
            .where(col(OncallOverrideRow.ends_at) > ending_after)
            .order_by(col(OncallOverrideRow.id))
        )
        return [_override(row) for row in self._session.exec(query)]


class SqlManualEscalationRepository:
    """Manual escalations in SQL; the primary key (incident, level, repeat) decides who wins."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def record(self, escalation: ManualEscalation) -> bool:
        """Insert the escalation; False if its step was escalated by hand before.

        Like a ledger claim, nothing is read first, so that a concurrent insert of the same
        step waits for the first to commit and then loses.
        """
        statement = insert(ManualEscalationRow).values(
            incident_id=escalation.incident_id,
            level=escalation.level,
            repeat=escalation.repeat,
            at=escalation.at,
            actor=escalation.actor,
        )
        try:
            with self._session.begin_nested():
                self._session.exec(statement)
        except IntegrityError:
            require_incident(self._session, escalation.incident_id)  # unknown: NotFound
            return False
        return True

    def list(self, incident_ids: Sequence[int]) -> list[ManualEscalation]:
        """The manual escalations of these incidents, oldest first."""
        if not incident_ids:
            return []
        query = (
            select(ManualEscalationRow)
            .where(col(ManualEscalationRow.incident_id).in_(incident_ids))
            .order_by(col(ManualEscalationRow.at), col(ManualEscalationRow.level))
        )
        return [
            ManualEscalation(row.incident_id, row.level, row.repeat, row.at, row.actor)
            for row in self._session.exec(query)
        ]


def _override(row: OncallOverrideRow) -> ScheduleOverride:
    return ScheduleOverride(
        schedule=row.schedule,
        override=Override(row.user, row.starts_at, row.ends_at),
        kind=OverrideKind(row.kind),
        created_by=row.created_by,
        created_at=row.created_at,
        id=row.id,
    )
