"""Modals with a real Bolt AsyncApp: views.open by trigger_id, view_submission, response_action."""

from __future__ import annotations

from typing import Any

from tests.integration.sandbox.screens import TRIAGE_BLOCKS
from tests.integration.sandbox.world import BoltWorld, act, client_for, read
from tests.processes import eventually


def stack_of(world: BoltWorld, user: str = "alice") -> list[dict[str, Any]]:
    views = read(world.sandbox_url, "views", user=user)["views"]
    return list(views[f"U0{user.upper()}"])


def front_view(world: BoltWorld, user: str = "alice") -> dict[str, Any]:
    entry = eventually(lambda: (stack_of(world, user) or [None])[-1], timeout_s=5, what="a modal")
    return dict(entry)


def open_declare(world: BoltWorld) -> str:
    command = act(
        world.sandbox_url,
        "command",
        user="alice",
        channel="gpu-alerts",
        command="/incident",
        text="declare",
    )
    assert command.json()["status"] == 200
    return str(front_view(world)["view"]["id"])


def submit(world: BoltWorld, view_id: str, **values: dict[str, str | None]) -> Any:
    return act(world.sandbox_url, "submit", user="alice", view_id=view_id, values=values)


def test_submission_errors_then_success_with_state_shaped_like_slack(bolt_world: BoltWorld) -> None:
    view_id = open_declare(bolt_world)
    rejected = submit(bolt_world, view_id, title={"title": "gpu"}, severity={"severity": "p1"})
    assert (rejected.json()["status"], rejected.json()["response_action"]) == (200, "errors")
    [entry] = stack_of(bolt_world)
    assert (entry["view"]["id"], entry["errors"]) == (
        view_id,
        {"title": "Use at least 5 characters"},
    )

    accepted = submit(
        bolt_world,
        view_id,
        title={"title": "GPU 3 lost"},
        severity={"severity": "p2"},
        commander={"commander": "U0BOB"},
    ).json()
    assert (accepted["status"], accepted["response_action"], accepted["error"]) == (200, None, None)
    assert stack_of(bolt_world) == []
    body = bolt_world.submissions[-1]
    assert (body["type"], body["user"]["id"], body["response_urls"]) == (
        "view_submission",
        "U0ALICE",
        [],
    )
    assert body["trigger_id"]
    view = body["view"]
    assert (view["id"], view["callback_id"], view["private_metadata"]) == (
        view_id,
        "incident.declare",
        "gpu-alerts",
    )
    assert view["state"]["values"] == {
        "title": {"title": {"type": "plain_text_input", "value": "GPU 3 lost"}},
        "severity": {
            "severity": {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "P2"}, "value": "p2"},
            }
        },
        "commander": {"commander": {"type": "users_select", "selected_user": "U0BOB"}},
        "notes": {"notes": {"type": "plain_text_input", "value": None}},
    }

    def declared() -> bool:
        messages = read(bolt_world.sandbox_url, "messages", channel="gpu-alerts")["messages"]
        return any(m["text"] == "Declared GPU 3 lost (p2)" for m in messages)

    eventually(declared, timeout_s=5, what="the declaration message")


def test_closing_sends_view_closed(bolt_world: BoltWorld) -> None:
    view_id = open_declare(bolt_world)
    closed = act(bolt_world.sandbox_url, "close", user="alice", view_id=view_id).json()
    assert (closed["status"], closed["closed"]) == (200, [view_id])
    body = bolt_world.closed[0]
    assert (body["type"], body["view"]["id"], body["is_cleared"]) == ("view_closed", view_id, False)
    assert stack_of(bolt_world) == []


def open_flow(world: BoltWorld, action: str) -> str:
    act(world.sandbox_url, "command", user="alice", channel="general", command="/flow", text=action)
    return str(front_view(world)["view"]["id"])


def test_response_action_update_replaces_the_view_in_place(bolt_world: BoltWorld) -> None:
    view_id = open_flow(bolt_world, "update")
    first_hash = stack_of(bolt_world)[0]["view"]["hash"]
    assert submit(bolt_world, view_id, step={"step": "1"}).json()["response_action"] == "update"
    [entry] = stack_of(bolt_world)
    assert (entry["view"]["id"], entry["view"]["title"]["text"]) == (view_id, "Update")
    assert entry["view"]["hash"] != first_hash
    assert submit(bolt_world, view_id, step={"step": "2"}).json()["response_action"] == "clear"
    assert stack_of(bolt_world) == []


def test_response_action_push_stacks_and_clear_closes_all(bolt_world: BoltWorld) -> None:
    root_id = open_flow(bolt_world, "push")
    assert submit(bolt_world, root_id, step={"step": "1"}).json()["response_action"] == "push"
    root, pushed = (entry["view"] for entry in stack_of(bolt_world))
    assert (pushed["title"]["text"], pushed["previous_view_id"], pushed["root_view_id"]) == (
        "Push",
        root_id,
        root_id,
    )
    assert root["id"] == root_id
    refused = submit(bolt_world, root_id, step={"step": "x"})
    assert refused.status_code == 404  # only the view in front can be submitted
    assert submit(bolt_world, pushed["id"], step={"step": "2"}).json()["response_action"] == "clear"
    assert stack_of(bolt_world) == []


def test_submissions_a_person_could_not_make_are_refused(bolt_world: BoltWorld) -> None:
    view_id = open_declare(bolt_world)
    good = {"title": {"title": "GPU 3 lost"}, "severity": {"severity": "p1"}}
    cases = [
        ({**good, "nope": {"x": "1"}}, "no input nope/x"),
        ({**good, "severity": {"severity": "p9"}}, "'p9' is not one of the options"),
        ({**good, "commander": {"commander": "U0MALLORY"}}, "not a member"),
        ({"severity": {"severity": "p1"}}, "required input title/title is empty"),
    ]
    for values, detail in cases:
        refused = submit(bolt_world, view_id, **values)
        assert refused.status_code == 422
        assert detail in refused.json()["detail"]
    assert submit(bolt_world, "V0NOPE", **good).status_code == 404
    assert bolt_world.submissions == []


def test_a_button_click_carries_a_trigger_that_opens_the_modal(bolt_world: BoltWorld) -> None:
    posted = client_for(bolt_world.sandbox_url).chat_postMessage(
        channel="gpu-alerts", text="XID 79", blocks=TRIAGE_BLOCKS
    )
    clicked = act(
        bolt_world.sandbox_url,
        "click",
        user="bob",
        channel="gpu-alerts",
        ts=posted["ts"],
        action_id="incident.declare",
    )
    assert clicked.json()["status"] == 200
    assert front_view(bolt_world, "bob")["view"]["callback_id"] == "incident.declare"
    assert stack_of(bolt_world, "alice") == []
