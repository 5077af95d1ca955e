"""``chat.*`` and ``reactions.add``: post, update, delete and react to messages."""

from __future__ import annotations

import re

from sandbox.slack.blocks import (
    MAX_POST_TEXT,
    MAX_UPDATE_TEXT,
    message_content,
    parse_blocks,
    stamp_ids,
)
from sandbox.slack.errors import SlackError
from sandbox.slack.methods.call import Call, Method, Result
from sandbox.slack.workspace import Channel, Workspace, ts_key

REACTION_NAME = re.compile(r"^[a-z0-9_+'-]+$")


def conversation(ws: Workspace, ref: str) -> Channel:
    """The channel ``ref`` names; a person's user id names the DM with them, as on Slack."""
    if ref in ws.users and not ws.users[ref].is_bot:
        return ws.open_im(ws.users[ref])[0]
    return ws.channel(ref)


def chat_post_message(call: Call) -> Result:
    """``chat.postMessage``: post to a channel or DM or, with ``thread_ts``, into a thread."""
    ws, args = call.ws, call.args
    channel = conversation(ws, args.required("channel"))
    text, blocks = message_content(args.raw("text"), args.raw("blocks"), max_text=MAX_POST_TEXT)
    message = ws.post(
        channel, user=ws.bot, text=text, blocks=blocks, thread_ts=args.optional("thread_ts")
    )
    return {"channel": channel.id, "ts": message.ts, "message": message.to_api()}


def chat_update(call: Call) -> Result:
    """``chat.update``: change the text and/or blocks of one of the bot's messages."""
    ws, args = call.ws, call.args
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


def chat_delete(call: Call) -> Result:
    """``chat.delete``: remove one of the bot's messages (a parent takes its replies along)."""
    ws, args = call.ws, call.args
    channel = ws.channel(args.required("channel"))
    message = ws.message(channel, args.required("ts"))
    if message.user != ws.bot.id:
        raise SlackError("cant_delete_message")
    ws.delete(channel, message)
    return {"channel": channel.id, "ts": message.ts}


def chat_post_ephemeral(call: Call) -> Result:
    """``chat.postEphemeral``: a message only one member of the channel sees."""
    ws, args = call.ws, call.args
    channel = ws.channel(args.required("channel"))
    user = ws.user(args.required("user"))
    text, blocks = message_content(args.raw("text"), args.raw("blocks"), max_text=MAX_POST_TEXT)
    if not ws.is_member(channel, user):
        raise SlackError("user_not_in_channel")
    ephemeral = ws.post_ephemeral(channel, user=user, text=text, blocks=blocks)
    return {"message_ts": ephemeral.ts}


def reactions_add(call: Call) -> Result:
    """``reactions.add``: the bot reacts to a message with ``:name:``."""
    ws, args = call.ws, call.args
    name = args.required("name")
    channel_ref, ts = args.optional("channel"), args.optional("timestamp")
    if channel_ref is None or ts is None:
        raise SlackError("no_item_specified")
    if not REACTION_NAME.match(name):
        raise SlackError("invalid_name")
    try:
        ts_key(ts)
    except ValueError:
        raise SlackError("bad_timestamp") from None
    channel = ws.channel(channel_ref)
    ws.react(ws.message(channel, ts), name=name, user=ws.bot)
    return {}


METHODS: dict[str, Method] = {
    "chat.delete": chat_delete,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "reactions.add": reactions_add,
}
