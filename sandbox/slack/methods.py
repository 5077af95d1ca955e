"""The Web API methods of the stand-in, each a function of the workspace and the call's args.

Every method returns the fields of a successful answer (``ok`` is added by the caller) or raises
:class:`~sandbox.slack.errors.SlackError` with the code Slack would return.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sandbox.slack.arguments import Args
from sandbox.slack.blocks import message_content, parse_blocks, stamp_ids
from sandbox.slack.errors import SlackError
from sandbox.slack.workspace import (
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    Message,
    Workspace,
    ts_key,
)

MAX_POST_TEXT = 40_000
MAX_UPDATE_TEXT = 4_000

Result = dict[str, Any]
Method = Callable[[Workspace, Args], Result]


def auth_test(ws: Workspace, args: Args) -> Result:  # noqa: ARG001 - uniform method signature
    """``auth.test``: who the token belongs to."""
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "user": BOT_NAME,
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def chat_post_message(ws: Workspace, args: Args) -> Result:
    """``chat.postMessage``: post to a channel or, with ``thread_ts``, into a thread."""
    channel = ws.channel(args.required("channel"))
    text, blocks = message_content(args.raw("text"), args.raw("blocks"), max_text=MAX_POST_TEXT)
    message = ws.post(
        channel, user=ws.bot, text=text, blocks=blocks, thread_ts=args.optional("thread_ts")
    )
    return {"channel": channel.id, "ts": message.ts, "message": message.to_api()}


def chat_update(ws: Workspace, args: Args) -> Result:
    """``chat.update``: change the text and/or blocks of one of the bot's messages."""
    channel = ws.channel(args.required("channel"))
    message = ws.message(channel, args.required("ts"))
    text, raw_blocks = args.optional("text"), args.raw("blocks")
    if text is None and raw_blocks is None:
        raise SlackError("no_text")
    if message.user != ws.bot.id:
        raise SlackError("cant_update_message")
    if text is not None and len(text) > MAX_UPDATE_TEXT:
        raise SlackError("msg_too_long")
    blocks = None if raw_blocks is None else stamp_ids(parse_blocks(raw_blocks))
    ws.edit(message, text=text, blocks=blocks, user=ws.bot)
    return {
        "channel": channel.id,
        "ts": message.ts,
        "text": message.text,
        "message": message.to_api(),
    }


def chat_post_ephemeral(ws: Workspace, args: Args) -> Result:
    """``chat.postEphemeral``: a message only one user in the channel sees."""
    channel = ws.channel(args.required("channel"))
    user = ws.user(args.required("user"))
    text, blocks = message_content(args.raw("text"), args.raw("blocks"), max_text=MAX_POST_TEXT)
    ephemeral = ws.post_ephemeral(channel, user=user, text=text, blocks=blocks)
    return {"message_ts": ephemeral.ts}


def conversations_list(ws: Workspace, args: Args) -> Result:
    """``conversations.list``: channels filtered by ``types``, paginated by cursor."""
    types = {kind.strip() for kind in (args.optional("types") or "public_channel").split(",")}
    exclude_archived = args.flag("exclude_archived")
    channels = [
        channel
        for channel in ws.channels.values()
        if ("private_channel" if channel.is_private else "public_channel") in types
        and not (exclude_archived and channel.is_archived)
    ]
    page, cursor = args.paginate(channels, default=100, maximum=1000)
    return {
        "channels": [channel.to_api(ws.member_count()) for channel in page],
        "response_metadata": {"next_cursor": cursor},
    }


def conversations_info(ws: Workspace, args: Args) -> Result:
    """``conversations.info``: one channel."""
    return {"channel": ws.channel(args.required("channel")).to_api(ws.member_count())}


def conversations_history(ws: Workspace, args: Args) -> Result:
    """``conversations.history``: top-level messages and thread parents, newest first."""
    channel = ws.channel(args.required("channel"))
    messages = _in_window(reversed(channel.messages), args)
    page, cursor = args.paginate(messages, default=100, maximum=999)
    return {
        "messages": [message.to_api() for message in page],
        "has_more": bool(cursor),
        "pin_count": 0,
        "response_metadata": {"next_cursor": cursor},
    }


def conversations_replies(ws: Workspace, args: Args) -> Result:
    """``conversations.replies``: a thread's parent first, then its replies oldest first."""
    channel = ws.channel(args.required("channel"))
    message = channel.index.get(args.required("ts"))
    if message is None:
        raise SlackError("thread_not_found")
    thread = [message] if message.thread_ts else [message, *message.replies]
    page, cursor = args.paginate(thread, default=1000, maximum=1000)
    return {
        "messages": [item.to_api() for item in page],
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


def users_info(ws: Workspace, args: Args) -> Result:
    """``users.info``: one member."""
    return {"user": ws.user(args.required("user")).to_api()}


def _in_window(messages: Iterable[Message], args: Args) -> list[Message]:
    oldest = _ts_arg(args, "oldest", "invalid_ts_oldest")
    latest = _ts_arg(args, "latest", "invalid_ts_latest")
    inclusive = args.flag("inclusive")

    def keep(message: Message) -> bool:
        key = ts_key(message.ts)
        after = oldest is None or key > oldest or (inclusive and key == oldest)
        before = latest is None or key < latest or (inclusive and key == latest)
        return after and before

    return [message for message in messages if keep(message)]


def _ts_arg(args: Args, name: str, error: str) -> int | None:
    value = args.optional(name)
    if value is None:
        return None
    try:
        return ts_key(value)
    except ValueError:
        raise SlackError(error) from None


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "conversations.history": conversations_history,
    "conversations.info": conversations_info,
    "conversations.list": conversations_list,
    "conversations.replies": conversations_replies,
    "users.info": users_info,
}
