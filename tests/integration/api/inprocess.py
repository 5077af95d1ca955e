"""The bot's FastAPI app in-process on a temporary SQLite file, driven by Starlette's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from bot.bootstrap import build_bot
from bot.config.files import load_config
from bot.config.settings import Settings
from bot.core.engine import EngineConfig
from bot.core.thresholds import ThresholdRule
from storage.migrate import upgrade
from tests.fakes import FrozenClock
from tests.processes import free_port

INGEST_TOKEN = "ingest-token-for-tests"
NOW = FrozenClock().t


@contextmanager
def running_bot(
    tmp: Path, rules: tuple[ThresholdRule, ...] = (), **overrides: Any
) -> Iterator[TestClient]:
    """A started bot with a frozen clock at ``NOW``, Slack unreachable, no rules by default."""
    settings = Settings(
        data_dir=tmp,
        ingest_token=INGEST_TOKEN,
        slack_bot_token="xoxb-inprocess",
        slack_signing_secret="inprocess-secret",
        slack_api_url=f"http://127.0.0.1:{free_port()}/api/",  # nobody listens there
        **overrides,
    )
    upgrade(settings.sqlalchemy_url())
    config = replace(load_config(None), engine=EngineConfig(thresholds=rules))
    with TestClient(build_bot(settings, config, clock=FrozenClock()).app) as client:
        yield client
