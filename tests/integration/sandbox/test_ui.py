"""The browser UI: served offline, and driven in Debian's headless Chromium through Playwright."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect
from slack_sdk import WebClient

from tests.integration.sandbox.world import APPROVAL_BLOCKS, BOT_TOKEN, BoltWorld


def test_index_and_assets_are_served_without_external_urls(sandbox_url: str) -> None:
    page = httpx.get(f"{sandbox_url}/")
    assert page.status_code == 200
    assert 'id="messages"' in page.text
    for asset in ("app.js", "blocks.js", "mrkdwn.js", "app.css"):
        served = httpx.get(f"{sandbox_url}/static/{asset}")
        assert served.status_code == 200
        assert "https://" not in served.text.replace("https?:", "")


@pytest.mark.browser
def test_channel_view_renders_blocks_threads_commands_and_clicks(
    bolt_world: BoltWorld, page: Page
) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=f"{bolt_world.sandbox_url}/api/")
    parent = client.chat_postMessage(channel="gpu-alerts", text="P1", blocks=APPROVAL_BLOCKS)
    client.chat_postMessage(channel="gpu-alerts", text="runbook step 1", thread_ts=parent["ts"])
    client.chat_postMessage(channel="gpu-alerts", text="<img src=x onerror=alert(1)> *bold* `code`")

    page.goto(f"{bolt_world.sandbox_url}/")
    expect(page.locator("#channel-gpu-alerts")).to_have_class("selected")
    message = page.locator(f'[data-ts="{parent["ts"]}"]')
    expect(message.locator("strong")).to_have_text("P1")
    expect(page.locator(".message img")).to_have_count(0)
    expect(page.locator(".message code")).to_have_text("code")

    message.locator(".thread-toggle").click()
    expect(message.locator(".thread")).to_contain_text("runbook step 1")

    page.fill("#command-input", "/incident list")
    page.press("#command-input", "Enter")
    ephemeral = page.locator(".message.ephemeral")
    expect(ephemeral).to_contain_text("Only visible to you")
    expect(ephemeral).to_contain_text("Incident command received: list")

    message.locator('button[data-action-id="incident.ack"]').click()
    expect(message).to_contain_text("Acknowledged by @alice")
    assert bolt_world.actions[0]["user"]["id"] == "U0ALICE"

    page.select_option("#acting-as", "bob")
    expect(page.locator(".message.ephemeral")).to_have_count(0)
