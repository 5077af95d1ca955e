"""On-call use cases: who is on call, overrides and swaps, and the on-call user group.

The schedules of oncall.yaml are the plan; overrides and swaps made in Slack are stored and laid
over them (:func:`current_schedules`), so everything that asks "who is on call" (``/oncall``,
paging, the user group) sees the same answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot import messages
from bot.core.errors import AdapterError, NotFound, UserError
from bot.core.incidents import AuditEntry
from bot.core.oncall import (
    CHANGE_ONCALL,
    Override,
    OverrideKind,
    Schedule,
    ScheduleOverride,
    Shift,
    UserGroup,
    current_shift,
    next_shift,
    on_call,
    shift_of,
    swapped,
    with_overrides,
)
from bot.core.policy import AccessPolicy
from bot.core.ports import Clock, UnitOfWorkFactory, UserGroups

log = logging.getLogger(__name__)

MIN_OVERRIDE_S = 60.0
MAX_OVERRIDE_DAYS = 30


@dataclass(frozen=True, slots=True)
class OnCall:
    """One schedule: who is on call now (None: nobody) and the next shift (None: none)."""

    schedule: str
    current: Shift | None
    next: Shift | None


def current_schedules(
    *, uow: UnitOfWorkFactory, schedules: Sequence[Schedule], now: float
) -> dict[str, Schedule]:
    """The configured schedules, by name, with the stored overrides still to end laid over."""
    with uow() as tx:
        stored = tx.overrides.list(ending_after=now)
    return {s.name: with_overrides(s, stored) for s in schedules}


def on_call_lookup(
    *, uow: UnitOfWorkFactory, schedule: Schedule | None
) -> Callable[[float], str | None]:
    """Who is on call in ``schedule`` at a time, stored overrides and swaps included."""

    def lookup(now: float) -> str | None:
        if schedule is None:
            return None
        current = current_schedules(uow=uow, schedules=[schedule], now=now)
        return on_call(current[schedule.name], now=now)

    return lookup


def who_is_on_call(
    *, uow: UnitOfWorkFactory, schedules: Sequence[Schedule], now: float
) -> list[OnCall]:
    """Every schedule's current and next shift, in the order of oncall.yaml."""
    if not schedules:
        raise UserError(messages.ONCALL_NO_SCHEDULES)
    current = current_schedules(uow=uow, schedules=schedules, now=now)
    return [
        OnCall(name, current_shift(s, now=now), next_shift(s, now=now))
        for name, s in current.items()
    ]


def override(
    *,
    actor: str,
    user: str,
    duration_s: float,
    schedule: str | None,
    uow: UnitOfWorkFactory,
    schedules: Sequence[Schedule],
    access: AccessPolicy,
    clock: Clock,
) -> ScheduleOverride:
    """Put ``user`` on call in a schedule from now for ``duration_s``, whoever the plan names."""
    if not access.allows(actor, CHANGE_ONCALL):
        raise UserError(messages.NOT_ALLOWED_ONCALL)
    if not MIN_OVERRIDE_S <= duration_s <= MAX_OVERRIDE_DAYS * 86400.0:
        raise UserError(messages.OVERRIDE_LENGTH.format(days=MAX_OVERRIDE_DAYS))
    name = _pick(schedules, schedule, example=f"/oncall override <@{user}> 2h").name
    now = clock.now()
    placed = ScheduleOverride(
        name, Override(user, now, now + duration_s), OverrideKind.OVERRIDE, actor, now
    )
    with uow() as tx:
        stored = tx.overrides.add(placed)
        tx.audit.append(AuditEntry(now, actor, "oncall.override", name, _detail(stored.override)))
        tx.commit()
    return stored


def swap(
    *,
    actor: str,
    first: str,
    second: str,
    schedule: str | None,
    uow: UnitOfWorkFactory,
    schedules: Sequence[Schedule],
    access: AccessPolicy,
    clock: Clock,
) -> tuple[ScheduleOverride, ScheduleOverride]:
    """Exchange ``first``'s and ``second``'s shifts (each the one going on now, or the next).

    Returns the overrides giving ``second`` the first shift and ``first`` the second one.
    """
    if not access.allows(actor, CHANGE_ONCALL):
        raise UserError(messages.NOT_ALLOWED_ONCALL)
    if first == second:
        raise UserError(messages.SWAP_SAME_USER)
    name = _pick(schedules, schedule, example=f"/oncall swap <@{first}> <@{second}>").name
    now = clock.now()
    plan = current_schedules(uow=uow, schedules=schedules, now=now)[name]
    shifts = []
    for user in (first, second):
        shift = shift_of(plan, user=user, now=now)
        if shift is None:
            raise UserError(messages.NO_SHIFT.format(user=user, schedule=name))
        shifts.append(shift)
    halves = [
        ScheduleOverride(name, half, OverrideKind.SWAP, actor, now)
        for half in swapped(shifts[0], shifts[1])
    ]
    with uow() as tx:
        stored = [tx.overrides.add(half) for half in halves]
        detail = "; ".join(_detail(s.override) for s in stored)
        tx.audit.append(AuditEntry(now, actor, "oncall.swap", name, detail))
        tx.commit()
    return stored[0], stored[1]


@dataclass
class OncallGroup:
    """A chat user group kept holding whoever is on call in any schedule (replaced, not merged).

    :meth:`sync` pushes the members when they changed since the last push (at a handoff, after
    an override), or always when forced (``/oncall sync``). Nobody on call leaves it as it is.
    """

    ref: str  # the group's handle or id
    groups: UserGroups
    _pushed: tuple[str, ...] | None = None

    async def sync(
        self,
        *,
        uow: UnitOfWorkFactory,
        schedules: Sequence[Schedule],
        now: float,
        force: bool = False,
    ) -> tuple[UserGroup | None, tuple[str, ...]]:
        """Push the people on call now; return the group (None: not pushed) and who they are."""
        current = current_schedules(uow=uow, schedules=schedules, now=now)
        users = tuple(
            dict.fromkeys(
                shift.user
                for schedule in current.values()
                if (shift := current_shift(schedule, now=now)) is not None
            )
        )
        if not users or (users == self._pushed and not force):
            return None, users
        group = await self.groups.find(self.ref)
        await self.groups.set_users(group, users)
        self._pushed = users
        log.info("user group %s now holds %s", group.handle, ", ".join(users))
        return group, users

    async def keep(
        self, *, uow: UnitOfWorkFactory, schedules: Sequence[Schedule], now: float
    ) -> None:
        """:meth:`sync` for the scheduler: a failure is logged and tried again next time."""
        try:
            await self.sync(uow=uow, schedules=schedules, now=now)
        except (AdapterError, NotFound):
            log.exception(
                "could not update the on-call user group %s; trying again later", self.ref
            )


def _pick(schedules: Sequence[Schedule], name: str | None, *, example: str) -> Schedule:
    """The schedule called ``name``; without a name, the only one there is."""
    names = ", ".join(f"`{s.name}`" for s in schedules)
    if not schedules:
        raise UserError(messages.ONCALL_NO_SCHEDULES)
    if name is None:
        if len(schedules) > 1:
            example = f"{example} {schedules[0].name}"
            raise UserError(messages.NAME_A_SCHEDULE.format(names=names, example=example))
        return schedules[0]
    for schedule in schedules:
        if schedule.name == name:
            return schedule
    raise NotFound(messages.NO_SUCH_SCHEDULE.format(name=name, names=names))


def _detail(override: Override) -> str:
    return f"{override.user} {override.start:.0f}-{override.end:.0f}"
