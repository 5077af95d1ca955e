"""Acting as a person: commands, clicks, selections and modals, delivered signed to the app.

Every delivery carries a fresh ``trigger_id`` (see :mod:`sandbox.slack.modals`). An app's ``ack``
body for a command is shown like Slack shows it: as an ephemeral message to the user, or in the
channel when ``response_type`` is ``in_channel``. Confirm dialogs are the client's business: the
automation endpoints act as if the person confirmed, and the browser UI asks first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, cast
from urllib.parse import urlencode

from fastapi import Request

from sandbox.slack.errors import NotFound, SlackError
from sandbox.slack.messages import Ephemeral, Message
from sandbox.slack.payloads import (
    BUTTON,
    SELECTS,
    block_actions_payload,
    command_fields,
    element_action,
    find_element,
)
from sandbox.slack.people import User
from sandbox.slack.responses import ResponseTarget, apply_response
from sandbox.slack.signing import SLACK_TIMEOUT_SECONDS, Delivery, deliver
from sandbox.slack.socket_mode import SocketHub
from sandbox.slack.state import SlackState
from sandbox.slack.workspace import Channel


@dataclass(frozen=True)
class AppEndpoint:
    """The app's Request URL and signing secret, as configured in Slack's app settings.

    ``sockets`` holds the app's Socket Mode connections: while one is open, deliveries go
    over it instead of to the Request URL, as on Slack.
    """

    request_url: str | None
    signing_secret: str
    timeout: float = SLACK_TIMEOUT_SECONDS
    sockets: SocketHub = field(default_factory=lambda: SocketHub(None))


@dataclass(frozen=True)
class Tampering:
    """Test-only changes to a delivery: sign with another secret or an old timestamp.

    ``redeliveries`` sends the same delivery that many times more, as Slack's retries do
    (``X-Slack-Retry-Num`` 1, 2, … over HTTP; ``retry_attempt`` over Socket Mode).
    """

    signing_secret: str | None = None
    timestamp: str | None = None
    redeliveries: int = 0

    @property
    def signature_changed(self) -> bool:
        """Whether the delivery is signed other than Slack would sign it."""
        return self.signing_secret is not None or self.timestamp is not None


@dataclass(frozen=True)
class Place:
    """Where a person acts: the sandbox's URL (for response_urls), a channel, and who."""

    base_url: str
    channel: Channel
    user: User


@dataclass
class Interactions:
    """Builds, signs and delivers a person's actions, and records what the app answered."""

    state: SlackState
    app: AppEndpoint

    async def command(
        self, place: Place, *, command: str, text: str, tampering: Tampering
    ) -> dict[str, Any]:
        """Deliver a slash command; return the app's status and body and what the user sees."""
        target = ResponseTarget(place.channel.id, place.user.id)
        fields = command_fields(
            channel=place.channel,
            user=place.user,
            command=command,
            text=text,
            response_url=self._response_url(place, target),
            trigger_id=self.state.modals.triggers.issue(place.user.id),
        )
        delivery = await self.deliver(urlencode(fields).encode(), tampering)
        shown = self._show_ack(target, command, delivery)
        return {
            **summary(delivery),
            "ephemeral": shown.to_api() if isinstance(shown, Ephemeral) else None,
            "message": shown.to_api() if isinstance(shown, Message) else None,
        }

    async def click(
        self, place: Place, *, ts: str, action_id: str, value: str | None, tampering: Tampering
    ) -> dict[str, Any]:
        """Deliver a ``block_actions`` click on a button of a stored message."""
        source = self._source(place, ts)
        found = find_element(source.blocks, action_id, BUTTON, value)
        if found is None:
            raise NotFound(f"no button with action_id {action_id!r} in message {ts}")
        return await self._act(place, source, *found, chosen=None, tampering=tampering)

    async def select(
        self, place: Place, *, ts: str, action_id: str, value: str, tampering: Tampering
    ) -> dict[str, Any]:
        """Deliver a ``block_actions`` choice of ``value`` in a select or overflow menu."""
        source = self._source(place, ts)
        found = find_element(source.blocks, action_id, SELECTS)
        if found is None:
            raise NotFound(f"no select or overflow with action_id {action_id!r} in message {ts}")
        return await self._act(place, source, *found, chosen=value, tampering=tampering)

    async def deliver(self, body: bytes, tampering: Tampering | None = None) -> Delivery:
        """Send a form-encoded body over Socket Mode, or signed to the app's Request URL.

        With ``tampering.redeliveries``, the same body follows as Slack's retries; their
        answers come back in the first delivery's ``redeliveries``.
        """
        tampering = tampering or Tampering()
        first = await self._deliver_once(body, tampering, retry=0)
        retries = [
            await self._deliver_once(body, tampering, retry=n)
            for n in range(1, tampering.redeliveries + 1)
        ]
        return replace(first, redeliveries=tuple(retries))

    async def _deliver_once(self, body: bytes, tampering: Tampering, *, retry: int) -> Delivery:
        # a tampered signature only means something over HTTP: Socket Mode has none
        if self.app.sockets.connected and not tampering.signature_changed:
            return await self.app.sockets.deliver(body, retry_attempt=retry)
        return await deliver(
            url=self.app.request_url,
            secret=tampering.signing_secret or self.app.signing_secret,
            body=body,
            timestamp=tampering.timestamp,
            response_timeout=self.app.timeout,
            retry_num=retry,
        )

    async def deliver_payload(
        self, payload: dict[str, Any], tampering: Tampering | None = None
    ) -> Delivery:
        """Deliver an interaction payload as Slack does: the form field ``payload=<JSON>``."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.deliver(body, tampering)

    def _source(self, place: Place, ts: str) -> Message | Ephemeral:
        ephemeral = self.state.ws.ephemeral(place.channel, ts)
        if ephemeral is not None and ephemeral.user == place.user.id:
            return ephemeral
        message = place.channel.index.get(ts)
        if message is None:
            raise NotFound(f"no message with ts {ts} in {place.channel.id}")
        return message

    async def _act(
        self,
        place: Place,
        source: Message | Ephemeral,
        block_id: str,
        element: dict[str, Any],
        *,
        chosen: str | None,
        tampering: Tampering,
    ) -> dict[str, Any]:
        target = ResponseTarget(place.channel.id, place.user.id, original_ts=source.ts)
        payload = block_actions_payload(
            channel=place.channel,
            user=place.user,
            source=source,
            action=element_action(element, block_id, chosen, self.state.ws.users),
            response_url=self._response_url(place, target),
            trigger_id=self.state.modals.triggers.issue(place.user.id),
        )
        return summary(await self.deliver_payload(payload, tampering))

    def _response_url(self, place: Place, target: ResponseTarget) -> str:
        return f"{place.base_url}/_sandbox/response/{self.state.urls.mint(target)}"

    def _show_ack(
        self, target: ResponseTarget, command: str, delivery: Delivery
    ) -> Message | Ephemeral | None:
        ws = self.state.ws
        error = delivery.error
        if error is None:
            answer = parse_ack(delivery)
            if answer is None:
                return None
            try:
                return apply_response(ws, target, answer)
            except SlackError as failure:
                error = failure.code
        channel, user = ws.channel(target.channel_id), ws.user(target.user_id)
        text = f'{command} failed with the error "{error}"'
        return ws.post_ephemeral(channel, user=user, text=text, blocks=[])


def current(request: Request) -> Interactions:
    """The interactions (and through them the state) the app serves now; a reset swaps them."""
    return cast("Interactions", request.app.state.interactions)


def ack_json(delivery: Delivery) -> dict[str, Any] | None:
    """An ``ack`` body sent as a JSON object, or None."""
    if "json" not in delivery.content_type:
        return None
    try:
        answer = json.loads(delivery.body)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def parse_ack(delivery: Delivery) -> dict[str, Any] | None:
    """Read a command's ``ack`` body: JSON with text/blocks, plain text, or nothing to show."""
    if not delivery.body.strip():
        return None
    answer = ack_json(delivery)
    if answer is None:
        return None if "json" in delivery.content_type else {"text": delivery.body}
    return answer if "text" in answer or "blocks" in answer else None


def summary(delivery: Delivery) -> dict[str, Any]:
    """What the automation API reports about one delivery."""
    answer: dict[str, Any] = {
        "status": delivery.status,
        "body": delivery.body,
        "error": delivery.error,
    }
    if delivery.redeliveries:
        answer["redeliveries"] = [summary(retry) for retry in delivery.redeliveries]
    return answer
