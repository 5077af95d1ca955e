"""The pieces of the sandbox tests' world: credentials, clients and a Bolt receiver app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.integration.sandbox.screens import DECLARE_VIEW, MIN_TITLE, flow_view

BOT_TOKEN = "xoxb-integration-token"
SIGNING_SECRET = "integration-signing-secret"


def client_for(sandbox_url: str) -> WebClient:
    """slack_sdk's WebClient on the sandbox, retries off."""
    return WebClient(token=BOT_TOKEN, base_url=f"{sandbox_url}/api/", retry_handlers=[])


def act(sandbox_url: str, path: str, **body: Any) -> httpx.Response:
    """POST to an automation endpoint: act as a person or steer the sandbox."""
    return httpx.post(f"{sandbox_url}/_sandbox/{path}", json=body, timeout=10)


def error_of(call: Callable[[], Any]) -> str:
    """The error code a Web API call fails with as ``{"ok": false}`` on HTTP 200."""
    with pytest.raises(SlackApiError) as caught:
        call()
    assert caught.value.response.status_code == 200
    return str(caught.value.response["error"])


def read(sandbox_url: str, path: str, **params: str) -> Any:
    """GET an automation endpoint's JSON."""
    response = httpx.get(f"{sandbox_url}/_sandbox/{path}", params=params, timeout=10)
    response.raise_for_status()
    return response.json()


@dataclass
class BoltWorld:
    """A sandbox and the Bolt app it delivers to, with what the app's listeners saw."""

    sandbox_url: str
    request_url: str
    commands: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    closed: list[dict[str, Any]] = field(default_factory=list)


def bolt_receiver(world: BoltWorld) -> FastAPI:
    """A Bolt AsyncApp behind FastAPI that records what its listeners receive."""
    bolt = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=f"{world.sandbox_url}/api/"),
        signing_secret=SIGNING_SECRET,
    )
    _listen_to_commands(bolt, world)
    _listen_to_actions(bolt, world)
    _listen_to_views(bolt, world)
    handler = AsyncSlackRequestHandler(bolt)
    api = FastAPI()

    @api.post("/slack/events")
    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return api


def _listen_to_commands(bolt: AsyncApp, world: BoltWorld) -> None:
    @bolt.command("/incident")
    async def incident(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        world.commands.append(command)
        if command["text"] == "declare":
            await ack()
            await client.views_open(trigger_id=command["trigger_id"], view=DECLARE_VIEW)
        else:
            await ack(f"Incident command received: {command['text']}")

    @bolt.command("/flow")
    async def flow(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=command["trigger_id"], view=flow_view(command["text"]))


def _listen_to_actions(bolt: AsyncApp, world: BoltWorld) -> None:
    @bolt.action("incident.ack")
    async def acknowledge(ack: Any, body: dict[str, Any], respond: Any) -> None:
        world.actions.append(body)
        await ack()
        await respond(replace_original=True, text=f"Acknowledged by <@{body['user']['id']}>")

    @bolt.action("incident.declare")
    async def declare(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        world.actions.append(body)
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=DECLARE_VIEW)

    @bolt.action("incident.severity")
    @bolt.action("incident.assign")
    @bolt.action("incident.more")
    async def choose(ack: Any, body: dict[str, Any]) -> None:
        world.actions.append(body)
        await ack()


def _listen_to_views(bolt: AsyncApp, world: BoltWorld) -> None:
    @bolt.view("incident.declare")
    async def submitted(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        world.submissions.append(body)
        values = body["view"]["state"]["values"]
        title = values["title"]["title"]["value"]
        if len(title) < MIN_TITLE:
            await ack(response_action="errors", errors={"title": "Use at least 5 characters"})
            return
        await ack()
        severity = values["severity"]["severity"]["selected_option"]["value"]
        channel = body["view"]["private_metadata"]
        await client.chat_postMessage(channel=channel, text=f"Declared {title} ({severity})")

    @bolt.view("flow")
    async def flow_step(ack: Any, body: dict[str, Any]) -> None:
        world.submissions.append(body)
        action = body["view"]["private_metadata"]
        if action in {"update", "push"}:
            await ack(response_action=action, view=flow_view("clear", title=action.title()))
        else:
            await ack(response_action=action)

    @bolt.view_closed("incident.declare")
    async def closed(ack: Any, body: dict[str, Any]) -> None:
        world.closed.append(body)
        await ack()
