"""Bolt listeners for incidents: parse what Slack sent, call a service, render the answer.

``/incident`` subcommands (declare, show, ack, mitigate, resolve, close, sev, assign, note,
timeline, merge, list), the root message's Acknowledge / Resolve buttons and severity select, and
the declare modal. A user's mistake comes back as an ephemeral message that says what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.adapters.slack import arguments, blocks, modals
from bot.adapters.slack.commands import CommandRouter, Invocation, Reply
from bot.adapters.slack.ids import ActionId, BlockId, CallbackId
from bot.core.errors import NotFound, UserError
from bot.core.incidents import Incident
from bot.core.policy import AccessPolicy, SlaPolicy
from bot.core.ports import Clock, Notifier, UnitOfWorkFactory
from bot.services import incidents
from bot.services.incidents import Deps

log = logging.getLogger(__name__)

Command = Callable[[Invocation], Awaitable[Reply | str | None]]
_DECLARE_WORDS = 2  # a severity, then the title


def register_listeners(
    app: AsyncApp,
    *,
    router: CommandRouter,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
    access: AccessPolicy,
    clock: Clock,
    sla: SlaPolicy,
) -> None:
    """Add the incident subcommands to ``router``; attach the buttons and the modal to ``app``."""
    deps = Deps(uow, notifier, access, clock, sla)
    _register_commands(router, deps, sla)
    _register_buttons(app, deps)
    app.view(CallbackId.DECLARE.value)(_declare_submitted(deps))


def _register_commands(router: CommandRouter, deps: Deps, sla: SlaPolicy) -> None:
    async def list_incidents(_: Invocation) -> Reply:
        """/incident list — the open incidents, newest first."""
        return Reply(blocks.incident_list(incidents.list_open(uow=deps.uow)))

    async def show(inv: Invocation) -> Reply:
        """/incident show INC-n — status, owner, deadlines, alerts and the latest entries."""
        (ref,) = _words(inv, 1, "show INC-12")
        seen = incidents.view(uow=deps.uow, incident_id=arguments.incident_id(ref), entries=5)
        text, shown = blocks.incident_details(
            seen.incident,
            seen.alerts,
            seen.entries,
            total=seen.total_entries,
            sla=sla,
            now=deps.clock.now(),
        )
        return Reply(text, shown)

    async def timeline(inv: Invocation) -> Reply:
        """/incident timeline INC-n — the latest timeline entries, short."""
        (ref,) = _words(inv, 1, "timeline INC-12")
        seen = incidents.view(uow=deps.uow, incident_id=arguments.incident_id(ref), entries=15)
        return Reply(blocks.timeline_text(seen.incident, seen.entries, total=seen.total_entries))

    add = router.add
    add("declare", _declare(deps), usage='declare [P1|P2|P3 "title"]', summary="open an incident")
    add("list", list_incidents, usage="list", summary="open incidents, newest first")
    add("show", show, usage="show INC-12", summary="one incident: status, owner, deadlines")
    for name, usage, summary, run in _CHANGES:
        add(name, _change(deps, usage, run), usage=usage, summary=summary, slow=True)
    add("timeline", timeline, usage="timeline INC-12", summary="its latest timeline entries")


Run = Callable[[Deps, Invocation, int], Awaitable[Incident]]


async def _ack(deps: Deps, inv: Invocation, incident_id: int) -> Incident:
    _words(inv, 1, "ack INC-12")
    return await incidents.acknowledge(
        incident_id=incident_id,
        user=inv.user,
        uow=deps.uow,
        notifier=deps.notifier,
        access=deps.access,
        clock=deps.clock,
    )


async def _mitigate(deps: Deps, inv: Invocation, incident_id: int) -> Incident:
    _words(inv, 1, "mitigate INC-12")
    return await incidents.mitigate(deps=deps, incident_id=incident_id, user=inv.user)


async def _resolve(deps: Deps, inv: Invocation, incident_id: int) -> Incident:
    note = _after_ref(inv)
    return await incidents.resolve(deps=deps, incident_id=incident_id, user=inv.user, note=note)


async def _close(deps: Deps, inv: Invocation, incident_id: int) -> Incident:
    _words(inv, 1, "close INC-12")
    return await incidents.close(deps=deps, incident_id=incident_id, user=inv.user)


async def _severity(deps: Deps, inv: Invocation, incident_id: int) -> Incident:
    _, level = _words(inv, 2, "sev INC-12 P1")
    return await incidents.change_severity(
        deps=deps, incident_id=incident_id, user=inv.user, severity=arguments.severity(level)
    )


async def _assign(deps: Deps, inv: Invocation, incident_id: int) -> Incident:
    _, who = _words(inv, 2, "assign INC-12 @user")
    owner = arguments.user_id(who) or await _lookup_user(inv.client, arguments.user_name(who))
    return await incidents.assign(deps=deps, incident_id=incident_id, user=inv.user, owner=owner)


async def _note(deps: Deps, inv: Invocation, incident_id: int) -> Incident:
    text = _after_ref(inv)
    if not text:
        raise UserError(messages.USAGE.format(command=inv.command, usage="note INC-12 text…"))
    return await incidents.add_note(
        deps=deps, incident_id=incident_id, user=inv.user, text=text, request=inv.trigger_id
    )


async def _merge(deps: Deps, inv: Invocation, incident_id: int) -> Incident:
    _, into, target = _words(inv, 3, "merge INC-12 into INC-7")
    if into.lower() != "into":
        raise UserError(messages.USAGE.format(command=inv.command, usage="merge INC-12 into INC-7"))
    return await incidents.merge(
        deps=deps,
        duplicate_id=incident_id,
        into_id=arguments.incident_id(target),
        user=inv.user,
    )


_CHANGES: tuple[tuple[str, str, str, Run], ...] = (
    ("ack", "ack INC-12", "acknowledge: you are on it", _ack),
    ("mitigate", "mitigate INC-12", "users are served again; the cause may remain", _mitigate),
    ("resolve", "resolve INC-12 [note]", "it is over; reminders and escalation stop", _resolve),
    ("close", "close INC-12", "close a resolved incident", _close),
    ("sev", "sev INC-12 P1", "change the severity (SLA deadlines follow)", _severity),
    ("assign", "assign INC-12 @user", "make someone the owner", _assign),
    ("note", "note INC-12 text…", "add a note to the timeline", _note),
    ("merge", "merge INC-12 into INC-7", "close a duplicate, moving its alerts", _merge),
)


def _change(deps: Deps, usage: str, run: Run) -> Command:
    async def handler(inv: Invocation) -> Reply:
        if not inv.args:
            raise UserError(messages.USAGE.format(command=inv.command, usage=usage))
        incident = await run(deps, inv, arguments.incident_id(inv.args[0]))
        if inv.name == "note":
            return Reply(messages.NOTED_REPLY.format(ref=incident.ref))
        return Reply(_done(incident))

    return handler


def _done(incident: Incident) -> str:
    owner = f", owner <@{incident.owner}>" if incident.owner else ""
    return messages.CHANGED_REPLY.format(
        ref=incident.ref, status=incident.status, severity=incident.severity, owner=owner
    )


def _words(inv: Invocation, count: int, usage: str) -> tuple[str, ...]:
    """Exactly ``count`` words after the subcommand, or a usage answer."""
    if len(inv.args) != count:
        raise UserError(messages.USAGE.format(command=inv.command, usage=usage))
    return inv.args


def _after_ref(inv: Invocation) -> str:
    """The raw text after the incident ref (a note keeps its quotes and spacing)."""
    parts = inv.rest.split(None, 1)
    return parts[1].strip() if len(parts) > 1 else ""


async def _lookup_user(client: AsyncWebClient, name: str) -> str:
    """The id of the workspace member called ``name`` (handle or display name)."""
    try:
        async for page in await client.users_list(limit=200):
            for member in page["members"]:
                profile = member.get("profile", {})
                if name in {member.get("name"), profile.get("display_name")}:
                    return str(member["id"])
    except SlackApiError as exc:
        log.warning("users.list failed while looking up @%s: %s", name, exc)
    raise UserError(messages.BAD_USER.format(text=f"@{name}"))


def _declare(deps: Deps) -> Command:
    async def declare(inv: Invocation) -> Reply | None:
        """/incident declare — the modal; ``declare P2 "title"`` declares at once."""
        if not inv.args:
            await inv.client.views_open(
                trigger_id=inv.trigger_id, view=modals.declare_view(channel=inv.channel)
            )
            return None
        if len(inv.args) < _DECLARE_WORDS:
            raise UserError(
                messages.USAGE.format(command=inv.command, usage='declare P2 "what is broken"')
            )
        incident = await incidents.declare(
            deps=deps,
            user=inv.user,
            severity=arguments.severity(inv.args[0]),
            title=" ".join(inv.args[1:]),
        )
        return Reply(_declared_text(incident))

    return declare


def _declared_text(incident: Incident) -> str:
    if incident.slack_channel is None:
        return messages.DECLARED_NOT_POSTED.format(ref=incident.ref)
    return messages.DECLARED_REPLY.format(ref=incident.ref, channel=incident.slack_channel)


def _declare_submitted(deps: Deps) -> Callable[..., Awaitable[None]]:
    async def submitted(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The declare modal was submitted: check the title, close the modal, declare."""
        entered = modals.read_declaration(body["view"])
        try:
            incidents.check_title(entered.title)
        except UserError as exc:
            await ack(response_action="errors", errors={BlockId.DECLARE_TITLE.value: str(exc)})
            return
        await ack()
        user = body["user"]["id"]
        try:
            incident = await incidents.declare(
                deps=deps,
                user=user,
                title=entered.title,
                severity=entered.severity,
                description=entered.description,
            )
            text = _declared_text(incident)
        except (UserError, NotFound) as exc:
            text = str(exc)
        if entered.channel:
            await client.chat_postEphemeral(channel=entered.channel, user=user, text=text)

    return submitted


def _register_buttons(app: AsyncApp, deps: Deps) -> None:
    async def acknowledge_button(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """The Acknowledge button on an incident's root message."""
        await ack()
        await _answer_errors(
            respond,
            incidents.acknowledge(
                incident_id=int(body["actions"][0]["value"]),
                user=body["user"]["id"],
                uow=deps.uow,
                notifier=deps.notifier,
                access=deps.access,
                clock=deps.clock,
            ),
        )

    async def resolve_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """The Resolve button (after its confirm dialog)."""
        await ack()
        await _answer_errors(
            respond,
            incidents.resolve(
                deps=deps, incident_id=int(body["actions"][0]["value"]), user=body["user"]["id"]
            ),
        )

    async def severity_select(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """The Change severity select: the incident is the message's."""
        await ack()
        action = body["actions"][0]
        block = next(
            b for b in body["message"]["blocks"] if b.get("block_id") == BlockId.INCIDENT_ACTIONS
        )
        await _answer_errors(
            respond,
            incidents.change_severity(
                deps=deps,
                incident_id=_incident_of(block),
                user=body["user"]["id"],
                severity=arguments.severity(action["selected_option"]["value"]),
            ),
        )

    app.action(ActionId.ACKNOWLEDGE.value)(acknowledge_button)
    app.action(ActionId.RESOLVE.value)(resolve_button)
    app.action(ActionId.SEVERITY.value)(severity_select)


def _incident_of(actions_block: dict[str, Any]) -> int:
    """The incident of a root message's actions block: its buttons carry the id."""
    return int(next(e["value"] for e in actions_block["elements"] if e.get("type") == "button"))


async def _answer_errors(respond: AsyncRespond, change: Awaitable[Incident]) -> None:
    """Run a button's change; a user's mistake is answered to them alone."""
    try:
        await change
    except (UserError, NotFound) as exc:
        await respond(text=str(exc), response_type="ephemeral", replace_original=False)
