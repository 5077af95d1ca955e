"""The composition root: settings and config in, a wired application out."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.clock import SystemClock
from bot.adapters.prometheus import PrometheusMetricsSource
from bot.adapters.scheduler import IntervalScheduler
from bot.adapters.slack.commands import CommandRouter
from bot.adapters.slack.listeners import register_listeners
from bot.adapters.slack.notifier import SlackNotifier
from bot.api.app import ApiDeps, create_app
from bot.config.files import BotConfig
from bot.config.settings import Settings
from bot.core.engine import AlertEngine
from bot.core.ports import Clock, Notifier, UnitOfWorkFactory
from bot.core.thresholds import ThresholdRule
from bot.services.alerting import deliver
from bot.services.promql import poll_rules, promql_rules
from bot.services.timers import fire_due
from storage.engine import create_engine_for
from storage.repositories import SqlUnitOfWork

log = logging.getLogger(__name__)
TICK_S = 5.0  # how often time-driven alert changes are looked for
TIMERS_S = 2.0  # how often due SLA reminders, breaches and pages are looked for


@dataclass(frozen=True)
class Bot:
    """The wired bot: its HTTP app and the parts tests and the CLI reach for."""

    app: FastAPI
    uow: UnitOfWorkFactory
    engine: AlertEngine


def build_bot(settings: Settings, config: BotConfig, *, clock: Clock | None = None) -> Bot:
    """Wire storage, Slack, the alert engine, the scheduler and the HTTP API together."""
    clock = clock or SystemClock()
    db = create_engine_for(settings.sqlalchemy_url())

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(db)

    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    notifier = SlackNotifier(
        client=client,
        channel=settings.alerts_channel,
        sla=config.sla,
        schedule=config.schedules[0] if config.schedules else None,
        clock=clock,
    )
    slack_app = AsyncApp(client=client, signing_secret=settings.slack_signing_secret, logger=log)
    incident_commands = CommandRouter("/incident")
    register_listeners(
        slack_app,
        router=incident_commands,
        uow=uow,
        notifier=notifier,
        access=config.access,
        clock=clock,
    )
    incident_commands.attach(slack_app)
    engine = AlertEngine(config.engine)
    registry = CollectorRegistry()
    scheduler = IntervalScheduler()
    _schedule_promql(
        settings,
        config.rules,
        scheduler=scheduler,
        registry=registry,
        engine=engine,
        clock=clock,
        uow=uow,
        notifier=notifier,
    )

    async def tick() -> None:
        """Time-driven alerts: silent nodes, quiet XIDs, held and released notifications."""
        await deliver(output=engine.tick(clock.now()), uow=uow, notifier=notifier)

    scheduler.every(TICK_S, tick, name="alert-engine-tick")
    schedules = {schedule.name: schedule for schedule in config.schedules}
    firing_timers = asyncio.Lock()  # one run at a time; shutdown waits for the one in flight

    async def fire_timers() -> float | None:
        """SLA reminders and breaches and escalation pages that are due, each sent once."""
        async with firing_timers:
            return await fire_due(
                now=clock.now(),
                uow=uow,
                notifier=notifier,
                sla=config.sla,
                escalation=config.escalation,
                schedules=schedules,
            )

    async def timers() -> None:
        await fire_timers()

    # the database holds every deadline: this wake-up only looks for what fell due
    scheduler.every(TIMERS_S, timers, name="incident-timers", first_in=TIMERS_S)

    async def start() -> None:
        """Resume firing alerts (so a restart neither re-fires nor forgets them), then poll."""
        with uow() as tx:
            firing = tx.alerts.list_firing()
            last_seen = {node.name: node.last_seen for node in tx.nodes.list()}
        engine.restore(firing, last_seen=last_seen, now=clock.now())
        try:  # reconcile: what fell due while the bot was down fires now, once
            next_due = await fire_timers()
        except Exception:
            log.exception("could not fire the incident timers that fell due; retrying shortly")
        else:
            log.info("incident timers reconciled; next due at %s", next_due)
        if settings.alertmanager_token is None:
            log.warning("POST /api/v1/alertmanager is open: set GPUWARDEN_ALERTMANAGER_TOKEN")
        scheduler.start()
        log.info("bot ready: %d rules, %d firing alerts restored", len(config.rules), len(firing))

    async def stop() -> None:
        scheduler.stop()
        async with firing_timers:  # a page being sent is finished, not cut off half-way
            pass

    app = create_app(
        ApiDeps(
            uow=uow,
            engine=engine,
            notifier=notifier,
            clock=clock,
            slack=AsyncSlackRequestHandler(slack_app),
            ingest_token=settings.ingest_token,
            max_batch_bytes=settings.max_batch_bytes,
            alertmanager_token=settings.alertmanager_token,
            on_startup=start,
            on_shutdown=stop,
            registry=registry,
        )
    )
    return Bot(app=app, uow=uow, engine=engine)


def _schedule_promql(
    settings: Settings,
    rules: tuple[ThresholdRule, ...],
    *,
    scheduler: IntervalScheduler,
    registry: CollectorRegistry,
    engine: AlertEngine,
    clock: Clock,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
) -> None:
    """Poll Prometheus for the ``query:`` rules, or say once why they are skipped."""
    queried = promql_rules(rules)
    if not queried:
        return
    if settings.prometheus_url is None:
        names = ", ".join(r.name for r in queried)
        log.warning("GPUWARDEN_PROMETHEUS_URL is not set: skipping PromQL rules %s", names)
        return
    source = PrometheusMetricsSource(url=settings.prometheus_url)
    queries = Counter(
        "gpuwarden_bot_promql_queries",
        "Queries of PromQL rules, by rule and outcome",
        ["rule", "outcome"],
        registry=registry,
    )

    async def poll() -> None:
        result = await poll_rules(
            rules=queried,
            source=source,
            engine=engine,
            now=clock.now(),
            uow=uow,
            notifier=notifier,
        )
        for name in result.answered:
            queries.labels(name, "ok").inc()
        for name in result.failed:
            queries.labels(name, "failed").inc()

    scheduler.every(settings.promql_interval, poll, name="promql-rules")
    log.info(
        "polling %s every %gs for %d PromQL rules",
        settings.prometheus_url,
        settings.promql_interval,
        len(queried),
    )
