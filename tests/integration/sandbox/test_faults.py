"""Injected failures: a 429 storm that slack_sdk's retry handler rides out, and Slack errors."""

from __future__ import annotations

import time

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.integration.sandbox.world import BOT_TOKEN, act, read

STORM = 2
RETRY_AFTER = 1


def test_429_storm_is_ridden_out_honouring_retry_after(sandbox_url: str) -> None:
    fault = act(
        sandbox_url,
        "faults",
        method="chat.postMessage",
        error="ratelimited",
        retry_after=RETRY_AFTER,
        count=STORM,
    )
    assert fault.json()["http_status"] == 429
    client = WebClient(
        token=BOT_TOKEN,
        base_url=f"{sandbox_url}/api/",
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=STORM)],
    )
    started = time.monotonic()
    for index in range(5):
        client.chat_postMessage(channel="gpu-alerts", text=f"alert {index}")
    assert time.monotonic() - started >= STORM * RETRY_AFTER
    history = client.conversations_history(channel="gpu-alerts")["messages"]
    assert [m["text"] for m in reversed(history)] == [f"alert {index}" for index in range(5)]
    assert read(sandbox_url, "faults") == {"faults": []}


def test_a_storm_without_a_retry_handler_surfaces_429(
    web_client: WebClient, sandbox_url: str
) -> None:
    act(sandbox_url, "faults", method="chat.update", error="ratelimited", retry_after=7, count=3)
    posted = web_client.chat_postMessage(channel="general", text="x")
    for _ in range(3):
        with pytest.raises(SlackApiError) as caught:
            web_client.chat_update(channel="general", ts=posted["ts"], text="y")
        assert caught.value.response.status_code == 429
        assert caught.value.response.headers["Retry-After"] == "7"
    assert web_client.chat_update(channel="general", ts=posted["ts"], text="y")["ok"]


def test_any_slack_error_and_status_can_be_injected(
    web_client: WebClient, sandbox_url: str
) -> None:
    act(sandbox_url, "faults", method="views.open", error="expired_trigger_id")
    act(sandbox_url, "faults", method="auth.test", error="internal_error", http_status=500)
    act(sandbox_url, "faults", method="auth.test", error="token_revoked")
    with pytest.raises(SlackApiError) as caught:
        web_client.views_open(trigger_id="t", view={})
    assert (caught.value.response.status_code, caught.value.response["error"]) == (
        200,
        "expired_trigger_id",
    )
    with pytest.raises(SlackApiError) as caught:
        web_client.auth_test()
    assert caught.value.response.status_code == 500
    assert read(sandbox_url, "faults")["faults"] == [
        {
            "method": "auth.test",
            "error": "token_revoked",
            "count": 1,
            "retry_after": 1,
            "http_status": 200,
        }
    ]
    httpx.delete(f"{sandbox_url}/_sandbox/faults").raise_for_status()
    assert web_client.auth_test()["ok"]


def test_faults_name_a_real_method(sandbox_url: str) -> None:
    refused = act(sandbox_url, "faults", method="chat.teleport", error="ratelimited")
    assert refused.status_code == 422
    assert act(sandbox_url, "faults", method="auth.test", error="x", count=0).status_code == 422
