"""A whole incident clicked through in the sandbox's Slack UI by two people, in real Chromium.

A simulated GPU saturates → the alert fires → the bot posts the incident → alice acknowledges it
with the button → bob adds a note with ``/incident note`` in the command box → alice resolves it
through the Resolve button's confirm dialog → bob exports the timeline with ``/incident export``
and the HTML file appears in the thread, and opens with its chart. The page is checked at each
step and screenshots are saved to build/screenshots/ (``GPUWARDEN_SCREENSHOTS`` to change).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.integration.slack_world import SlackWorld, bot_with_sandbox
from tests.processes import running
from tests.rules import rules_yaml

SCREENSHOTS = Path(os.environ.get("GPUWARDEN_SCREENSHOTS", "build/screenshots"))
RULES = rules_yaml()
FAULT = "gpu_saturation@1s+600s:node=gpu-node-2,gpu=3,ramp_s=2"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[SlackWorld]:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.yaml").write_text(RULES)
    with bot_with_sandbox(tmp_path) as started:
        agent = ["agent", "--simulate", "--bot-url", started.bot_url, "--interval", "0.5"]
        with running("agent", [*agent, "--faults", FAULT], dict(started.secrets), tmp_path):
            yield started


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"incident-walkthrough-{name}.png", full_page=True)


def act_as(page: Page, user: str) -> None:
    page.select_option("#acting-as", user)
    expect(page.locator("#acting-as option:checked")).to_contain_text(f"@{user}")


def command(page: Page, text: str) -> None:
    page.fill("#command-input", text)
    page.press("#command-input", "Enter")


@pytest.mark.browser
def test_two_people_take_an_incident_from_alert_to_resolved_and_export_it(
    page: Page, world: SlackWorld
):
    page.goto(f"{world.sandbox_url}/")
    incident = page.locator(".message", has_text="on gpu-node-2 at").filter(has_text="INC-1")
    expect(incident.first).to_be_visible(timeout=60_000)
    root = incident.first
    expect(root).to_contain_text("Triggered")
    expect(root.locator('button[data-action-id="incident.acknowledge"]')).to_be_visible()
    expect(root.locator('select[data-action-id="incident.severity"]')).to_have_value("P3")
    shot(page, "1-triggered")

    act_as(page, "alice")
    root.locator('button[data-action-id="incident.acknowledge"]').click()
    expect(root).to_contain_text("Acknowledged", timeout=15_000)
    expect(root.locator('button[data-action-id="incident.acknowledge"]')).to_have_count(0)
    shot(page, "2-acknowledged")

    act_as(page, "bob")
    command(page, "/incident note INC-1 draining gpu-node-2 before the restart")
    expect(page.locator(".message.ephemeral", has_text="Note added to INC-1")).to_be_visible(
        timeout=15_000
    )
    open_thread(root)
    expect(root.locator(".thread")).to_contain_text("draining gpu-node-2 before the restart")
    shot(page, "3-note")

    act_as(page, "alice")
    root.locator('button[data-action-id="incident.resolve"]').click()
    confirm = page.locator("#confirm-layer .confirm-dialog")
    expect(confirm).to_contain_text("Resolve INC-1?")
    confirm.get_by_role("button", name="Resolve").click()
    expect(root).to_contain_text("Resolved", timeout=15_000)
    expect(root.locator("button")).not_to_contain_text(["Acknowledge", "Resolve"])
    open_thread(root)
    expect(root.locator(".thread")).to_contain_text("Resolved by")
    shot(page, "4-resolved")

    act_as(page, "bob")
    command(page, "/incident export INC-1 html")
    uploaded = page.locator(".message.ephemeral", has_text="Uploaded INC-1-timeline.html")
    expect(uploaded).to_be_visible(timeout=30_000)
    open_thread(root)
    card = root.locator(".thread .file-card", has_text=".html")
    expect(card).to_be_visible(timeout=15_000)
    shot(page, "5-exported")
    with page.context.expect_page() as opened:
        card.locator("a.file-name").click()
    export = opened.value
    expect(export.locator("svg").first).to_be_visible(timeout=15_000)
    expect(export.locator("body")).to_contain_text("INC-1")
    export.screenshot(path=SCREENSHOTS / "incident-walkthrough-6-export.png", full_page=True)


def open_thread(message: Locator) -> None:
    """Show the message's thread (the toggle hides it again when already open)."""
    if not message.locator(".thread").is_visible():
        message.locator(".thread-toggle").click()
