"""The newcomer's experience: ``gpuwarden demo`` in a real headless Chromium.

Starts the real launcher (which starts the sandbox, the bot and the simulated fleet as separate
processes, with the default fault schedule), waits for the incident in the sandbox page, clicks
Acknowledge, sees the message update, and stops everything with Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.processes import free_port

SCREENSHOTS = Path(os.environ.get("GPUWARDEN_SCREENSHOTS", "build/screenshots"))


@pytest.mark.browser
def test_demo_shows_the_incident_within_90_seconds_and_a_click_acknowledges_it(
    page: Page, tmp_path: Path
):
    sandbox_port, bot_port, kube_port, llm_port = free_port(), free_port(), free_port(), free_port()
    log = (tmp_path / "demo.log").open("w")
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gpuwarden",
            "demo",
            "--sandbox-port",
            str(sandbox_port),
            "--bot-port",
            str(bot_port),
            "--kube-port",
            str(kube_port),
            "--llm-port",
            str(llm_port),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    started = time.monotonic()
    try:
        url = f"http://127.0.0.1:{sandbox_port}/"
        _wait_for_banner(tmp_path / "demo.log", url, demo)
        page.goto(url)
        # the scheduled fault: GPU 3 of gpu-node-2 saturates (other incidents may come too)
        incident = page.locator(".message", has_text="on gpu-node-2 at").first
        expect(incident).to_be_visible(timeout=90_000 - (time.monotonic() - started) * 1000)
        expect(incident).to_contain_text("INC-")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "demo-incident.png")

        incident.locator('button[data-action-id="incident.acknowledge"]').click()
        expect(incident).to_contain_text("acknowledged", timeout=10_000)
        expect(incident.locator('button[data-action-id="incident.acknowledge"]')).to_have_count(0)
        incident.locator(".thread-toggle").click()
        expect(incident.locator(".thread")).to_contain_text("Acknowledged by")
        page.screenshot(path=SCREENSHOTS / "demo-acknowledged.png")
        api = f"http://127.0.0.1:{bot_port}/api/v1/incidents"
        (mine,) = [i for i in httpx.get(api).json() if i["group_key"] == "node:gpu-node-2"]
        timeline = httpx.get(f"{api}/{mine['id']}/timeline").json()
        assert [e["actor"] for e in timeline if e["kind"] == "incident.acknowledged"] == ["U0ALICE"]
    finally:
        demo.send_signal(signal.SIGINT)
        code = demo.wait(timeout=30)
        log.close()
    output = (tmp_path / "demo.log").read_text()
    assert code == 0, output
    assert "gpuwarden demo: stopped." in output
    for port in (sandbox_port, bot_port, kube_port):  # every child is gone
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)


def _wait_for_banner(log_path: Path, url: str, demo: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        output = log_path.read_text()
        if f"Open  {url}" in output:
            return
        if demo.poll() is not None:
            pytest.fail(f"gpuwarden demo exited with {demo.returncode}:\n{output}")
        time.sleep(0.2)
    pytest.fail(f"gpuwarden demo printed no URL within 60 s:\n{log_path.read_text()}")
