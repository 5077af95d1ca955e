"""views.open/update/push through slack_sdk's WebClient: trigger ids, hashes, stack depth."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from tests.integration.sandbox.screens import DECLARE_VIEW, flow_view, plain
from tests.integration.sandbox.world import BoltWorld, act, client_for, error_of


def fresh_trigger(world: BoltWorld) -> str:
    """Run a slash command as alice; Slack hands its trigger_id to the app."""
    act(world.sandbox_url, "command", user="alice", channel="general", command="/incident")
    return str(world.commands[-1]["trigger_id"])


def test_a_trigger_id_opens_one_modal_once(bolt_world: BoltWorld) -> None:
    client = client_for(bolt_world.sandbox_url)
    trigger = fresh_trigger(bolt_world)
    opened = client.views_open(trigger_id=trigger, view=DECLARE_VIEW)["view"]
    assert (opened["type"], opened["root_view_id"], opened["state"]) == (
        "modal",
        opened["id"],
        {"values": {}},
    )
    assert opened["blocks"][0]["element"]["action_id"] == "title"
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=DECLARE_VIEW)) == (
        "exchanged_trigger_id"
    )
    assert error_of(lambda: client.views_open(trigger_id="1.2.3", view=DECLARE_VIEW)) == (
        "invalid_trigger_id"
    )


def test_invalid_view_is_refused_naming_the_json_pointer(bolt_world: BoltWorld) -> None:
    client = client_for(bolt_world.sandbox_url)
    trigger = fresh_trigger(bolt_world)
    with pytest.raises(SlackApiError) as caught:
        client.views_open(trigger_id=trigger, view=DECLARE_VIEW | {"title": plain("x" * 25)})
    response = caught.value.response
    assert response["error"] == "invalid_arguments"
    assert "json-pointer:/view/title/text" in response["response_metadata"]["messages"][0]
    huge = DECLARE_VIEW | {"blocks": [{"type": "section", "text": plain("x" * 250_000)}]}
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=huge)) == "view_too_large"
    assert client.views_open(trigger_id=trigger, view=DECLARE_VIEW)["ok"]  # still unspent


def test_update_checks_the_hash_and_push_stops_at_three(bolt_world: BoltWorld) -> None:
    client = client_for(bolt_world.sandbox_url)
    tagged = flow_view("clear") | {"external_id": "inc-42"}
    root = client.views_open(trigger_id=fresh_trigger(bolt_world), view=tagged)["view"]
    assert error_of(
        lambda: client.views_update(view_id=root["id"], hash="stale", view=flow_view("x"))
    ) == ("hash_conflict")
    updated = client.views_update(view_id=root["id"], hash=root["hash"], view=tagged)
    assert updated["view"]["hash"] != root["hash"]
    by_external = client.views_update(external_id="inc-42", view=tagged)
    assert by_external["view"]["id"] == root["id"]
    assert error_of(lambda: client.views_update(view_id="V0NOPE", view=flow_view("x"))) == (
        "not_found"
    )
    for _ in range(2):
        client.views_push(trigger_id=fresh_trigger(bolt_world), view=flow_view("clear"))
    assert error_of(
        lambda: client.views_push(trigger_id=fresh_trigger(bolt_world), view=flow_view("clear"))
    ) == ("push_limit_reached")
    assert error_of(
        lambda: client.views_open(trigger_id=fresh_trigger(bolt_world), view=tagged)
    ) == ("duplicate_external_id")
