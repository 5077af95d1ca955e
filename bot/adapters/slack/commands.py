"""Slash-command routing: one Bolt listener per command, subcommands registered by feature.

Every feature (incidents, on-call, exports, reports, triage …) adds its subcommands to the
router of ``/incident`` or ``/oncall``; the router parses the text, answers inside Slack's
3-second window and turns errors into answers:

- a quick handler's reply is the ack itself;
- a slow handler (``slow=True``) is acked at once with a short "working on it" and its reply
  goes through ``response_url`` afterwards;
- :class:`UserError` and :class:`NotFound` come back as an ephemeral message that says what to
  do; anything else is logged with a reference id that the user sees.
"""

from __future__ import annotations

import logging
import secrets
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.core.errors import NotFound, UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """What a subcommand answers: text, optional Block Kit blocks, who sees it."""

    text: str
    blocks: list[dict[str, Any]] | None = None
    in_channel: bool = False  # False: only the user who ran the command sees it


@dataclass(frozen=True)
class Invocation:
    """One run of a subcommand, as Slack delivered it."""

    command: str  # "/incident"
    name: str  # the subcommand, e.g. "ack"
    args: tuple[str, ...]  # the words after the subcommand (shell-like quoting honoured)
    rest: str  # the raw text after the subcommand, for free text such as a note
    user: str  # Slack user id of who ran it
    channel: str  # channel id it was run in
    trigger_id: str  # opens a modal within 3 s of the command
    respond: AsyncRespond  # posts to the command's response_url
    client: AsyncWebClient


Handler = Callable[[Invocation], Awaitable[Reply | str | None]]


@dataclass(frozen=True)
class Subcommand:
    """A registered subcommand with its help line."""

    name: str
    handler: Handler
    usage: str  # e.g. "ack INC-12"
    summary: str  # one line for the help text
    slow: bool = False


@dataclass
class CommandRouter:
    """The subcommands of one slash command (``/incident``, ``/oncall``)."""

    command: str
    default: str = "help"  # what an empty text runs
    fallback: str | None = None  # what runs when the first word is no subcommand (every word)
    subcommands: dict[str, Subcommand] = field(default_factory=dict)

    def add(
        self,
        name: str,
        handler: Handler,
        *,
        usage: str,
        summary: str,
        slow: bool = False,
    ) -> None:
        """Register ``name``; registering one name twice is a programming error."""
        if name in self.subcommands:
            raise ValueError(f"{self.command} {name} is registered twice")
        self.subcommands[name] = Subcommand(name, handler, usage, summary, slow)

    def help_text(self) -> str:
        """Every subcommand with its usage, in registration order."""
        lines = [f"*{self.command}* — what you can do:"]
        lines += [
            f"• `{self.command} {sub.usage}` — {sub.summary}" for sub in self.subcommands.values()
        ]
        return "\n".join(lines)

    def attach(self, app: AsyncApp) -> None:
        """Listen for the command on ``app``; ``help`` is always there."""
        if "help" not in self.subcommands:
            self.add("help", self._help, usage="help", summary="this help")
        app.command(self.command)(self._listener)

    async def _help(self, _: Invocation) -> Reply:
        return Reply(self.help_text())

    async def _listener(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        text = str(command.get("text", "")).strip()
        try:
            words = shlex.split(text)
        except ValueError as exc:  # an unbalanced quote
            await ack(messages.BAD_QUOTING.format(command=self.command, error=exc))
            return
        name = words[0].lower() if words else self.default
        sub = self.subcommands.get(name)
        split = text.split(None, 1)
        args, rest = tuple(words[1:]), split[1] if len(split) > 1 else ""
        if sub is None and words and self.fallback is not None:
            name, args, rest = self.fallback, tuple(words), text
            sub = self.subcommands[name]
        if sub is None:
            await ack(messages.UNKNOWN_SUBCOMMAND.format(command=self.command, text=name))
            return
        invocation = Invocation(
            command=self.command,
            name=name,
            args=args,
            rest=rest,
            user=str(command.get("user_id", "")),
            channel=str(command.get("channel_id", "")),
            trigger_id=str(command.get("trigger_id", "")),
            respond=respond,
            client=client,
        )
        if sub.slow:
            await ack(messages.WORKING_ON_IT.format(command=f"{self.command} {name}"))
            await self._send(respond, await self._run(sub, invocation))
        else:
            reply = await self._run(sub, invocation)
            if reply is None:
                await ack()
            else:
                await ack(
                    text=reply.text,
                    blocks=reply.blocks,
                    response_type="in_channel" if reply.in_channel else "ephemeral",
                )

    async def _run(self, sub: Subcommand, invocation: Invocation) -> Reply | None:
        """Run a handler; a user's mistake or an unexpected failure becomes the answer."""
        try:
            reply = await sub.handler(invocation)
        except (UserError, NotFound) as exc:
            return Reply(str(exc))
        except Exception:
            reference = secrets.token_hex(4)
            log.exception("%s %s failed (reference %s)", self.command, sub.name, reference)
            return Reply(messages.COMMAND_FAILED.format(reference=reference))
        return Reply(reply) if isinstance(reply, str) else reply

    @staticmethod
    async def _send(respond: AsyncRespond, reply: Reply | None) -> None:
        if reply is None:
            return
        await respond(
            text=reply.text,
            blocks=reply.blocks,
            response_type="in_channel" if reply.in_channel else "ephemeral",
            replace_original=False,
        )
