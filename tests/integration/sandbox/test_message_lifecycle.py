"""Deleting and reacting to messages through slack_sdk's WebClient."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient

from tests.integration.sandbox.world import act, error_of, read


def test_delete_removes_a_bot_message_and_its_thread(web_client: WebClient) -> None:
    parent = web_client.chat_postMessage(channel="general", text="P3 opened")
    reply = web_client.chat_postMessage(channel="general", text="step", thread_ts=parent["ts"])
    deleted = web_client.chat_delete(channel="general", ts=parent["ts"])
    assert (deleted["channel"], deleted["ts"]) == ("C0GENERAL", parent["ts"])
    assert web_client.conversations_history(channel="general")["messages"] == []
    assert (
        error_of(lambda: web_client.chat_delete(channel="general", ts=reply["ts"]))
        == "message_not_found"
    )


def test_only_the_bot_s_own_messages_can_be_deleted(
    web_client: WebClient, sandbox_url: str
) -> None:
    human = act(sandbox_url, "message", user="carol", channel="general", text="hi").json()
    assert (
        error_of(lambda: web_client.chat_delete(channel="general", ts=human["ts"]))
        == "cant_delete_message"
    )
    assert (
        error_of(lambda: web_client.chat_delete(channel="#nope", ts=human["ts"]))
        == "channel_not_found"
    )


def test_reactions_show_on_the_message(web_client: WebClient, sandbox_url: str) -> None:
    posted = web_client.chat_postMessage(channel="gpu-alerts", text="GPU 3 hot")
    assert web_client.reactions_add(channel="gpu-alerts", timestamp=posted["ts"], name="eyes")["ok"]
    history = web_client.conversations_history(channel="gpu-alerts")
    assert history["messages"][0]["reactions"] == [
        {"name": "eyes", "users": ["U0GPUWARDEN"], "count": 1}
    ]
    listed = read(sandbox_url, "messages", channel="gpu-alerts")["messages"][0]
    assert listed["reactions"][0]["name"] == "eyes"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        pytest.param({"name": "eyes"}, "already_reacted", id="twice"),
        pytest.param({"name": "Not An Emoji"}, "invalid_name", id="name"),
        pytest.param({"name": "eyes", "timestamp": None}, "no_item_specified", id="no-ts"),
        pytest.param({"name": "eyes", "timestamp": "soon"}, "bad_timestamp", id="bad-ts"),
        pytest.param({"name": "eyes", "timestamp": "1.000001"}, "message_not_found", id="gone"),
    ],
)
def test_reaction_errors(web_client: WebClient, kwargs: dict[str, Any], code: str) -> None:
    posted = web_client.chat_postMessage(channel="general", text="x")
    web_client.reactions_add(channel="general", timestamp=posted["ts"], name="eyes")
    params = {"channel": "general", "timestamp": posted["ts"]} | kwargs
    params = {key: value for key, value in params.items() if value is not None}
    assert error_of(lambda: web_client.api_call("reactions.add", params=params)) == code
