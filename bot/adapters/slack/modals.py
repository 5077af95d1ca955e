"""Pure renderers and readers of the bot's modals: the declare-incident form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import messages
from bot.adapters.slack.ids import BlockId, CallbackId
from bot.core.incidents import Severity

View = dict[str, Any]
TITLE_MAX = 140  # the service's limit; Slack enforces it in the form too
DESCRIPTION_MAX = 2000


@dataclass(frozen=True)
class Declaration:
    """What a person entered in the declare modal."""

    title: str
    severity: Severity
    description: str
    channel: str  # where /incident declare was run (private_metadata)


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _option(severity: Severity) -> dict[str, Any]:
    return {"text": _plain(str(severity)), "value": str(severity)}


def declare_view(*, channel: str, severity: Severity = Severity.P2) -> View:
    """The declare-incident modal; ``channel`` comes back in ``private_metadata``."""
    return {
        "type": "modal",
        "callback_id": CallbackId.DECLARE,
        "title": _plain(messages.DECLARE_MODAL_TITLE),
        "submit": _plain(messages.DECLARE_MODAL_SUBMIT),
        "close": _plain(messages.DECLARE_MODAL_CANCEL),
        "private_metadata": channel,
        "blocks": [
            {
                "type": "input",
                "block_id": BlockId.DECLARE_TITLE,
                "label": _plain(messages.DECLARE_TITLE_LABEL),
                "hint": _plain(messages.DECLARE_TITLE_HINT),
                "element": {
                    "type": "plain_text_input",
                    "action_id": BlockId.DECLARE_TITLE,
                    "max_length": TITLE_MAX,
                },
            },
            {
                "type": "input",
                "block_id": BlockId.DECLARE_SEVERITY,
                "label": _plain(messages.DECLARE_SEVERITY_LABEL),
                "element": {
                    "type": "static_select",
                    "action_id": BlockId.DECLARE_SEVERITY,
                    "options": [_option(s) for s in Severity],
                    "initial_option": _option(severity),
                },
            },
            {
                "type": "input",
                "block_id": BlockId.DECLARE_DESCRIPTION,
                "optional": True,
                "label": _plain(messages.DECLARE_DESCRIPTION_LABEL),
                "element": {
                    "type": "plain_text_input",
                    "action_id": BlockId.DECLARE_DESCRIPTION,
                    "multiline": True,
                    "max_length": DESCRIPTION_MAX,
                },
            },
        ],
    }


def read_declaration(view: View) -> Declaration:
    """The values of a submitted declare modal (Slack's ``view.state.values``)."""
    values = view["state"]["values"]

    def value(block: BlockId) -> Any:
        return values.get(block, {}).get(block, {})

    chosen = value(BlockId.DECLARE_SEVERITY).get("selected_option") or {}
    return Declaration(
        title=str(value(BlockId.DECLARE_TITLE).get("value") or ""),
        severity=Severity(chosen.get("value", Severity.P2)),
        description=str(value(BlockId.DECLARE_DESCRIPTION).get("value") or ""),
        channel=str(view.get("private_metadata", "")),
    )
