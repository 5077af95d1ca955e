"""The pieces of the sandbox tests' world: credentials, a Bolt receiver app, polling."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

BOT_TOKEN = "xoxb-integration-token"
SIGNING_SECRET = "integration-signing-secret"
APPROVAL_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*P1* deepseek-v3 unavailable"}},
    {
        "type": "actions",
        "block_id": "incident",
        "elements": [
            {
                "type": "button",
                "action_id": "incident.ack",
                "value": "INC-42",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Acknowledge"},
            }
        ],
    },
]


@dataclass
class BoltWorld:
    """A sandbox and the Bolt app it delivers to, with what the app's listeners saw."""

    sandbox_url: str
    request_url: str
    commands: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)


def bolt_receiver(world: BoltWorld) -> FastAPI:
    """A Bolt AsyncApp behind FastAPI that records what its listeners receive."""
    bolt = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=f"{world.sandbox_url}/api/"),
        signing_secret=SIGNING_SECRET,
    )

    @bolt.command("/incident")
    async def incident(ack: Any, command: dict[str, Any]) -> None:
        world.commands.append(command)
        await ack(f"Incident command received: {command['text']}")

    @bolt.action("incident.ack")
    async def acknowledge(ack: Any, body: dict[str, Any], respond: Any) -> None:
        world.actions.append(body)
        await ack()
        await respond(replace_original=True, text=f"Acknowledged by <@{body['user']['id']}>")

    handler = AsyncSlackRequestHandler(bolt)
    api = FastAPI()

    @api.post("/slack/events")
    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return api
