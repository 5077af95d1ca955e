"""Block Kit validation: reject the blocks that Slack rejects with ``invalid_blocks``.

The limits come from Slack's Block Kit reference (see ``shared/reference/slack.md`` §3.2):
at most 50 blocks, section text 3000 characters, fields 10 x 2000, header 150, button text 75,
button value 2000, ``block_id``/``action_id`` 255.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from sandbox.slack.errors import BlockKitError, SlackError

MAX_BLOCKS = 50
MAX_ID = 255
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000

KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
BUTTON_STYLES = frozenset({"primary", "danger"})

Block = dict[str, Any]


def parse_blocks(raw: object) -> list[Block]:
    """Decode ``blocks`` as a client sends it (JSON text or a list) and validate it."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise BlockKitError("must be a JSON array of blocks", "/blocks") from exc
    if not isinstance(raw, list):
        raise BlockKitError("must be an array", "/blocks")
    if len(raw) > MAX_BLOCKS:
        raise BlockKitError(f"no more than {MAX_BLOCKS} items allowed", "/blocks")
    seen_ids: set[str] = set()
    for index, block in enumerate(raw):
        pointer = f"/blocks/{index}"
        _check_block(block, pointer)
        block_id = block.get("block_id")
        if block_id is not None and block_id in seen_ids:
            raise BlockKitError(f"duplicate block_id {block_id!r}", f"{pointer}/block_id")
        if block_id is not None:
            seen_ids.add(block_id)
    return raw


def _check_block(block: object, pointer: str) -> None:
    if not isinstance(block, dict):
        raise BlockKitError("must be an object", pointer)
    kind = block.get("type")
    if kind not in KNOWN_BLOCK_TYPES:
        raise BlockKitError(f"unknown block type {kind!r}", f"{pointer}/type")
    _check_id(block, "block_id", pointer)
    validator = _BLOCK_VALIDATORS.get(kind)
    if validator is not None:
        validator(block, pointer)


def _check_id(obj: Block, key: str, pointer: str) -> None:
    value = obj.get(key)
    if value is None:
        return
    if not isinstance(value, str) or not value:
        raise BlockKitError("must be a non-empty string", f"{pointer}/{key}")
    if len(value) > MAX_ID:
        raise BlockKitError(f"must be less than {MAX_ID + 1} characters", f"{pointer}/{key}")


def _check_text(obj: object, pointer: str, limit: int, *, plain_only: bool = False) -> None:
    allowed = {"plain_text"} if plain_only else TEXT_TYPES
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        raise BlockKitError(
            f"must be a text object of type {' or '.join(sorted(allowed))}", pointer
        )
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        raise BlockKitError("must be more than 0 characters", f"{pointer}/text")
    if len(text) > limit:
        raise BlockKitError(f"must be less than {limit + 1} characters", f"{pointer}/text")


def _check_elements(block: Block, pointer: str, limit: int) -> list[Any]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        raise BlockKitError("must be a non-empty array", f"{pointer}/elements")
    if len(elements) > limit:
        raise BlockKitError(f"no more than {limit} items allowed", f"{pointer}/elements")
    return elements


def _check_element(element: object, pointer: str) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        raise BlockKitError("must be an element object with a type", pointer)
    _check_id(element, "action_id", pointer)
    if element["type"] == "button":
        _check_button(element, pointer)


def _check_button(button: Block, pointer: str) -> None:
    _check_text(button.get("text"), f"{pointer}/text", MAX_BUTTON_TEXT, plain_only=True)
    for key, limit in (("value", MAX_BUTTON_VALUE), ("url", MAX_URL)):
        value = button.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise BlockKitError(
                f"must be a string under {limit + 1} characters", f"{pointer}/{key}"
            )
    style = button.get("style")
    if style is not None and style not in BUTTON_STYLES:
        raise BlockKitError("must be one of primary, danger", f"{pointer}/style")


def _check_section(block: Block, pointer: str) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and fields is None:
        raise BlockKitError("must provide text or fields", pointer)
    if text is not None:
        _check_text(text, f"{pointer}/text", MAX_SECTION_TEXT)
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
            raise BlockKitError(f"must be an array of at most {MAX_FIELDS}", f"{pointer}/fields")
        for index, field in enumerate(fields):
            _check_text(field, f"{pointer}/fields/{index}", MAX_FIELD_TEXT)
    if block.get("accessory") is not None:
        _check_element(block["accessory"], f"{pointer}/accessory")


def _check_header(block: Block, pointer: str) -> None:
    _check_text(block.get("text"), f"{pointer}/text", MAX_HEADER_TEXT, plain_only=True)


def _check_actions(block: Block, pointer: str) -> None:
    for index, element in enumerate(_check_elements(block, pointer, MAX_ACTIONS_ELEMENTS)):
        _check_element(element, f"{pointer}/elements/{index}")


def _check_context(block: Block, pointer: str) -> None:
    for index, element in enumerate(_check_elements(block, pointer, MAX_CONTEXT_ELEMENTS)):
        if not isinstance(element, dict) or element.get("type") not in TEXT_TYPES | {"image"}:
            raise BlockKitError("must be a text or image element", f"{pointer}/elements/{index}")


_BLOCK_VALIDATORS: dict[str, Callable[[Block, str], None]] = {
    "actions": _check_actions,
    "context": _check_context,
    "header": _check_header,
    "section": _check_section,
}


def message_content(text: object, blocks: object, *, max_text: int) -> tuple[str, list[Block]]:
    """Validate a message's ``text`` and ``blocks`` the way ``chat.postMessage`` does."""
    parsed = [] if blocks in (None, "") else parse_blocks(blocks)
    if text in (None, "") and not parsed:
        raise SlackError("no_text")
    body = "" if text is None else str(text)
    if len(body) > max_text:
        raise SlackError("msg_too_long")
    return body, stamp_ids(parsed)


def stamp_ids(blocks: list[Block]) -> list[Block]:
    """Add a ``block_id`` to each block and an ``action_id`` to each element, as Slack does."""
    for block in blocks:
        block.setdefault("block_id", secrets.token_hex(3))
        elements = block.get("elements", []) if block["type"] == "actions" else []
        accessory = block.get("accessory")
        for element in [*elements, *([accessory] if accessory else [])]:
            element.setdefault("action_id", secrets.token_hex(3))
    return blocks
