"""Signed delivery to a real Bolt AsyncApp behind FastAPI; the app's answers shown as on Slack."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.integration.sandbox import world as sandbox
from tests.integration.sandbox.screens import APPROVAL_BLOCKS
from tests.integration.sandbox.world import BoltWorld, client_for
from tests.processes import eventually


def act(world: BoltWorld, path: str, **body: Any) -> httpx.Response:
    return sandbox.act(world.sandbox_url, path, **body)


def post_approval(world: BoltWorld) -> str:
    posted = client_for(world.sandbox_url).chat_postMessage(
        channel="gpu-alerts", text="P1", blocks=APPROVAL_BLOCKS
    )
    return str(posted["ts"])


def test_slash_command_is_verified_by_bolt_and_its_ack_shown_to_the_user(
    bolt_world: BoltWorld,
) -> None:
    result = act(
        bolt_world, "command", user="alice", channel="gpu-alerts", command="/incident", text="list"
    )
    assert result.status_code == 200
    answer = result.json()
    assert answer["status"] == 200
    assert answer["error"] is None
    assert answer["ephemeral"]["text"] == "Incident command received: list"
    command = bolt_world.commands[0]
    assert (command["user_id"], command["user_name"], command["channel_id"]) == (
        "U0ALICE",
        "alice",
        "C0GPUALERTS",
    )
    assert (command["team_id"], command["channel_name"], command["text"]) == (
        "T0SANDBOX",
        "gpu-alerts",
        "list",
    )
    assert command["response_url"].startswith(f"{bolt_world.sandbox_url}/_sandbox/response/")
    assert command["trigger_id"]
    view = httpx.get(
        f"{bolt_world.sandbox_url}/_sandbox/messages",
        params={"channel": "gpu-alerts", "user": "alice"},
    ).json()
    assert [e["text"] for e in view["ephemerals"]] == ["Incident command received: list"]


def test_button_click_is_verified_and_respond_replaces_the_original(bolt_world: BoltWorld) -> None:
    ts = post_approval(bolt_world)
    result = act(
        bolt_world, "click", user="bob", channel="gpu-alerts", ts=ts, action_id="incident.ack"
    )
    assert result.json()["status"] == 200
    body = bolt_world.actions[0]
    assert body["type"] == "block_actions"
    assert body["user"] == {"id": "U0BOB", "username": "bob", "name": "bob", "team_id": "T0SANDBOX"}
    assert body["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": "C0GPUALERTS",
        "is_ephemeral": False,
    }
    assert body["channel"] == {"id": "C0GPUALERTS", "name": "gpu-alerts"}
    assert body["message"]["blocks"][1]["elements"][0]["action_id"] == "incident.ack"
    action = body["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "incident.ack",
        "incident",
        "INC-42",
        "button",
    )
    client = client_for(bolt_world.sandbox_url)

    def replaced() -> bool:
        history = client.conversations_history(channel="gpu-alerts")
        return bool(history["messages"][0]["text"] == "Acknowledged by <@U0BOB>")

    eventually(replaced, timeout_s=5, what="the message to be replaced")


@pytest.mark.parametrize(
    "tampering",
    [
        pytest.param({"signing_secret_override": "not-the-secret"}, id="wrong-secret"),
        pytest.param({"timestamp_override": int(time.time()) - 6 * 60}, id="stale-timestamp"),
    ],
)
def test_badly_signed_command_gets_401_and_the_handler_does_not_run(
    bolt_world: BoltWorld, tampering: dict[str, Any]
) -> None:
    result = act(
        bolt_world, "command", user="alice", channel="gpu-alerts", command="/incident", **tampering
    ).json()
    assert result["status"] == 401
    assert result["error"] == "dispatch_failed"
    assert result["ephemeral"]["text"] == '/incident failed with the error "dispatch_failed"'
    assert bolt_world.commands == []


@pytest.mark.parametrize(
    "tampering",
    [
        pytest.param({"signing_secret_override": "not-the-secret"}, id="wrong-secret"),
        pytest.param({"timestamp_override": int(time.time()) - 6 * 60}, id="stale-timestamp"),
    ],
)
def test_badly_signed_click_gets_401_and_the_handler_does_not_run(
    bolt_world: BoltWorld, tampering: dict[str, Any]
) -> None:
    ts = post_approval(bolt_world)
    result = act(
        bolt_world,
        "click",
        user="alice",
        channel="gpu-alerts",
        ts=ts,
        action_id="incident.ack",
        **tampering,
    ).json()
    assert (result["status"], result["error"]) == (401, "dispatch_failed")
    assert bolt_world.actions == []
    history = client_for(bolt_world.sandbox_url).conversations_history(channel="gpu-alerts")
    assert history["messages"][0]["text"] == "P1"


def test_click_on_missing_message_or_button_is_404(bolt_world: BoltWorld) -> None:
    ts = post_approval(bolt_world)
    missing_message = act(
        bolt_world, "click", user="alice", channel="gpu-alerts", ts="1.000001", action_id="x"
    )
    missing_button = act(
        bolt_world, "click", user="alice", channel="gpu-alerts", ts=ts, action_id="nope"
    )
    unknown_user = act(
        bolt_world, "click", user="mallory", channel="gpu-alerts", ts=ts, action_id="x"
    )
    assert (
        missing_message.status_code == missing_button.status_code == unknown_user.status_code == 404
    )
    assert "no message with ts" in missing_message.json()["detail"]
    assert "no button with action_id 'nope'" in missing_button.json()["detail"]


def test_unreachable_app_is_a_dispatch_failure(sandbox_factory: Any) -> None:
    url = sandbox_factory(request_url="http://127.0.0.1:9/slack/events")
    result = httpx.post(
        f"{url}/_sandbox/command",
        json={"user": "bob", "channel": "general", "command": "/incident"},
    ).json()
    assert (result["status"], result["error"]) == (None, "dispatch_failed")


def test_response_url_posts_in_channel_and_wears_out(bolt_world: BoltWorld) -> None:
    act(bolt_world, "command", user="alice", channel="general", command="/incident", text="declare")
    response_url = bolt_world.commands[0]["response_url"]
    posted = httpx.post(
        response_url, json={"text": "INC-43 declared", "response_type": "in_channel"}
    )
    assert posted.json() == {"ok": True}
    history = client_for(bolt_world.sandbox_url).conversations_history(channel="general")
    assert history["messages"][0]["text"] == "INC-43 declared"
    for _ in range(4):
        httpx.post(response_url, json={"text": "again"}).raise_for_status()
    worn_out = httpx.post(response_url, json={"text": "sixth"})
    assert (worn_out.status_code, worn_out.json()["error"]) == (404, "used_url")
    assert (
        httpx.post(
            f"{bolt_world.sandbox_url}/_sandbox/response/unknown", json={"text": "x"}
        ).status_code
        == 404
    )
