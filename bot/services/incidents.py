"""Responders acting on incidents, and reading them back (list, show, timeline).

Declare, acknowledge, mitigate, resolve, close, change severity, assign, note, merge.

Every change is checked against the access policy, saved with a compare-and-set on the
incident's ``version`` (so a double click or a Slack retry has one effect: the loser is told
why), recorded as a timeline entry and an audit entry in the same transaction, and then shown in
Slack: the root message is re-rendered and the entry posted to the thread. The change that first
meets the severity's resolve goal (mitigated or resolved) also records the SLA outcome: met
within the deadline, or missed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from bot import messages
from bot.core.alerts import Alert
from bot.core.errors import NotFound, UserError
from bot.core.incidents import (
    OPEN_STATUSES,
    AuditEntry,
    Incident,
    IncidentAction,
    IncidentChange,
    IncidentStatus,
    Severity,
    TimelineEntry,
    apply,
)
from bot.core.incidents import assign as assign_owner
from bot.core.incidents import change_severity as with_severity
from bot.core.incidents import merge as merged
from bot.core.policy import AccessPolicy, SlaPolicy
from bot.core.ports import Clock, Notifier, UnitOfWork, UnitOfWorkFactory
from bot.core.sla import SlaOutcome, elapsed, outcome
from bot.services.alerting import show_in_slack

DECLARED_GROUP = "declared"  # group key of declared incidents: no alert's group is this
MIN_TITLE, MAX_TITLE = 5, 140
REQUEST = "request"  # timeline data key: the Slack request (trigger id) that made the entry

_VERB = {  # what NOT_ALLOWED says the user may not do
    IncidentAction.ACKNOWLEDGE: "acknowledge",
    IncidentAction.MITIGATE: "mitigate",
    IncidentAction.RESOLVE: "resolve",
    IncidentAction.CLOSE: "close",
    IncidentAction.MERGE: "merge",
    IncidentChange.DECLARE: "declare",
    IncidentChange.SEVERITY: "change the severity of",
    IncidentChange.ASSIGN: "assign",
    IncidentChange.NOTE: "add notes to",
}


@dataclass(frozen=True)
class Deps:
    """The ports every incident use case needs; with ``sla``, SLA outcomes are recorded."""

    uow: UnitOfWorkFactory
    notifier: Notifier
    access: AccessPolicy
    clock: Clock
    sla: SlaPolicy | None = None


@dataclass(frozen=True)
class IncidentView:
    """An incident with its alerts and its newest timeline entries, for ``show``/``timeline``."""

    incident: Incident
    alerts: list[Alert]
    entries: list[TimelineEntry]
    total_entries: int


Change = Callable[[Incident, float], Incident]
Describe = Callable[[Incident, Incident], str]


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
    return await _transition(
        Deps(uow, notifier, access, clock),
        incident_id=incident_id,
        user=user,
        action=IncidentAction.ACKNOWLEDGE,
        text=messages.ACKNOWLEDGED.format(user=user),
    )


async def mitigate(*, deps: Deps, incident_id: int, user: str) -> Incident:
    """Mark the incident mitigated: users are served again, the cause may remain."""
    return await _transition(
        deps,
        incident_id=incident_id,
        user=user,
        action=IncidentAction.MITIGATE,
        text=messages.MITIGATED.format(user=user),
    )


async def resolve(*, deps: Deps, incident_id: int, user: str, note: str = "") -> Incident:
    """Resolve the incident; its SLA reminders and escalation stop."""
    text = (
        messages.RESOLVED_WITH_NOTE.format(user=user, note=note.strip())
        if note.strip()
        else messages.RESOLVED.format(user=user)
    )
    return await _transition(
        deps, incident_id=incident_id, user=user, action=IncidentAction.RESOLVE, text=text
    )


async def close(*, deps: Deps, incident_id: int, user: str) -> Incident:
    """Close a resolved incident: nothing more is expected of it."""
    return await _transition(
        deps,
        incident_id=incident_id,
        user=user,
        action=IncidentAction.CLOSE,
        text=messages.CLOSED.format(user=user),
    )


async def change_severity(
    *, deps: Deps, incident_id: int, user: str, severity: Severity
) -> Incident:
    """Move the incident to another P-level; its SLA timers follow the new level."""
    return await _change(
        deps,
        incident_id=incident_id,
        user=user,
        grant=IncidentChange.SEVERITY,
        kind="incident.severity",
        change=lambda incident, now: with_severity(incident, severity, now=now),
        describe=lambda before, after: messages.SEVERITY_CHANGED.format(
            old=before.severity, new=after.severity, user=user
        ),
    )


async def assign(*, deps: Deps, incident_id: int, user: str, owner: str) -> Incident:
    """Make ``owner`` (a Slack user id) lead the response."""
    return await _change(
        deps,
        incident_id=incident_id,
        user=user,
        grant=IncidentChange.ASSIGN,
        kind="incident.assigned",
        change=lambda incident, now: assign_owner(incident, owner, now=now),
        describe=lambda _, after: messages.ASSIGNED.format(owner=after.owner, user=user),
    )


async def add_note(
    *, deps: Deps, incident_id: int, user: str, text: str, request: str = ""
) -> Incident:
    """Add a note to the timeline; the same ``request`` (Slack trigger id) adds it only once."""
    if request:
        with deps.uow() as tx:
            if any((REQUEST, request) in e.data for e in tx.timeline.list(incident_id)):
                return _get(tx, incident_id)
    return await _change(
        deps,
        incident_id=incident_id,
        user=user,
        grant=IncidentChange.NOTE,
        kind="incident.note",
        change=lambda incident, now: replace(
            incident, updated_at=now, version=incident.version + 1
        ),
        describe=lambda _, __: messages.NOTE.format(user=user, text=text.strip()),
        data=((REQUEST, request),) if request else (),
    )


async def merge(*, deps: Deps, duplicate_id: int, into_id: int, user: str) -> Incident:
    """Close ``duplicate_id`` as a duplicate of ``into_id``, moving its alerts there."""
    _require(deps.access, user, IncidentAction.MERGE)
    now = deps.clock.now()
    with deps.uow() as tx:
        duplicate, into = _get(tx, duplicate_id), _get(tx, into_id)
        closed = merged(duplicate, into, actor=user, now=now)
        moved = tx.alerts.for_incident(duplicate_id)
        for alert in moved:
            tx.alerts.upsert(alert, incident_id=into_id)
        survivor = replace(into, updated_at=now, version=into.version + 1)
        saved = tx.incidents.save(closed, expected_version=duplicate.version)
        if not (saved and tx.incidents.save(survivor, expected_version=into.version)):
            raise UserError(messages.CHANGED_CONCURRENTLY.format(ref=duplicate.ref))
        away = tx.timeline.append(
            TimelineEntry(
                duplicate_id,
                now,
                "incident.merged",
                messages.MERGED_AWAY.format(into=into.ref, user=user),
                actor=user,
                data=(("into", str(into_id)),),
            )
        )
        here = tx.timeline.append(
            TimelineEntry(
                into_id,
                now,
                "incident.merged_in",
                messages.MERGED_IN.format(duplicate=duplicate.ref, user=user, alerts=len(moved)),
                actor=user,
                data=(("duplicate", str(duplicate_id)),),
            )
        )
        tx.audit.append(AuditEntry(now, user, "incident.merge", duplicate.ref, into.ref))
        survivor_alerts = tx.alerts.for_incident(into_id)
        tx.commit()
    await show_in_slack(
        uow=deps.uow, notifier=deps.notifier, incident=closed, alerts=[], entries=[away]
    )
    return await show_in_slack(
        uow=deps.uow,
        notifier=deps.notifier,
        incident=survivor,
        alerts=survivor_alerts,
        entries=[here],
    )


async def declare(
    *, deps: Deps, user: str, title: str, severity: Severity, description: str = ""
) -> Incident:
    """Open an incident by hand: ``user`` declared it and owns it until someone else does."""
    _require(deps.access, user, IncidentChange.DECLARE)
    title = check_title(title)
    now = deps.clock.now()
    with deps.uow() as tx:
        created = tx.incidents.create(
            title=title, severity=severity, group_key=DECLARED_GROUP, created_at=now
        )
        incident = replace(
            created,
            owner=user,
            declared_by=user,
            description=description.strip(),
            version=created.version + 1,
        )
        tx.incidents.save(incident, expected_version=created.version)
        entry = tx.timeline.append(
            TimelineEntry(
                incident.id,
                now,
                "incident.declared",
                messages.DECLARED.format(
                    ref=incident.ref, severity=severity, title=title, user=user
                ),
                actor=user,
            )
        )
        tx.audit.append(AuditEntry(now, user, "incident.declare", incident.ref, str(severity)))
        tx.commit()
    return await show_in_slack(
        uow=deps.uow, notifier=deps.notifier, incident=incident, alerts=[], entries=[entry]
    )


def check_title(title: str) -> str:
    """The title with its whitespace tidied; a UserError if it is too short or too long."""
    title = " ".join(title.split())
    if len(title) < MIN_TITLE:
        raise UserError(messages.TITLE_TOO_SHORT.format(min=MIN_TITLE))
    if len(title) > MAX_TITLE:
        raise UserError(messages.TITLE_TOO_LONG.format(max=MAX_TITLE))
    return title


def view(*, uow: UnitOfWorkFactory, incident_id: int, entries: int = 10) -> IncidentView:
    """One incident with its alerts and its ``entries`` newest timeline entries."""
    with uow() as tx:
        incident = _get(tx, incident_id)
        timeline = tx.timeline.list(incident_id)
        alerts = tx.alerts.for_incident(incident_id)
    return IncidentView(incident, alerts, timeline[-entries:] if entries else [], len(timeline))


def list_open(*, uow: UnitOfWorkFactory, limit: int = 20) -> list[Incident]:
    """Open incidents, newest first."""
    with uow() as tx:
        return tx.incidents.list(statuses=OPEN_STATUSES, limit=limit)


async def _transition(
    deps: Deps, *, incident_id: int, user: str, action: IncidentAction, text: str
) -> Incident:
    """A status change through the transition table."""
    return await _change(
        deps,
        incident_id=incident_id,
        user=user,
        grant=action,
        kind=f"incident.{_STATUS_KIND[action]}",
        change=lambda incident, now: apply(incident, action, actor=user, now=now),
        describe=lambda _, __: text,
        audit=f"incident.{action}",
    )


_STATUS_KIND = {
    IncidentAction.ACKNOWLEDGE: IncidentStatus.ACKNOWLEDGED,
    IncidentAction.MITIGATE: IncidentStatus.MITIGATED,
    IncidentAction.RESOLVE: IncidentStatus.RESOLVED,
    IncidentAction.CLOSE: IncidentStatus.CLOSED,
}


async def _change(
    deps: Deps,
    *,
    incident_id: int,
    user: str,
    grant: IncidentAction | IncidentChange,
    kind: str,
    change: Change,
    describe: Describe,
    data: tuple[tuple[str, str], ...] = (),
    audit: str | None = None,
) -> Incident:
    """Check, change with compare-and-set, record on the timeline and audit log, show in Slack."""
    _require(deps.access, user, grant)
    now = deps.clock.now()
    with deps.uow() as tx:
        current = _get(tx, incident_id)
        changed = change(current, now)
        if not tx.incidents.save(changed, expected_version=current.version):
            raise UserError(messages.CHANGED_CONCURRENTLY.format(ref=current.ref))
        text = describe(current, changed)
        entry = tx.timeline.append(
            TimelineEntry(incident_id, now, kind, text, actor=user, data=data)
        )
        tx.audit.append(AuditEntry(now, user, audit or kind, changed.ref, text))
        entries = [entry]
        met = outcome(deps.sla, current, changed, now=now) if deps.sla is not None else None
        if met is not None:
            entries.append(tx.timeline.append(_sla_entry(incident_id, met, now)))
        alerts = tx.alerts.for_incident(incident_id)
        tx.commit()
    return await show_in_slack(
        uow=deps.uow, notifier=deps.notifier, incident=changed, alerts=alerts, entries=entries
    )


def _sla_entry(incident_id: int, met: SlaOutcome, now: float) -> TimelineEntry:
    """The timeline entry saying whether the resolve goal was met within its deadline."""
    limit, took = elapsed(met.limit_s), elapsed(met.took_s)
    if met.met:
        text = messages.SLA_MET.format(
            goal=met.goal,
            limit=limit,
            severity=met.severity,
            took=took,
            left=elapsed(met.limit_s - met.took_s),
        )
    else:
        text = messages.SLA_MISSED.format(
            goal=met.goal,
            limit=limit,
            severity=met.severity,
            took=took,
            late=elapsed(met.took_s - met.limit_s),
        )
    data = (("goal", met.goal), ("met", str(met.met).lower()), ("took_s", f"{met.took_s:.0f}"))
    return TimelineEntry(incident_id, now, "sla.met" if met.met else "sla.missed", text, data=data)


def _require(access: AccessPolicy, user: str, grant: IncidentAction | IncidentChange) -> None:
    if not access.allows(user, grant):
        raise UserError(messages.NOT_ALLOWED.format(action=_VERB[grant]))


def _get(tx: UnitOfWork, incident_id: int) -> Incident:
    """The incident, or a UserError that says how to find the right one."""
    try:
        return tx.incidents.get(incident_id)
    except NotFound as exc:
        raise UserError(messages.NO_SUCH_INCIDENT.format(ref=f"INC-{incident_id}")) from exc
