"""Turning alert transitions into incidents, timeline entries and Slack updates."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot import messages
from bot.core.alerts import Alert, AlertState, AlertTransition, TransitionKind
from bot.core.delivery import Notify
from bot.core.engine import EngineOutput
from bot.core.errors import AdapterError
from bot.core.export import observed
from bot.core.grouping import incident_key
from bot.core.incidents import Incident, Severity, TimelineEntry, raised_by_alert
from bot.core.matchers import alert_labels
from bot.core.ports import Notifier, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

_TEXT = {
    TransitionKind.FIRED: messages.ALERT_FIRED,
    TransitionKind.ESCALATED: messages.ALERT_ESCALATED,
    TransitionKind.DEESCALATED: messages.ALERT_DEESCALATED,
    TransitionKind.RESOLVED: messages.ALERT_RESOLVED,
}


def group_key(alert: Alert) -> str:
    """The incident an alert joins: its deployment or model, its node, else its rule."""
    return incident_key(alert_labels(alert))


async def deliver(*, output: EngineOutput, uow: UnitOfWorkFactory, notifier: Notifier) -> None:
    """Act on one engine step: notify what it says to, and keep a record of what it held back."""
    for note in output.notify:
        if note.delivery.notify is Notify.RECORD:
            await record_quietly(
                transition=note.transition, text=_describe(note.transition), uow=uow
            )
        else:
            await handle_transition(
                transition=note.transition,
                severity=note.delivery.severity,
                uow=uow,
                notifier=notifier,
            )
    for held in output.suppressed:
        reason = messages.ALERT_SUPPRESSED.format(
            summary=held.transition.alert.summary, reason=held.reason
        )
        await record_quietly(transition=held.transition, text=reason, uow=uow)
    for notice in output.notices:
        await record_quietly(transition=notice.transition, text=notice.text, uow=uow)


async def record_quietly(*, transition: AlertTransition, text: str, uow: UnitOfWorkFactory) -> None:
    """Keep an alert's state, and a timeline entry on its incident if it has one; no Slack."""
    alert = transition.alert
    with uow() as tx:
        tx.alerts.upsert(alert)
        incident_id = tx.alerts.incident_of(alert.fingerprint)
        if incident_id is not None:
            tx.timeline.append(
                TimelineEntry(
                    incident_id,
                    transition.at,
                    f"alert.{transition.kind}.quiet",
                    text,
                    data=observed(alert),  # the value at this transition, for the export's chart
                )
            )
        tx.commit()


def _describe(transition: AlertTransition) -> str:
    alert = transition.alert
    return _TEXT[transition.kind].format(level=alert.level.upper(), summary=alert.summary)


async def handle_transition(
    *,
    transition: AlertTransition,
    severity: Severity,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
) -> Incident | None:
    """Persist the alert, attach it to an incident (opening one if needed) and tell Slack."""
    alert = transition.alert
    text = _describe(transition)
    with uow() as tx:
        incident = _incident_for(tx, transition, severity)
        if incident is None:
            tx.alerts.upsert(alert)
            tx.commit()
            return None
        tx.alerts.upsert(alert, incident_id=incident.id)
        entries = [
            tx.timeline.append(
                TimelineEntry(
                    incident.id,
                    transition.at,
                    f"alert.{transition.kind}",
                    text,
                    data=observed(alert),  # the value at this transition, for the export's chart
                )
            )
        ]
        raised = None
        if transition.kind in {TransitionKind.FIRED, TransitionKind.ESCALATED}:
            raised = raised_by_alert(incident, severity, now=transition.at)
        if raised is not None and tx.incidents.save(raised, expected_version=incident.version):
            raise_text = messages.SEVERITY_RAISED_BY_ALERT.format(
                old=incident.severity, new=severity, rule=alert.rule
            )
            entries.append(
                tx.timeline.append(
                    TimelineEntry(incident.id, transition.at, "incident.severity", raise_text)
                )
            )
            incident = raised
        alerts = tx.alerts.for_incident(incident.id)
        if transition.kind is TransitionKind.RESOLVED and all(
            a.state is not AlertState.FIRING for a in alerts
        ):
            clear = messages.ALL_ALERTS_CLEAR.format(ref=incident.ref)
            entries.append(
                tx.timeline.append(
                    TimelineEntry(incident.id, transition.at, "incident.clear", clear)
                )
            )
        tx.commit()
    return await show_in_slack(
        uow=uow, notifier=notifier, incident=incident, alerts=alerts, entries=entries
    )


def _incident_for(
    tx: UnitOfWork, transition: AlertTransition, severity: Severity
) -> Incident | None:
    """The incident this alert belongs to; a new one only when an alert fires."""
    alert = transition.alert
    if transition.kind is not TransitionKind.FIRED:
        incident_id = tx.alerts.incident_of(alert.fingerprint)
        return tx.incidents.get(incident_id) if incident_id is not None else None
    existing = tx.incidents.find_open(group_key=group_key(alert))
    if existing is not None:
        return existing
    created = tx.incidents.create(
        title=alert.summary,
        severity=severity,
        group_key=group_key(alert),
        created_at=transition.at,
    )
    tx.timeline.append(
        TimelineEntry(
            created.id,
            transition.at,
            "incident.opened",
            messages.INCIDENT_OPENED.format(
                ref=created.ref, severity=severity, title=created.title
            ),
        )
    )
    return created


async def show_in_slack(
    *,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
    incident: Incident,
    alerts: list[Alert],
    entries: list[TimelineEntry],
) -> Incident:
    """Post (or re-render) the incident's root message and add ``entries`` to its thread.

    An incident whose root message could not be posted before is posted now. A Slack failure is
    logged and leaves the incident and its timeline intact in the database.
    """
    try:
        if incident.slack_ts is None:
            channel, ts = await notifier.post_incident(incident, alerts)
            incident = _remember_message(uow, incident, channel, ts)
        else:
            await notifier.update_incident(incident, alerts)
        for entry in entries:
            await notifier.post_timeline(incident, entry)
    except AdapterError:
        log.exception("could not show %s in Slack; it stays on the timeline", incident.ref)
    return incident


def _remember_message(
    uow: UnitOfWorkFactory, incident: Incident, channel: str, ts: str
) -> Incident:
    """Store where the incident's root message lives (retrying once if the row moved on)."""
    for _ in range(3):
        with uow() as tx:
            current = tx.incidents.get(incident.id)
            updated = replace(
                current, slack_channel=channel, slack_ts=ts, version=current.version + 1
            )
            if tx.incidents.save(updated, expected_version=current.version):
                tx.commit()
                return updated
    msg = f"{incident.ref}: could not record its Slack message after 3 attempts"
    raise AdapterError(msg)
