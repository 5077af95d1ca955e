"""``/silence``: mute alerts for a while from Slack, list the silences, end one early.

``/silence node=gpu-node-2 2h "driver upgrade"`` (or ``/silence add …``) mutes every alert whose
labels match all the matchers (Alertmanager's syntax: ``=``, ``!=``, ``=~``, ``!~``) for the
duration; the confirmation is posted in the channel, so everyone sees who silenced what and why.
``/silence`` or ``/silence list [all]`` lists them and ``/silence expire ID`` ends one; those
answers, like every refusal, only the user sees. Adding and ending need the ``silence``
permission of rbac.yaml; the silences are the database's (shared with the API and the CLI), and
the alert engine applies a change at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from itertools import takewhile

from bot import messages
from bot.adapters.slack import arguments
from bot.adapters.slack.blocks import clock_time
from bot.adapters.slack.commands import CommandRouter, Invocation, Reply
from bot.core.errors import UserError
from bot.core.policy import AccessPolicy
from bot.core.ports import Clock, UnitOfWorkFactory
from bot.core.silences import MANAGE_SILENCES, Silence
from bot.services import silences

SHORT_ID = 8  # characters of a silence's id shown in Slack (any unique prefix is accepted)
_QUOTES = "\"'\u201c\u201d\u2018\u2019"  # Slack clients may turn typed quotes into curly ones


@dataclass(frozen=True)
class SilenceDeps:
    """What the ``/silence`` commands need."""

    uow: UnitOfWorkFactory
    access: AccessPolicy
    clock: Clock
    refresh: Callable[[float], object]  # hands the silences in force to the alert engine


@dataclass(frozen=True)
class SilenceRequest:
    """The words of ``/silence add``, read."""

    matchers: tuple[str, ...]
    duration: str  # as typed, e.g. "2h"
    duration_s: float
    comment: str


def register_silence(router: CommandRouter, *, deps: SilenceDeps) -> None:
    """Add ``add``, ``list`` and ``expire`` to the ``/silence`` router."""
    router.add(
        "add", _add(deps), usage=messages.SILENCE_ADD_USAGE, summary=messages.SILENCE_ADD_HELP
    )
    router.add(
        "list", _list(deps), usage=messages.SILENCE_LIST_USAGE, summary=messages.SILENCE_LIST_HELP
    )
    router.add(
        "expire",
        _expire(deps),
        usage=messages.SILENCE_EXPIRE_USAGE,
        summary=messages.SILENCE_EXPIRE_HELP,
    )


def read_add(words: Sequence[str]) -> SilenceRequest:
    """``node=gpu-node-2 [matcher …] 2h why it is quiet`` → matchers, duration and comment.

    The matchers are the leading words with an ``=``; the next word is the duration and the rest
    is the comment, quoted or not.
    """
    matchers = tuple(takewhile(lambda word: "=" in word, words))
    rest = words[len(matchers) :]
    if not matchers or not rest:
        raise UserError(messages.USAGE.format(command="/silence", usage=messages.SILENCE_ADD_USAGE))
    comment = " ".join(rest[1:]).strip().strip(_QUOTES).strip()
    return SilenceRequest(matchers, rest[0], arguments.duration(rest[0]), comment)


def _add(deps: SilenceDeps) -> Callable[[Invocation], Awaitable[Reply]]:
    async def add(inv: Invocation) -> Reply:
        """/silence [add] node=gpu-node-2 2h "why" — posted in the channel."""
        _require(deps, inv.user)
        request = read_add(inv.args)
        now = deps.clock.now()
        made = silences.create(
            uow=deps.uow,
            matchers=request.matchers,
            ends_at=now + request.duration_s,
            created_by=inv.user,
            comment=request.comment,
            now=now,
        )
        deps.refresh(now)
        text = messages.SILENCE_ADDED.format(
            user=inv.user,
            matchers=_matchers(made),
            duration=request.duration,
            until=clock_time(made.ends_at, since=now),
            comment=made.comment,
            id=made.id[:SHORT_ID],
        )
        return Reply(text, in_channel=True)

    return add


def _list(deps: SilenceDeps) -> Callable[[Invocation], Awaitable[Reply]]:
    async def listing(inv: Invocation) -> Reply:
        """/silence list [all] — only the user sees it."""
        now = deps.clock.now()
        found = silences.listed(uow=deps.uow, now=now, include_ended=inv.args[:1] == ("all",))
        if not found:
            return Reply(messages.NO_SILENCES)
        lines = [messages.SILENCE_LIST_HEADER.format(count=len(found))]
        lines += [
            messages.SILENCE_LINE.format(
                id=s.id[:SHORT_ID],
                state=s.state(now),
                until=clock_time(s.ends_at, since=now),
                matchers=_matchers(s),
                by=_person(s.created_by),
                comment=s.comment,
            )
            for s in found
        ]
        return Reply("\n".join(lines))

    return listing


def _expire(deps: SilenceDeps) -> Callable[[Invocation], Awaitable[Reply]]:
    async def expire(inv: Invocation) -> Reply:
        """/silence expire ID — the ending is posted in the channel."""
        _require(deps, inv.user)
        if len(inv.args) != 1:
            usage = messages.SILENCE_EXPIRE_USAGE
            raise UserError(messages.USAGE.format(command=inv.command, usage=usage))
        now = deps.clock.now()
        silence_id = _full_id(deps, inv.args[0], now)
        ended = silences.expire(uow=deps.uow, silence_id=silence_id, actor=inv.user, now=now)
        short = ended.id[:SHORT_ID]
        if ended.ends_at < now:  # it had ended before: nothing changed
            until = clock_time(ended.ends_at, since=now)
            return Reply(messages.SILENCE_ALREADY_ENDED.format(id=short, until=until))
        deps.refresh(now)
        text = messages.SILENCE_EXPIRED.format(user=inv.user, id=short, matchers=_matchers(ended))
        return Reply(text, in_channel=True)

    return expire


def _require(deps: SilenceDeps, user: str) -> None:
    if not deps.access.allows(user, MANAGE_SILENCES):
        raise UserError(messages.NOT_ALLOWED_SILENCE)


def _full_id(deps: SilenceDeps, text: str, now: float) -> str:
    """The id of the one current silence whose id begins with ``text``; else ``text`` itself."""
    ids = [s.id for s in silences.listed(uow=deps.uow, now=now) if s.id.startswith(text)]
    if len(ids) > 1:
        shown = ", ".join(f"`{i[:SHORT_ID]}`" for i in ids)
        raise UserError(messages.SILENCE_ID_AMBIGUOUS.format(text=text, ids=shown))
    return ids[0] if ids else text  # an ended or unknown id: the service says which


def _matchers(silence: Silence) -> str:
    return " ".join(f"`{m}`" for m in silence.matchers)


def _person(created_by: str) -> str:
    """A Slack user as a mention; a CLI or API author (a login name) as it is."""
    user = arguments.user_id(created_by)
    return f"<@{user}>" if user is not None else created_by
