"""response_url rules, response handling, ack parsing and button lookup."""

from __future__ import annotations

import pytest

from sandbox.slack.errors import SlackError
from sandbox.slack.interactions import parse_ack
from sandbox.slack.messages import Ephemeral, Message
from sandbox.slack.payloads import BUTTON, find_element
from sandbox.slack.responses import ResponseTarget, ResponseUrls, apply_response
from sandbox.slack.signing import Delivery
from sandbox.slack.workspace import Workspace


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


ACTIONS = [
    {
        "type": "actions",
        "block_id": "approval",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "value": "a",
                "text": {"type": "plain_text", "text": "A"},
            },
            {
                "type": "button",
                "action_id": "approve",
                "value": "b",
                "text": {"type": "plain_text", "text": "B"},
            },
        ],
    },
    {
        "type": "section",
        "block_id": "summary",
        "text": {"type": "mrkdwn", "text": "x"},
        "accessory": {
            "type": "button",
            "action_id": "details",
            "text": {"type": "plain_text", "text": "D"},
        },
    },
]


def test_response_url_works_five_times() -> None:
    urls = ResponseUrls(clock=FakeClock())
    key = urls.mint(ResponseTarget("C0GENERAL", "U0ALICE"))
    for _ in range(5):
        urls.use(key)
    with pytest.raises(SlackError, match="used_url"):
        urls.use(key)


def test_response_url_expires_after_thirty_minutes() -> None:
    clock = FakeClock()
    urls = ResponseUrls(clock=clock)
    key = urls.mint(ResponseTarget("C0GENERAL", "U0ALICE"))
    clock.now += 30 * 60 + 1
    with pytest.raises(SlackError, match="expired_url"):
        urls.use(key)


def test_response_defaults_to_ephemeral_for_the_acting_user() -> None:
    ws = Workspace()
    shown = apply_response(ws, ResponseTarget("C0GENERAL", "U0BOB"), {"text": "only bob"})
    assert isinstance(shown, Ephemeral)
    assert shown.user == "U0BOB"


def test_in_channel_response_posts_as_the_bot() -> None:
    ws = Workspace()
    shown = apply_response(
        ws, ResponseTarget("C0GENERAL", "U0BOB"), {"text": "all", "response_type": "in_channel"}
    )
    assert isinstance(shown, Message)
    assert shown.bot_id == "B0GPUWARDEN"


def test_replace_and_delete_original() -> None:
    ws = Workspace()
    channel = ws.channel("general")
    original = ws.post(channel, user=ws.bot, text="approve?", blocks=ACTIONS)
    target = ResponseTarget(channel.id, "U0ALICE", original_ts=original.ts)
    apply_response(ws, target, {"text": "approved", "replace_original": True})
    assert (original.text, original.blocks) == ("approved", [])
    apply_response(ws, target, {"delete_original": True})
    assert channel.messages == []


def test_find_button_by_action_id_and_value() -> None:
    assert find_element(ACTIONS, "approve", BUTTON, "b") == ("approval", ACTIONS[0]["elements"][1])
    assert find_element(ACTIONS, "approve", BUTTON) == ("approval", ACTIONS[0]["elements"][0])
    assert find_element(ACTIONS, "details", BUTTON) == ("summary", ACTIONS[1]["accessory"])
    assert find_element(ACTIONS, "approve", BUTTON, "zzz") is None


@pytest.mark.parametrize(
    ("delivery", "expected"),
    [
        pytest.param(Delivery(200), None, id="empty-ack"),
        pytest.param(Delivery(200, "hello", "text/plain"), {"text": "hello"}, id="text"),
        pytest.param(
            Delivery(200, '{"text": "hi", "response_type": "in_channel"}', "application/json"),
            {"text": "hi", "response_type": "in_channel"},
            id="json",
        ),
        pytest.param(
            Delivery(200, '{"response_action": "clear"}', "application/json"), None, id="no-text"
        ),
    ],
)
def test_parse_ack(delivery: Delivery, expected: dict[str, str] | None) -> None:
    assert parse_ack(delivery) == expected
