"""On-call schedules: layered rotations in local time, restrictions, overrides and swaps.

A :class:`Schedule` stacks :class:`Layer` rotations; where several layers cover the same moment
the later one wins, and an :class:`Override` wins over every layer (later overrides over earlier
ones). Handoffs happen at local wall time, so a weekly 09:00 Europe/Berlin handoff stays at 09:00
across daylight-saving changes. Times are unix seconds.

Overrides and swaps made in Slack are stored as :class:`ScheduleOverride` records and laid over
the configured schedule with :func:`with_overrides`; a swap is two overrides, one per shift.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot.core.errors import UserError

CHANGE_ONCALL = "oncall"  # the permission (rbac.yaml) to override and swap
_DAY = timedelta(days=1)
_LOOKAHEAD_DAYS = (8, 32, 128, 512)  # how far next_shift looks, widening until it finds one


class Shift(NamedTuple):
    """Who is on call from ``start`` until ``end``."""

    user: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Restriction:
    """A weekly window in the layer's local time; ``end <= start`` runs past midnight."""

    weekdays: frozenset[int]  # 0 is Monday
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Layer:
    """A rotation: ``users`` take turns of ``every_days`` days, handing off at local ``handoff``."""

    users: tuple[str, ...]
    every_days: int
    handoff: time
    timezone: str
    start: date  # ``users[0]`` begins a turn at ``handoff`` on this local date
    restrictions: tuple[Restriction, ...] = ()  # none: the layer covers all of every turn


@dataclass(frozen=True, slots=True)
class Override:
    """``user`` is on call from ``start`` until ``end``, whoever the layers name."""

    user: str
    start: float
    end: float


class OverrideKind(StrEnum):
    """Why a stored override exists."""

    OVERRIDE = "override"  # someone takes over for a while
    SWAP = "swap"  # one half of two users exchanging shifts


@dataclass(frozen=True, slots=True)
class ScheduleOverride:
    """An override placed on a named schedule by someone (``/oncall override`` or ``swap``)."""

    schedule: str
    override: Override
    kind: OverrideKind
    created_by: str
    created_at: float
    id: int | None = None


@dataclass(frozen=True, slots=True)
class UserGroup:
    """A chat user group (Slack's ``@gpu-oncall``): mentioned by id, paged through its members."""

    id: str
    handle: str
    users: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Schedule:
    """Layers (later ones win where they cover) and overrides (which win over every layer)."""

    name: str
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()


def on_call(schedule: Schedule, *, now: float) -> str | None:
    """The user on call at ``now``, or None where nothing covers it."""
    current = shifts(schedule, start=now, end=now + 1.0)
    return current[0].user if current and current[0].start == now else None


def current_shift(schedule: Schedule, *, now: float) -> Shift | None:
    """Who is on call at ``now``, from ``now`` until their handoff; None where nobody is."""
    return _first(schedule, now=now, chosen=lambda s: s.start == now)


def next_shift(schedule: Schedule, *, now: float) -> Shift | None:
    """The first shift that begins after ``now``, or None if none begins within ~a year."""
    return _first(schedule, now=now, chosen=lambda s: s.start > now)


def shift_of(schedule: Schedule, *, user: str, now: float) -> Shift | None:
    """``user``'s shift going on at ``now`` (from ``now``) or else their next one within ~a year."""
    return _first(schedule, now=now, chosen=lambda s: s.user == user)


def with_overrides(schedule: Schedule, overrides: Sequence[ScheduleOverride]) -> Schedule:
    """The schedule with the stored overrides placed on it laid over it, in the given order."""
    mine = tuple(o.override for o in overrides if o.schedule == schedule.name)
    return replace(schedule, overrides=(*schedule.overrides, *mine)) if mine else schedule


def shifts(schedule: Schedule, *, start: float, end: float) -> tuple[Shift, ...]:
    """Who is on call between ``start`` and ``end``, in order, clipped to that window."""
    pieces = [p for layer in schedule.layers for p in _layer_pieces(layer, start, end)]
    pieces += [Shift(o.user, o.start, o.end) for o in schedule.overrides]
    return _merged(_painted(pieces, start, end))


def cover(schedule: Schedule, *, user: str, start: float, end: float) -> Schedule:
    """The schedule with ``user`` on call from ``start`` until ``end`` (an override)."""
    if end <= start:
        msg = "An override must end after it starts."
        raise UserError(msg)
    return replace(schedule, overrides=(*schedule.overrides, Override(user, start, end)))


def swap(schedule: Schedule, *, first: Shift, second: Shift) -> Schedule:
    """The schedule after two users exchange shifts: two overrides, one for each shift."""
    return replace(schedule, overrides=(*schedule.overrides, *swapped(first, second)))


def swapped(first: Shift, second: Shift) -> tuple[Override, Override]:
    """The two overrides by which the users of two shifts exchange them."""
    if first.user == second.user:
        msg = "A swap needs two different users."
        raise UserError(msg)
    return Override(second.user, first.start, first.end), Override(
        first.user, second.start, second.end
    )


def _first(schedule: Schedule, *, now: float, chosen: Callable[[Shift], bool]) -> Shift | None:
    """The first whole shift from ``now`` that ``chosen`` picks, looking ever further ahead.

    A shift that outlasts the furthest look ahead (~a year) comes back cut off there.
    """
    found = None
    for days in _LOOKAHEAD_DAYS:
        horizon = now + days * _DAY.total_seconds()
        found = next((s for s in shifts(schedule, start=now, end=horizon) if chosen(s)), None)
        if found is not None and found.end < horizon:
            return found
    return found


def _layer_pieces(layer: Layer, start: float, end: float) -> list[Shift]:
    turns = list(_turns(layer, start, end))
    if not layer.restrictions:
        return turns
    windows = list(_windows(layer, start, end))
    return [
        Shift(turn.user, max(turn.start, w_start), min(turn.end, w_end))
        for turn in turns
        for w_start, w_end in windows
        if max(turn.start, w_start) < min(turn.end, w_end)
    ]


def _turns(layer: Layer, start: float, end: float) -> Iterator[Shift]:
    first_day = datetime.fromtimestamp(start, ZoneInfo(layer.timezone)).date()
    turn = max(0, (first_day - layer.start).days // layer.every_days - 1)
    while (begins := _handoff(layer, turn)) < end:
        ends = _handoff(layer, turn + 1)
        if ends > start:
            yield Shift(layer.users[turn % len(layer.users)], begins, ends)
        turn += 1


def _handoff(layer: Layer, turn: int) -> float:
    day = layer.start + turn * layer.every_days * _DAY
    return _local(day, layer.handoff, layer.timezone)


def _windows(layer: Layer, start: float, end: float) -> Iterator[tuple[float, float]]:
    zone = ZoneInfo(layer.timezone)
    day = datetime.fromtimestamp(start, zone).date() - _DAY  # a window may run past midnight
    last = datetime.fromtimestamp(end, zone).date()
    while day <= last:
        for rule in layer.restrictions:
            if day.weekday() in rule.weekdays:
                until = day + _DAY if rule.end <= rule.start else day
                yield (
                    _local(day, rule.start, layer.timezone),
                    _local(until, rule.end, layer.timezone),
                )
        day += _DAY


def _local(day: date, at: time, timezone: str) -> float:
    # A wall time skipped by a spring-forward change lands as far after it as it was meant to be.
    return datetime.combine(day, at, tzinfo=ZoneInfo(timezone)).timestamp()


def _painted(pieces: Sequence[Shift], start: float, end: float) -> list[Shift]:
    """Paint pieces in order over the window, so that a later piece wins where they overlap."""
    cuts = sorted({start, end} | {t for p in pieces for t in (p.start, p.end) if start < t < end})
    owners: list[str | None] = [None] * (len(cuts) - 1)
    for piece in pieces:
        low = bisect_left(cuts, max(piece.start, start))
        high = bisect_left(cuts, min(piece.end, end))
        owners[low:high] = [piece.user] * max(0, high - low)
    return [Shift(u, cuts[i], cuts[i + 1]) for i, u in enumerate(owners) if u is not None]


def _merged(pieces: Sequence[Shift]) -> tuple[Shift, ...]:
    out: list[Shift] = []
    for piece in pieces:
        if out and out[-1].user == piece.user and out[-1].end == piece.start:
            out[-1] = out[-1]._replace(end=piece.end)
        else:
            out.append(piece)
    return tuple(out)
