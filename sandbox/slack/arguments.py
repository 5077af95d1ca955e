"""Web API arguments as Slack reads them: form fields, JSON values or query parameters."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sandbox.slack.errors import SlackError

T = TypeVar("T")
_CURSOR_PREFIX = "offset:"


class Args:
    """One call's arguments with Slack's coercions (``"true"``/``"1"``, numeric strings)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def raw(self, name: str) -> Any:
        """Return the value as sent, or None when absent or empty."""
        value = self._values.get(name)
        return None if value in (None, "") else value

    def optional(self, name: str) -> str | None:
        """Return the value as a string, or None when absent or empty."""
        value = self.raw(name)
        return None if value is None else str(value)

    def required(self, name: str) -> str:
        """Return the value as a string, or fail with ``invalid_arguments``."""
        return str(self.required_raw(name))

    def required_raw(self, name: str) -> Any:
        """Return the value as sent (JSON text or a decoded object), or fail as ``required``."""
        value = self.raw(name)
        if value is None:
            raise SlackError("invalid_arguments", f"[ERROR] missing required field: {name}")
        return value

    def csv(self, name: str) -> list[str]:
        """Read a comma-separated list (``"U1,U2"``) or a JSON array; empty when absent."""
        value = self.raw(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]

    def flag(self, name: str) -> bool:
        """Read a boolean sent as ``true``/``1`` (form) or ``true`` (JSON)."""
        return str(self.raw(name)).lower() in {"true", "1"}

    def limit(self, *, default: int, maximum: int) -> int:
        """Read ``limit``, clamped to Slack's maximum for the method."""
        value = self.optional("limit")
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SlackError("invalid_limit") from None
        return default if number <= 0 else min(number, maximum)

    def paginate(self, items: Sequence[T], *, default: int, maximum: int) -> tuple[list[T], str]:
        """Cut the page that ``cursor`` and ``limit`` select; return it and the next cursor."""
        offset = _decode_cursor(self.optional("cursor"))
        end = offset + self.limit(default=default, maximum=maximum)
        next_cursor = _encode_cursor(end) if end < len(items) else ""
        return list(items[offset:end]), next_cursor


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        decoded = base64.b64decode(cursor, validate=True).decode()
        offset = (
            int(decoded.removeprefix(_CURSOR_PREFIX)) if decoded.startswith(_CURSOR_PREFIX) else -1
        )
    except (binascii.Error, UnicodeDecodeError, ValueError):
        offset = -1
    if offset < 0:
        raise SlackError("invalid_cursor")
    return offset
