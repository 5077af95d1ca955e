"""The same Web API through slack_sdk's AsyncWebClient (aiohttp)."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient


def test_async_post_thread_update_and_read(async_web_client: AsyncWebClient) -> None:
    async def scenario() -> None:
        parent = await async_web_client.chat_postMessage(channel="#gpu-alerts", text="P2 latency")
        await async_web_client.chat_postMessage(
            channel=parent["channel"], text="scaling out", thread_ts=parent["ts"]
        )
        await async_web_client.chat_update(
            channel=parent["channel"], ts=parent["ts"], text="P2 mitigated"
        )
        history = await async_web_client.conversations_history(channel=parent["channel"])
        assert history["messages"][0]["text"] == "P2 mitigated"
        assert history["messages"][0]["reply_count"] == 1
        thread = await async_web_client.conversations_replies(
            channel=parent["channel"], ts=parent["ts"]
        )
        assert [m["text"] for m in thread["messages"]] == ["P2 mitigated", "scaling out"]
        with pytest.raises(SlackApiError) as caught:
            await async_web_client.chat_postMessage(channel="#nope", text="x")
        assert caught.value.response["error"] == "channel_not_found"

    asyncio.run(scenario())


def test_async_list_pagination(async_web_client: AsyncWebClient) -> None:
    async def scenario() -> list[str]:
        names: list[str] = []
        async for page in await async_web_client.conversations_list(limit=1):
            names += [channel["name"] for channel in page["channels"]]
        return names

    assert asyncio.run(scenario()) == ["gpu-alerts", "general"]
