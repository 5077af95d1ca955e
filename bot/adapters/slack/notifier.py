"""The Notifier port over Slack's Web API (slack_sdk's async client), through the outbox.

Every call goes through :class:`~bot.adapters.slack.outbox.SlackOutbox`, one queue per channel,
so a thread's replies and its root message's updates reach Slack in the order they were made,
429s and all. A root message is rendered when its update is sent, from the newest state of the
incident the notifier has seen: an update that waited behind a Retry-After, or a countdown
refresh read from the database a moment earlier, never puts an older state back on screen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from aiohttp import ClientError
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.adapters.slack import blocks
from bot.adapters.slack.countdown import CountdownPacer
from bot.adapters.slack.outbox import SlackOutbox
from bot.core.alerts import Alert
from bot.core.errors import AdapterError
from bot.core.incidents import Incident, TimelineEntry
from bot.core.policy import SlaPolicy
from bot.core.ports import Clock

log = logging.getLogger(__name__)
LOOKUP = "conversations.list"  # the outbox queue of channel look-ups


class SlackNotifier:
    """Posts incidents to one channel and keeps their root messages and threads current."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        channel: str,
        sla: SlaPolicy,
        on_call: Callable[[float], str | None],
        clock: Clock,
        outbox: SlackOutbox | None = None,
        pacer: CountdownPacer | None = None,
    ) -> None:
        self._client = client
        self._channel_name = channel.lstrip("#")
        self._channel_id: str | None = None
        self._sla = sla
        self._on_call = on_call  # who is on call at a time (overrides included), for the card
        self._clock = clock
        self.outbox = outbox or SlackOutbox()
        self._pacer = pacer or CountdownPacer()
        self._latest: dict[int, tuple[Incident, Sequence[Alert]]] = {}
        self._roots: dict[int, asyncio.Future[tuple[str, str]]] = {}

    async def post_incident(self, incident: Incident, alerts: Sequence[Alert]) -> tuple[str, str]:
        """Post the root message; return (channel id, ts).

        One root per incident: a caller that comes while the root is being posted (a second
        alert of the incident, before the first caller could record the ts) gets the same
        (channel, ts), and its newer state goes out as an update.
        """
        posting = self._roots.get(incident.id)
        if posting is not None:
            channel, ts = await asyncio.shield(posting)
            await self.update_incident(
                replace(incident, slack_channel=channel, slack_ts=ts), alerts
            )
            return channel, ts
        posting = asyncio.get_running_loop().create_future()
        posting.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._roots[incident.id] = posting
        try:
            root = await self._post_root(incident, alerts)
        except AdapterError as exc:
            del self._roots[incident.id]  # a later attempt posts it afresh
            posting.set_exception(exc)
            raise
        posting.set_result(root)
        return root

    async def _post_root(self, incident: Incident, alerts: Sequence[Alert]) -> tuple[str, str]:
        channel = await self._resolve_channel()
        text, payload = self._render(incident, alerts)
        response = await self.outbox.send(
            channel,
            f"chat.postMessage for {incident.ref}",
            lambda: self._client.chat_postMessage(
                channel=channel, text=text, blocks=payload, unfurl_links=False
            ),
        )
        self._pacer.rendered(incident.id, at=self._clock.now())
        return str(response["channel"]), str(response["ts"])

    async def update_incident(self, incident: Incident, alerts: Sequence[Alert]) -> None:
        """Re-render the root message in place."""
        if incident.slack_channel is None or incident.slack_ts is None:
            return
        self._remember(incident, alerts)
        await self._send_update(incident.id, incident.slack_channel, incident.slack_ts)

    async def post_timeline(self, incident: Incident, entry: TimelineEntry) -> None:
        """Reply in the incident's thread."""
        channel, ts = incident.slack_channel, incident.slack_ts
        if channel is None or ts is None:
            return
        text = blocks.timeline_reply(entry)
        await self.outbox.send(
            channel,
            f"thread reply for {incident.ref}",
            lambda: self._client.chat_postMessage(
                channel=channel, thread_ts=ts, text=text, unfurl_links=False, unfurl_media=False
            ),
        )

    async def notify_user(self, user: str, text: str) -> None:
        """Direct-message ``user``: posting to a user id opens the bot's DM with them."""
        await self.outbox.send(
            user,
            f"direct message to {user}",
            lambda: self._client.chat_postMessage(channel=user, text=text, unfurl_links=False),
        )

    def countdown_due(self, incident: Incident) -> bool:
        """Whether the root message's countdown should be re-rendered now (see countdown.py)."""
        channel = incident.slack_channel or ""
        return self._pacer.due(
            incident,
            now=self._clock.now(),
            backlog=self.outbox.backlog(channel),
            throttled=self.outbox.throttled(channel),
        )

    async def refresh_countdown(self, incident: Incident, alerts: list[Alert]) -> None:
        """Re-render the root message for its countdown; a failure is logged, not raised."""
        if incident.slack_channel is None or incident.slack_ts is None:
            return
        self._latest.setdefault(incident.id, (incident, alerts))  # never over a newer state
        try:
            await self._send_update(incident.id, incident.slack_channel, incident.slack_ts)
        except AdapterError:
            log.exception("could not refresh the countdown of %s", incident.ref)

    def _remember(self, incident: Incident, alerts: Sequence[Alert]) -> None:
        known = self._latest.get(incident.id)
        if known is None or incident.version >= known[0].version:
            self._latest[incident.id] = (incident, alerts)

    async def _send_update(self, incident_id: int, channel: str, ts: str) -> None:
        def update() -> Awaitable[AsyncSlackResponse]:
            incident, alerts = self._latest[incident_id]
            text, payload = self._render(incident, alerts)
            self._pacer.rendered(incident_id, at=self._clock.now())
            return self._client.chat_update(channel=channel, ts=ts, text=text, blocks=payload)

        ref = self._latest[incident_id][0].ref
        await self.outbox.send(
            channel,
            f"chat.update for {ref}",
            update,
            replaces=f"update:{ts}",
        )

    def _render(
        self, incident: Incident, alerts: Sequence[Alert]
    ) -> tuple[str, list[blocks.Block]]:
        now = self._clock.now()
        return blocks.incident_message(
            incident, alerts, sla=self._sla, on_call=self._on_call(now), now=now
        )

    async def _resolve_channel(self) -> str:
        """The alerts channel's id, looked up by name once."""
        if self._channel_id is not None:
            return self._channel_id
        first: AsyncSlackResponse = await self.outbox.send(
            LOOKUP,
            "conversations.list",
            lambda: self._client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=200
            ),
        )
        try:
            async for page in first:
                for channel in page["channels"]:
                    if channel["name"] == self._channel_name:
                        self._channel_id = str(channel["id"])
                        return self._channel_id
        except (SlackClientError, ClientError, TimeoutError) as exc:
            raise AdapterError(f"conversations.list failed: {exc}") from exc
        msg = (
            f"Slack channel #{self._channel_name} not found; invite the bot or fix "
            "GPUWARDEN_ALERTS_CHANNEL"
        )
        raise AdapterError(msg)
