"""In-memory Slack workspace: team, people, user groups, channels, DMs, messages and threads.

Message ``ts`` values are Slack-style strings (``"1732740000.000100"``): seconds since the
epoch with six decimals, unique and strictly increasing across the workspace. Every change the
UI shows bumps :attr:`Workspace.changes`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack.changes import Changes
from sandbox.slack.errors import SlackError
from sandbox.slack.files import File
from sandbox.slack.messages import Block, Ephemeral, Message
from sandbox.slack.people import (
    BOT,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_USERS,
    User,
    UserGroup,
    default_usergroups,
)

TEAM_NAME = "GPU Sandbox"
TEAM_DOMAIN = "gpu-sandbox"
DEFAULT_CHANNELS = ("gpu-alerts", "general")

_MICROS = 1_000_000


def slack_id(prefix: str, name: str) -> str:
    """Derive a stable Slack-looking id from a name (``gpu-alerts`` → ``C0GPUALERTS``)."""
    return prefix + "0" + re.sub(r"[^A-Z0-9]", "", name.upper())


def ts_key(ts: str) -> int:
    """Turn a ``ts`` string into integer microseconds for exact ordering."""
    seconds, _, micros = ts.partition(".")
    return int(seconds) * _MICROS + int((micros + "000000")[:6])


@dataclass
class Channel:
    """A public channel everyone is in, or a DM (``im_user``) between a person and the bot."""

    id: str
    name: str
    created: int
    im_user: str | None = None
    is_private: bool = False
    is_archived: bool = False
    messages: list[Message] = field(default_factory=list)
    index: dict[str, Message] = field(default_factory=dict)
    ephemerals: list[Ephemeral] = field(default_factory=list)

    def to_api(self, member_count: int) -> dict[str, Any]:
        """Render as Slack's conversation object (the short IM form for a DM)."""
        if self.im_user:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
                "is_open": True,
                "priority": 0,
            }
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
    """The team T0SANDBOX: its people, the gpuwarden bot, user groups, channels and DMs."""

    def __init__(
        self,
        *,
        channels: Sequence[str] = DEFAULT_CHANNELS,
        users: Sequence[User] = DEFAULT_USERS,
        clock: Callable[[], float] = time.time,
        changes: Changes | None = None,
    ) -> None:
        self.clock = clock
        self.changes = changes or Changes()
        self._last_micros = 0
        self.bot = BOT
        self.users = {user.id: user for user in [*users, BOT]}
        created = int(clock())
        self.channels = {
            slack_id("C", name): Channel(slack_id("C", name), name, created) for name in channels
        }
        self.usergroups = {group.id: group for group in default_usergroups(created)}

    def next_ts(self) -> str:
        """Return a fresh ``ts``, later than every one handed out before."""
        micros = max(int(self.clock() * _MICROS), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // _MICROS}.{micros % _MICROS:06d}"

    def channel(self, ref: str) -> Channel:
        """Find a channel or DM by id, or a channel by ``#name`` or ``name``."""
        if ref in self.channels:
            return self.channels[ref]
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if channel.name == name and not channel.im_user:
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

    def is_member(self, channel: Channel, user: User) -> bool:
        """Everyone is in every channel; a DM holds its person and the bot."""
        return channel.im_user is None or user.id in {channel.im_user, self.bot.id}

    def member_count(self, channel: Channel) -> int:
        """How many members ``channel`` has."""
        return 2 if channel.im_user else len(self.users)

    def open_im(self, user: User) -> tuple[Channel, bool]:
        """The DM between ``user`` and the bot, opened if needed; True if it was already open."""
        if user.is_bot:
            raise SlackError("cannot_dm_bot")
        im_id = slack_id("D", user.name)
        existing = im_id in self.channels
        if not existing:
            self.channels[im_id] = Channel(im_id, "", int(self.clock()), im_user=user.id)
            self.changes.bump("channel")
        return self.channels[im_id], existing

    def set_members(self, group: UserGroup, users: Sequence[str]) -> None:
        """Replace a user group's members, as ``usergroups.users.update`` does."""
        group.users = list(dict.fromkeys(users))
        group.updated, group.updated_by = int(self.clock()), self.bot.id
        self.changes.bump("usergroup")

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
        files: Sequence[File] = (),
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
            files=list(files),
        )
        (parent.replies if parent else channel.messages).append(message)
        channel.index[message.ts] = message
        self.changes.bump("message")
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
        self.changes.bump("message")

    def replace(self, item: Message | Ephemeral, *, text: str, blocks: list[Block]) -> None:
        """Swap a message's content without marking it edited (``replace_original``)."""
        item.text, item.blocks = text, blocks
        self.changes.bump("message")

    def delete(self, channel: Channel, message: Message) -> None:
        """Remove a message (and a parent's replies) from its channel."""
        if message.thread_ts:
            channel.index[message.thread_ts].replies.remove(message)
        else:
            channel.messages.remove(message)
        for gone in [message, *message.replies]:
            channel.index.pop(gone.ts, None)
        self.changes.bump("message")

    def react(self, message: Message, *, name: str, user: User) -> None:
        """Add ``user``'s ``:name:`` reaction to a message, once."""
        users = message.reactions.setdefault(name, [])
        if user.id in users:
            raise SlackError("already_reacted")
        users.append(user.id)
        self.changes.bump("reaction")

    def post_ephemeral(
        self, channel: Channel, *, user: User, text: str, blocks: list[Block]
    ) -> Ephemeral:
        """Store a message that only ``user`` sees in ``channel``."""
        ephemeral = Ephemeral(self.next_ts(), channel.id, user.id, text, blocks)
        channel.ephemerals.append(ephemeral)
        self.changes.bump("ephemeral")
        return ephemeral

    def ephemeral(self, channel: Channel, ts: str) -> Ephemeral | None:
        """Find an ephemeral message by ``ts``."""
        return next((item for item in channel.ephemerals if item.ts == ts), None)

    def remove_ephemeral(self, channel: Channel, ephemeral: Ephemeral) -> None:
        """Take an ephemeral message away (``delete_original`` on a response_url)."""
        channel.ephemerals.remove(ephemeral)
        self.changes.bump("ephemeral")
