"""Selects, overflow menus, confirm dialogs and inputs in blocks, checked as Slack checks them."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.slack.blocks import MODAL, parse_blocks
from sandbox.slack.errors import BlockKitError


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": plain(text or value), "value": value}


CONFIRM = {
    "title": plain("Sure?"),
    "text": {"type": "mrkdwn", "text": "This *drains* the node."},
    "confirm": plain("Drain"),
    "deny": plain("Stop"),
    "style": "danger",
}
SELECT = {"type": "static_select", "action_id": "sev", "options": [option("p1"), option("p2")]}


def actions(*elements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "actions", "elements": list(elements)}]


def test_accepts_selects_overflow_confirm_and_users_select() -> None:
    blocks = actions(
        SELECT | {"confirm": CONFIRM, "initial_option": option("p2")},
        {"type": "overflow", "action_id": "more", "options": [option(str(i)) for i in range(5)]},
        {"type": "users_select", "action_id": "who", "placeholder": plain("Pick")},
        {"type": "datepicker", "action_id": "when"},  # not modelled, passed through as on Slack
    )
    assert len(parse_blocks(blocks)[0]["elements"]) == 4


def test_modal_inputs_are_accepted_in_modals_only() -> None:
    field = {
        "type": "input",
        "label": plain("Title"),
        "element": {"type": "plain_text_input", "action_id": "t", "max_length": 80},
    }
    assert parse_blocks([field], MODAL)[0]["type"] == "input"
    with pytest.raises(BlockKitError, match="only allowed in modals"):
        parse_blocks([field])


@pytest.mark.parametrize(
    ("element", "pointer"),
    [
        pytest.param(SELECT | {"options": []}, "/options", id="no-options"),
        pytest.param(SELECT | {"options": [option("x")] * 101}, "/options", id="101-options"),
        pytest.param(
            SELECT | {"options": [option("x" * 151, "X")]}, "/options/0/value", id="value"
        ),
        pytest.param(
            SELECT | {"options": [option("x", "y" * 76)]}, "/options/0/text/text", id="txt"
        ),
        pytest.param(SELECT | {"initial_option": option("p9")}, "/initial_option", id="initial"),
        pytest.param(SELECT | {"placeholder": plain("x" * 151)}, "/placeholder/text", id="ph"),
        pytest.param(
            {"type": "overflow", "action_id": "o", "options": [option("x")] * 6},
            "/options",
            id="overflow-6",
        ),
        pytest.param(SELECT | {"confirm": CONFIRM | {"deny": None}}, "/confirm/deny", id="deny"),
        pytest.param(
            SELECT | {"confirm": CONFIRM | {"title": plain("x" * 101)}},
            "/confirm/title/text",
            id="confirm-title",
        ),
        pytest.param(SELECT | {"confirm": CONFIRM | {"style": "loud"}}, "/confirm/style", id="cs"),
        pytest.param(
            {"type": "plain_text_input", "action_id": "t"}, "/type", id="input-outside-input"
        ),
    ],
)
def test_rejects_invalid_elements(element: dict[str, Any], pointer: str) -> None:
    with pytest.raises(BlockKitError) as caught:
        parse_blocks(actions(element))
    assert caught.value.messages[0].endswith(f"[json-pointer:/blocks/0/elements/0{pointer}]")


@pytest.mark.parametrize(
    ("element", "pointer"),
    [
        pytest.param({"type": "button", "text": plain("b")}, "/element/type", id="button-input"),
        pytest.param(
            {"type": "plain_text_input", "action_id": "t", "max_length": 3001},
            "/element/max_length",
            id="max-length",
        ),
        pytest.param(None, "/element", id="missing"),
    ],
)
def test_rejects_invalid_inputs_in_modals(element: dict[str, Any] | None, pointer: str) -> None:
    block = {"type": "input", "label": plain("L"), "element": element}
    with pytest.raises(BlockKitError) as caught:
        parse_blocks([block], MODAL)
    assert caught.value.code == "invalid_arguments"
    assert caught.value.messages[0].endswith(f"[json-pointer:/view/blocks/0{pointer}]")
