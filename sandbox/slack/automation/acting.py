"""Acting as a person in a channel: type a message or a slash command, click, choose."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from sandbox.slack.automation.deps import ActAs, InteractionsDep, StateDep, find_member
from sandbox.slack.errors import NotFound, SlackError

router = APIRouter()


class CommandRequest(ActAs):
    """A slash command typed into the message box."""

    command: str = Field(pattern=r"^/[a-z0-9_-]+$")
    text: str = ""


class MessageRequest(ActAs):
    """A message a person types into a channel, DM or thread."""

    text: str = Field(min_length=1, max_length=40_000)
    thread_ts: str | None = None


class ClickRequest(ActAs):
    """A click on a button of a stored message (its confirm dialog, if any, confirmed)."""

    ts: str
    action_id: str
    value: str | None = None


class SelectRequest(ActAs):
    """A choice in a static_select, overflow or users_select of a stored message."""

    ts: str
    action_id: str
    value: str


@router.post("/command")
async def command(
    body: CommandRequest, request: Request, interactions: InteractionsDep
) -> dict[str, Any]:
    """Run a slash command as ``user`` in ``channel``."""
    place = body.place(request, interactions.state.ws)
    return await interactions.command(
        place, command=body.command, text=body.text, tampering=body.tampering()
    )


@router.post("/message")
async def message(body: MessageRequest, state: StateDep) -> dict[str, Any]:
    """Post a message as ``user`` (no Events API delivery to the app)."""
    ws = state.ws
    channel, user = find_member(ws, body.channel, body.user)
    try:
        posted = ws.post(channel, user=user, text=body.text, blocks=[], thread_ts=body.thread_ts)
    except SlackError as error:
        raise NotFound(f"{error.code}: thread_ts {body.thread_ts!r}") from None
    return {"channel": channel.id, "ts": posted.ts, "message": posted.to_api()}


@router.post("/click")
async def click(
    body: ClickRequest, request: Request, interactions: InteractionsDep
) -> dict[str, Any]:
    """Click a button of the message ``ts`` as ``user``."""
    place = body.place(request, interactions.state.ws)
    return await interactions.click(
        place, ts=body.ts, action_id=body.action_id, value=body.value, tampering=body.tampering()
    )


@router.post("/select")
async def select(
    body: SelectRequest, request: Request, interactions: InteractionsDep
) -> dict[str, Any]:
    """Choose ``value`` in a select or overflow menu of the message ``ts`` as ``user``."""
    place = body.place(request, interactions.state.ws)
    return await interactions.select(
        place, ts=body.ts, action_id=body.action_id, value=body.value, tampering=body.tampering()
    )
