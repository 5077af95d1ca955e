"""A person's hands on a modal: submit or close it, and what the app's answer does to it.

After a ``view_submission`` the app's ``ack`` decides, as on Slack: an empty body closes the view;
``response_action`` ``errors`` shows messages under the named input blocks; ``update`` replaces
the view; ``push`` stacks a new one; ``clear`` closes the whole stack. A failed delivery leaves
the view open. Closing sends ``view_closed`` only when the view asked for ``notify_on_close``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sandbox.slack.errors import NotFound, SlackError
from sandbox.slack.interactions import Interactions, ack_json, summary
from sandbox.slack.modals import Modals, OpenView
from sandbox.slack.payloads import view_closed_payload, view_submission_payload
from sandbox.slack.people import User
from sandbox.slack.signing import Delivery
from sandbox.slack.viewspec import input_block_ids, parse_view, submitted_values

Answer = dict[str, Any]


def top_view(modals: Modals, user: User, view_id: str) -> OpenView:
    """The view on top of ``user``'s stack, which must be ``view_id``."""
    stack = modals.stack(user.id)
    if not stack or stack[-1].id != view_id:
        raise NotFound(f"view {view_id} is not the modal {user.name} has in front")
    return stack[-1]


async def submit_view(
    interactions: Interactions,
    *,
    user: User,
    view_id: str,
    entered: Mapping[str, Mapping[str, str | None]],
) -> dict[str, Any]:
    """Submit ``user``'s front modal with the ``entered`` values and apply the app's answer."""
    state = interactions.state
    view = top_view(state.modals, user, view_id)
    view.values = submitted_values(view.definition["blocks"], entered, state.ws.users)
    view.errors = {}
    payload = view_submission_payload(
        user=user, view=view.to_api(), trigger_id=state.modals.triggers.issue(user.id)
    )
    delivery = await interactions.deliver_payload(payload)
    return settle_submission(state.modals, view, delivery)


async def close_view(interactions: Interactions, *, user: User, view_id: str) -> dict[str, Any]:
    """Close ``user``'s front modal (its stack when ``clear_on_close``), notifying if asked."""
    modals = interactions.state.modals
    view = top_view(modals, user, view_id)
    clear = view.definition.get("clear_on_close") is True
    closed = modals.close(view, clear=clear)
    outcome: dict[str, Any] = {"status": None, "body": "", "error": None}
    if view.definition.get("notify_on_close") is True:
        payload = view_closed_payload(user=user, view=view.to_api(), is_cleared=clear)
        outcome = summary(await interactions.deliver_payload(payload))
    return outcome | {"closed": [item.id for item in closed]}


def settle_submission(modals: Modals, view: OpenView, delivery: Delivery) -> dict[str, Any]:
    """Apply the app's answer to a submission; report the delivery and what it did."""
    outcome = summary(delivery) | {"response_action": None, "messages": []}
    if delivery.error is not None:
        return outcome
    answer = ack_json(delivery) or {}
    action = answer.get("response_action")
    outcome["response_action"] = action
    apply = _ACTIONS.get(action)
    try:
        if apply is None:
            raise SlackError("invalid_response_action", f"[ERROR] unknown {action!r}")
        apply(modals, view, answer)
    except SlackError as failure:
        outcome |= {"error": failure.code, "messages": failure.messages}
    return outcome


def _close(modals: Modals, view: OpenView, answer: Answer) -> None:  # noqa: ARG001
    modals.close(view, clear=False)


def _clear(modals: Modals, view: OpenView, answer: Answer) -> None:  # noqa: ARG001
    modals.close(view, clear=True)


def _errors(modals: Modals, view: OpenView, answer: Answer) -> None:
    errors = answer.get("errors")
    if not isinstance(errors, dict) or not errors:
        raise SlackError("invalid_errors", "[ERROR] errors must map block_id to a message")
    unknown = sorted(set(errors) - input_block_ids(view.definition["blocks"]))
    if unknown:
        raise SlackError("invalid_errors", f"[ERROR] not input blocks of the view: {unknown}")
    modals.show_errors(view, {str(key): str(value) for key, value in errors.items()})


def _update(modals: Modals, view: OpenView, answer: Answer) -> None:
    modals.update(view, parse_view(answer.get("view")), expected_hash=None)


def _push(modals: Modals, view: OpenView, answer: Answer) -> None:
    modals.push(view.user_id, parse_view(answer.get("view")))


_ACTIONS: dict[str | None, Callable[[Modals, OpenView, Answer], None]] = {
    None: _close,
    "clear": _clear,
    "errors": _errors,
    "update": _update,
    "push": _push,
}
