"""Errors the Slack stand-in reports the way Slack does.

Error tree::

    SlackError            an ``{"ok": false, "error": code}`` answer of the Web API
    └── BlockKitError     blocks that Slack would reject (``invalid_blocks``)
    NotFound              an automation request names a user, channel, message or button
                          that does not exist (HTTP 404 from ``/_sandbox/…``)
"""

from __future__ import annotations


class SlackError(Exception):
    """A Web API failure carrying Slack's error code and optional detail messages."""

    def __init__(self, code: str, *messages: str) -> None:
        super().__init__(code, *messages)
        self.code = code
        self.messages = list(messages)

    def to_body(self) -> dict[str, object]:
        """Render the failure as Slack's JSON answer."""
        body: dict[str, object] = {"ok": False, "error": self.code}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


class BlockKitError(SlackError):
    """Blocks that break a Block Kit rule; the message names the JSON pointer."""

    def __init__(self, problem: str, pointer: str) -> None:
        super().__init__("invalid_blocks", f"[ERROR] {problem} [json-pointer:{pointer}]")


class NotFound(Exception):
    """An automation request named something the workspace does not hold."""
