"""Files of the v2 upload flow: reserved, then uploaded to ``upload_url``, then completed.

``files.getUploadURLExternal`` reserves a file id; the client POSTs the raw bytes to the upload
URL; ``files.completeUploadExternal`` gives the file its title and shares it into a channel or
thread. Uploaded bytes are served at ``url_private`` (inline, under a sandboxing CSP) and
``url_private_download`` (as an attachment).
"""

from __future__ import annotations

import mimetypes
import secrets
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from sandbox.slack.errors import NotFound, SlackError
from sandbox.slack.people import TEAM_ID

# Slack's ``filetype`` for the extensions gpuwarden exports; others use the extension itself.
FILETYPES = {"md": "markdown", "txt": "text", "htm": "html", "yml": "yaml"}


@dataclass(frozen=True)
class Share:
    """Where a file was shared: a channel message, maybe inside a thread."""

    channel_id: str
    ts: str
    thread_ts: str | None


@dataclass
class File:
    """One file, from reservation to its shares."""

    id: str
    name: str
    length: int
    created: int
    user: str
    base_url: str
    alt_txt: str | None = None
    snippet_type: str | None = None
    title: str = ""
    content: bytes | None = None
    completed: bool = False
    shares: list[Share] = field(default_factory=list)

    @property
    def mimetype(self) -> str:
        """The media type guessed from the name (``application/octet-stream`` when unknown)."""
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"

    @property
    def url_private(self) -> str:
        """Where the bytes are served inline."""
        return f"{self.base_url}/_sandbox/files/{self.id}/{quote(self.name)}"

    def share(self, channel_id: str, ts: str, thread_ts: str | None) -> None:
        """Record that the message ``ts`` in ``channel_id`` carries this file."""
        self.shares.append(Share(channel_id, ts, thread_ts))

    def to_api(self) -> dict[str, Any]:
        """Render as Slack's file object."""
        extension = PurePath(self.name).suffix.lstrip(".").lower()
        public: dict[str, list[dict[str, Any]]] = {}
        for share in self.shares:
            entry: dict[str, Any] = {"ts": share.ts, "reply_count": 0}
            if share.thread_ts:
                entry["thread_ts"] = share.thread_ts
            public.setdefault(share.channel_id, []).append(entry)
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": self.mimetype,
            "filetype": FILETYPES.get(extension, extension or "binary"),
            "user": self.user,
            "user_team": TEAM_ID,
            "size": len(self.content) if self.content is not None else self.length,
            "mode": "hosted",
            "is_external": False,
            "is_public": bool(self.shares),
            "alt_txt": self.alt_txt,
            "url_private": self.url_private,
            "url_private_download": f"{self.url_private}?download=1",
            "permalink": self.url_private,
            "channels": list(public),
            "groups": [],
            "ims": [],
            "shares": {"public": public} if public else {},
            "file_access": "visible",
        }


class Files:
    """Every file of the workspace, by id, in upload order."""

    def __init__(self) -> None:
        self.by_id: dict[str, File] = {}

    def reserve(self, **fields: Any) -> File:
        """Hand out a new file id for an upload of ``fields`` (name, length, user …)."""
        file = File(id="F0" + secrets.token_hex(5).upper(), **fields)
        self.by_id[file.id] = file
        return file

    def receive(self, file_id: str, content: bytes) -> File:
        """Store the bytes POSTed to a file's upload URL."""
        file = self.by_id.get(file_id)
        if file is None or file.completed:
            raise NotFound(f"no upload pending for file {file_id}")
        file.content = content
        return file

    def complete(self, file_id: str, title: str | None) -> File:
        """Finish an upload; fail as Slack does when the id is unknown or no bytes came."""
        file = self.by_id.get(file_id)
        if file is None or file.content is None:
            raise SlackError("file_not_found")
        file.completed = True
        file.title = title or file.name
        return file

    def get(self, file_id: str) -> File:
        """A completed file, for ``files.info`` and downloads."""
        file = self.by_id.get(file_id)
        if file is None or not file.completed:
            raise SlackError("file_not_found")
        return file
