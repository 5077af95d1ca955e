"""Responders acting on incidents: acknowledge, list."""

from __future__ import annotations

from bot import messages
from bot.core.errors import UserError
from bot.core.incidents import (
    OPEN_STATUSES,
    AuditEntry,
    Incident,
    IncidentAction,
    TimelineEntry,
    apply,
)
from bot.core.policy import AccessPolicy
from bot.core.ports import Clock, Notifier, UnitOfWorkFactory
from bot.services.alerting import show_in_slack


async def acknowledge(
    *,
    incident_id: int,
    user: str,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
    access: AccessPolicy,
    clock: Clock,
) -> Incident:
    """Acknowledge an incident once; a repeat (double click, Slack retry) changes nothing."""
    if not access.allows(user, IncidentAction.ACKNOWLEDGE):
        raise UserError(messages.NOT_ALLOWED.format(action="acknowledge"))
    now = clock.now()
    with uow() as tx:
        current = tx.incidents.get(incident_id)
        acked = apply(current, IncidentAction.ACKNOWLEDGE, actor=user, now=now)
        if not tx.incidents.save(acked, expected_version=current.version):
            raise UserError(messages.CHANGED_CONCURRENTLY.format(ref=current.ref))
        entry = tx.timeline.append(
            TimelineEntry(
                incident_id,
                now,
                "incident.acknowledged",
                messages.ACKNOWLEDGED.format(user=user),
                actor=user,
            )
        )
        tx.audit.append(AuditEntry(now, user, "incident.acknowledge", acked.ref))
        alerts = tx.alerts.for_incident(incident_id)
        tx.commit()
    return await show_in_slack(
        uow=uow, notifier=notifier, incident=acked, alerts=alerts, entries=[entry]
    )


def list_open(*, uow: UnitOfWorkFactory, limit: int = 20) -> list[Incident]:
    """Open incidents, newest first."""
    with uow() as tx:
        return tx.incidents.list(statuses=OPEN_STATUSES, limit=limit)
