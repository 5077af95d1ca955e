"""The RunbookBoard port over Slack: offers and walk-through messages in incident threads.

Calls go through the notifier's outbox, so they keep their order with the thread's timeline
replies. One message per run: it is posted once (a lock per run, and the ts remembered and
stored with the run) and updated in place afterwards; an update that would show nothing new is
not sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.outbox import SlackOutbox
from bot.adapters.slack.runbook_blocks import offer_message, run_message
from bot.core.incidents import Incident
from bot.core.ports import Clock
from bot.core.runbooks import Runbook
from bot.core.walkthrough import RunView


class SlackRunbookBoard:
    """Runbook messages in the thread of each incident's root message."""

    def __init__(self, *, client: AsyncWebClient, outbox: SlackOutbox, clock: Clock) -> None:
        self._client = client
        self._outbox = outbox
        self._clock = clock
        self._locks: dict[int, asyncio.Lock] = {}
        self._ts: dict[int, str] = {}
        self._shown: dict[int, object] = {}

    async def offer(self, incident: Incident, runbooks: Sequence[Runbook]) -> None:
        """Post the offer with a Start button per runbook in the incident's thread."""
        channel, thread = incident.slack_channel, incident.slack_ts
        if channel is None or thread is None:
            return
        text, blocks = offer_message(incident, runbooks)
        await self._outbox.send(
            channel,
            f"runbook offer for {incident.ref}",
            lambda: self._client.chat_postMessage(
                channel=channel, thread_ts=thread, text=text, blocks=blocks
            ),
        )

    async def show(self, incident: Incident, view: RunView) -> str | None:
        """Post the run's message in the thread the first time, update it afterwards."""
        channel, thread = incident.slack_channel, incident.slack_ts
        if channel is None or thread is None:
            return None
        run_id = view.run.id
        async with self._locks.setdefault(run_id, asyncio.Lock()):
            ts = view.run.slack_ts or self._ts.get(run_id)
            if ts is not None and self._shown.get(run_id) == view.fingerprint():
                return ts
            text, blocks = run_message(view, now=self._clock.now())
            if ts is None:
                posted = await self._outbox.send(
                    channel,
                    f"runbook message for {incident.ref}",
                    lambda: self._client.chat_postMessage(
                        channel=channel, thread_ts=thread, text=text, blocks=blocks
                    ),
                )
                ts = str(posted["ts"])
            else:
                shown = ts
                await self._outbox.send(
                    channel,
                    f"runbook update for {incident.ref}",
                    lambda: self._client.chat_update(
                        channel=channel, ts=shown, text=text, blocks=blocks
                    ),
                    replaces=f"update:{ts}",
                )
            self._ts[run_id] = ts
            self._shown[run_id] = view.fingerprint()
            return ts
