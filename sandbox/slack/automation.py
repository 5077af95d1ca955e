"""Automation endpoints under ``/_sandbox/``: act as a person, read state, answer response_urls.

These are not part of Slack. Tests, the demo and the browser UI use them:

- ``POST /_sandbox/command``  ``{user, channel, command, text}`` → ``{status, body, error,
  ephemeral, message}``
- ``POST /_sandbox/click``    ``{user, channel, ts, action_id, value?}`` → ``{status, body, error}``
- ``POST /_sandbox/message``  ``{user, channel, text, thread_ts?}`` → ``{channel, ts, message}``
- ``GET  /_sandbox/channels``, ``GET /_sandbox/users``
- ``GET  /_sandbox/messages?channel=gpu-alerts[&user=alice]`` → messages, oldest first, with
  ``replies`` nested, and the ephemerals (only ``user``'s when given)
- ``POST /_sandbox/response/<id>``  the ``response_url`` target
- ``POST /_sandbox/ratelimit`` ``{per_minute: int | null}`` changes the Web API budget
- ``GET  /_sandbox/healthz``

Command and click bodies accept ``signing_secret_override`` and ``timestamp_override`` so that a
test can deliver a badly signed or stale request.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.slack.errors import NotFound, SlackError
from sandbox.slack.interactions import Interactions, Tampering
from sandbox.slack.ratelimit import RateLimiter
from sandbox.slack.responses import apply_response
from sandbox.slack.workspace import Channel, User, Workspace

router = APIRouter(prefix="/_sandbox")


class ActAs(BaseModel):
    """Who acts where, plus optional test-only tampering with the delivery."""

    user: str
    channel: str
    signing_secret_override: str | None = None
    timestamp_override: int | None = None

    def tampering(self) -> Tampering:
        """The delivery changes this request asks for."""
        stamp = None if self.timestamp_override is None else str(self.timestamp_override)
        return Tampering(signing_secret=self.signing_secret_override, timestamp=stamp)


class CommandRequest(ActAs):
    """A slash command typed into the message box."""

    command: str = Field(pattern=r"^/[a-z0-9_-]+$")
    text: str = ""


class MessageRequest(ActAs):
    """A message a person types into a channel or thread."""

    text: str = Field(min_length=1, max_length=40_000)
    thread_ts: str | None = None


class ClickRequest(ActAs):
    """A click on a button of a stored message."""

    ts: str
    action_id: str
    value: str | None = None


class RateLimitRequest(BaseModel):
    """A new per-method budget; null turns rate limiting off."""

    per_minute: int | None = Field(default=None, ge=1)


def _interactions(request: Request) -> Interactions:
    return cast("Interactions", request.app.state.interactions)


def _workspace(request: Request) -> Workspace:
    return _interactions(request).ws


InteractionsDep = Annotated[Interactions, Depends(_interactions)]
WorkspaceDep = Annotated[Workspace, Depends(_workspace)]


def _find(ws: Workspace, channel: str, user: str) -> tuple[Channel, User]:
    try:
        return ws.channel(channel), ws.user(user)
    except SlackError as error:
        raise HTTPException(404, f"{error.code}: channel {channel!r}, user {user!r}") from None


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/healthz")
async def healthz() -> dict[str, bool]:
    """Liveness probe."""
    return {"ok": True}


@router.get("/users")
async def users(ws: WorkspaceDep) -> dict[str, Any]:
    """All members, the bot included."""
    return {"users": [user.to_api() for user in ws.users.values()]}


@router.get("/channels")
async def channels(ws: WorkspaceDep) -> dict[str, Any]:
    """All channels."""
    count = ws.member_count()
    return {"channels": [channel.to_api(count) for channel in ws.channels.values()]}


@router.get("/messages")
async def messages(ws: WorkspaceDep, channel: str, user: str | None = None) -> dict[str, Any]:
    """A channel's messages with replies nested, and the ephemerals (``user``'s when given)."""
    found, viewer = _find(ws, channel, user or ws.bot.id)
    listed = [
        message.to_api() | {"replies": [reply.to_api() for reply in message.replies]}
        for message in found.messages
    ]
    ephemerals = [
        item.to_api() for item in found.ephemerals if user is None or item.user == viewer.id
    ]
    return {
        "channel": found.to_api(ws.member_count()),
        "messages": listed,
        "ephemerals": ephemerals,
    }


@router.post("/command")
async def command(
    body: CommandRequest, request: Request, interactions: InteractionsDep
) -> dict[str, Any]:
    """Run a slash command as ``user`` in ``channel``."""
    channel, user = _find(interactions.ws, body.channel, body.user)
    return await interactions.command(
        base_url=_base_url(request),
        channel=channel,
        user=user,
        command=body.command,
        text=body.text,
        tampering=body.tampering(),
    )


@router.post("/message")
async def message(body: MessageRequest, ws: WorkspaceDep) -> dict[str, Any]:
    """Post a message as ``user`` (no Events API delivery to the app)."""
    channel, user = _find(ws, body.channel, body.user)
    try:
        posted = ws.post(channel, user=user, text=body.text, blocks=[], thread_ts=body.thread_ts)
    except SlackError as error:
        raise HTTPException(404, f"{error.code}: thread_ts {body.thread_ts!r}") from None
    return {"channel": channel.id, "ts": posted.ts, "message": posted.to_api()}


@router.post("/click")
async def click(
    body: ClickRequest, request: Request, interactions: InteractionsDep
) -> dict[str, Any]:
    """Click a button of the message ``ts`` as ``user``."""
    channel, user = _find(interactions.ws, body.channel, body.user)
    try:
        return await interactions.click(
            base_url=_base_url(request),
            channel=channel,
            user=user,
            ts=body.ts,
            action_id=body.action_id,
            value=body.value,
            tampering=body.tampering(),
        )
    except NotFound as missing:
        raise HTTPException(404, str(missing)) from None


@router.post("/response/{key}")
async def respond(key: str, request: Request, interactions: InteractionsDep) -> JSONResponse:
    """The ``response_url`` target: post, replace or delete as Slack does."""
    try:
        target = interactions.urls.use(key)
        answer = await request.json()
        if not isinstance(answer, dict):
            raise SlackError("invalid_payload")
        apply_response(interactions.ws, target, answer)
    except ValueError:
        return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
    except SlackError as error:
        status = 404 if error.code in {"expired_url", "used_url"} else 400
        return JSONResponse(error.to_body(), status_code=status)
    return JSONResponse({"ok": True})


@router.post("/ratelimit")
async def ratelimit(body: RateLimitRequest, request: Request) -> dict[str, int | None]:
    """Change the per-method Web API budget (null: off)."""
    limiter = cast("RateLimiter", request.app.state.limiter)
    limiter.configure(body.per_minute)
    return {"per_minute": limiter.per_minute}
