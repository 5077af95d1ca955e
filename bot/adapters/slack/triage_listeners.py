"""``/incident summary|rootcause|postmortem INC-n`` and the Summary button: LLM triage in Slack.

All are slow (acked at once, answered through ``response_url``): the LLM may take up to its
deadline, and the template answers when it is off or fails. The answer is recorded on the
timeline and posted in the incident's thread; the one who asked also gets it ephemerally.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import messages
from bot.adapters.slack.arguments import incident_id
from bot.adapters.slack.commands import CommandRouter, Handler, Invocation, Reply
from bot.adapters.slack.ids import ActionId
from bot.core.errors import NotFound, UserError
from bot.core.ports import Clock, Notifier, UnitOfWorkFactory
from bot.core.triage import Task
from bot.services.triage import TriageDeps, run_triage

_COMMANDS = (
    ("summary", Task.SUMMARY, messages.TRIAGE_USAGE_SUMMARY, messages.TRIAGE_HELP_SUMMARY),
    ("rootcause", Task.ROOT_CAUSE, messages.TRIAGE_USAGE_ROOTCAUSE, messages.TRIAGE_HELP_ROOTCAUSE),
    (
        "postmortem",
        Task.POSTMORTEM,
        messages.TRIAGE_USAGE_POSTMORTEM,
        messages.TRIAGE_HELP_POSTMORTEM,
    ),
)


def register_triage(
    app: AsyncApp,
    *,
    router: CommandRouter,
    deps: TriageDeps,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
    clock: Clock,
) -> None:
    """Add the triage subcommands to ``router`` and the Summary button's handler to ``app``."""

    async def run(task: Task, ref: int, user: str) -> str:
        result = await run_triage(
            task=task,
            incident_id=ref,
            deps=deps,
            uow=uow,
            notifier=notifier,
            clock=clock,
            actor=user,
        )
        return result.entry.text

    def command(name: str, task: Task) -> Handler:
        async def handler(call: Invocation) -> Reply:
            if not call.args:
                raise UserError(messages.TRIAGE_MISSING_REF.format(name=name))
            return Reply(await run(task, incident_id(call.args[0]), call.user))

        return handler

    for name, task, usage, summary in _COMMANDS:
        router.add(name, command(name, task), usage=usage, summary=summary, slow=True)

    async def summary_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """The Summary button on an incident's root message: a read-in for whoever clicks."""
        await ack()  # Bolt answers Slack now; the LLM may take seconds after it
        try:
            text = await run(Task.SUMMARY, int(body["actions"][0]["value"]), body["user"]["id"])
        except (UserError, NotFound) as exc:
            text = str(exc)
        await respond(text=text, response_type="ephemeral", replace_original=False)

    app.action(ActionId.SUMMARY.value)(summary_button)
