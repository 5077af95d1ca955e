"""``files.*``: the v2 upload flow (reserve, upload the bytes, complete and share) and info."""

from __future__ import annotations

import json
from typing import Any

from sandbox.slack.errors import SlackError
from sandbox.slack.methods.call import Call, Method, Result
from sandbox.slack.workspace import Channel

MAX_ALT_TEXT = 1000


def files_get_upload_url_external(call: Call) -> Result:
    """``files.getUploadURLExternal``: reserve a file id and name the URL to POST its bytes to."""
    args = call.args
    name = args.required("filename")
    try:
        length = int(args.required("length"))
    except ValueError:
        raise SlackError("invalid_arguments", "[ERROR] length must be an integer") from None
    if length <= 0:
        raise SlackError("missing_argument")
    alt_txt = args.optional("alt_txt")
    if alt_txt is not None and len(alt_txt) > MAX_ALT_TEXT:
        raise SlackError("alt_txt_too_large")
    file = call.state.files.reserve(
        name=name,
        length=length,
        created=int(call.ws.clock()),
        user=call.ws.bot.id,
        base_url=call.base_url,
        alt_txt=alt_txt,
        snippet_type=args.optional("snippet_type"),
    )
    return {"upload_url": f"{call.base_url}/_sandbox/upload/{file.id}", "file_id": file.id}


def files_complete_upload_external(call: Call) -> Result:
    """``files.completeUploadExternal``: finish uploads and share them in one message."""
    args, ws = call.args, call.ws
    items = _file_items(args.required_raw("files"))
    channel = _share_channel(call)
    files = [call.state.files.complete(file_id, title) for file_id, title in items]
    if channel is not None:
        message = ws.post(
            channel,
            user=ws.bot,
            text=args.optional("initial_comment") or "",
            blocks=[],
            thread_ts=args.optional("thread_ts"),
            files=files,
        )
        for file in files:
            file.share(channel.id, message.ts, message.thread_ts)
    return {"files": [file.to_api() for file in files]}


def files_info(call: Call) -> Result:
    """``files.info``: one completed file."""
    return {"file": call.state.files.get(call.args.required("file")).to_api()}


def _file_items(raw: Any) -> list[tuple[str, str | None]]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, list) or not raw or not all(_is_item(item) for item in raw):
        raise SlackError("invalid_arguments", "[ERROR] files must be a JSON array of {id, title}")
    return [(item["id"], item.get("title")) for item in raw]


def _is_item(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("id"), str)


def _share_channel(call: Call) -> Channel | None:
    ref = call.args.optional("channel_id") or next(iter(call.args.csv("channels")), None)
    if ref is None:
        return None
    try:
        return call.ws.channel(ref)
    except SlackError:
        raise SlackError("invalid_channel") from None


METHODS: dict[str, Method] = {
    "files.completeUploadExternal": files_complete_upload_external,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.info": files_info,
}
