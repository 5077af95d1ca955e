"""Modal views: what Slack accepts, and the state.values a submission reports."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.slack.errors import InvalidInput, SlackError
from sandbox.slack.viewspec import input_block_ids, parse_view, submitted_values

PEOPLE = {"U0ALICE": object(), "U0BOB": object()}


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


SEVERITY = {
    "type": "static_select",
    "action_id": "severity",
    "options": [{"text": plain("P1"), "value": "p1"}, {"text": plain("P2"), "value": "p2"}],
    "initial_option": {"text": plain("P2"), "value": "p2"},
}
VIEW: dict[str, Any] = {
    "type": "modal",
    "title": plain("Declare incident"),
    "submit": plain("Declare"),
    "blocks": [
        {"type": "section", "text": plain("Fill in")},
        {
            "type": "input",
            "block_id": "title",
            "label": plain("Title"),
            "element": {"type": "plain_text_input", "action_id": "title"},
        },
        {"type": "input", "block_id": "severity", "label": plain("Severity"), "element": SEVERITY},
        {
            "type": "input",
            "block_id": "commander",
            "optional": True,
            "label": plain("Commander"),
            "element": {"type": "users_select", "action_id": "commander"},
        },
    ],
}


def test_accepts_a_modal_as_an_object_or_json_text() -> None:
    assert parse_view(VIEW)["title"] == plain("Declare incident")
    parsed = parse_view(json.dumps(VIEW))
    assert parsed["blocks"][0]["block_id"]  # ids stamped, as Slack does
    assert input_block_ids(parsed["blocks"]) == {"title", "severity", "commander"}


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        pytest.param({"type": "home"}, "/view/type", id="home"),
        pytest.param({"title": plain("x" * 25)}, "/view/title/text", id="title"),
        pytest.param({"close": plain("x" * 25)}, "/view/close/text", id="close"),
        pytest.param({"submit": None}, "/view/submit", id="inputs-need-submit"),
        pytest.param({"private_metadata": "x" * 3001}, "/view/private_metadata", id="metadata"),
        pytest.param({"callback_id": "x" * 256}, "/view/callback_id", id="callback-id"),
        pytest.param({"blocks": []}, "/view/blocks", id="no-blocks"),
        pytest.param({"blocks": [{"type": "divider"}] * 101}, "/view/blocks", id="101-blocks"),
        pytest.param(
            {"blocks": [{"type": "input", "label": plain("x"), "element": {"type": "datepicker"}}]},
            "/view/blocks/0/element/type",
            id="unsupported-input",
        ),
    ],
)
def test_refuses_what_slack_refuses(change: dict[str, Any], pointer: str) -> None:
    raw = {key: value for key, value in (VIEW | change).items() if value is not None}
    with pytest.raises(SlackError) as caught:
        parse_view(raw)
    assert caught.value.code == "invalid_arguments"
    assert f"[json-pointer:{pointer}]" in caught.value.messages[0]


@pytest.mark.parametrize("raw", ["not json", "[1]", 42])
def test_refuses_what_is_not_a_view_object(raw: object) -> None:
    with pytest.raises(SlackError, match="invalid_arguments"):
        parse_view(raw)


def test_refuses_views_over_250_kb() -> None:
    huge = VIEW | {
        "private_metadata": "",
        "blocks": [{"type": "divider", "block_id": "x" * 250_001}],
    }
    with pytest.raises(SlackError, match="view_too_large"):
        parse_view(json.dumps(huge))


def test_state_values_are_shaped_like_slack_with_initial_values_kept() -> None:
    blocks = parse_view(VIEW)["blocks"]
    values = submitted_values(blocks, {"title": {"title": "GPU 3 lost"}}, PEOPLE)
    assert values == {
        "title": {"title": {"type": "plain_text_input", "value": "GPU 3 lost"}},
        "severity": {
            "severity": {"type": "static_select", "selected_option": SEVERITY["initial_option"]}
        },
        "commander": {"commander": {"type": "users_select", "selected_user": None}},
    }


@pytest.mark.parametrize(
    ("entered", "detail"),
    [
        pytest.param({}, "required input title/title is empty", id="required"),
        pytest.param({"title": {"title": ""}}, "required input title/title is empty", id="blank"),
        pytest.param({"title": {"nope": "x"}}, "no input title/nope", id="unknown"),
        pytest.param(
            {"title": {"title": "x"}, "severity": {"severity": "p9"}}, "'p9' is not", id="option"
        ),
        pytest.param(
            {"title": {"title": "x"}, "commander": {"commander": "U0X"}}, "not a member", id="user"
        ),
    ],
)
def test_refuses_entries_a_person_could_not_make(
    entered: dict[str, dict[str, str]], detail: str
) -> None:
    blocks = parse_view(VIEW)["blocks"]
    with pytest.raises(InvalidInput, match=detail):
        submitted_values(blocks, entered, PEOPLE)
