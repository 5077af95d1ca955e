"""``/oncall`` and the Escalate button: parse what Slack sent, call a service, render the answer.

``/oncall`` (or ``/oncall now``) says who is on call now and next; ``override`` and ``swap``
change it; ``sync`` pushes the people on call to the on-call user group. The Escalate button on
an incident's root message pages the next escalation level at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import messages
from bot.adapters.slack import arguments
from bot.adapters.slack.commands import CommandRouter, Invocation, Reply
from bot.adapters.slack.ids import ActionId
from bot.core.errors import NotFound, UserError
from bot.core.escalation import EscalationPolicy
from bot.core.incidents import Severity
from bot.core.oncall import Schedule, Shift
from bot.core.policy import AccessPolicy
from bot.core.ports import Clock, Notifier, UnitOfWorkFactory
from bot.services import escalation, oncall

log = logging.getLogger(__name__)
_WITH_SCHEDULE = 3  # words of `override @user 2h schedule` and `swap @a @b schedule`
_SWAP_JOINERS = frozenset({"with", "and", "<->", "↔"})  # `/oncall swap @a with @b`


@dataclass(frozen=True)
class OncallDeps:
    """What the on-call commands and the Escalate button need."""

    uow: UnitOfWorkFactory
    notifier: Notifier
    access: AccessPolicy
    clock: Clock
    schedules: tuple[Schedule, ...]
    escalation: Mapping[Severity, EscalationPolicy]
    group: oncall.OncallGroup | None  # None: no on-call user group is configured
    page_now: Callable[[], Awaitable[object]]  # sends the pages that are due (fire_due)


def register_oncall(app: AsyncApp, *, router: CommandRouter, deps: OncallDeps) -> None:
    """Add the ``/oncall`` subcommands to ``router`` and the Escalate button to ``app``."""
    router.add("now", _now(deps), usage="now", summary="who is on call now and next")
    router.add(
        "override",
        _override(deps),
        usage="override @user 2h [schedule]",
        summary="put someone on call from now for 30m, 2h, 1d …",
    )
    router.add(
        "swap",
        _swap(deps),
        usage="swap @alice @bob [schedule]",
        summary="exchange two people's shifts (each the current or next one)",
    )
    router.add(
        "sync",
        _sync(deps),
        usage="sync",
        summary="make the on-call user group hold whoever is on call now",
        slow=True,
    )
    app.action(ActionId.ESCALATE.value)(_escalate_button(deps))


def _now(deps: OncallDeps) -> Callable[[Invocation], Awaitable[Reply]]:
    async def now(_: Invocation) -> Reply:
        """/oncall now — every schedule's person on call and the next shift."""
        rows = oncall.who_is_on_call(uow=deps.uow, schedules=deps.schedules, now=deps.clock.now())
        lines = [messages.ONCALL_HEADER]
        for row in rows:
            lines.append(
                messages.ONCALL_NOW.format(
                    schedule=row.schedule, user=row.current.user, until=_when(row.current.end)
                )
                if row.current is not None
                else messages.ONCALL_NOBODY_NOW.format(schedule=row.schedule)
            )
            lines.append(_next_line(row.next))
        return Reply("\n".join(lines))

    return now


def _next_line(shift: Shift | None) -> str:
    if shift is None:
        return messages.ONCALL_NO_NEXT
    return messages.ONCALL_NEXT.format(
        user=shift.user, start=_when(shift.start), end=_when(shift.end)
    )


def _override(deps: OncallDeps) -> Callable[[Invocation], Awaitable[Reply]]:
    async def override(inv: Invocation) -> Reply:
        """/oncall override @user 2h [schedule]."""
        if len(inv.args) not in (_WITH_SCHEDULE - 1, _WITH_SCHEDULE):
            raise UserError(
                messages.USAGE.format(command=inv.command, usage="override @user 2h [schedule]")
            )
        placed = oncall.override(
            actor=inv.user,
            user=_user(inv.args[0]),
            duration_s=arguments.duration(inv.args[1]),
            schedule=inv.args[2] if len(inv.args) == _WITH_SCHEDULE else None,
            uow=deps.uow,
            schedules=deps.schedules,
            access=deps.access,
            clock=deps.clock,
        )
        text = messages.OVERRIDE_DONE.format(
            user=placed.override.user,
            schedule=placed.schedule,
            start=_when(placed.override.start),
            end=_when(placed.override.end),
            actor=inv.user,
        )
        return Reply(text, in_channel=True)

    return override


def _swap(deps: OncallDeps) -> Callable[[Invocation], Awaitable[Reply]]:
    async def swap(inv: Invocation) -> Reply:
        """/oncall swap @alice @bob [schedule] (also ``@alice with @bob``)."""
        words = [w for i, w in enumerate(inv.args) if not (i == 1 and w in _SWAP_JOINERS)]
        if len(words) not in (_WITH_SCHEDULE - 1, _WITH_SCHEDULE):
            raise UserError(
                messages.USAGE.format(command=inv.command, usage="swap @alice @bob [schedule]")
            )
        first, second = oncall.swap(
            actor=inv.user,
            first=_user(words[0]),
            second=_user(words[1]),
            schedule=words[2] if len(words) == _WITH_SCHEDULE else None,
            uow=deps.uow,
            schedules=deps.schedules,
            access=deps.access,
            clock=deps.clock,
        )
        text = messages.SWAP_DONE.format(
            schedule=first.schedule,
            actor=inv.user,
            first=second.override.user,
            second=first.override.user,
            first_start=_when(first.override.start),
            first_end=_when(first.override.end),
            second_start=_when(second.override.start),
            second_end=_when(second.override.end),
        )
        return Reply(text, in_channel=True)

    return swap


def _sync(deps: OncallDeps) -> Callable[[Invocation], Awaitable[Reply]]:
    async def sync(_: Invocation) -> Reply:
        """/oncall sync — push the people on call to the on-call user group now."""
        if deps.group is None:
            raise UserError(messages.GROUP_SYNC_OFF)
        group, users = await deps.group.sync(
            uow=deps.uow, schedules=deps.schedules, now=deps.clock.now(), force=True
        )
        if group is None:
            return Reply(messages.GROUP_SYNC_NOBODY.format(handle=deps.group.ref.lstrip("@")))
        mentions = ", ".join(f"<@{user}>" for user in users)
        return Reply(messages.GROUP_SYNCED.format(handle=group.handle, mentions=mentions))

    return sync


def _escalate_button(
    deps: OncallDeps,
) -> Callable[[AsyncAck, dict[str, Any], AsyncRespond], Awaitable[None]]:
    async def escalate_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """The Escalate button: page the next level now, once however often it is pressed."""
        await ack()
        try:
            await escalation.escalate(
                incident_id=int(body["actions"][0]["value"]),
                user=body["user"]["id"],
                uow=deps.uow,
                notifier=deps.notifier,
                access=deps.access,
                escalation=deps.escalation,
                clock=deps.clock,
            )
        except (UserError, NotFound) as exc:
            await respond(text=str(exc), response_type="ephemeral", replace_original=False)
            return
        await deps.page_now()

    return escalate_button


def _user(word: str) -> str:
    """A mentioned user's id (Slack sends ``<@U123|name>``), or a bare user id."""
    user = arguments.user_id(word)
    if user is None:
        raise UserError(messages.BAD_USER.format(text=word))
    return user


def _when(ts: float) -> str:
    """A time that Slack shows in the reader's time zone (UTC where it cannot)."""
    fallback = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return messages.ONCALL_TIME.format(ts=int(ts), fallback=fallback)
