"""Reading the workspace as tests and the UI need it: people, channels, messages, DMs, files."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sandbox.slack.automation.deps import StateDep, find_member, find_user
from sandbox.slack.workspace import Channel

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, bool]:
    """Liveness probe."""
    return {"ok": True}


@router.get("/users")
async def users(state: StateDep) -> dict[str, Any]:
    """All members, the bot included, each with the sandbox's ``roles``."""
    now = state.ws.clock()
    return {
        "users": [
            user.to_api(now) | {"roles": list(user.roles)} for user in state.ws.users.values()
        ]
    }


@router.get("/channels")
async def channels(state: StateDep) -> dict[str, Any]:
    """All channels and DMs."""
    ws = state.ws
    return {
        "channels": [channel.to_api(ws.member_count(channel)) for channel in ws.channels.values()]
    }


@router.get("/usergroups")
async def usergroups(state: StateDep) -> dict[str, Any]:
    """All user groups with their members."""
    return {
        "usergroups": [group.to_api(include_users=True) for group in state.ws.usergroups.values()]
    }


def _listing(channel: Channel) -> list[dict[str, Any]]:
    return [
        message.to_api() | {"replies": [reply.to_api() for reply in message.replies]}
        for message in channel.messages
    ]


@router.get("/messages")
async def messages(state: StateDep, channel: str, user: str | None = None) -> dict[str, Any]:
    """A channel's messages with replies nested, and the ephemerals (``user``'s when given)."""
    ws = state.ws
    found, viewer = find_member(ws, channel, user or ws.bot.id)
    ephemerals = [
        item.to_api() for item in found.ephemerals if user is None or item.user == viewer.id
    ]
    return {
        "channel": found.to_api(ws.member_count(found)),
        "messages": _listing(found),
        "ephemerals": ephemerals,
    }


@router.get("/dm")
async def direct_messages(state: StateDep, user: str) -> dict[str, Any]:
    """The bot's DM with ``user``: the channel (null until opened) and its messages."""
    ws = state.ws
    person = find_user(ws, user)
    im = next((channel for channel in ws.channels.values() if channel.im_user == person.id), None)
    if im is None:
        return {"channel": None, "messages": []}
    return {"channel": im.to_api(ws.member_count(im)), "messages": _listing(im)}


@router.get("/files")
async def files(state: StateDep) -> dict[str, Any]:
    """Every file, in upload order: Slack's file object plus whether the upload completed."""
    return {
        "files": [
            file.to_api() | {"completed": file.completed} for file in state.files.by_id.values()
        ]
    }
