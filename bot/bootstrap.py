"""The composition root: settings and config in, a wired application out."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.clock import SystemClock
from bot.adapters.slack.listeners import register_listeners
from bot.adapters.slack.notifier import SlackNotifier
from bot.api.app import ApiDeps, create_app
from bot.config.files import BotConfig
from bot.config.settings import Settings
from bot.core.ports import Clock, UnitOfWorkFactory
from bot.core.thresholds import Evaluator
from storage.engine import create_engine_for
from storage.repositories import SqlUnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bot:
    """The wired bot: its HTTP app and the parts tests and the CLI reach for."""

    app: FastAPI
    uow: UnitOfWorkFactory
    evaluator: Evaluator


def build_bot(settings: Settings, config: BotConfig, *, clock: Clock | None = None) -> Bot:
    """Wire storage, Slack, the rule evaluator and the HTTP API together."""
    clock = clock or SystemClock()
    engine = create_engine_for(settings.sqlalchemy_url())

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine)

    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    notifier = SlackNotifier(
        client=client,
        channel=settings.alerts_channel,
        sla=config.sla,
        rotation=config.rotations[0] if config.rotations else None,
        clock=clock,
    )
    slack_app = AsyncApp(client=client, signing_secret=settings.slack_signing_secret, logger=log)
    register_listeners(slack_app, uow=uow, notifier=notifier, access=config.access, clock=clock)
    evaluator = Evaluator(config.rules)

    async def restore_alerts() -> None:
        """Resume firing alerts so that a restart neither re-fires nor forgets them."""
        with uow() as tx:
            firing = tx.alerts.list_firing()
        for alert in firing:
            evaluator.restore(alert)
        log.info("bot ready: %d rules, %d firing alerts restored", len(config.rules), len(firing))

    app = create_app(
        ApiDeps(
            uow=uow,
            evaluator=evaluator,
            notifier=notifier,
            clock=clock,
            slack=AsyncSlackRequestHandler(slack_app),
            ingest_token=settings.ingest_token,
            max_batch_bytes=settings.max_batch_bytes,
            on_startup=restore_alerts,
        )
    )
    return Bot(app=app, uow=uow, evaluator=evaluator)
