"""Modal view payloads: what ``views.open/update/push`` accept, and the state a submission reports.

A view is validated as Slack does (``invalid_arguments`` naming the JSON pointer, and
``view_too_large`` above 250 kB): type ``modal``, title and submit/close 1-24 characters,
``callback_id``/``external_id`` 255, ``private_metadata`` 3000, 1-100 blocks, and a ``submit``
button whenever the view has input blocks.

``state.values`` is shaped as on Slack: ``{block_id: {action_id: {type, value |
selected_option | selected_user}}}`` with one entry, possibly null, for every input element.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from sandbox.slack.blocks import MODAL, Block, parse_blocks, stamp_ids
from sandbox.slack.elements import check_id, check_text
from sandbox.slack.errors import BlockKitError, InvalidInput, SlackError

MAX_VIEW_BYTES = 250_000
MAX_TITLE = 24
MAX_PRIVATE_METADATA = 3000
VIEW_FIELDS = (
    "type",
    "title",
    "blocks",
    "close",
    "submit",
    "private_metadata",
    "callback_id",
    "external_id",
    "clear_on_close",
    "notify_on_close",
)

View = dict[str, Any]


def parse_view(raw: object) -> View:
    """Decode and validate a modal view; return its definition with ids stamped."""
    if isinstance(raw, str):
        if len(raw.encode()) > MAX_VIEW_BYTES:
            raise SlackError("view_too_large")
        try:
            raw = json.loads(raw)
        except ValueError:
            raise _invalid("must be a JSON object", "/view") from None
    if not isinstance(raw, dict):
        raise _invalid("must be a JSON object", "/view")
    if len(json.dumps(raw).encode()) > MAX_VIEW_BYTES:
        raise SlackError("view_too_large")
    try:
        _check_view(raw)
    except BlockKitError as error:
        raise _invalid(error.problem, error.pointer) from None
    blocks = stamp_ids(parse_blocks(raw.get("blocks"), MODAL))
    if any(block["type"] == "input" for block in blocks) and raw.get("submit") is None:
        raise _invalid("must provide submit when the view has input blocks", "/view/submit")
    return {key: raw[key] for key in VIEW_FIELDS if key in raw} | {"blocks": blocks}


def _check_view(raw: dict[str, Any]) -> None:
    if raw.get("type") != "modal":
        raise BlockKitError("must be modal", "/view/type")
    check_text(raw.get("title"), "/view/title", MAX_TITLE, plain_only=True)
    for key in ("submit", "close"):
        if raw.get(key) is not None:
            check_text(raw[key], f"/view/{key}", MAX_TITLE, plain_only=True)
    for key in ("callback_id", "external_id"):
        check_id(raw, key, "/view")
    metadata = raw.get("private_metadata")
    if metadata is not None and (
        not isinstance(metadata, str) or len(metadata) > MAX_PRIVATE_METADATA
    ):
        raise BlockKitError(
            f"must be a string under {MAX_PRIVATE_METADATA + 1} characters",
            "/view/private_metadata",
        )
    if not isinstance(raw.get("blocks"), list) or not raw["blocks"]:
        raise BlockKitError("must be a non-empty array", "/view/blocks")


def _invalid(problem: str, pointer: str) -> BlockKitError:
    return BlockKitError(problem, pointer, code="invalid_arguments")


def inputs(blocks: list[Block]) -> Iterator[tuple[Block, Block]]:
    """Each input block of a view with its element."""
    for block in blocks:
        if block.get("type") == "input":
            yield block, block["element"]


def selection(element: Block, value: str | None, people: Mapping[str, Any]) -> dict[str, Any]:
    """The state of ``element`` once a person entered or chose ``value`` (None: nothing).

    Raises:
        InvalidInput: the value is not one the element offers.
    """
    kind = element["type"]
    if kind in {"static_select", "overflow"}:
        option = None if value is None else _option(element, value)
        return {"type": kind, "selected_option": option}
    if kind == "users_select":
        if value is not None and value not in people:
            raise InvalidInput(f"{value!r} is not a member of the workspace")
        return {"type": kind, "selected_user": value}
    if kind == "plain_text_input":
        return {"type": kind, "value": value}
    raise InvalidInput(f"{kind} elements cannot be filled in")


def _option(element: Block, value: str) -> Block:
    for option in element.get("options", []):
        if option.get("value") == value:
            return dict(option)
    offered = ", ".join(repr(option.get("value")) for option in element.get("options", []))
    raise InvalidInput(f"{value!r} is not one of the options ({offered})")


def initial_value(element: Block) -> str | None:
    """What an input shows before anyone touches it."""
    kind = element["type"]
    if kind == "static_select":
        option = element.get("initial_option")
        return None if option is None else str(option["value"])
    key = "initial_user" if kind == "users_select" else "initial_value"
    value = element.get(key)
    return None if value in (None, "") else str(value)


def submitted_values(
    blocks: list[Block], entered: Mapping[str, Mapping[str, str | None]], people: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Build ``state.values`` from what a person ``entered`` (``{block_id: {action_id: value}}``).

    Inputs left out keep their initial value.

    Raises:
        InvalidInput: an unknown input, a value not offered, or an empty required input.
    """
    known = {(block["block_id"], element["action_id"]) for block, element in inputs(blocks)}
    for block_id, fields in entered.items():
        for action_id in fields:
            if (block_id, action_id) not in known:
                raise InvalidInput(f"the view has no input {block_id}/{action_id}")
    values: dict[str, dict[str, Any]] = {}
    for block, element in inputs(blocks):
        block_id, action_id = block["block_id"], element["action_id"]
        fields = entered.get(block_id, {})
        value = fields[action_id] if action_id in fields else initial_value(element)
        value = value or None
        if value is None and not block.get("optional", False):
            raise InvalidInput(f"the required input {block_id}/{action_id} is empty")
        values.setdefault(block_id, {})[action_id] = selection(element, value, people)
    return values


def input_block_ids(blocks: list[Block]) -> set[str]:
    """The ids of a view's input blocks, the only ones ``response_action: errors`` may name."""
    return {str(block["block_id"]) for block, _ in inputs(blocks)}
