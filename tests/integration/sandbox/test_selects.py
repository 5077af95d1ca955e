"""static_select, users_select and overflow choices in messages, delivered to a real Bolt app."""

from __future__ import annotations

from typing import Any

from tests.integration.sandbox.screens import TRIAGE_BLOCKS
from tests.integration.sandbox.world import BoltWorld, act, client_for


def post_triage(world: BoltWorld) -> str:
    posted = client_for(world.sandbox_url).chat_postMessage(
        channel="gpu-alerts", text="XID 79", blocks=TRIAGE_BLOCKS
    )
    return str(posted["ts"])


def choose(world: BoltWorld, ts: str, action_id: str, value: str) -> Any:
    return act(
        world.sandbox_url,
        "select",
        user="carol",
        channel="gpu-alerts",
        ts=ts,
        action_id=action_id,
        value=value,
    )


def test_static_select_delivers_the_selected_option(bolt_world: BoltWorld) -> None:
    ts = post_triage(bolt_world)
    assert choose(bolt_world, ts, "incident.severity", "p2").json()["status"] == 200
    body = bolt_world.actions[0]
    action = body["actions"][0]
    assert (action["type"], action["action_id"], action["block_id"]) == (
        "static_select",
        "incident.severity",
        "triage",
    )
    option = {"text": {"type": "plain_text", "text": "P2"}, "value": "p2"}
    assert action["selected_option"] == option
    assert action["placeholder"] == {"type": "plain_text", "text": "Severity"}
    assert body["state"]["values"] == {
        "triage": {"incident.severity": {"type": "static_select", "selected_option": option}}
    }
    assert (body["user"]["id"], body["container"]["message_ts"]) == ("U0CAROL", ts)


def test_overflow_and_users_select(bolt_world: BoltWorld) -> None:
    ts = post_triage(bolt_world)
    choose(bolt_world, ts, "incident.more", "mute")
    choose(bolt_world, ts, "incident.assign", "U0BOB")
    overflow, users = (body["actions"][0] for body in bolt_world.actions)
    assert (overflow["type"], overflow["selected_option"]["value"]) == ("overflow", "mute")
    assert (users["type"], users["selected_user"]) == ("users_select", "U0BOB")


def test_choices_that_are_not_offered_are_refused(bolt_world: BoltWorld) -> None:
    ts = post_triage(bolt_world)
    assert choose(bolt_world, ts, "incident.severity", "p9").status_code == 422
    assert choose(bolt_world, ts, "incident.assign", "U0MALLORY").status_code == 422
    assert choose(bolt_world, ts, "incident.declare", "x").status_code == 404  # a button
    assert choose(bolt_world, "1.000001", "incident.severity", "p1").status_code == 404
    assert bolt_world.actions == []
