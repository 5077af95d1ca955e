"""The SQL repository of silences, bound to one Session like the others."""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from bot.core.errors import NotFound
from bot.core.matchers import Matcher
from bot.core.silences import Silence
from storage.models import SilenceRow


class SqlSilenceRepository:
    """Silences in SQL; a matcher list is stored as JSON text."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, silence: Silence) -> Silence:
        """Insert a new silence."""
        self._session.add(_row(silence))
        self._session.flush()
        return silence

    def get(self, silence_id: str) -> Silence:
        """The silence with this id; raises NotFound."""
        row = self._session.get(SilenceRow, silence_id)
        if row is None:
            msg = f"No silence with id {silence_id}."
            raise NotFound(msg)
        return _silence(row)

    def list(self, *, ending_after: float | None = None) -> list[Silence]:
        """Newest first; with ``ending_after``, only those that end later than it."""
        query = select(SilenceRow)
        if ending_after is not None:
            query = query.where(col(SilenceRow.ends_at) > ending_after)
        query = query.order_by(col(SilenceRow.starts_at).desc(), col(SilenceRow.id))
        return [_silence(row) for row in self._session.exec(query)]

    def save(self, silence: Silence) -> None:
        """Replace the stored silence with the same id; raises NotFound."""
        if self._session.get(SilenceRow, silence.id) is None:
            msg = f"No silence with id {silence.id}."
            raise NotFound(msg)
        self._session.merge(_row(silence))
        self._session.flush()


def _row(silence: Silence) -> SilenceRow:
    return SilenceRow(
        id=silence.id,
        matchers=json.dumps([str(m) for m in silence.matchers]),
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        created_by=silence.created_by,
        comment=silence.comment,
    )


def _silence(row: SilenceRow) -> Silence:
    return Silence(
        id=row.id,
        matchers=tuple(Matcher.parse(text) for text in json.loads(row.matchers)),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        created_by=row.created_by,
        comment=row.comment,
    )
