"""Bolt listeners: parse what Slack sent, call a service, render the answer. Nothing else."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.adapters.slack import blocks
from bot.adapters.slack.commands import CommandRouter, Invocation, Reply
from bot.adapters.slack.ids import ActionId
from bot.core.errors import NotFound, UserError
from bot.core.policy import AccessPolicy
from bot.core.ports import Clock, Notifier, UnitOfWorkFactory
from bot.services import incidents

log = logging.getLogger(__name__)


def register_listeners(
    app: AsyncApp,
    *,
    router: CommandRouter,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
    access: AccessPolicy,
    clock: Clock,
) -> None:
    """Add the incident subcommands to ``router`` and attach the button handlers to ``app``."""

    async def list_incidents(_: Invocation) -> Reply:
        """/incident list — the open incidents, newest first."""
        return Reply(blocks.incident_list(incidents.list_open(uow=uow)))

    async def acknowledge_button(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """The Acknowledge button on an incident's root message."""
        await ack()
        action = body["actions"][0]
        try:
            await incidents.acknowledge(
                incident_id=int(action["value"]),
                user=body["user"]["id"],
                uow=uow,
                notifier=notifier,
                access=access,
                clock=clock,
            )
        except (UserError, NotFound) as exc:
            await respond(text=str(exc), response_type="ephemeral", replace_original=False)

    router.add("list", list_incidents, usage="list", summary="open incidents, newest first")
    app.action(ActionId.ACKNOWLEDGE.value)(acknowledge_button)
