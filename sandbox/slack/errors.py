"""Errors the Slack stand-in reports the way Slack does.

Error tree::

    SlackError            an ``{"ok": false, "error": code}`` answer of the Web API
    └── BlockKitError     blocks or views that Slack would reject, naming the JSON pointer
    NotFound              an automation request names a user, channel, message, element or view
                          that does not exist (HTTP 404 from ``/_sandbox/…``)
    InvalidInput          an automation request a person could not make in Slack's client, such
                          as an option that is not offered or an empty required field (HTTP 422)
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
    """Blocks or a view that break a Block Kit rule; the message names the JSON pointer.

    Messages answer ``invalid_blocks``; views answer ``invalid_arguments``, as on Slack.
    """

    def __init__(self, problem: str, pointer: str, *, code: str = "invalid_blocks") -> None:
        super().__init__(code, f"[ERROR] {problem} [json-pointer:{pointer}]")
        self.problem = problem
        self.pointer = pointer


class NotFound(Exception):
    """An automation request named something the workspace does not hold."""


class InvalidInput(Exception):
    """An automation request that Slack's client would not let a person make."""
