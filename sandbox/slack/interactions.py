"""Acting as a person: run a slash command or click a button, delivered signed to the app.

Payloads follow Slack's wire format: slash commands as form fields, ``block_actions`` as a form
field ``payload=<JSON>``. An app's ``ack`` body for a command is shown like Slack shows it: as an
ephemeral message to the user, or in the channel when ``response_type`` is ``in_channel``.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sandbox.slack.errors import NotFound, SlackError
from sandbox.slack.responses import ResponseTarget, ResponseUrls, apply_response
from sandbox.slack.signing import SLACK_TIMEOUT_SECONDS, Delivery, deliver
from sandbox.slack.workspace import (
    APP_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    Block,
    Channel,
    Ephemeral,
    Message,
    User,
    Workspace,
)

VERIFICATION_TOKEN = "sandbox-verification-token"  # noqa: S105 - Slack's legacy, public field


@dataclass(frozen=True)
class AppEndpoint:
    """The app's Request URL and signing secret, as configured in Slack's app settings."""

    request_url: str | None
    signing_secret: str
    timeout: float = SLACK_TIMEOUT_SECONDS


@dataclass(frozen=True)
class Tampering:
    """Test-only changes to a delivery: sign with another secret or an old timestamp."""

    signing_secret: str | None = None
    timestamp: str | None = None


@dataclass
class Interactions:
    """Builds, signs and delivers a person's actions, and records what the app answered."""

    ws: Workspace
    urls: ResponseUrls
    app: AppEndpoint

    async def command(
        self,
        *,
        base_url: str,
        channel: Channel,
        user: User,
        command: str,
        text: str,
        tampering: Tampering,
    ) -> dict[str, Any]:
        """Deliver a slash command; return the app's status and body and what the user sees."""
        target = ResponseTarget(channel.id, user.id)
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel.id,
            "channel_name": channel.name,
            "user_id": user.id,
            "user_name": user.name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"{base_url}/_sandbox/response/{self.urls.mint(target)}",
            "trigger_id": new_trigger_id(),
        }
        delivery = await self._deliver(urlencode(fields).encode(), tampering)
        shown = self._show_ack(target, command, delivery)
        return {
            **_summary(delivery),
            "ephemeral": shown.to_api() if isinstance(shown, Ephemeral) else None,
            "message": shown.to_api() if isinstance(shown, Message) else None,
        }

    async def click(
        self,
        *,
        base_url: str,
        channel: Channel,
        user: User,
        ts: str,
        action_id: str,
        value: str | None,
        tampering: Tampering,
    ) -> dict[str, Any]:
        """Deliver a ``block_actions`` click on a button of a stored message."""
        ephemeral = self.ws.ephemeral(channel, ts)
        source = ephemeral if ephemeral and ephemeral.user == user.id else channel.index.get(ts)
        if source is None:
            raise NotFound(f"no message with ts {ts} in #{channel.name}")
        found = find_button(source.blocks, action_id, value)
        if found is None:
            raise NotFound(f"no button with action_id {action_id!r} in message {ts}")
        block_id, button = found
        target = ResponseTarget(channel.id, user.id, original_ts=ts)
        payload = block_actions_payload(
            channel=channel,
            user=user,
            source=source,
            block_id=block_id,
            button=button,
            response_url=f"{base_url}/_sandbox/response/{self.urls.mint(target)}",
        )
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return _summary(await self._deliver(body, tampering))

    async def _deliver(self, body: bytes, tampering: Tampering) -> Delivery:
        return await deliver(
            url=self.app.request_url,
            secret=tampering.signing_secret or self.app.signing_secret,
            body=body,
            timestamp=tampering.timestamp,
            response_timeout=self.app.timeout,
        )

    def _show_ack(
        self, target: ResponseTarget, command: str, delivery: Delivery
    ) -> Message | Ephemeral | None:
        error = delivery.error
        if error is None:
            answer = parse_ack(delivery)
            if answer is None:
                return None
            try:
                return apply_response(self.ws, target, answer)
            except SlackError as failure:
                error = failure.code
        channel = self.ws.channel(target.channel_id)
        user = self.ws.user(target.user_id)
        text = f'{command} failed with the error "{error}"'
        return self.ws.post_ephemeral(channel, user=user, text=text, blocks=[])


def block_actions_payload(
    *,
    channel: Channel,
    user: User,
    source: Message | Ephemeral,
    block_id: str,
    button: Block,
    response_url: str,
) -> dict[str, Any]:
    """Build the ``block_actions`` payload Slack sends when ``user`` clicks ``button``."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": source.ts,
        "channel_id": channel.id,
        "is_ephemeral": isinstance(source, Ephemeral),
    }
    action = {
        "type": "button",
        "action_id": button["action_id"],
        "block_id": block_id,
        "text": button["text"],
        "action_ts": f"{time.time():.6f}",
    }
    action |= {key: button[key] for key in ("value", "style") if key in button}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": new_trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": channel.name},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if isinstance(source, Message):
        payload["message"] = source.to_api()
        if source.thread_ts:
            container["thread_ts"] = source.thread_ts
    return payload


def parse_ack(delivery: Delivery) -> dict[str, Any] | None:
    """Read an ``ack`` body: JSON with text/blocks, plain text, or nothing to show."""
    if not delivery.body.strip():
        return None
    if "json" not in delivery.content_type:
        return {"text": delivery.body}
    try:
        answer = json.loads(delivery.body)
    except ValueError:
        return {"text": delivery.body}
    if isinstance(answer, dict) and ("text" in answer or "blocks" in answer):
        return answer
    return None


def find_button(blocks: list[Block], action_id: str, value: str | None) -> tuple[str, Block] | None:
    """Find a button by ``action_id`` (and ``value`` when given); return its block id and itself."""
    for block in blocks:
        elements = list(block.get("elements", [])) if block.get("type") == "actions" else []
        if block.get("accessory"):
            elements.append(block["accessory"])
        for element in elements:
            if (
                element.get("type") == "button"
                and element.get("action_id") == action_id
                and (value is None or element.get("value") == value)
            ):
                return str(block["block_id"]), element
    return None


def new_trigger_id() -> str:
    """Mint a Slack-shaped ``trigger_id``."""
    return f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def _summary(delivery: Delivery) -> dict[str, Any]:
    return {"status": delivery.status, "body": delivery.body, "error": delivery.error}
