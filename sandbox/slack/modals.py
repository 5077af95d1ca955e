"""Open modals: trigger ids, each person's stack of views, and Slack's rules for changing them.

A ``trigger_id`` comes with every delivered interaction (slash command, block action, view
submission). ``views.open`` and ``views.push`` must exchange it within
:data:`TRIGGER_LIFETIME_SECONDS` (3 s, as on Slack) and only once: otherwise
``invalid_trigger_id``, ``expired_trigger_id`` or ``exchanged_trigger_id``. A stack holds at most
:data:`MAX_STACK` views (``push_limit_reached``). ``views.update`` with a stale ``hash`` fails with
``hash_conflict``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.slack.changes import Changes
from sandbox.slack.errors import SlackError
from sandbox.slack.people import APP_ID, BOT_ID, TEAM_ID
from sandbox.slack.viewspec import View, inputs

TRIGGER_LIFETIME_SECONDS = 3.0
MAX_STACK = 3


@dataclass
class Trigger:
    """Who a trigger id was issued to, when, and whether it was exchanged."""

    user_id: str
    issued: float
    used: bool = False


class Triggers:
    """The trigger ids handed out with deliveries."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._issued: dict[str, Trigger] = {}

    def issue(self, user_id: str) -> str:
        """Mint a Slack-shaped ``trigger_id`` for an interaction of ``user_id``."""
        trigger_id = f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        self._issued[trigger_id] = Trigger(user_id, self._clock())
        return trigger_id

    def exchange(self, trigger_id: str) -> str:
        """Spend a trigger id; return the user it was issued to."""
        trigger = self._issued.get(trigger_id)
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self._clock() - trigger.issued > TRIGGER_LIFETIME_SECONDS:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger.user_id


@dataclass
class OpenView:
    """A modal on a person's screen: its definition, state, and the errors shown in it."""

    id: str
    user_id: str
    definition: View
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        """Render as Slack's view object."""
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "type": "modal",
            "close": None,
            "submit": None,
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            **self.definition,
            "state": {"values": self.values},
            "hash": self.hash,
            "root_view_id": self.root_view_id,
            "previous_view_id": self.previous_view_id,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }


def _new_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"


class Modals:
    """Every person's stack of open views, root first."""

    def __init__(self, changes: Changes, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.triggers = Triggers(clock=clock)
        self.stacks: dict[str, list[OpenView]] = {}
        self._changes = changes

    def stack(self, user_id: str) -> list[OpenView]:
        """``user_id``'s open views, root first (empty when none is open)."""
        return self.stacks.get(user_id, [])

    def open(self, user_id: str, definition: View) -> OpenView:
        """Show a new root view, replacing whatever ``user_id`` had open."""
        self._check_external_id(definition, None)
        view_id = _new_view_id()
        view = OpenView(view_id, user_id, definition, _new_hash(), root_view_id=view_id)
        self.stacks[user_id] = [view]
        self._changes.bump("view")
        return view

    def push(self, user_id: str, definition: View) -> OpenView:
        """Put a view on top of ``user_id``'s stack (a new root when none is open)."""
        stack = self.stack(user_id)
        if not stack:
            return self.open(user_id, definition)
        if len(stack) >= MAX_STACK:
            raise SlackError("push_limit_reached")
        self._check_external_id(definition, None)
        top = stack[-1]
        view = OpenView(
            _new_view_id(),
            user_id,
            definition,
            _new_hash(),
            root_view_id=top.root_view_id,
            previous_view_id=top.id,
        )
        stack.append(view)
        self._changes.bump("view")
        return view

    def find(self, *, view_id: str | None, external_id: str | None = None) -> OpenView:
        """An open view by id or ``external_id``."""
        for stack in self.stacks.values():
            for view in stack:
                if view.id == view_id or (
                    external_id and view.definition.get("external_id") == external_id
                ):
                    return view
        raise SlackError("not_found")

    def update(self, view: OpenView, definition: View, *, expected_hash: str | None) -> OpenView:
        """Replace a view's definition, keeping entered values whose ids survive."""
        if expected_hash is not None and expected_hash != view.hash:
            raise SlackError("hash_conflict")
        self._check_external_id(definition, view)
        kept = {
            (block["block_id"], element["action_id"])
            for block, element in inputs(definition["blocks"])
        }
        values: dict[str, dict[str, Any]] = {}
        for block_id, fields in view.values.items():
            for action_id, state in fields.items():
                if (block_id, action_id) in kept:
                    values.setdefault(block_id, {})[action_id] = state
        view.values = values
        view.definition, view.hash, view.errors = definition, _new_hash(), {}
        self._changes.bump("view")
        return view

    def show_errors(self, view: OpenView, errors: dict[str, str]) -> None:
        """Show field errors under a view's input blocks."""
        view.errors = dict(errors)
        self._changes.bump("view")

    def close(self, view: OpenView, *, clear: bool) -> list[OpenView]:
        """Close ``view`` and the views above it, or its whole stack; return those closed."""
        stack = self.stack(view.user_id)
        if view not in stack:  # closed meanwhile, say by a second click
            return []
        keep = 0 if clear else stack.index(view)
        closed = stack[keep:]
        del stack[keep:]
        if not stack:
            self.stacks.pop(view.user_id, None)
        self._changes.bump("view")
        return closed

    def _check_external_id(self, definition: View, replacing: OpenView | None) -> None:
        external_id = definition.get("external_id")
        if not external_id:
            return
        for stack in self.stacks.values():
            for view in stack:
                if view is not replacing and view.definition.get("external_id") == external_id:
                    raise SlackError("duplicate_external_id")


def _new_view_id() -> str:
    return "V0" + secrets.token_hex(5).upper()
