"""Fixtures shared by every test suite."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright

IN_CI = os.environ.get("CI", "").lower() == "true"
# Debian's Chromium, headless, with everything that would reach the internet switched off.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_tool(name: str, package: str) -> str:
    """Path of a Debian-packaged tool; a failure under CI=true, a skip elsewhere."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package {package}; `make test` installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def page() -> Iterator[Page]:
    """A page in headless Debian Chromium driven by Playwright (no browser download)."""
    chromium = require_tool("chromium", "chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1280, "height": 860})
        browser.close()
