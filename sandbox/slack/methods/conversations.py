"""``conversations.*``: list, read and open channels and DMs."""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.slack.arguments import Args
from sandbox.slack.errors import SlackError
from sandbox.slack.messages import Message
from sandbox.slack.methods.call import Call, Method, Result
from sandbox.slack.workspace import Channel, ts_key

MAX_DM_USERS = 8


def _kind(channel: Channel) -> str:
    if channel.im_user:
        return "im"
    return "private_channel" if channel.is_private else "public_channel"


def conversations_list(call: Call) -> Result:
    """``conversations.list``: channels and DMs filtered by ``types``, paginated by cursor."""
    ws, args = call.ws, call.args
    types = set(args.csv("types")) or {"public_channel"}
    exclude_archived = args.flag("exclude_archived")
    channels = [
        channel
        for channel in ws.channels.values()
        if _kind(channel) in types and not (exclude_archived and channel.is_archived)
    ]
    page, cursor = args.paginate(channels, default=100, maximum=1000)
    return {
        "channels": [channel.to_api(ws.member_count(channel)) for channel in page],
        "response_metadata": {"next_cursor": cursor},
    }


def conversations_info(call: Call) -> Result:
    """``conversations.info``: one channel or DM."""
    channel = call.ws.channel(call.args.required("channel"))
    return {"channel": channel.to_api(call.ws.member_count(channel))}


def conversations_open(call: Call) -> Result:
    """``conversations.open``: open (or resume) the bot's DM with one person.

    The sandbox holds 1:1 DMs only; several ``users`` (a group DM) are refused.
    """
    ws, args = call.ws, call.args
    channel_ref, users = args.optional("channel"), args.csv("users")
    if channel_ref is not None:
        channel, already_open = ws.channel(channel_ref), True
        if not channel.im_user:
            raise SlackError("method_not_supported_for_channel_type")
    elif not users:
        raise SlackError("users_list_not_supplied")
    elif len(users) > MAX_DM_USERS:
        raise SlackError("too_many_users")
    elif len(users) > 1:
        raise SlackError(
            "method_not_supported_for_channel_type", "[ERROR] the sandbox has 1:1 DMs only"
        )
    else:
        if users[0] not in ws.users:
            raise SlackError("user_not_found")
        channel, already_open = ws.open_im(ws.users[users[0]])
    body: Result = {"channel": {"id": channel.id}}
    if args.flag("return_im"):
        body["channel"] = channel.to_api(ws.member_count(channel))
    if already_open:
        body |= {"no_op": True, "already_open": True}
    return body


def conversations_history(call: Call) -> Result:
    """``conversations.history``: top-level messages and thread parents, newest first."""
    channel = call.ws.channel(call.args.required("channel"))
    messages = _in_window(reversed(channel.messages), call.args)
    page, cursor = call.args.paginate(messages, default=100, maximum=999)
    return {
        "messages": [message.to_api() for message in page],
        "has_more": bool(cursor),
        "pin_count": 0,
        "response_metadata": {"next_cursor": cursor},
    }


def conversations_replies(call: Call) -> Result:
    """``conversations.replies``: a thread's parent first, then its replies oldest first."""
    channel = call.ws.channel(call.args.required("channel"))
    message = channel.index.get(call.args.required("ts"))
    if message is None:
        raise SlackError("thread_not_found")
    thread = [message] if message.thread_ts else [message, *message.replies]
    page, cursor = call.args.paginate(thread, default=1000, maximum=1000)
    return {
        "messages": [item.to_api() for item in page],
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


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
    "conversations.history": conversations_history,
    "conversations.info": conversations_info,
    "conversations.list": conversations_list,
    "conversations.open": conversations_open,
    "conversations.replies": conversations_replies,
}
