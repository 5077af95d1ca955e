"""What the tests' bot shows: messages with buttons, selects and menus, and its modals."""

from __future__ import annotations

from typing import Any


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def options(*values: str) -> list[dict[str, Any]]:
    return [{"text": plain(value.upper()), "value": value} for value in values]


APPROVAL_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*P1* deepseek-v3 unavailable"}},
    {
        "type": "actions",
        "block_id": "incident",
        "elements": [
            {
                "type": "button",
                "action_id": "incident.ack",
                "value": "INC-42",
                "style": "primary",
                "text": plain("Acknowledge"),
            }
        ],
    },
]
CONFIRM = {
    "title": plain("Declare an incident?"),
    "text": {"type": "mrkdwn", "text": "This pages *@gpu-oncall*."},
    "confirm": plain("Declare"),
    "deny": plain("Not yet"),
    "style": "danger",
}
TRIAGE_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "XID 79 on `gpu-node-07`"}},
    {
        "type": "actions",
        "block_id": "triage",
        "elements": [
            {
                "type": "button",
                "action_id": "incident.declare",
                "text": plain("Declare incident"),
                "style": "danger",
                "confirm": CONFIRM,
            },
            {
                "type": "static_select",
                "action_id": "incident.severity",
                "placeholder": plain("Severity"),
                "options": options("p1", "p2", "p3"),
            },
            {"type": "users_select", "action_id": "incident.assign"},
            {
                "type": "overflow",
                "action_id": "incident.more",
                "options": options("silence", "mute"),
            },
        ],
    },
]
DECLARE_VIEW = {
    "type": "modal",
    "callback_id": "incident.declare",
    "notify_on_close": True,
    "private_metadata": "gpu-alerts",
    "title": plain("Declare incident"),
    "submit": plain("Declare"),
    "close": plain("Cancel"),
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": plain("Title"),
            "element": {"type": "plain_text_input", "action_id": "title"},
        },
        {
            "type": "input",
            "block_id": "severity",
            "label": plain("Severity"),
            "element": {
                "type": "static_select",
                "action_id": "severity",
                "options": options("p1", "p2", "p3"),
            },
        },
        {
            "type": "input",
            "block_id": "commander",
            "optional": True,
            "label": plain("Incident commander"),
            "element": {"type": "users_select", "action_id": "commander"},
        },
        {
            "type": "input",
            "block_id": "notes",
            "optional": True,
            "label": plain("Notes"),
            "element": {"type": "plain_text_input", "action_id": "notes", "multiline": True},
        },
    ],
}
MIN_TITLE = 5


def flow_view(action: str, title: str = "Flow") -> dict[str, Any]:
    """A modal whose submission the receiver answers with ``response_action: action``."""
    return {
        "type": "modal",
        "callback_id": "flow",
        "private_metadata": action,
        "title": plain(title),
        "submit": plain("Next"),
        "blocks": [
            {
                "type": "input",
                "block_id": "step",
                "label": plain("Step"),
                "element": {"type": "plain_text_input", "action_id": "step"},
            }
        ],
    }
