"""In-memory Slack workspace: team, users, channels, messages, threads and ephemerals.

Message ``ts`` values are Slack-style strings (``"1732740000.000100"``): seconds since the
epoch with six decimals, unique and strictly increasing across the workspace.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack.errors import SlackError

TEAM_ID = "T0SANDBOX"
TEAM_NAME = "GPU Sandbox"
TEAM_DOMAIN = "gpu-sandbox"
BOT_USER_ID = "U0GPUWARDEN"
BOT_ID = "B0GPUWARDEN"
BOT_NAME = "gpuwarden"
APP_ID = "A0GPUWARDEN"
DEFAULT_CHANNELS = ("gpu-alerts", "general")
DEFAULT_USERS = ("alice", "bob")

Block = dict[str, Any]
_MICROS = 1_000_000


def slack_id(prefix: str, name: str) -> str:
    """Derive a stable Slack-looking id from a name (``gpu-alerts`` → ``C0GPUALERTS``)."""
    return prefix + "0" + re.sub(r"[^A-Z0-9]", "", name.upper())


def ts_key(ts: str) -> int:
    """Turn a ``ts`` string into integer microseconds for exact ordering."""
    seconds, _, micros = ts.partition(".")
    return int(seconds) * _MICROS + int((micros + "000000")[:6])


@dataclass(frozen=True)
class User:
    """A workspace member."""

    id: str
    name: str
    real_name: str
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        """Render as Slack's user object."""
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.real_name,
            "is_bot": self.is_bot,
            "deleted": False,
            "profile": {"real_name": self.real_name, "display_name": self.name},
        }


@dataclass
class Message:
    """A channel message; a thread parent keeps its replies, oldest first."""

    ts: str
    channel_id: str
    user: str
    text: str
    blocks: list[Block]
    bot_id: str | None = None
    thread_ts: str | None = None
    parent_user_id: str | None = None
    edited: dict[str, str] | None = None
    replies: list[Message] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        """Render as Slack's message object."""
        body: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "user": self.user,
            "text": self.text,
            "team": TEAM_ID,
        }
        if self.bot_id:
            body |= {"bot_id": self.bot_id, "app_id": APP_ID}
        if self.blocks:
            body["blocks"] = self.blocks
        if self.edited:
            body["edited"] = self.edited
        if self.thread_ts:
            body |= {"thread_ts": self.thread_ts, "parent_user_id": self.parent_user_id}
        if self.replies:
            reply_users = list(dict.fromkeys(reply.user for reply in self.replies))
            body |= {
                "thread_ts": self.ts,
                "reply_count": len(self.replies),
                "reply_users": reply_users,
                "reply_users_count": len(reply_users),
                "latest_reply": self.replies[-1].ts,
            }
        return body


@dataclass
class Ephemeral:
    """A message only one user sees, as an app's slash-command answer or ``chat.postEphemeral``."""

    ts: str
    channel_id: str
    user: str
    text: str
    blocks: list[Block]

    def to_api(self) -> dict[str, Any]:
        """Render as a message marked ephemeral, sent by the bot, visible to ``user``."""
        body: dict[str, Any] = {
            "type": "message",
            "subtype": "ephemeral",
            "ts": self.ts,
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "visible_to": self.user,
            "text": self.text,
        }
        if self.blocks:
            body["blocks"] = self.blocks
        return body


@dataclass
class Channel:
    """A public channel every user (and the bot) belongs to."""

    id: str
    name: str
    created: int
    is_private: bool = False
    is_archived: bool = False
    messages: list[Message] = field(default_factory=list)
    index: dict[str, Message] = field(default_factory=dict)
    ephemerals: list[Ephemeral] = field(default_factory=list)

    def to_api(self, member_count: int) -> dict[str, Any]:
        """Render as Slack's conversation object."""
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_member": True,
            "created": self.created,
            "creator": BOT_USER_ID,
            "num_members": member_count,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


class Workspace:
    """The team T0SANDBOX: its users, the gpuwarden bot, channels and their messages."""

    def __init__(
        self,
        *,
        channels: Sequence[str] = DEFAULT_CHANNELS,
        users: Sequence[str] = DEFAULT_USERS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._last_micros = 0
        self.bot = User(BOT_USER_ID, BOT_NAME, BOT_NAME, is_bot=True)
        humans = [User(slack_id("U", name), name, name.capitalize()) for name in users]
        self.users = {user.id: user for user in [*humans, self.bot]}
        created = int(clock())
        self.channels = {
            slack_id("C", name): Channel(slack_id("C", name), name, created) for name in channels
        }

    def next_ts(self) -> str:
        """Return a fresh ``ts``, later than every one handed out before."""
        micros = max(int(self._clock() * _MICROS), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // _MICROS}.{micros % _MICROS:06d}"

    def channel(self, ref: str) -> Channel:
        """Find a channel by id, ``#name`` or ``name``."""
        if ref in self.channels:
            return self.channels[ref]
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        raise SlackError("channel_not_found")

    def user(self, ref: str) -> User:
        """Find a user by id or name."""
        if ref in self.users:
            return self.users[ref]
        for user in self.users.values():
            if user.name == ref.removeprefix("@"):
                return user
        raise SlackError("user_not_found")

    def message(self, channel: Channel, ts: str) -> Message:
        """Find a message or thread reply by ``ts``."""
        try:
            return channel.index[ts]
        except KeyError:
            raise SlackError("message_not_found") from None

    def post(
        self,
        channel: Channel,
        *,
        user: User,
        text: str,
        blocks: list[Block],
        thread_ts: str | None = None,
    ) -> Message:
        """Store a new message, or a thread reply when ``thread_ts`` names a message."""
        parent = None
        if thread_ts:
            parent = channel.index.get(thread_ts)
            if parent is None:
                raise SlackError("thread_not_found")
            if parent.thread_ts:
                parent = channel.index[parent.thread_ts]
        message = Message(
            ts=self.next_ts(),
            channel_id=channel.id,
            user=user.id,
            text=text,
            blocks=blocks,
            bot_id=BOT_ID if user.is_bot else None,
            thread_ts=parent.ts if parent else None,
            parent_user_id=parent.user if parent else None,
        )
        (parent.replies if parent else channel.messages).append(message)
        channel.index[message.ts] = message
        return message

    def edit(
        self, message: Message, *, text: str | None, blocks: list[Block] | None, user: User
    ) -> None:
        """Change a message's text and/or blocks and mark it edited."""
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = blocks
        message.edited = {"user": user.id, "ts": self.next_ts()}

    def post_ephemeral(
        self, channel: Channel, *, user: User, text: str, blocks: list[Block]
    ) -> Ephemeral:
        """Store a message that only ``user`` sees in ``channel``."""
        ephemeral = Ephemeral(self.next_ts(), channel.id, user.id, text, blocks)
        channel.ephemerals.append(ephemeral)
        return ephemeral

    def ephemeral(self, channel: Channel, ts: str) -> Ephemeral | None:
        """Find an ephemeral message by ``ts``."""
        return next((item for item in channel.ephemerals if item.ts == ts), None)

    def member_count(self) -> int:
        """Count the members of every channel (all users are in all channels)."""
        return len(self.users)

    def delete(self, channel: Channel, message: Message) -> None:
        """Remove a message (and a parent's replies) from its channel."""
        if message.thread_ts:
            channel.index[message.thread_ts].replies.remove(message)
        else:
            channel.messages.remove(message)
        for gone in [message, *message.replies]:
            channel.index.pop(gone.ts, None)
