"""Block Kit validation: reject the blocks that Slack rejects, for messages and for modals.

The limits come from Slack's Block Kit reference (see ``shared/reference/slack.md`` §3.2): at
most 50 blocks in a message and 100 in a modal, section text 3000 characters, fields 10 x 2000,
header 150, input label and hint 2000, ``block_id`` 255. ``input`` blocks belong in modals only.
A message's bad blocks answer ``invalid_blocks``; a view's answer ``invalid_arguments``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.slack.elements import (
    INPUT_ELEMENTS,
    TEXT_TYPES,
    check_element,
    check_id,
    check_text,
)
from sandbox.slack.errors import BlockKitError, SlackError

MAX_POST_TEXT = 40_000
MAX_UPDATE_TEXT = 4_000
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_LABEL = 2000
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10

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

Block = dict[str, Any]


@dataclass(frozen=True)
class Surface:
    """Where blocks go: how many fit, whether inputs may appear, and how errors are named."""

    max_blocks: int
    allows_input: bool
    root: str
    code: str


MESSAGE = Surface(max_blocks=50, allows_input=False, root="/blocks", code="invalid_blocks")
MODAL = Surface(max_blocks=100, allows_input=True, root="/view/blocks", code="invalid_arguments")


def parse_blocks(raw: object, surface: Surface = MESSAGE) -> list[Block]:
    """Decode ``blocks`` as a client sends it (JSON text or a list) and validate it."""
    try:
        return _validate(raw, surface)
    except BlockKitError as error:
        raise BlockKitError(error.problem, error.pointer, code=surface.code) from None


def _validate(raw: object, surface: Surface) -> list[Block]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise BlockKitError("must be a JSON array of blocks", surface.root) from None
    if not isinstance(raw, list):
        raise BlockKitError("must be an array", surface.root)
    if len(raw) > surface.max_blocks:
        raise BlockKitError(f"no more than {surface.max_blocks} items allowed", surface.root)
    seen_ids: set[str] = set()
    for index, block in enumerate(raw):
        pointer = f"{surface.root}/{index}"
        _check_block(block, pointer, surface)
        block_id = block.get("block_id")
        if block_id is not None and block_id in seen_ids:
            raise BlockKitError(f"duplicate block_id {block_id!r}", f"{pointer}/block_id")
        if block_id is not None:
            seen_ids.add(block_id)
    return raw


def _check_block(block: object, pointer: str, surface: Surface) -> None:
    if not isinstance(block, dict):
        raise BlockKitError("must be an object", pointer)
    kind = block.get("type")
    if kind not in KNOWN_BLOCK_TYPES:
        raise BlockKitError(f"unknown block type {kind!r}", f"{pointer}/type")
    if kind == "input" and not surface.allows_input:
        raise BlockKitError("input blocks are only allowed in modals", f"{pointer}/type")
    check_id(block, "block_id", pointer)
    validator = _BLOCK_VALIDATORS.get(kind)
    if validator is not None:
        validator(block, pointer)


def _check_elements(block: Block, pointer: str, limit: int) -> list[Any]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        raise BlockKitError("must be a non-empty array", f"{pointer}/elements")
    if len(elements) > limit:
        raise BlockKitError(f"no more than {limit} items allowed", f"{pointer}/elements")
    return elements


def _check_section(block: Block, pointer: str) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and fields is None:
        raise BlockKitError("must provide text or fields", pointer)
    if text is not None:
        check_text(text, f"{pointer}/text", MAX_SECTION_TEXT)
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
            raise BlockKitError(f"must be an array of at most {MAX_FIELDS}", f"{pointer}/fields")
        for index, field in enumerate(fields):
            check_text(field, f"{pointer}/fields/{index}", MAX_FIELD_TEXT)
    if block.get("accessory") is not None:
        check_element(block["accessory"], f"{pointer}/accessory", allowed=None)


def _check_header(block: Block, pointer: str) -> None:
    check_text(block.get("text"), f"{pointer}/text", MAX_HEADER_TEXT, plain_only=True)


def _check_actions(block: Block, pointer: str) -> None:
    for index, element in enumerate(_check_elements(block, pointer, MAX_ACTIONS_ELEMENTS)):
        check_element(element, f"{pointer}/elements/{index}", allowed=None)


def _check_context(block: Block, pointer: str) -> None:
    for index, element in enumerate(_check_elements(block, pointer, MAX_CONTEXT_ELEMENTS)):
        if not isinstance(element, dict) or element.get("type") not in TEXT_TYPES | {"image"}:
            raise BlockKitError("must be a text or image element", f"{pointer}/elements/{index}")


def _check_input(block: Block, pointer: str) -> None:
    check_text(block.get("label"), f"{pointer}/label", MAX_LABEL, plain_only=True)
    check_element(block.get("element"), f"{pointer}/element", allowed=INPUT_ELEMENTS)
    if block.get("hint") is not None:
        check_text(block["hint"], f"{pointer}/hint", MAX_LABEL, plain_only=True)


_BLOCK_VALIDATORS: dict[str, Callable[[Block, str], None]] = {
    "actions": _check_actions,
    "context": _check_context,
    "header": _check_header,
    "input": _check_input,
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


def interactive_elements(block: Block) -> list[Block]:
    """The elements of a block a person can act on: actions' elements, an accessory, an input."""
    elements = list(block.get("elements", [])) if block.get("type") == "actions" else []
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            elements.append(block[key])
    return elements


def stamp_ids(blocks: list[Block]) -> list[Block]:
    """Add a ``block_id`` to each block and an ``action_id`` to each element, as Slack does."""
    for block in blocks:
        block.setdefault("block_id", secrets.token_hex(3))
        for element in interactive_elements(block):
            if element.get("type") != "image":
                element.setdefault("action_id", secrets.token_hex(3))
    return blocks
