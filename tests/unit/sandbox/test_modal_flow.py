"""What the app's ack to a view_submission does to the modal, as on Slack."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.slack.changes import Changes
from sandbox.slack.modal_flow import settle_submission
from sandbox.slack.modals import Modals, OpenView
from sandbox.slack.signing import Delivery
from sandbox.slack.viewspec import parse_view

VIEW = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Declare"},
    "submit": {"type": "plain_text", "text": "Go"},
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "title"},
        }
    ],
}


def stacked(depth: int) -> tuple[Modals, list[OpenView]]:
    modals = Modals(Changes())
    views = [modals.open("U0ALICE", parse_view(VIEW))]
    views += [modals.push("U0ALICE", parse_view(VIEW)) for _ in range(depth - 1)]
    return modals, views


def ack(body: dict[str, Any] | None = None, status: int = 200) -> Delivery:
    if body is None:
        return Delivery(status)
    return Delivery(status, json.dumps(body), "application/json")


def test_an_empty_ack_closes_only_the_submitted_view() -> None:
    modals, (root, top) = stacked(2)
    outcome = settle_submission(modals, top, ack())
    assert (outcome["response_action"], outcome["error"]) == (None, None)
    assert modals.stack("U0ALICE") == [root]


def test_clear_closes_the_whole_stack() -> None:
    modals, (_, top) = stacked(2)
    settle_submission(modals, top, ack({"response_action": "clear"}))
    assert modals.stack("U0ALICE") == []


def test_errors_are_shown_under_the_input_blocks() -> None:
    modals, [view] = stacked(1)
    answer = {"response_action": "errors", "errors": {"title": "Too short"}}
    assert settle_submission(modals, view, ack(answer))["error"] is None
    assert modals.stack("U0ALICE") == [view]
    assert view.errors == {"title": "Too short"}


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        pytest.param(
            {"response_action": "errors", "errors": {"nope": "x"}}, "invalid_errors", id="id"
        ),
        pytest.param({"response_action": "errors"}, "invalid_errors", id="no-errors"),
        pytest.param({"response_action": "update", "view": {"type": "home"}}, "invalid_arguments"),
        pytest.param({"response_action": "wiggle"}, "invalid_response_action", id="unknown"),
    ],
)
def test_a_bad_answer_leaves_the_view_open_and_says_why(answer: dict[str, Any], code: str) -> None:
    modals, [view] = stacked(1)
    outcome = settle_submission(modals, view, ack(answer))
    assert outcome["error"] == code
    assert outcome["messages"]
    assert modals.stack("U0ALICE") == [view]


def test_update_and_push() -> None:
    modals, [view] = stacked(1)
    new = VIEW | {"title": {"type": "plain_text", "text": "Step 2"}}
    settle_submission(modals, view, ack({"response_action": "update", "view": new}))
    assert modals.stack("U0ALICE") == [view]
    assert view.definition["title"]["text"] == "Step 2"
    settle_submission(modals, view, ack({"response_action": "push", "view": new}))
    assert [item.previous_view_id for item in modals.stack("U0ALICE")] == [None, view.id]


def test_push_beyond_three_is_an_error() -> None:
    modals, views = stacked(3)
    outcome = settle_submission(modals, views[-1], ack({"response_action": "push", "view": VIEW}))
    assert outcome["error"] == "push_limit_reached"


def test_a_failed_delivery_changes_nothing() -> None:
    modals, [view] = stacked(1)
    outcome = settle_submission(modals, view, Delivery(None, error="dispatch_failed"))
    assert (outcome["error"], outcome["response_action"]) == ("dispatch_failed", None)
    assert modals.stack("U0ALICE") == [view]
