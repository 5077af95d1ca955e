"""Trigger ids, view stacks and Slack's rules for changing them, under a fake clock."""

from __future__ import annotations

import pytest

from sandbox.slack.changes import Changes
from sandbox.slack.errors import SlackError
from sandbox.slack.modals import MAX_STACK, TRIGGER_LIFETIME_SECONDS, Modals, Triggers
from sandbox.slack.viewspec import View, parse_view


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def view(title: str = "Declare", **extra: object) -> View:
    blocks = [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "title"},
        }
    ]
    return parse_view(
        {
            "type": "modal",
            "title": {"type": "plain_text", "text": title},
            "submit": {"type": "plain_text", "text": "Go"},
            "blocks": blocks,
            **extra,
        }
    )


def test_trigger_is_spent_once_and_names_its_user() -> None:
    triggers = Triggers(clock=FakeClock())
    trigger = triggers.issue("U0ALICE")
    assert triggers.exchange(trigger) == "U0ALICE"
    with pytest.raises(SlackError, match="exchanged_trigger_id"):
        triggers.exchange(trigger)
    with pytest.raises(SlackError, match="invalid_trigger_id"):
        triggers.exchange("1.2.3")


def test_trigger_expires_after_three_seconds() -> None:
    clock = FakeClock()
    triggers = Triggers(clock=clock)
    fresh, stale = triggers.issue("U0BOB"), triggers.issue("U0BOB")
    clock.now += TRIGGER_LIFETIME_SECONDS
    assert triggers.exchange(fresh) == "U0BOB"
    clock.now += 0.001
    with pytest.raises(SlackError, match="expired_trigger_id"):
        triggers.exchange(stale)


def test_push_stacks_up_to_three_views_and_close_pops_or_clears() -> None:
    changes = Changes()
    modals = Modals(changes)
    root = modals.open("U0ALICE", view())
    second = modals.push("U0ALICE", view("Second"))
    third = modals.push("U0ALICE", view("Third"))
    assert len(modals.stack("U0ALICE")) == MAX_STACK
    assert (third.root_view_id, third.previous_view_id) == (root.id, second.id)
    with pytest.raises(SlackError, match="push_limit_reached"):
        modals.push("U0ALICE", view())
    assert modals.close(third, clear=False) == [third]
    assert modals.stack("U0ALICE") == [root, second]
    assert modals.close(second, clear=True) == [root, second]
    assert modals.stacks == {}
    assert modals.close(second, clear=False) == []
    assert changes.version == 5


def test_update_checks_the_hash_and_keeps_values_whose_ids_survive() -> None:
    modals = Modals(Changes())
    shown = modals.open("U0ALICE", view())
    shown.values = {"title": {"title": {"type": "plain_text_input", "value": "GPU 3"}}}
    old_hash = shown.hash
    with pytest.raises(SlackError, match="hash_conflict"):
        modals.update(shown, view("New"), expected_hash="stale")
    modals.update(shown, view("New"), expected_hash=old_hash)
    assert shown.values["title"]["title"]["value"] == "GPU 3"
    assert shown.hash != old_hash
    assert shown.to_api()["title"]["text"] == "New"
    bare = parse_view(
        {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Done"},
            "blocks": [{"type": "divider"}],
        }
    )
    modals.update(shown, bare, expected_hash=None)
    assert shown.values == {}


def test_external_ids_are_unique_and_findable() -> None:
    modals = Modals(Changes())
    shown = modals.open("U0ALICE", view(external_id="inc-42"))
    assert modals.find(view_id=None, external_id="inc-42") is shown
    with pytest.raises(SlackError, match="duplicate_external_id"):
        modals.open("U0BOB", view(external_id="inc-42"))
    with pytest.raises(SlackError, match="not_found"):
        modals.find(view_id="V0NOPE")


def test_push_without_an_open_modal_opens_one() -> None:
    modals = Modals(Changes())
    pushed = modals.push("U0CAROL", view())
    assert modals.stack("U0CAROL") == [pushed]
    assert pushed.previous_view_id is None
