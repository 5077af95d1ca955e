"""The real Prometheus and Alertmanager (Debian packages) on loopback, the bot and the sandbox.

Each server runs as a child process on a free port with its state in the test's temp dir.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import require_tool
from tests.processes import Process, free_port, running, sandbox_args

SLACK_TOKEN = "xoxb-alert-engine"


class BotUnderTest:
    """A ``gpuwarden bot`` process and what a test asks it over HTTP."""

    def __init__(self, url: str, process: Process) -> None:
        self.url = url
        self.process = process

    def get(self, path: str) -> Any:
        answer = httpx.get(f"{self.url}{path}", timeout=5)
        answer.raise_for_status()
        return answer.json() if "json" in answer.headers["content-type"] else answer.text

    def timeline_kinds(self, incident_id: int = 1) -> list[str]:
        return [e["kind"] for e in self.get(f"/api/v1/incidents/{incident_id}/timeline")]


StartBot = Callable[..., AbstractContextManager[BotUnderTest]]


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    args = sandbox_args(port, "--bot-token", SLACK_TOKEN)
    with running("sandbox", args, {}, tmp_path) as sandbox:
        url = f"http://127.0.0.1:{port}"
        sandbox.wait_ready(f"{url}/_sandbox/healthz")
        yield url


@pytest.fixture
def start_bot(tmp_path: Path, sandbox_url: str) -> StartBot:
    """``start_bot(rules_yaml, **env)``: the bot with these rules and extra settings."""

    @contextmanager
    def start(rules: str, **env: str) -> Iterator[BotUnderTest]:
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "rules.yaml").write_text(rules)
        port = free_port()
        settings = {
            "GPUWARDEN_PORT": str(port),
            "GPUWARDEN_DATA_DIR": str(tmp_path / "data"),
            "GPUWARDEN_CONFIG_DIR": str(tmp_path / "config"),
            "GPUWARDEN_SLACK_API_URL": f"{sandbox_url}/api/",
            "GPUWARDEN_SLACK_BOT_TOKEN": SLACK_TOKEN,
            "GPUWARDEN_SLACK_SIGNING_SECRET": secrets.token_hex(16),
            "GPUWARDEN_INGEST_TOKEN": secrets.token_urlsafe(16),
            **env,
        }
        with running("bot", ["bot"], settings, tmp_path) as process:
            url = f"http://127.0.0.1:{port}"
            process.wait_ready(f"{url}/readyz")
            yield BotUnderTest(url, process)

    return start


def slack_messages(sandbox_url: str) -> list[dict[str, Any]]:
    """The messages of #gpu-alerts, each with its thread replies."""
    answer = httpx.get(f"{sandbox_url}/_sandbox/messages", params={"channel": "gpu-alerts"})
    return list(answer.json()["messages"])


@contextmanager
def prometheus(tmp: Path, config: dict[str, Any]) -> Iterator[str]:
    """A Prometheus server with this configuration; yields its URL once it is ready."""
    binary = require_tool("prometheus", "prometheus")
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    args = [
        f"--config.file={tmp / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp / 'prometheus-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with running("prometheus", args, {}, tmp, program=[binary]) as process:
        url = f"http://127.0.0.1:{port}"
        process.wait_ready(f"{url}/-/ready")
        yield url


@contextmanager
def alertmanager(tmp: Path, config: dict[str, Any]) -> Iterator[str]:
    """A single Alertmanager (clustering off) with this configuration; yields its URL."""
    binary = require_tool("prometheus-alertmanager", "prometheus-alertmanager")
    (tmp / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    args = [
        f"--config.file={tmp / 'alertmanager.yml'}",
        f"--storage.path={tmp / 'alertmanager-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with running("alertmanager", args, {}, tmp, program=[binary]) as process:
        url = f"http://127.0.0.1:{port}"
        process.wait_ready(f"{url}/-/ready")
        yield url
