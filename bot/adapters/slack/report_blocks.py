"""Incident reports in Slack: Block Kit within Slack's limits, and the weekly post's sink."""

from __future__ import annotations

from aiohttp import ClientError
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.adapters.slack.blocks import Block
from bot.core.errors import AdapterError
from bot.core.policy import SlaPolicy
from bot.core.reports import Comparison
from bot.services.reports import view

MAX_SERVICES = 20  # lines of availability shown; the rest are counted (3000-character sections)
HEADER_CHARS = 150  # Slack's limit on a header's text


def report_blocks(comparison: Comparison, *, sla: SlaPolicy, title: str) -> list[Block]:
    """A report as at most 7 blocks: header, window, figures, severities, services, notes."""
    shown = view(comparison, sla=sla)
    fields = [
        {
            "type": "mrkdwn",
            "text": messages.REPORT_FIGURE.format(name=name, value=value, previous=previous),
        }
        for name, value, previous in shown.figures
    ]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:HEADER_CHARS]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": shown.window}]},
        {"type": "section", "fields": fields},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(shown.severities)}},
    ]
    if shown.services:
        lines = [messages.REPORT_SERVICES, *shown.services[:MAX_SERVICES]]
        if len(shown.services) > MAX_SERVICES:
            hidden = len(shown.services) - MAX_SERVICES
            lines.append(messages.REPORT_MORE_SERVICES.format(count=hidden))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    if shown.notes:
        notes = [{"type": "mrkdwn", "text": note} for note in shown.notes]
        blocks.append({"type": "context", "elements": notes})
    return blocks


class SlackReportSink:
    """Posts the weekly report to the alerts channel (by name, as chat.postMessage allows)."""

    def __init__(self, *, client: AsyncWebClient, channel: str, sla: SlaPolicy) -> None:
        self._client = client
        self._channel = "#" + channel.lstrip("#")  # a name, as GPUWARDEN_ALERTS_CHANNEL is
        self._sla = sla

    async def post_report(self, comparison: Comparison) -> None:
        """Post the report as one message; raises AdapterError if Slack refuses it."""
        title = messages.REPORT_WEEKLY_TITLE.format(days=comparison.days)
        try:
            await self._client.chat_postMessage(
                channel=self._channel,
                text=title,
                blocks=report_blocks(comparison, sla=self._sla, title=title),
                unfurl_links=False,
            )
        except (SlackClientError, ClientError, TimeoutError) as exc:
            msg = f"chat.postMessage of the weekly report failed: {exc}"
            raise AdapterError(msg) from exc
