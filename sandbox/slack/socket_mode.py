"""Socket Mode, as Slack runs it: the app opens a websocket and receives envelopes over it.

1. The app calls ``apps.connections.open`` with its app-level token (``xapp-…``) and gets a
   one-time ``wss://…/link/?ticket=…`` URL (``ws://`` here, on loopback).
2. It connects; the server sends ``{"type": "hello", …}``.
3. Every command or interaction is sent as an envelope ``{envelope_id, type, payload,
   accepts_response_payload, retry_attempt, retry_reason}`` with ``type`` one of
   ``slash_commands``, ``interactive`` or ``events_api``; the app answers
   ``{"envelope_id": …, "payload": {…}?}`` within 3 seconds, the payload being what an HTTP
   app would have put in its response body.

While an app is connected, deliveries go over the socket; otherwise to the signed Request URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from sandbox.slack.people import APP_ID
from sandbox.slack.signing import SLACK_TIMEOUT_SECONDS, Delivery

CONNECTIONS_OPEN = "apps.connections.open"
TICKET_TTL_SECONDS = 60.0


class SocketHub:
    """Tickets, the app's open connections and the envelopes awaiting their ack."""

    def __init__(self, app_token: str | None) -> None:
        self.app_token = app_token
        self._tickets: dict[str, float] = {}
        self._connections: list[WebSocket] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    @property
    def connected(self) -> bool:
        """Whether the app holds at least one connection."""
        return bool(self._connections)

    def open_url(self, base_url: str) -> str:
        """A one-time websocket URL for ``apps.connections.open``."""
        loop = asyncio.get_running_loop()
        ticket = secrets.token_urlsafe(16)
        self._tickets[ticket] = loop.time() + TICKET_TTL_SECONDS
        return f"{base_url.replace('http', 'ws', 1)}/link/?ticket={ticket}"

    def admit(self, ticket: str) -> bool:
        """Spend ``ticket``; False if it is unknown, used or expired."""
        expires = self._tickets.pop(ticket, None)
        return expires is not None and expires > asyncio.get_running_loop().time()

    async def serve(self, socket: WebSocket) -> None:
        """Greet a connected app, then read its acks until it goes away."""
        await socket.accept()
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self._connections) + 1,
                "connection_info": {"app_id": APP_ID},
                "debug_info": {"host": "sandbox", "approximate_connection_time": 3600},
            }
        )
        self._connections.append(socket)
        try:
            while True:
                self._acknowledge(await socket.receive_text())
        except WebSocketDisconnect:
            pass
        finally:
            self._connections.remove(socket)

    async def deliver(self, body: bytes, *, retry_attempt: int = 0) -> Delivery:
        """Send a form-encoded delivery as an envelope; report the ack like an HTTP answer."""
        kind, payload = envelope_of(body)
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        acked: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = acked
        try:
            await self._connections[-1].send_text(json.dumps(envelope))
            answer = await asyncio.wait_for(acked, SLACK_TIMEOUT_SECONDS)
        except TimeoutError:
            return Delivery(status=None, error="operation_timeout")
        finally:
            self._acks.pop(envelope_id, None)
        response = answer.get("payload")
        return Delivery(
            status=200,
            body=json.dumps(response) if response else "",
            content_type="application/json",
        )

    def _acknowledge(self, text: str) -> None:
        """Match an ack to its envelope; anything else the app sends is ignored, as by Slack."""
        answer: Any = None
        with contextlib.suppress(ValueError):
            answer = json.loads(text)
        if not isinstance(answer, dict):
            return
        acked = self._acks.get(str(answer.get("envelope_id")))
        if acked is not None and not acked.done():
            acked.set_result(answer)


def envelope_of(body: bytes) -> tuple[str, dict[str, Any]]:
    """The envelope type and payload of a form-encoded delivery (a command or an interaction)."""
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    if "payload" in fields:
        return "interactive", json.loads(fields["payload"])
    return "slash_commands", fields


def socket_router(hub: SocketHub) -> APIRouter:
    """The websocket endpoint the URLs of ``apps.connections.open`` point at."""
    router = APIRouter()

    @router.websocket("/link/")
    async def link(websocket: WebSocket, ticket: str = "") -> None:
        if not hub.admit(ticket):
            await websocket.close(code=4001, reason="invalid ticket")
            return
        await hub.serve(websocket)

    return router
