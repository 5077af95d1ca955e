"""A person's modals: list what is open, submit a view, close it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from sandbox.slack.automation.deps import InteractionsDep, StateDep, find_user
from sandbox.slack.modal_flow import close_view, submit_view

router = APIRouter()


class CloseRequest(BaseModel):
    """A person closes the modal in front of them."""

    user: str
    view_id: str


class SubmitRequest(CloseRequest):
    """A person submits the modal in front of them with ``{block_id: {action_id: value}}``.

    A value is the text typed, the chosen option's ``value`` or the chosen user's id; inputs
    left out keep their initial value.
    """

    values: dict[str, dict[str, str | None]] = {}


@router.get("/views")
async def views(state: StateDep, user: str | None = None) -> dict[str, Any]:
    """Open modals per user id, root first, each with the field errors it shows."""
    stacks = state.modals.stacks
    if user is not None:
        person = find_user(state.ws, user)
        stacks = {person.id: state.modals.stack(person.id)}
    return {
        "views": {
            user_id: [{"view": view.to_api(), "errors": view.errors} for view in stack]
            for user_id, stack in stacks.items()
        }
    }


@router.post("/submit")
async def submit(body: SubmitRequest, interactions: InteractionsDep) -> dict[str, Any]:
    """Submit a modal: deliver ``view_submission`` and apply the app's ``response_action``."""
    user = find_user(interactions.state.ws, body.user)
    return await submit_view(interactions, user=user, view_id=body.view_id, entered=body.values)


@router.post("/close")
async def close(body: CloseRequest, interactions: InteractionsDep) -> dict[str, Any]:
    """Close a modal (``view_closed`` goes to the app when the view asked for it)."""
    user = find_user(interactions.state.ws, body.user)
    return await close_view(interactions, user=user, view_id=body.view_id)
