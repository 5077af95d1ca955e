"""Rate limiting surfaces to slack_sdk as HTTP 429 with Retry-After, as on Slack."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.integration.sandbox.world import BOT_TOKEN


def test_sync_client_sees_429_with_retry_after(sandbox_factory: Callable[..., str]) -> None:
    url = sandbox_factory(rate_limit_per_minute=2)
    client = WebClient(token=BOT_TOKEN, base_url=f"{url}/api/", retry_handlers=[])
    client.chat_postMessage(channel="general", text="1")
    client.chat_postMessage(channel="general", text="2")
    client.auth_test()  # another method has its own budget
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="general", text="3")
    response = caught.value.response
    assert response.status_code == 429
    assert response["error"] == "ratelimited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_async_client_sees_429_with_retry_after(sandbox_factory: Callable[..., str]) -> None:
    url = sandbox_factory(rate_limit_per_minute=1)

    async def scenario() -> SlackApiError:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=f"{url}/api/", retry_handlers=[])
        await client.conversations_list()
        with pytest.raises(SlackApiError) as caught:
            await client.conversations_list()
        return caught.value

    error = asyncio.run(scenario())
    assert error.response.status_code == 429
    assert "Retry-After" in error.response.headers or "retry-after" in error.response.headers


def test_rate_limit_is_off_by_default_and_switchable_at_runtime(sandbox_url: str) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=f"{sandbox_url}/api/", retry_handlers=[])
    for i in range(30):
        client.chat_postMessage(channel="general", text=str(i))
    httpx.post(f"{sandbox_url}/_sandbox/ratelimit", json={"per_minute": 1}).raise_for_status()
    client.chat_postMessage(channel="general", text="last one")
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="general", text="too many")
    httpx.post(f"{sandbox_url}/_sandbox/ratelimit", json={"per_minute": None}).raise_for_status()
    client.chat_postMessage(channel="general", text="off again")
