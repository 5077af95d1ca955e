"""Bolt listeners of the runbook walk-through: ``/incident runbook`` and the thread's buttons.

Each button is acked at once (probes and actions may take longer than Slack's 3 seconds); the
service it calls does the work and re-renders the run's message. A click that comes twice (a
double click, a Slack retry, an old message) is refused by the service's compare-and-set and
changes nothing; the refusal, like any user's mistake, is answered to that user alone.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import messages
from bot.adapters.slack.arguments import incident_id
from bot.adapters.slack.commands import CommandRouter, Invocation, Reply
from bot.adapters.slack.ids import ActionId
from bot.core.approvals import Decision
from bot.core.errors import NotFound, UserError
from bot.core.runbooks import StepOutcome
from bot.services import runbooks
from bot.services.remediation import role_groups
from bot.services.runbooks import RunbookDeps

Button = Callable[[dict[str, Any], str], Awaitable[object]]
_CHOOSE = re.compile(rf"^{re.escape(ActionId.RUNBOOK_CHOOSE.value)}\.\d+$")


def register_runbooks(
    app: AsyncApp,
    *,
    router: CommandRouter,
    deps: RunbookDeps,
) -> None:
    """Add ``/incident runbook`` to ``router`` and the walk-through's buttons to ``app``."""
    handlers = _Handlers(deps)
    router.add(
        "runbook",
        handlers.command,
        usage=messages.RUNBOOK_USAGE,
        summary=messages.RUNBOOK_HELP,
        slow=True,
    )
    buttons: tuple[tuple[str | re.Pattern[str], Button], ...] = (
        (ActionId.RUNBOOK_START.value, handlers.start),
        (ActionId.RUNBOOK_DONE.value, handlers.answer(StepOutcome.DONE)),
        (ActionId.RUNBOOK_SKIP.value, handlers.answer(StepOutcome.SKIPPED)),
        (ActionId.RUNBOOK_NOT_APPLICABLE.value, handlers.answer(StepOutcome.NOT_APPLICABLE)),
        (_CHOOSE, handlers.choose),
        (ActionId.RUNBOOK_PROBE.value, handlers.probe),
        (ActionId.RUNBOOK_REQUEST.value, handlers.request),
        (ActionId.ACTION_APPROVE.value, handlers.decide(Decision.APPROVE)),
        (ActionId.ACTION_REJECT.value, handlers.decide(Decision.REJECT)),
        (ActionId.ACTION_UNDO.value, handlers.undo),
    )
    for action_id, handler in buttons:
        app.action(action_id)(_clicked(handler))


class _Handlers:
    """Parse what Slack sent, call the runbook service."""

    def __init__(self, deps: RunbookDeps) -> None:
        self._deps = deps

    async def command(self, call: Invocation) -> Reply:
        """/incident runbook INC-n [NAME] — offer the fitting runbooks, or start one."""
        if not 1 <= len(call.args) <= 2:  # noqa: PLR2004 - the ref, then maybe a name
            usage = messages.USAGE.format(command=call.command, usage=messages.RUNBOOK_USAGE)
            raise UserError(usage)
        number = incident_id(call.args[0])
        if len(call.args) == 1:
            found = await runbooks.offer(deps=self._deps, incident_id=number)
            names = ", ".join(r.name for r in found)
            return Reply(messages.RUNBOOK_OFFERED_REPLY.format(ref=f"INC-{number}", names=names))
        name = call.args[1]
        await runbooks.start(deps=self._deps, incident_id=number, name=name, user=call.user)
        return Reply(messages.RUNBOOK_STARTED_REPLY.format(name=name, ref=f"INC-{number}"))

    async def start(self, action: dict[str, Any], user: str) -> object:
        """Start: the value is ``incident id:runbook name``."""
        number, name = action["value"].split(":", 1)
        return await runbooks.start(deps=self._deps, incident_id=int(number), name=name, user=user)

    def answer(self, outcome: StepOutcome) -> Button:
        """Done / Skip / Not applicable: the value is ``run id:step id``."""

        async def handler(action: dict[str, Any], user: str) -> object:
            run_id, step = _run_step(action["value"])
            return await runbooks.answer(
                deps=self._deps, run_id=run_id, step_id=step, outcome=outcome, user=user
            )

        return handler

    async def choose(self, action: dict[str, Any], user: str) -> object:
        """A decision's choice: the value is ``run id:step id:choice index``."""
        run_id, rest = action["value"].split(":", 1)
        step, index = rest.rsplit(":", 1)
        return await runbooks.answer(
            deps=self._deps,
            run_id=int(run_id),
            step_id=step,
            outcome=StepOutcome.CHOSEN,
            user=user,
            choice=int(index),
        )

    async def probe(self, action: dict[str, Any], user: str) -> object:
        """Run probe."""
        run_id, step = _run_step(action["value"])
        return await runbooks.probe(deps=self._deps, run_id=run_id, step_id=step, user=user)

    async def request(self, action: dict[str, Any], user: str) -> object:
        """Request action."""
        run_id, step = _run_step(action["value"])
        return await runbooks.request_step_action(
            deps=self._deps,
            run_id=run_id,
            step_id=step,
            user=user,
            groups=await self._groups_of(user),
        )

    def decide(self, decision: Decision) -> Button:
        """Approve / Reject: the value is ``action id:plan digest`` (the plan shown)."""

        async def handler(action: dict[str, Any], user: str) -> object:
            action_id, digest = action["value"].split(":", 1)
            return await runbooks.decide(
                deps=self._deps,
                action_id=int(action_id),
                user=user,
                decision=decision,
                digest=digest,
                groups=await self._groups_of(user),
            )

        return handler

    async def undo(self, action: dict[str, Any], user: str) -> object:
        """Undo: the value is the action's id."""
        return await runbooks.undo(
            deps=self._deps,
            action_id=int(action["value"]),
            user=user,
            groups=await self._groups_of(user),
        )

    async def _groups_of(self, user: str) -> frozenset[str]:
        """The role-granting user groups ``user`` is in (none without remediation)."""
        gated = self._deps.remediation
        return frozenset() if gated is None else await role_groups(gated, user)


def _clicked(handler: Button) -> Callable[..., Awaitable[None]]:
    async def listener(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Ack now; run the service; answer a refusal to the one who clicked."""
        await ack()
        try:
            await handler(body["actions"][0], body["user"]["id"])
        except (UserError, NotFound) as exc:
            await respond(text=str(exc), response_type="ephemeral", replace_original=False)
        except (ValueError, KeyError):
            await respond(
                text=messages.RUNBOOK_BAD_BUTTON, response_type="ephemeral", replace_original=False
            )

    return listener


def _run_step(value: str) -> tuple[int, str]:
    run_id, step = value.split(":", 1)
    return int(run_id), step
