"""``views.open``, ``views.update`` and ``views.push``: modals on a person's screen."""

from __future__ import annotations

from sandbox.slack.errors import SlackError
from sandbox.slack.methods.call import Call, Method, Result
from sandbox.slack.viewspec import parse_view


def views_open(call: Call) -> Result:
    """``views.open``: exchange a fresh ``trigger_id`` for a modal on that person's screen."""
    definition = parse_view(call.args.required_raw("view"))
    modals = call.state.modals
    user_id = modals.triggers.exchange(call.args.required("trigger_id"))
    return {"view": modals.open(user_id, definition).to_api()}


def views_push(call: Call) -> Result:
    """``views.push``: exchange a ``trigger_id`` for a view on top of the open modal."""
    definition = parse_view(call.args.required_raw("view"))
    modals = call.state.modals
    user_id = modals.triggers.exchange(call.args.required("trigger_id"))
    return {"view": modals.push(user_id, definition).to_api()}


def views_update(call: Call) -> Result:
    """``views.update``: replace an open view found by ``view_id`` or ``external_id``."""
    args, modals = call.args, call.state.modals
    view_id, external_id = args.optional("view_id"), args.optional("external_id")
    if view_id is None and external_id is None:
        raise SlackError("invalid_arguments", "[ERROR] missing required field: view_id")
    definition = parse_view(args.required_raw("view"))
    view = modals.find(view_id=view_id, external_id=external_id)
    updated = modals.update(view, definition, expected_hash=args.optional("hash"))
    return {"view": updated.to_api()}


METHODS: dict[str, Method] = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
}
