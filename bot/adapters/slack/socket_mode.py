"""Socket Mode: Slack delivers over a websocket the bot opens, so it needs no public URL.

Started beside the HTTP app when an app-level token (``xapp-…``) is configured. Bolt's aiohttp
``AsyncSocketModeHandler`` calls ``apps.connections.open`` with the app token through the app's
own Web API client (so the sandbox's base URL applies), dispatches every envelope to the same
listeners as ``POST /slack/events``, and acks it with the listener's ``ack`` payload. Envelopes
that Slack redelivers arrive with ``retry_attempt`` set; Bolt mirrors it into the
``x-slack-retry-num`` header, exactly as in HTTP mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

log = logging.getLogger(__name__)


class SocketModeTransport:
    """The bot's Socket Mode connection: opened at start-up, closed at shutdown."""

    def __init__(self, app: AsyncApp, *, app_token: str | None) -> None:
        self._app = app
        self._app_token = app_token
        self._handler: AsyncSocketModeHandler | None = None
        self._connecting: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Connect in the background (HTTP mode only, without an app token).

        Called on the running event loop, which the SDK's aiohttp session binds to. Start-up
        does not wait for Slack: the SDK retries until Slack answers, then reconnects whenever
        the connection drops.
        """
        if self._app_token is None:
            return
        self._handler = AsyncSocketModeHandler(self._app, self._app_token, logger=log)
        self._connecting = asyncio.create_task(
            self._connect(self._handler), name="slack-socket-mode"
        )

    async def stop(self) -> None:
        """Stop connecting, close the connection and its HTTP session."""
        if self._handler is None:
            return
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        await self._handler.close_async()  # type: ignore[no-untyped-call]

    @staticmethod
    async def _connect(handler: AsyncSocketModeHandler) -> None:
        await handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("Slack Socket Mode connected")
