"""What automation endpoints share: the stand-in's state and interactions, and lookups."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from sandbox.slack.errors import NotFound, SlackError
from sandbox.slack.interactions import Interactions, Place, Tampering, current
from sandbox.slack.people import User
from sandbox.slack.state import SlackState
from sandbox.slack.workspace import Channel, Workspace


def _state(request: Request) -> SlackState:
    return current(request).state


InteractionsDep = Annotated[Interactions, Depends(current)]
StateDep = Annotated[SlackState, Depends(_state)]


def base_url(request: Request) -> str:
    """Where this sandbox is reached, without a trailing slash."""
    return str(request.base_url).rstrip("/")


def find_user(ws: Workspace, ref: str) -> User:
    """A user by id or name, or 404."""
    try:
        return ws.user(ref)
    except SlackError:
        raise NotFound(f"no user {ref!r}") from None


def find_member(ws: Workspace, channel_ref: str, user_ref: str) -> tuple[Channel, User]:
    """A channel and a member of it, or 404."""
    user = find_user(ws, user_ref)
    try:
        channel = ws.channel(channel_ref)
    except SlackError:
        raise NotFound(f"no channel {channel_ref!r}") from None
    if not ws.is_member(channel, user):
        raise NotFound(f"{user.name} is not in {channel.id}")
    return channel, user


class ActAs(BaseModel):
    """Who acts where, plus optional test-only tampering with the delivery."""

    user: str
    channel: str
    signing_secret_override: str | None = None
    timestamp_override: int | None = None
    redeliveries: int = Field(default=0, ge=0, le=3, description="Slack's retries to add")

    def tampering(self) -> Tampering:
        """The delivery changes this request asks for."""
        stamp = None if self.timestamp_override is None else str(self.timestamp_override)
        return Tampering(
            signing_secret=self.signing_secret_override,
            timestamp=stamp,
            redeliveries=self.redeliveries,
        )

    def place(self, request: Request, ws: Workspace) -> Place:
        """Where the person acts."""
        channel, user = find_member(ws, self.channel, self.user)
        return Place(base_url(request), channel, user)
