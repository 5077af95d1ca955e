"""The browser UI: served offline, and driven in Debian's headless Chromium through Playwright."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect
from slack_sdk import WebClient

from tests.integration.sandbox.screens import APPROVAL_BLOCKS, TRIAGE_BLOCKS
from tests.integration.sandbox.world import BOT_TOKEN, BoltWorld, client_for
from tests.processes import eventually


def test_index_and_assets_are_served_without_external_urls(sandbox_url: str) -> None:
    page = httpx.get(f"{sandbox_url}/")
    assert page.status_code == 200
    assert 'id="messages"' in page.text
    for asset in (
        "app.js",
        "blocks.js",
        "confirm.js",
        "live.js",
        "messages.js",
        "modal.js",
        "mrkdwn.js",
        "app.css",
    ):
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


@pytest.mark.browser
def test_modal_opens_from_a_confirmed_button_shows_errors_and_submits(
    bolt_world: BoltWorld, page: Page
) -> None:
    client_for(bolt_world.sandbox_url).chat_postMessage(
        channel="gpu-alerts", text="XID 79", blocks=TRIAGE_BLOCKS
    )
    page.goto(f"{bolt_world.sandbox_url}/?user=bob")
    declare = page.locator('button[data-action-id="incident.declare"]')
    confirm = page.locator("#confirm-layer .confirm-dialog")

    declare.click()
    expect(confirm).to_contain_text("Declare an incident?")
    expect(confirm.locator("strong")).to_have_text("@gpu-oncall")
    confirm.get_by_role("button", name="Not yet").click()
    expect(confirm).to_have_count(0)
    assert bolt_world.actions == []

    declare.click()
    confirm.get_by_role("button", name="Declare").click()
    modal = page.locator("#modal-layer .modal")
    expect(modal.locator("#modal-title")).to_have_text("Declare incident")
    modal.get_by_role("button", name="Declare").click()
    expect(modal.locator('[data-input-block="title"] .blk-error')).to_have_text(
        "Please complete this required field."
    )
    assert bolt_world.submissions == []

    modal.get_by_label("Title").fill("gpu")
    modal.get_by_label("Severity").select_option("p1")
    modal.get_by_role("button", name="Declare").click()
    expect(modal.locator('[data-input-block="title"] .blk-error')).to_have_text(
        "Use at least 5 characters"
    )
    expect(modal.get_by_label("Severity")).to_have_value("p1")

    modal.get_by_label("Title").fill("GPU 3 lost")
    modal.get_by_role("button", name="Declare").click()
    expect(page.locator("#modal-layer")).to_be_hidden()
    expect(page.locator("#messages")).to_contain_text("Declared GPU 3 lost (p1)")
    assert bolt_world.submissions[-1]["user"]["id"] == "U0BOB"


@pytest.mark.browser
def test_selects_files_reactions_and_dms_arrive_live(bolt_world: BoltWorld, page: Page) -> None:
    page.goto(f"{bolt_world.sandbox_url}/?user=carol")
    expect(page.locator("#connection-status")).to_have_text("Live")
    expect(page.locator("#acting-as option:checked")).to_have_text("Carol Diaz (@carol)")
    expect(page.locator("#acting-as-roles")).to_have_text("manager, viewer")
    client = client_for(bolt_world.sandbox_url)
    posted = client.chat_postMessage(channel="gpu-alerts", text="XID 79", blocks=TRIAGE_BLOCKS)
    client.reactions_add(channel="gpu-alerts", timestamp=posted["ts"], name="eyes")
    client.files_upload_v2(
        channel="C0GPUALERTS", thread_ts=posted["ts"], content="# INC-42", filename="inc-42.md"
    )
    client.chat_postMessage(channel="gpu-alerts", text="<!subteam^S0GPUONCALL> please look")
    message = page.locator(f'[data-ts="{posted["ts"]}"]')
    expect(message.locator(".reaction")).to_contain_text("1")
    expect(page.locator(".mention")).to_have_text("@gpu-oncall")

    message.locator('select[data-action-id="incident.severity"]').select_option("p2")
    [chosen] = eventually(lambda: bolt_world.actions, timeout_s=5, what="the selection")
    assert chosen["actions"][0]["selected_option"]["value"] == "p2"

    message.locator(".thread-toggle").click()
    download = message.locator(".file-card .file-download")
    expect(download).to_have_attribute("download", "inc-42.md")
    href = download.get_attribute("href") or ""
    assert httpx.get(href).text == "# INC-42"

    client.conversations_open(users="U0CAROL")
    client.chat_postMessage(channel="D0CAROL", text="You are on call from Monday")
    page.locator("#dm-list a").click()
    expect(page.locator("#channel-title")).to_have_text("@gpuwarden")
    expect(page.locator("#messages")).to_contain_text("You are on call from Monday")


@pytest.mark.browser
def test_the_ui_polls_where_server_sent_events_are_missing(sandbox_url: str, page: Page) -> None:
    page.add_init_script("delete window.EventSource")
    page.goto(f"{sandbox_url}/")
    expect(page.locator("#connection-status")).to_have_text("Polling")
    client_for(sandbox_url).chat_postMessage(channel="gpu-alerts", text="still arrives")
    expect(page.locator("#messages")).to_contain_text("still arrives")
