"""Answers to interactions: ``response_url`` posts and the app's immediate ``ack`` body.

A ``response_url`` works up to five times within thirty minutes, as on Slack. Its JSON body
carries ``text``/``blocks`` and ``response_type`` (``ephemeral``, the default, or ``in_channel``),
or ``replace_original`` / ``delete_original`` for the message that held the clicked button.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.slack.blocks import MAX_POST_TEXT, message_content
from sandbox.slack.errors import SlackError
from sandbox.slack.messages import Ephemeral, Message
from sandbox.slack.workspace import Channel, Workspace

MAX_USES = 5
LIFETIME_SECONDS = 30 * 60


@dataclass
class ResponseTarget:
    """Where a ``response_url`` answers: a channel, the acting user, and maybe the original."""

    channel_id: str
    user_id: str
    original_ts: str | None = None
    created: float = 0.0
    uses: int = 0


class ResponseUrls:
    """The ``response_url`` ids handed out with commands and clicks."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._targets: dict[str, ResponseTarget] = {}

    def mint(self, target: ResponseTarget) -> str:
        """Register a target; return the id that goes in ``/_sandbox/response/<id>``."""
        target.created = self._clock()
        key = secrets.token_urlsafe(12)
        self._targets[key] = target
        return key

    def use(self, key: str) -> ResponseTarget:
        """Spend one use of a ``response_url``; fail as Slack does when it is used up or old."""
        target = self._targets.get(key)
        if target is None or self._clock() - target.created > LIFETIME_SECONDS:
            raise SlackError("expired_url")
        if target.uses >= MAX_USES:
            raise SlackError("used_url")
        target.uses += 1
        return target


def apply_response(
    ws: Workspace, target: ResponseTarget, body: dict[str, Any]
) -> Message | Ephemeral | None:
    """Carry out one response: delete or replace the original, or post a new message."""
    channel = ws.channel(target.channel_id)
    if body.get("delete_original") is True:
        _delete_original(ws, channel, target)
        return None
    text, blocks = message_content(body.get("text"), body.get("blocks"), max_text=MAX_POST_TEXT)
    if body.get("replace_original") is True and target.original_ts:
        return _replace_original(ws, channel, target.original_ts, text, blocks)
    if body.get("response_type") == "in_channel":
        return ws.post(
            channel, user=ws.bot, text=text, blocks=blocks, thread_ts=body.get("thread_ts")
        )
    return ws.post_ephemeral(channel, user=ws.user(target.user_id), text=text, blocks=blocks)


def _delete_original(ws: Workspace, channel: Channel, target: ResponseTarget) -> None:
    if target.original_ts is None:
        raise SlackError("message_not_found")
    ephemeral = ws.ephemeral(channel, target.original_ts)
    if ephemeral is not None:
        ws.remove_ephemeral(channel, ephemeral)
    else:
        ws.delete(channel, ws.message(channel, target.original_ts))


def _replace_original(
    ws: Workspace, channel: Channel, ts: str, text: str, blocks: list[dict[str, Any]]
) -> Message | Ephemeral:
    original: Message | Ephemeral | None = ws.ephemeral(channel, ts)
    if original is None:
        original = ws.message(channel, ts)
    ws.replace(original, text=text, blocks=blocks)
    return original
