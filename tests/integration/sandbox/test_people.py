"""People, user groups and DMs through slack_sdk's WebClient."""

from __future__ import annotations

import httpx
import pytest
from slack_sdk import WebClient

from tests.integration.sandbox.world import error_of, read


def test_three_people_with_names_emails_and_time_zones(web_client: WebClient) -> None:
    members = {user["id"]: user for user in web_client.users_list()["members"]}
    assert set(members) == {"U0ALICE", "U0BOB", "U0CAROL", "U0GPUWARDEN"}
    carol = members["U0CAROL"]
    assert (carol["name"], carol["real_name"]) == ("carol", "Carol Diaz")
    assert carol["profile"]["display_name"] == "carol"
    assert carol["profile"]["email"] == "carol@gpu-sandbox.example"
    assert (carol["tz"], carol["tz_offset"]) == ("Asia/Singapore", 8 * 3600)
    assert members["U0GPUWARDEN"]["is_bot"] is True
    assert web_client.users_info(user="U0BOB")["user"]["tz"] == "Europe/London"


def test_lookup_by_email(web_client: WebClient) -> None:
    found = web_client.users_lookupByEmail(email="Alice@gpu-sandbox.example")
    assert found["user"]["id"] == "U0ALICE"
    assert error_of(lambda: web_client.users_lookupByEmail(email="x@y.z")) == "users_not_found"
    assert error_of(lambda: web_client.users_info(user="U0NOBODY")) == "user_not_found"


def test_roles_are_listed_for_the_ui(sandbox_url: str) -> None:
    roles = {user["name"]: user["roles"] for user in read(sandbox_url, "users")["users"]}
    assert roles == {
        "alice": ["responder"],
        "bob": ["responder", "approver"],
        "carol": ["manager", "viewer"],
        "gpuwarden": [],
    }


def test_usergroups_list_and_members(web_client: WebClient) -> None:
    plain = web_client.usergroups_list()["usergroups"]
    assert [(group["id"], group["handle"]) for group in plain] == [
        ("S0GPUONCALL", "gpu-oncall"),
        ("S0GPUAPPROVERS", "gpu-approvers"),
    ]
    assert "users" not in plain[0]
    assert "user_count" not in plain[0]
    full = web_client.usergroups_list(include_users=True, include_count=True)["usergroups"][0]
    assert (full["users"], full["user_count"]) == (["U0ALICE", "U0BOB"], 2)
    assert web_client.usergroups_users_list(usergroup="S0GPUAPPROVERS")["users"] == ["U0BOB"]


def test_usergroup_update_replaces_the_members(web_client: WebClient, sandbox_url: str) -> None:
    updated = web_client.usergroups_users_update(usergroup="S0GPUONCALL", users=["U0CAROL"])
    assert updated["usergroup"]["users"] == ["U0CAROL"]
    assert web_client.usergroups_users_list(usergroup="S0GPUONCALL")["users"] == ["U0CAROL"]
    listed = {
        group["handle"]: group["users"] for group in read(sandbox_url, "usergroups")["usergroups"]
    }
    assert listed["gpu-oncall"] == ["U0CAROL"]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        pytest.param({"usergroup": "S0NOPE", "users": "U0BOB"}, "no_such_subteam", id="group"),
        pytest.param({"usergroup": "gpu-oncall", "users": "U0BOB"}, "no_such_subteam", id="handle"),
        pytest.param({"usergroup": "S0GPUONCALL", "users": ""}, "no_users_provided", id="empty"),
        pytest.param({"usergroup": "S0GPUONCALL", "users": "U0BOB,U0X"}, "invalid_users", id="x"),
        pytest.param(
            {"usergroup": "S0GPUONCALL", "users": "U0GPUWARDEN"}, "invalid_users", id="bot"
        ),
    ],
)
def test_usergroup_update_errors(web_client: WebClient, kwargs: dict[str, str], code: str) -> None:
    assert error_of(lambda: web_client.api_call("usergroups.users.update", params=kwargs)) == code


def test_open_dm_post_and_read_it(web_client: WebClient, sandbox_url: str) -> None:
    assert read(sandbox_url, "dm", user="alice") == {"channel": None, "messages": []}
    opened = web_client.conversations_open(users="U0ALICE")
    assert opened["channel"] == {"id": "D0ALICE"}
    assert "already_open" not in opened.data
    again = web_client.conversations_open(users=["U0ALICE"], return_im=True)
    assert (again["already_open"], again["channel"]["is_im"], again["channel"]["user"]) == (
        True,
        True,
        "U0ALICE",
    )
    web_client.chat_postMessage(channel="D0ALICE", text="You are on call this week")
    web_client.chat_postMessage(channel="U0ALICE", text="by user id lands in the DM too")
    ims = web_client.conversations_list(types="im")["channels"]
    assert [(im["id"], im["user"]) for im in ims] == [("D0ALICE", "U0ALICE")]
    assert [c["name"] for c in web_client.conversations_list()["channels"]] == [
        "gpu-alerts",
        "general",
    ]
    dm = read(sandbox_url, "dm", user="alice")
    assert [m["text"] for m in dm["messages"]] == [
        "You are on call this week",
        "by user id lands in the DM too",
    ]


def test_dm_is_private_to_its_person(web_client: WebClient, sandbox_url: str) -> None:
    web_client.conversations_open(users="U0ALICE")
    assert (
        error_of(lambda: web_client.chat_postEphemeral(channel="D0ALICE", user="U0BOB", text="x"))
        == "user_not_in_channel"
    )
    peek = httpx.get(
        f"{sandbox_url}/_sandbox/messages", params={"channel": "D0ALICE", "user": "bob"}
    )
    assert peek.status_code == 404


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        pytest.param({}, "users_list_not_supplied", id="nobody"),
        pytest.param({"users": "U0NOBODY"}, "user_not_found", id="unknown"),
        pytest.param(
            {"users": "U0ALICE,U0BOB"}, "method_not_supported_for_channel_type", id="mpim"
        ),
        pytest.param({"users": "U0GPUWARDEN"}, "cannot_dm_bot", id="bot"),
        pytest.param({"channel": "C0GENERAL"}, "method_not_supported_for_channel_type", id="chan"),
    ],
)
def test_open_errors(web_client: WebClient, kwargs: dict[str, str], code: str) -> None:
    assert error_of(lambda: web_client.api_call("conversations.open", params=kwargs)) == code
