"""Silences: create, list and end them; and the set in force that the alert engine applies.

A silence is stored in the database, so that the API, the CLI (which writes the database
directly) and Slack share one list; the bot re-reads what is in force on every engine tick, so a
silence created anywhere takes effect within seconds, and one that ends lets a still-firing
alert be announced (see :mod:`bot.core.noise`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from bot import messages
from bot.core.engine import AlertEngine
from bot.core.errors import UserError
from bot.core.incidents import AuditEntry
from bot.core.matchers import Matcher
from bot.core.ports import UnitOfWorkFactory
from bot.core.silences import MaintenanceWindow, Silence, Silences

MAX_SILENCE_S = 30 * 86_400.0  # longer than a month is a maintenance window, not a silence


def create(
    *,
    uow: UnitOfWorkFactory,
    matchers: Sequence[str],
    ends_at: float,
    created_by: str,
    comment: str,
    now: float,
    starts_at: float | None = None,
) -> Silence:
    """Store a silence that mutes alerts matching every matcher from ``starts_at`` (now)."""
    start = now if starts_at is None else starts_at
    silence = _validated(
        matchers=matchers,
        starts_at=start,
        ends_at=ends_at,
        created_by=created_by.strip(),
        comment=comment.strip(),
        now=now,
    )
    with uow() as tx:
        tx.silences.add(silence)
        tx.audit.append(
            AuditEntry(now, silence.created_by, "silence.create", silence.id, _detail(silence))
        )
        tx.commit()
    return silence


def expire(*, uow: UnitOfWorkFactory, silence_id: str, actor: str, now: float) -> Silence:
    """End a silence now (one that has ended already is returned unchanged); NotFound if none."""
    with uow() as tx:
        silence = tx.silences.get(silence_id)
        if silence.ends_at <= now:
            return silence
        # a silence that has not started yet ends before it begins: it never mutes anything
        ended = replace(silence, ends_at=now, starts_at=min(silence.starts_at, now - 1e-3))
        tx.silences.save(ended)
        tx.audit.append(AuditEntry(now, actor, "silence.expire", silence.id, _detail(silence)))
        tx.commit()
    return ended


def listed(*, uow: UnitOfWorkFactory, now: float, include_ended: bool = False) -> list[Silence]:
    """Silences newest first: those in force or scheduled, or every one ever made."""
    with uow() as tx:
        return tx.silences.list(ending_after=None if include_ended else now)


def refresh(
    engine: AlertEngine,
    *,
    uow: UnitOfWorkFactory,
    windows: Sequence[MaintenanceWindow],
    now: float,
) -> Silences:
    """Give the engine the silences not yet ended plus the configured maintenance windows."""
    current = Silences(tuple(listed(uow=uow, now=now)), tuple(windows))
    engine.noise.silences = current
    return current


def _validated(
    *,
    matchers: Sequence[str],
    starts_at: float,
    ends_at: float,
    created_by: str,
    comment: str,
    now: float,
) -> Silence:
    if not matchers:
        raise UserError(messages.SILENCE_NO_MATCHERS)
    parsed: list[Matcher] = []
    for text in matchers:
        try:
            parsed.append(Matcher.parse(text))
        except ValueError as exc:
            raise UserError(str(exc)) from exc
    if all(m.matches({}) for m in parsed):
        raise UserError(messages.SILENCE_MATCHES_EVERYTHING)
    if not created_by:
        raise UserError(messages.SILENCE_NEEDS.format(field="created_by"))
    if not comment:
        raise UserError(messages.SILENCE_NEEDS.format(field="comment"))
    if ends_at <= max(starts_at, now):
        raise UserError(messages.SILENCE_ENDS_IN_PAST)
    if ends_at - starts_at > MAX_SILENCE_S:
        raise UserError(messages.SILENCE_TOO_LONG.format(days=int(MAX_SILENCE_S // 86_400)))
    return Silence(
        id=str(uuid.uuid4()),
        matchers=tuple(parsed),
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=created_by,
        comment=comment,
    )


def _detail(silence: Silence) -> str:
    matchers = ", ".join(str(m) for m in silence.matchers)
    return f"{matchers} until {silence.ends_at:.0f}: {silence.comment}"
