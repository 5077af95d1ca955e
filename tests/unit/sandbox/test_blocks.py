"""Block Kit validation rejects what Slack rejects with invalid_blocks, and accepts the rest."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.slack.blocks import message_content, parse_blocks
from sandbox.slack.errors import BlockKitError, SlackError


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(**fields: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, **fields}


VALID = [
    {"type": "header", "text": {"type": "plain_text", "text": "P1 deepseek-v3 unavailable"}},
    section("*GPU XID 79* on `gpu-node-07`"),
    {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": "*Severity*\nP1"}],
        "accessory": button(action_id="incident.ack"),
    },
    {"type": "divider"},
    {"type": "actions", "elements": [button(action_id="a", style="primary", value="INC-1")]},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "INC-1"}]},
]


def test_accepts_common_blocks_as_a_list_and_as_json_text() -> None:
    assert len(parse_blocks(VALID)) == len(VALID)
    assert len(parse_blocks(json.dumps(VALID))) == len(VALID)


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        pytest.param("not json", "/blocks", id="not-json"),
        pytest.param({"type": "section"}, "/blocks", id="not-a-list"),
        pytest.param([section("x")] * 51, "/blocks", id="over-50-blocks"),
        pytest.param(["section"], "/blocks/0", id="block-not-an-object"),
        pytest.param([{"text": "x"}], "/blocks/0/type", id="no-type"),
        pytest.param([{"type": "carousel"}], "/blocks/0/type", id="unknown-type"),
        pytest.param([section("x" * 3001)], "/blocks/0/text/text", id="section-text-over-3000"),
        pytest.param([section("")], "/blocks/0/text/text", id="section-text-empty"),
        pytest.param([{"type": "section"}], "/blocks/0", id="section-without-text-or-fields"),
        pytest.param(
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "/blocks/0/fields",
            id="over-10-fields",
        ),
        pytest.param(
            [{**section("x"), "block_id": "b" * 256}], "/blocks/0/block_id", id="block-id-over-255"
        ),
        pytest.param(
            [{"type": "actions", "elements": [button(action_id="a" * 256)]}],
            "/blocks/0/elements/0/action_id",
            id="action-id-over-255",
        ),
        pytest.param(
            [{"type": "actions", "elements": [button(style="warning")]}],
            "/blocks/0/elements/0/style",
            id="unknown-button-style",
        ),
        pytest.param(
            [{"type": "actions", "elements": []}], "/blocks/0/elements", id="empty-actions"
        ),
        pytest.param(
            [{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}],
            "/blocks/0/text",
            id="header-not-plain-text",
        ),
        pytest.param(
            [{**section("a"), "block_id": "same"}, {**section("b"), "block_id": "same"}],
            "/blocks/1/block_id",
            id="duplicate-block-id",
        ),
    ],
)
def test_rejects_invalid_blocks_naming_the_json_pointer(blocks: object, pointer: str) -> None:
    with pytest.raises(BlockKitError) as caught:
        parse_blocks(blocks)
    assert caught.value.code == "invalid_blocks"
    assert caught.value.messages[0].endswith(f"[json-pointer:{pointer}]")


def test_accepts_exactly_50_blocks_and_3000_characters() -> None:
    assert len(parse_blocks([section("x" * 3000)] * 50)) == 50


def test_message_content_stamps_missing_block_and_action_ids() -> None:
    _, blocks = message_content(
        "fallback", [{"type": "actions", "elements": [button()]}], max_text=40_000
    )
    assert blocks[0]["block_id"]
    assert blocks[0]["elements"][0]["action_id"]


def test_message_content_keeps_given_ids() -> None:
    given = [{"type": "actions", "block_id": "approval", "elements": [button(action_id="ok")]}]
    _, blocks = message_content(None, given, max_text=40_000)
    assert (blocks[0]["block_id"], blocks[0]["elements"][0]["action_id"]) == ("approval", "ok")


@pytest.mark.parametrize(
    ("text", "blocks", "code"),
    [
        pytest.param(None, None, "no_text", id="nothing"),
        pytest.param("", "[]", "no_text", id="empty"),
        pytest.param("x" * 41, None, "msg_too_long", id="too-long"),
    ],
)
def test_message_content_errors(text: str | None, blocks: str | None, code: str) -> None:
    with pytest.raises(SlackError) as caught:
        message_content(text, blocks, max_text=40)
    assert caught.value.code == code
