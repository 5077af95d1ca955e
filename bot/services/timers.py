"""Durable incident timers: SLA reminders and breaches, and escalation pages, each sent once.

The database is the truth. :func:`fire_due` is pure catch-up: it plans, from each open incident
as stored, every SLA timer (:func:`bot.core.sla.due`) and escalation step
(:func:`bot.core.escalation.due`) that is due, and sends each one whose idempotency key it wins
in the notification ledger. The bot calls it every few seconds and once at start-up, so whatever
fell due while the bot was down fires exactly once after it comes back: only the latest timer of
each deadline, and only the latest missed round of each escalation level (the earlier ones are
recorded as superseded without being sent).

Escalation follows the incident's manual escalations (the Escalate button) as stored, so the
chain goes on from the level paged by hand. A user-group target is mentioned as the group
(``<!subteam^ID>``) and each of its members gets the direct message.

A side effect is claimed before it is sent and marked sent afterwards. If the thread reply fails
(Slack down) the claim is released and a later run tries again; if the process dies while
sending, the claim stays ``sending`` and the side effect is never repeated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot import messages
from bot.core import escalation as esc
from bot.core import sla as sla_timers
from bot.core.errors import AdapterError, NotFound
from bot.core.escalation import EscalationPolicy, EscalationStep, Target, TargetKind
from bot.core.incidents import OPEN_STATUSES, Incident, Severity, TimelineEntry
from bot.core.oncall import Schedule
from bot.core.policy import SlaPolicy
from bot.core.ports import Notifier, UnitOfWorkFactory, UserGroups

log = logging.getLogger(__name__)

MAX_OPEN = 10_000  # open incidents looked at per run
REMINDER = "reminder"
BREACH = "breach"
PAGE = "page"
SUPERSEDED = "superseded by {key}"
_ORDER = {REMINDER: 0, BREACH: 1, PAGE: 2}  # at one instant: the breach, then the page


@dataclass(frozen=True, slots=True)
class _Action:
    """One side effect that is due: what to post in the thread and whom to DM."""

    key: str
    kind: str
    due: float
    text: str
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # user groups paged: mentioned, and each member DMed
    step: EscalationStep | None = None  # a page's step, and its mentions to re-render it
    mentions: tuple[str, ...] = ()
    superseded_by: str | None = None  # recorded as sent without sending
    live: Callable[[Incident], bool] = lambda _: True  # re-checked once the key is claimed


async def fire_due(
    *,
    now: float,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
    sla: SlaPolicy,
    escalation: Mapping[Severity, EscalationPolicy],
    schedules: Mapping[str, Schedule],
    groups: UserGroups | None = None,
) -> float | None:
    """Send every due reminder, breach and page not sent before; return when the next is due.

    ``schedules`` are as they stand now, overrides included; ``groups`` finds the members of a
    user-group target (without it, the group is named and nobody in it is DMed).
    """
    with uow() as tx:
        incidents = tx.incidents.list(statuses=OPEN_STATUSES, limit=MAX_OPEN)
        manual = tx.escalations.list([i.id for i in incidents])
    upcoming: list[float] = []
    for incident in sorted(incidents, key=lambda i: i.id):
        escalated_at = [e.at for e in manual if e.incident_id == incident.id]
        actions = [
            *_sla_actions(sla, incident, now=now),
            *_page_actions(escalation, schedules, incident, escalated_at, now=now),
        ]
        for action in sorted(actions, key=lambda a: (a.due, _ORDER[a.kind], a.key)):
            await _fire(action, incident, now=now, uow=uow, notifier=notifier, groups=groups)
        upcoming += _next(sla, escalation, incident, escalated_at, now=now)
    return min(upcoming, default=None)


def _sla_actions(policy: SlaPolicy, incident: Incident, *, now: float) -> list[_Action]:
    out = []
    for timer in sla_timers.due(policy, incident, now=now):
        if timer.kind is sla_timers.TimerKind.BREACH:
            text = (
                messages.ACK_BREACHED
                if timer.deadline == sla_timers.ACK
                else messages.DEADLINE_BREACHED.format(deadline=timer.deadline.capitalize())
            )
        else:
            text = messages.SLA_REMINDER.format(
                percent=round(timer.fraction * 100),
                deadline=timer.deadline,
                left=sla_timers.countdown(timer.deadline_due, now=now),
            )
        out.append(
            _Action(
                timer.key,
                str(timer.kind),
                timer.due,
                text,
                live=_sla_live(timer),
            )
        )
    return out


def _page_actions(
    policies: Mapping[Severity, EscalationPolicy],
    schedules: Mapping[str, Schedule],
    incident: Incident,
    escalated_at: Sequence[float],
    *,
    now: float,
) -> list[_Action]:
    policy = policies.get(incident.severity)
    if policy is None:
        return []
    steps = esc.due(
        policy,
        incident_id=incident.id,
        opened_at=incident.created_at,
        now=now,
        acknowledged_at=esc.stopped_at(incident),
        escalated_at=escalated_at,
    )
    latest = {step.level: step for step in steps}  # in order: the last round of each level wins
    out = []
    for step in steps:
        newest = latest[step.level]
        if step is not newest:
            out.append(_Action(step.key, PAGE, step.due, "", superseded_by=newest.key))
            continue
        targets = esc.recipients(step.targets, schedules=schedules, now=now)
        mentions = _mentions(targets)
        out.append(
            _Action(
                step.key,
                PAGE,
                step.due,
                _page_text(step, mentions),
                users=tuple(t.ref for t in targets if t.kind is TargetKind.USER),
                groups=tuple(t.ref for t in targets if t.kind is TargetKind.GROUP),
                step=step,
                mentions=tuple(mentions),
                live=_page_live(step),
            )
        )
    return out


async def _with_groups(action: _Action, groups: UserGroups | None) -> _Action:
    """The page with each user group mentioned by id and its members added to the DMs.

    A group that cannot be looked up stays named by its handle; the page still goes out.
    """
    if not action.groups or groups is None or action.step is None:
        return action
    mentions, users = list(action.mentions), list(action.users)
    for ref in action.groups:
        try:
            group = await groups.find(ref)
        except (NotFound, AdapterError):
            log.exception("could not look up user group %s; naming it without its members", ref)
            continue
        mentions[mentions.index(f"@{ref}")] = f"<!subteam^{group.id}>"
        users += group.users
    text = _page_text(action.step, mentions)
    return replace(action, text=text, users=tuple(dict.fromkeys(users)))


def _sla_live(timer: sla_timers.SlaTimer) -> Callable[[Incident], bool]:
    return lambda current: not sla_timers.is_moot(timer, current)


def _page_live(step: EscalationStep) -> Callable[[Incident], bool]:
    return lambda current: step.manual or esc.stopped_at(current) is None


def _mentions(targets: Sequence[Target]) -> list[str]:
    """Users as Slack mentions; groups by handle until :func:`_with_groups` finds their ids."""
    return [f"<@{t.ref}>" if t.kind is TargetKind.USER else f"@{t.ref}" for t in targets]


def _page_text(step: EscalationStep, mentions: Sequence[str]) -> str:
    round_ = messages.PAGED_ROUND.format(round=step.repeat + 1) if step.repeat else ""
    if not mentions:
        return messages.PAGED_NOBODY.format(level=step.level + 1, round=round_)
    return messages.PAGED.format(mentions=" ".join(mentions), level=step.level + 1, round=round_)


async def _fire(
    action: _Action,
    incident: Incident,
    *,
    now: float,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
    groups: UserGroups | None,
) -> None:
    """Claim the action's key; send it if won and still live; then mark it sent."""
    with uow() as tx:
        # the claim comes first in its transaction: on SQLite a read before it could go stale
        if not tx.notifications.claim(
            action.key, incident_id=incident.id, kind=action.kind, due_at=action.due, now=now
        ):
            return
        current = tx.incidents.get(incident.id)
        if action.superseded_by is not None:
            tx.notifications.mark_sent(
                action.key, now, detail=SUPERSEDED.format(key=action.superseded_by)
            )
            tx.commit()
            return
        if not action.live(current):
            return  # acknowledged meanwhile: roll the claim back
        tx.commit()
    action = await _with_groups(action, groups)
    entry = TimelineEntry(
        incident.id,
        now,
        f"escalation.{PAGE}" if action.kind == PAGE else f"sla.{action.kind}",
        action.text,
        data=(("key", action.key),),
    )
    try:
        await notifier.post_timeline(current, entry)
    except AdapterError:
        log.exception("could not post %s of %s; trying again later", action.key, incident.ref)
        _release(uow, action.key)
        return
    failed = [user for user in action.users if not await _dm(notifier, user, incident)]
    with uow() as tx:
        tx.timeline.append(entry)
        detail = " ".join(f"<@{user}>" for user in action.users)
        if failed:
            detail += " (no DM: " + " ".join(failed) + ")"
        tx.notifications.mark_sent(action.key, now, detail=detail)
        tx.commit()


async def _dm(notifier: Notifier, user: str, incident: Incident) -> bool:
    text = messages.PAGE_DM.format(
        ref=incident.ref, severity=incident.severity, title=incident.title
    )
    try:
        await notifier.notify_user(user, text)
    except AdapterError:
        log.exception("could not DM %s about %s", user, incident.ref)
        return False
    return True


def _release(uow: UnitOfWorkFactory, key: str) -> None:
    with uow() as tx:
        tx.notifications.release(key)
        tx.commit()


def _next(
    sla: SlaPolicy,
    policies: Mapping[Severity, EscalationPolicy],
    incident: Incident,
    escalated_at: Sequence[float],
    *,
    now: float,
) -> list[float]:
    """When the incident's next timer or page falls due (none, one or both)."""
    out = []
    timer = sla_timers.next_due(sla, incident, now=now)
    if timer is not None:
        out.append(timer)
    policy = policies.get(incident.severity)
    if policy is not None:
        steps = esc.plan(
            policy,
            incident_id=incident.id,
            opened_at=incident.created_at,
            acknowledged_at=esc.stopped_at(incident),
            escalated_at=escalated_at,
        )
        later = [step.due for step in steps if step.due > now]
        if later:
            out.append(min(later))
    return out
