"""The Notifier port over Slack's Web API (slack_sdk's async client)."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence

from aiohttp import ClientError
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.adapters.slack import blocks
from bot.core.alerts import Alert
from bot.core.errors import AdapterError
from bot.core.incidents import Incident, TimelineEntry
from bot.core.oncall import Schedule, on_call
from bot.core.policy import SlaPolicy
from bot.core.ports import Clock

# what a Web API call can fail with: Slack's answer, or the network under the async client
_FAILURES = (SlackClientError, ClientError, TimeoutError)


async def _call(what: str, request: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    """Await one Web API call, turning every failure into an AdapterError naming the call."""
    try:
        return await request
    except _FAILURES as exc:
        raise AdapterError(f"{what} failed: {exc}") from exc


class SlackNotifier:
    """Posts incidents to one channel and keeps their root messages and threads current."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        channel: str,
        sla: SlaPolicy,
        schedule: Schedule | None,
        clock: Clock,
    ) -> None:
        self._client = client
        self._channel_name = channel.lstrip("#")
        self._channel_id: str | None = None
        self._sla = sla
        self._schedule = schedule
        self._clock = clock

    async def post_incident(self, incident: Incident, alerts: Sequence[Alert]) -> tuple[str, str]:
        """Post the root message; return (channel id, ts)."""
        channel = await self._resolve_channel()
        text, payload = self._render(incident, alerts)
        response = await _call(
            f"chat.postMessage for {incident.ref}",
            self._client.chat_postMessage(
                channel=channel, text=text, blocks=payload, unfurl_links=False
            ),
        )
        return str(response["channel"]), str(response["ts"])

    async def update_incident(self, incident: Incident, alerts: Sequence[Alert]) -> None:
        """Re-render the root message in place."""
        if incident.slack_channel is None or incident.slack_ts is None:
            return
        text, payload = self._render(incident, alerts)
        await _call(
            f"chat.update for {incident.ref}",
            self._client.chat_update(
                channel=incident.slack_channel, ts=incident.slack_ts, text=text, blocks=payload
            ),
        )

    async def post_timeline(self, incident: Incident, entry: TimelineEntry) -> None:
        """Reply in the incident's thread."""
        if incident.slack_channel is None or incident.slack_ts is None:
            return
        await _call(
            f"thread reply for {incident.ref}",
            self._client.chat_postMessage(
                channel=incident.slack_channel,
                thread_ts=incident.slack_ts,
                text=blocks.timeline_reply(entry),
            ),
        )

    async def notify_user(self, user: str, text: str) -> None:
        """Direct-message ``user``: posting to a user id opens the bot's DM with them."""
        await _call(
            f"direct message to {user}",
            self._client.chat_postMessage(channel=user, text=text, unfurl_links=False),
        )

    def _render(
        self, incident: Incident, alerts: Sequence[Alert]
    ) -> tuple[str, list[blocks.Block]]:
        now = self._clock.now()
        user = on_call(self._schedule, now=now) if self._schedule is not None else None
        return blocks.incident_message(incident, alerts, sla=self._sla, on_call=user)

    async def _resolve_channel(self) -> str:
        """The alerts channel's id, looked up by name once."""
        if self._channel_id is not None:
            return self._channel_id
        first = await _call(
            "conversations.list",
            self._client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=200
            ),
        )
        try:
            async for page in first:
                for channel in page["channels"]:
                    if channel["name"] == self._channel_name:
                        self._channel_id = str(channel["id"])
                        return self._channel_id
        except _FAILURES as exc:
            raise AdapterError(f"conversations.list failed: {exc}") from exc
        msg = (
            f"Slack channel #{self._channel_name} not found; invite the bot or fix "
            "GPUWARDEN_ALERTS_CHANNEL"
        )
        raise AdapterError(msg)
