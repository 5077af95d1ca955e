"""Block Kit text objects and interactive elements, checked against Slack's limits.

Limits (``shared/reference/slack.md`` §3.2): ``action_id`` 255, button text 75 and value 2000,
url 3000, placeholder 150, select options 100 (overflow 5), option text 75 and value 150,
confirm title/text/confirm/deny 100/300/30/30, ``plain_text_input`` lengths up to 3000.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.slack.errors import BlockKitError

MAX_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_PLACEHOLDER = 150
MAX_OPTIONS = 100
MAX_OVERFLOW_OPTIONS = 5
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_INPUT_LENGTH = 3000
CONFIRM_LIMITS = (("title", 100, True), ("text", 300, False), ("confirm", 30, True))
CONFIRM_DENY = 30

TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
STYLES = frozenset({"primary", "danger"})
# Elements a person fills in inside an ``input`` block, and those only allowed there.
INPUT_ELEMENTS = frozenset({"plain_text_input", "static_select", "users_select"})
INPUT_ONLY_ELEMENTS = frozenset({"plain_text_input"})

Element = dict[str, Any]


def check_id(obj: Element, key: str, pointer: str) -> None:
    """A ``block_id``/``action_id``/``callback_id``: absent, or a string of 1 to 255 characters."""
    value = obj.get(key)
    if value is None:
        return
    if not isinstance(value, str) or not value:
        raise BlockKitError("must be a non-empty string", f"{pointer}/{key}")
    if len(value) > MAX_ID:
        raise BlockKitError(f"must be less than {MAX_ID + 1} characters", f"{pointer}/{key}")


def check_text(obj: object, pointer: str, limit: int, *, plain_only: bool = False) -> None:
    """A text object of an allowed type whose text has 1 to ``limit`` characters."""
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


def check_string(obj: Element, key: str, pointer: str, limit: int) -> None:
    """An optional string field of at most ``limit`` characters."""
    value = obj.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise BlockKitError(f"must be a string under {limit + 1} characters", f"{pointer}/{key}")


def check_element(element: object, pointer: str, *, allowed: frozenset[str] | None) -> None:
    """An interactive element; ``allowed`` limits the types (None: any but input-only ones)."""
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        raise BlockKitError("must be an element object with a type", pointer)
    kind = element["type"]
    if allowed is not None and kind not in allowed:
        raise BlockKitError(f"must be one of {', '.join(sorted(allowed))}", f"{pointer}/type")
    if allowed is None and kind in INPUT_ONLY_ELEMENTS:
        raise BlockKitError(f"{kind} is only allowed in input blocks", f"{pointer}/type")
    check_id(element, "action_id", pointer)
    if element.get("placeholder") is not None:
        check_text(
            element["placeholder"], f"{pointer}/placeholder", MAX_PLACEHOLDER, plain_only=True
        )
    if element.get("confirm") is not None:
        _check_confirm(element["confirm"], f"{pointer}/confirm")
    validator = _ELEMENT_VALIDATORS.get(kind)
    if validator is not None:
        validator(element, pointer)


def _check_confirm(confirm: object, pointer: str) -> None:
    if not isinstance(confirm, dict):
        raise BlockKitError("must be a confirmation dialog object", pointer)
    for key, limit, plain_only in CONFIRM_LIMITS:
        check_text(confirm.get(key), f"{pointer}/{key}", limit, plain_only=plain_only)
    check_text(confirm.get("deny"), f"{pointer}/deny", CONFIRM_DENY, plain_only=True)
    if confirm.get("style") is not None and confirm["style"] not in STYLES:
        raise BlockKitError("must be one of primary, danger", f"{pointer}/style")


def _check_button(button: Element, pointer: str) -> None:
    check_text(button.get("text"), f"{pointer}/text", MAX_BUTTON_TEXT, plain_only=True)
    check_string(button, "value", pointer, MAX_BUTTON_VALUE)
    check_string(button, "url", pointer, MAX_URL)
    if button.get("style") is not None and button["style"] not in STYLES:
        raise BlockKitError("must be one of primary, danger", f"{pointer}/style")


def _check_options(element: Element, pointer: str, limit: int) -> list[Element]:
    options = element.get("options")
    if not isinstance(options, list) or not options or len(options) > limit:
        raise BlockKitError(f"must be an array of 1 to {limit} options", f"{pointer}/options")
    for index, option in enumerate(options):
        at = f"{pointer}/options/{index}"
        if not isinstance(option, dict):
            raise BlockKitError("must be an option object", at)
        check_text(option.get("text"), f"{at}/text", MAX_OPTION_TEXT, plain_only=True)
        if not isinstance(option.get("value"), str) or not option["value"]:
            raise BlockKitError("must be a non-empty string", f"{at}/value")
        check_string(option, "value", at, MAX_OPTION_VALUE)
        check_string(option, "url", at, MAX_URL)
    return options


def _check_static_select(select: Element, pointer: str) -> None:
    options = _check_options(select, pointer, MAX_OPTIONS)
    initial = select.get("initial_option")
    if initial is not None and initial not in options:
        raise BlockKitError("must match one of the options", f"{pointer}/initial_option")


def _check_overflow(overflow: Element, pointer: str) -> None:
    _check_options(overflow, pointer, MAX_OVERFLOW_OPTIONS)


def _check_users_select(select: Element, pointer: str) -> None:
    check_string(select, "initial_user", pointer, MAX_ID)


def _check_plain_text_input(field: Element, pointer: str) -> None:
    check_string(field, "initial_value", pointer, MAX_INPUT_LENGTH)
    for key, low in (("min_length", 0), ("max_length", 1)):
        value = field.get(key)
        if value is not None and (
            not isinstance(value, int) or not low <= value <= MAX_INPUT_LENGTH
        ):
            raise BlockKitError(
                f"must be an integer from {low} to {MAX_INPUT_LENGTH}", f"{pointer}/{key}"
            )


_ELEMENT_VALIDATORS: dict[str, Callable[[Element, str], None]] = {
    "button": _check_button,
    "static_select": _check_static_select,
    "overflow": _check_overflow,
    "users_select": _check_users_select,
    "plain_text_input": _check_plain_text_input,
}
