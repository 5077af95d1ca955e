"""Escalating by hand (the Escalate button) and mirroring incidents to an outside pager.

:func:`escalate` brings the next escalation step forward to now, once: the step is recorded by
compare-and-set, and a second press within :data:`AGAIN_AFTER_S` (a double click, a retried
delivery) is answered instead of paging again. The page itself goes out through
:func:`bot.services.timers.fire_due` and the notification ledger like every other page.

:func:`page_outside` sends PagerDuty (or any :class:`~bot.core.ports.Pager`) the trigger,
acknowledge and resolve events each paging incident is owed, each once by its ledger key. An
event the pager could not take now is released and sent on a later run; one it refused for good
is recorded, and said in the incident's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot import messages
from bot.core import escalation as esc
from bot.core.errors import AdapterError, UserError
from bot.core.escalation import (
    ESCALATE,
    EscalationPolicy,
    EscalationStep,
    ManualEscalation,
    OutsidePage,
    PagerAction,
)
from bot.core.incidents import OPEN_STATUSES, AuditEntry, Incident, Severity, TimelineEntry
from bot.core.policy import AccessPolicy
from bot.core.ports import Clock, Notifier, Pager, UnitOfWorkFactory

log = logging.getLogger(__name__)

AGAIN_AFTER_S = 15.0  # a second press sooner than this is the same press
MAX_OPEN = 10_000  # open incidents looked at per run
_PAGER = "pager.{action}"  # ledger kind of an outside-pager event


async def escalate(
    *,
    incident_id: int,
    user: str,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
    access: AccessPolicy,
    escalation: Mapping[Severity, EscalationPolicy],
    clock: Clock,
) -> EscalationStep:
    """Bring the incident's next escalation step forward to now; return it (to be paged)."""
    if not access.allows(user, ESCALATE):
        raise UserError(messages.NOT_ALLOWED.format(action="escalate"))
    now = clock.now()
    with uow() as tx:
        incident = tx.incidents.get(incident_id)
        policy = _policy(incident, escalation)
        earlier = tx.escalations.list([incident_id])
        recent = [e for e in earlier if now - e.at < AGAIN_AFTER_S]
        if recent:
            raise UserError(_just_now(incident, recent[-1]))
        step = esc.next_manual(
            policy,
            incident_id=incident_id,
            opened_at=incident.created_at,
            now=now,
            acknowledged_at=esc.stopped_at(incident),
            escalated_at=[e.at for e in earlier],
        )
        if step is None:
            raise UserError(messages.ESCALATE_NOTHING_LEFT.format(ref=incident.ref))
        done = ManualEscalation(incident_id, step.level, step.repeat, now, user)
        if not tx.escalations.record(done):  # a concurrent press of the same step won
            raise UserError(_just_now(incident, done))
        round_ = messages.PAGED_ROUND.format(round=step.repeat + 1) if step.repeat else ""
        entry = tx.timeline.append(
            TimelineEntry(
                incident_id,
                now,
                "escalation.manual",
                messages.ESCALATED.format(level=step.level + 1, round=round_, user=user),
                actor=user,
                data=(("key", step.key),),
            )
        )
        tx.audit.append(
            AuditEntry(now, user, "incident.escalate", incident.ref, f"level {step.level + 1}")
        )
        tx.commit()
    try:
        await notifier.post_timeline(incident, entry)
    except AdapterError:
        log.exception("could not post the escalation of %s; it is on the timeline", incident.ref)
    return step


def _policy(
    incident: Incident, escalation: Mapping[Severity, EscalationPolicy]
) -> EscalationPolicy:
    if not incident.is_open:
        raise UserError(messages.ESCALATE_NOT_OPEN.format(ref=incident.ref, status=incident.status))
    policy = escalation.get(incident.severity)
    if policy is None or not policy.levels:
        raise UserError(
            messages.ESCALATE_NO_POLICY.format(ref=incident.ref, severity=incident.severity)
        )
    return policy


def _just_now(incident: Incident, done: ManualEscalation) -> str:
    return messages.ESCALATED_JUST_NOW.format(
        ref=incident.ref, level=done.level + 1, user=done.actor
    )


async def page_outside(
    *,
    now: float,
    uow: UnitOfWorkFactory,
    pager: Pager,
    notifier: Notifier,
    escalation: Mapping[Severity, EscalationPolicy],
) -> None:
    """Send every outside-pager event owed and not sent before.

    Open incidents are looked at, and those triggered at the pager that still await a resolve.
    """
    trigger, resolve = (_PAGER.format(action=a) for a in (PagerAction.TRIGGER, PagerAction.RESOLVE))
    with uow() as tx:
        incidents = {i.id: i for i in tx.incidents.list(statuses=OPEN_STATUSES, limit=MAX_OPEN)}
        for incident_id in tx.notifications.incidents_missing(sent=trigger, missing=resolve):
            incidents.setdefault(incident_id, tx.incidents.get(incident_id))
        owed = [
            (
                incident,
                esc.outside_pages(
                    incident,
                    pages=bool((policy := escalation.get(incident.severity)) and policy.levels),
                    sent=frozenset(n.key for n in tx.notifications.sent(incident.id)),
                ),
            )
            for incident in sorted(incidents.values(), key=lambda i: i.id)
        ]
    for incident, pages in owed:
        for page in pages:
            if not await _send(page, incident, now=now, uow=uow, pager=pager, notifier=notifier):
                break  # later events of this incident wait for this one


async def _send(
    page: OutsidePage,
    incident: Incident,
    *,
    now: float,
    uow: UnitOfWorkFactory,
    pager: Pager,
    notifier: Notifier,
) -> bool:
    """Send one event once; False if it must be tried again later (nothing after it goes)."""
    kind = _PAGER.format(action=page.action)
    with uow() as tx:
        if not tx.notifications.claim(
            page.key, incident_id=page.incident_id, kind=kind, due_at=page.at, now=now
        ):
            return True
        tx.commit()
    try:
        receipt = await pager.send(page)
    except AdapterError:
        log.exception(
            "could not send %s of %s to the pager; trying again later", page.action, incident.ref
        )
        with uow() as tx:
            tx.notifications.release(page.key)
            tx.commit()
        return False
    if receipt.accepted:
        text = messages.PAGER_SENT.format(action=page.action, key=page.dedup_key)
    else:
        log.error("the pager refused %s of %s: %s", page.action, incident.ref, receipt.detail)
        text = messages.PAGER_REJECTED.format(action=page.action, detail=receipt.detail)
    with uow() as tx:
        entry = tx.timeline.append(TimelineEntry(page.incident_id, now, kind, text))
        tx.notifications.mark_sent(page.key, now, detail=receipt.detail or "accepted")
        tx.commit()
    if not receipt.accepted:  # quiet when it works; said in the thread when it does not
        try:
            await notifier.post_timeline(incident, entry)
        except AdapterError:
            log.exception("could not post the pager's refusal for %s", incident.ref)
    return True
