"""The payloads Slack delivers to an app's Request URL, shaped exactly as Slack shapes them.

Slash commands are form fields; ``block_actions``, ``view_submission`` and ``view_closed`` are a
form field ``payload=<JSON>``. Each action carries the element's state as on Slack: a button's
``value``, a select's or overflow's ``selected_option``, a users_select's ``selected_user``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sandbox.slack.blocks import interactive_elements
from sandbox.slack.messages import Block, Ephemeral, Message
from sandbox.slack.people import APP_ID, TEAM_ID, User
from sandbox.slack.viewspec import selection
from sandbox.slack.workspace import TEAM_DOMAIN, Channel

VERIFICATION_TOKEN = "sandbox-verification-token"  # noqa: S105 - Slack's legacy, public field
BUTTON = frozenset({"button"})
SELECTS = frozenset({"static_select", "overflow", "users_select"})


def user_ref(user: User) -> dict[str, str]:
    """The acting user as payloads name them."""
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID}


def _envelope(kind: str, user: User) -> dict[str, Any]:
    return {
        "type": kind,
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": user_ref(user),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "enterprise": None,
        "is_enterprise_install": False,
    }


def command_fields(
    *, channel: Channel, user: User, command: str, text: str, response_url: str, trigger_id: str
) -> dict[str, str]:
    """The form fields of a slash command."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel.id,
        "channel_name": "directmessage" if channel.im_user else channel.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def find_element(
    blocks: list[Block], action_id: str, kinds: frozenset[str], value: str | None = None
) -> tuple[str, Block] | None:
    """Find an element of ``kinds`` by ``action_id`` (and a button by ``value`` when given)."""
    for block in blocks:
        for element in interactive_elements(block):
            if (
                element.get("type") in kinds
                and element.get("action_id") == action_id
                and (value is None or element.get("value") == value)
            ):
                return str(block["block_id"]), element
    return None


def element_action(
    element: Block, block_id: str, chosen: str | None, people: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``actions[0]`` entry for a click on a button or a choice ``chosen`` in a select."""
    action: dict[str, Any] = {
        "type": element["type"],
        "action_id": element["action_id"],
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    if element["type"] == "button":
        action["text"] = element["text"]
        return action | {key: element[key] for key in ("value", "style") if key in element}
    action |= selection(element, chosen, people)
    return action | {key: element[key] for key in ("placeholder",) if key in element}


def block_actions_payload(
    *,
    channel: Channel,
    user: User,
    source: Message | Ephemeral,
    action: dict[str, Any],
    response_url: str,
    trigger_id: str,
) -> dict[str, Any]:
    """The ``block_actions`` payload for ``action`` on an element of the message ``source``."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": source.ts,
        "channel_id": channel.id,
        "is_ephemeral": isinstance(source, Ephemeral),
    }
    state = {key: value for key, value in action.items() if key in _STATE_KEYS}
    values = {action["block_id"]: {action["action_id"]: state}} if action["type"] in SELECTS else {}
    payload = _envelope("block_actions", user) | {
        "container": container,
        "trigger_id": trigger_id,
        "channel": {"id": channel.id, "name": channel.name or "directmessage"},
        "state": {"values": values},
        "response_url": response_url,
        "actions": [action],
    }
    if isinstance(source, Message):
        payload["message"] = source.to_api()
        if source.thread_ts:
            container["thread_ts"] = source.thread_ts
    return payload


_STATE_KEYS = frozenset({"type", "selected_option", "selected_user"})


def view_submission_payload(*, user: User, view: dict[str, Any], trigger_id: str) -> dict[str, Any]:
    """The ``view_submission`` payload for a modal ``user`` submitted."""
    return _envelope("view_submission", user) | {
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": [],
    }


def view_closed_payload(*, user: User, view: dict[str, Any], is_cleared: bool) -> dict[str, Any]:
    """The ``view_closed`` payload for a modal ``user`` closed (sent when notify_on_close)."""
    return _envelope("view_closed", user) | {"view": view, "is_cleared": is_cleared}
