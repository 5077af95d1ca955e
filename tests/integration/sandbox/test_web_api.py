"""The sandbox's Web API as the real slack_sdk WebClient sees it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.integration.sandbox.world import BOT_TOKEN, error_of

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*GPU XID 79* on `gpu-node-07`"}}


def test_auth_test_names_team_bot_user_and_bot(web_client: WebClient) -> None:
    identity = web_client.auth_test()
    assert identity["team_id"] == "T0SANDBOX"
    assert identity["user_id"] == "U0GPUWARDEN"
    assert identity["bot_id"] == "B0GPUWARDEN"
    assert identity["url"].startswith("https://")


@pytest.mark.parametrize("channel", ["C0GPUALERTS", "#gpu-alerts", "gpu-alerts"])
def test_post_message_by_id_or_name(web_client: WebClient, channel: str) -> None:
    posted = web_client.chat_postMessage(channel=channel, text="GPU 3 hot", blocks=[SECTION])
    assert posted["channel"] == "C0GPUALERTS"
    assert posted["message"]["text"] == "GPU 3 hot"
    assert posted["message"]["blocks"][0]["text"] == SECTION["text"]
    assert posted["message"]["blocks"][0]["block_id"]


def test_post_message_accepts_form_encoded_blocks(web_client: WebClient) -> None:
    posted = web_client.api_call(
        "chat.postMessage",
        data={"channel": "general", "text": "fallback", "blocks": json.dumps([SECTION])},
    )
    assert posted["message"]["blocks"][0]["type"] == "section"


def test_token_may_come_as_a_form_field(sandbox_url: str) -> None:
    answer = httpx.post(f"{sandbox_url}/api/auth.test", data={"token": BOT_TOKEN}).json()
    assert answer["ok"] is True


def test_ts_values_are_unique_and_increasing(web_client: WebClient) -> None:
    stamps = [web_client.chat_postMessage(channel="general", text=str(i))["ts"] for i in range(5)]
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 5


def test_thread_reply_counts_on_the_parent(web_client: WebClient) -> None:
    parent = web_client.chat_postMessage(channel="gpu-alerts", text="P1 opened")
    reply = web_client.chat_postMessage(channel="gpu-alerts", text="step 1", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    history = web_client.conversations_history(channel="gpu-alerts")
    assert [m["ts"] for m in history["messages"]] == [parent["ts"]]
    assert history["messages"][0]["reply_count"] == 1


def test_update_replaces_text_keeps_blocks_and_marks_edited(web_client: WebClient) -> None:
    posted = web_client.chat_postMessage(channel="general", text="triggered", blocks=[SECTION])
    updated = web_client.chat_update(channel=posted["channel"], ts=posted["ts"], text="acked")
    assert updated["ts"] == posted["ts"]
    assert updated["message"]["text"] == "acked"
    assert updated["message"]["blocks"][0]["text"] == SECTION["text"]
    assert "edited" in updated["message"]
    cleared = web_client.chat_update(
        channel=posted["channel"], ts=posted["ts"], text="acked", blocks=[]
    )
    assert "blocks" not in cleared["message"]


def test_history_is_newest_first_with_time_window_and_cursor(web_client: WebClient) -> None:
    stamps = [web_client.chat_postMessage(channel="general", text=str(i))["ts"] for i in range(5)]
    page = web_client.conversations_history(channel="general", limit=2)
    assert [m["ts"] for m in page["messages"]] == stamps[:-3:-1]
    assert page["has_more"] is True
    rest = web_client.conversations_history(
        channel="general", cursor=page["response_metadata"]["next_cursor"]
    )
    assert [m["ts"] for m in rest["messages"]] == stamps[2::-1]
    window = web_client.conversations_history(channel="general", oldest=stamps[1], latest=stamps[3])
    assert [m["ts"] for m in window["messages"]] == [stamps[2]]
    inclusive = web_client.conversations_history(
        channel="general", oldest=stamps[1], latest=stamps[3], inclusive=True
    )
    assert len(inclusive["messages"]) == 3


def test_replies_give_parent_first_then_replies_oldest_first(web_client: WebClient) -> None:
    parent = web_client.chat_postMessage(channel="gpu-alerts", text="parent")
    replies = [
        web_client.chat_postMessage(channel="gpu-alerts", text=f"r{i}", thread_ts=parent["ts"])[
            "ts"
        ]
        for i in range(3)
    ]
    thread = web_client.conversations_replies(channel="gpu-alerts", ts=parent["ts"])
    assert [m["ts"] for m in thread["messages"]] == [parent["ts"], *replies]


def test_list_paginates_with_next_cursor(web_client: WebClient) -> None:
    names = []
    for page in web_client.conversations_list(limit=1, exclude_archived=True):
        names += [channel["name"] for channel in page["channels"]]
    assert names == ["gpu-alerts", "general"]
    assert web_client.conversations_list(types="private_channel")["channels"] == []


def test_info_methods(web_client: WebClient) -> None:
    assert web_client.conversations_info(channel="#general")["channel"]["id"] == "C0GENERAL"
    assert web_client.users_info(user="U0BOB")["user"]["name"] == "bob"


def test_post_ephemeral_is_listed_for_that_user_only(
    web_client: WebClient, sandbox_url: str
) -> None:
    sent = web_client.chat_postEphemeral(channel="general", user="U0BOB", text="psst")
    for_bob = httpx.get(
        f"{sandbox_url}/_sandbox/messages", params={"channel": "general", "user": "bob"}
    )
    for_alice = httpx.get(
        f"{sandbox_url}/_sandbox/messages", params={"channel": "general", "user": "alice"}
    )
    assert [e["ts"] for e in for_bob.json()["ephemerals"]] == [sent["message_ts"]]
    assert for_alice.json()["ephemerals"] == []


def test_not_authed_without_token(sandbox_url: str) -> None:
    client = WebClient(base_url=f"{sandbox_url}/api/", retry_handlers=[])
    assert error_of(client.auth_test) == "not_authed"


def test_invalid_auth_with_wrong_token(sandbox_url: str) -> None:
    client = WebClient(token="xoxb-wrong", base_url=f"{sandbox_url}/api/", retry_handlers=[])
    assert error_of(lambda: client.chat_postMessage(channel="general", text="x")) == "invalid_auth"


def test_unknown_method(web_client: WebClient) -> None:
    assert error_of(lambda: web_client.api_call("chat.teleport")) == "unknown_method"


LONG_ID = "x" * 256


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        pytest.param({"channel": "#nowhere", "text": "x"}, "channel_not_found", id="channel"),
        pytest.param({"channel": "general"}, "no_text", id="no-text"),
        pytest.param({"channel": "general", "text": "x" * 40_001}, "msg_too_long", id="too-long"),
        pytest.param({"text": "x"}, "invalid_arguments", id="no-channel"),
        pytest.param(
            {"channel": "general", "text": "x", "thread_ts": "1.000001"},
            "thread_not_found",
            id="thread",
        ),
        pytest.param(
            {"channel": "general", "text": "x", "blocks": [SECTION] * 51},
            "invalid_blocks",
            id="51-blocks",
        ),
        pytest.param(
            {"channel": "general", "text": "x", "blocks": [{"type": "bogus"}]},
            "invalid_blocks",
            id="type",
        ),
        pytest.param(
            {
                "channel": "general",
                "text": "x",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}],
            },
            "invalid_blocks",
            id="section-3001",
        ),
        pytest.param(
            {"channel": "general", "text": "x", "blocks": [{**SECTION, "block_id": LONG_ID}]},
            "invalid_blocks",
            id="block-id",
        ),
        pytest.param(
            {
                "channel": "general",
                "text": "x",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "action_id": LONG_ID,
                                "text": {"type": "plain_text", "text": "b"},
                            }
                        ],
                    }
                ],
            },
            "invalid_blocks",
            id="action-id",
        ),
    ],
)
def test_post_message_errors(web_client: WebClient, kwargs: dict[str, Any], code: str) -> None:
    assert error_of(lambda: web_client.api_call("chat.postMessage", json=kwargs)) == code


def test_invalid_blocks_explains_the_problem(web_client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        web_client.chat_postMessage(channel="general", text="x", blocks=[{"type": "bogus"}])
    assert (
        "json-pointer:/blocks/0/type" in caught.value.response["response_metadata"]["messages"][0]
    )


def test_update_errors(web_client: WebClient, sandbox_url: str) -> None:
    posted = web_client.chat_postMessage(channel="general", text="bot message")
    human = httpx.post(
        f"{sandbox_url}/_sandbox/message",
        json={"user": "alice", "channel": "general", "text": "hi"},
    ).json()
    assert (
        error_of(lambda: web_client.chat_update(channel="general", ts="1.000001", text="x"))
        == "message_not_found"
    )
    assert (
        error_of(lambda: web_client.chat_update(channel="general", ts=human["ts"], text="x"))
        == "cant_update_message"
    )
    no_text = {"channel": "general", "ts": posted["ts"]}
    assert error_of(lambda: web_client.api_call("chat.update", json=no_text)) == "no_text"
    assert (
        error_of(
            lambda: web_client.chat_update(channel="general", ts=posted["ts"], text="x" * 4001)
        )
        == "msg_too_long"
    )
    assert (
        error_of(lambda: web_client.chat_update(channel="#nope", ts=posted["ts"], text="x"))
        == "channel_not_found"
    )


def test_read_errors(web_client: WebClient) -> None:
    assert (
        error_of(lambda: web_client.conversations_replies(channel="general", ts="1.000001"))
        == "thread_not_found"
    )
    assert error_of(lambda: web_client.conversations_history(channel="nope")) == "channel_not_found"
    assert error_of(lambda: web_client.conversations_list(cursor="bogus")) == "invalid_cursor"
    assert (
        error_of(lambda: web_client.conversations_history(channel="general", oldest="soon"))
        == "invalid_ts_oldest"
    )
