"""Messages as Slack stores and renders them: channel messages, thread replies and ephemerals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.slack.files import File
from sandbox.slack.people import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID

Block = dict[str, Any]


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
    files: list[File] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
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
        if self.files:
            body |= {"files": [file.to_api() for file in self.files], "upload": True}
        if self.reactions:
            body["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in self.reactions.items()
            ]
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
