"""Fixtures: the Slack sandbox under real uvicorn, real slack_sdk clients, and a real Bolt app.

- ``live_server(app, sock=None)``: start an ASGI app on loopback, stopped after the test.
- ``sandbox_factory(**create_app_kwargs)``: a fresh sandbox; returns its base URL.
- ``sandbox_url``: the session's default sandbox (no Request URL), reset for each test.
- ``web_client`` / ``async_web_client``: slack_sdk clients on the sandbox, retries off.
- ``bolt_world``: a sandbox delivering to a Bolt ``AsyncApp`` (FastAPI adapter) on another port.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from socket import socket
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.serving import ServerThread, bind_loopback
from sandbox.slack import create_app
from tests.integration.sandbox.world import BOT_TOKEN, SIGNING_SECRET, BoltWorld, bolt_receiver

LiveServer = Callable[..., ServerThread]


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    started: list[ServerThread] = []

    def start(app: Any, sock: socket | None = None) -> ServerThread:
        server = ServerThread(app, sock)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.request_stop()
    for server in started:
        server.wait_stopped()


@pytest.fixture
def sandbox_factory(live_server: LiveServer) -> Callable[..., str]:
    def make(**kwargs: Any) -> str:
        options: dict[str, Any] = {
            "bot_token": BOT_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "request_url": None,
        }
        return live_server(create_app(**(options | kwargs))).url

    return make


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[str]:
    app = create_app(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, request_url=None)
    with ServerThread(app) as server:
        yield server.url


@pytest.fixture
def sandbox_url(shared_sandbox: str) -> str:
    httpx.post(f"{shared_sandbox}/_sandbox/reset").raise_for_status()
    return shared_sandbox


@pytest.fixture
def web_client(sandbox_url: str) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=f"{sandbox_url}/api/", retry_handlers=[])


@pytest.fixture
def async_web_client(sandbox_url: str) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=f"{sandbox_url}/api/", retry_handlers=[])


@pytest.fixture
def bolt_world(live_server: LiveServer) -> BoltWorld:
    sandbox_socket, bot_socket = bind_loopback(), bind_loopback()
    sandbox_url = f"http://127.0.0.1:{sandbox_socket.getsockname()[1]}"
    request_url = f"http://127.0.0.1:{bot_socket.getsockname()[1]}/slack/events"
    world = BoltWorld(sandbox_url=sandbox_url, request_url=request_url)
    sandbox_app = create_app(
        bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, request_url=request_url
    )
    live_server(sandbox_app, sandbox_socket)
    live_server(bolt_receiver(world), bot_socket)
    return world
