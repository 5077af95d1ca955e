"""The composition root: settings and config in, a wired application out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry, Counter
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.clock import SystemClock
from bot.adapters.k8s import KubernetesCluster, connect
from bot.adapters.llm import OpenAISummarizer
from bot.adapters.pagerduty import PagerDutyPager
from bot.adapters.prometheus import PrometheusMetricsSource
from bot.adapters.scheduler import IntervalScheduler
from bot.adapters.slack.commands import CommandRouter
from bot.adapters.slack.countdown import CountdownPacer
from bot.adapters.slack.export_listeners import register_export_commands
from bot.adapters.slack.listeners import register_listeners
from bot.adapters.slack.notifier import SlackNotifier
from bot.adapters.slack.oncall_listeners import OncallDeps, register_oncall
from bot.adapters.slack.report_blocks import SlackReportSink
from bot.adapters.slack.runbook_board import SlackRunbookBoard
from bot.adapters.slack.runbook_listeners import register_runbooks
from bot.adapters.slack.runtime import SlackRuntime
from bot.adapters.slack.silence_listeners import SilenceDeps, register_silence
from bot.adapters.slack.triage_listeners import register_triage
from bot.adapters.slack.usergroups import SlackUserGroups
from bot.api.app import ApiDeps, create_app
from bot.api.reports import reports_router
from bot.config.export import with_derivations
from bot.config.files import BotConfig
from bot.config.runbooks import load_remediation, load_runbooks
from bot.config.settings import Settings
from bot.core.engine import AlertEngine
from bot.core.errors import ConfigError
from bot.core.ports import Clock, MetricHistory, Notifier, UnitOfWorkFactory
from bot.core.thresholds import ThresholdRule
from bot.services import remediation, runbooks, silences
from bot.services.alerting import deliver
from bot.services.escalation import page_outside
from bot.services.history import SampleHistory
from bot.services.oncall import OncallGroup, current_schedules, on_call_lookup
from bot.services.promql import poll_rules, promql_rules
from bot.services.remediation import RemediationDeps
from bot.services.reports import WeeklyReport
from bot.services.runbooks import RunbookDeps
from bot.services.timers import fire_due
from bot.services.triage import TriageDeps, auto_root_cause, metric_watcher
from storage.engine import create_engine_for
from storage.repositories import SqlUnitOfWork

log = logging.getLogger(__name__)
TICK_S = 5.0  # how often time-driven alert changes are looked for
TIMERS_S = 2.0  # how often due SLA reminders, breaches and pages are looked for
GROUP_SYNC_S = 60.0  # how often the on-call user group is compared with who is on call
REPORT_CHECK_S = 60.0  # how often the weekly report is looked for (it is due once a week)


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
        # the notifier's outbox is the one place its calls are retried (429s included)
        client=AsyncWebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_url, retry_handlers=[]
        ),
        channel=settings.alerts_channel,
        sla=config.sla,
        on_call=on_call_lookup(uow=uow, schedule=config.schedules[0] if config.schedules else None),
        clock=clock,
        pacer=CountdownPacer(every_s=settings.slack_countdown_interval),
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
        sla=config.sla,
    )
    scheduler = IntervalScheduler()
    triage = _thread_assistants(
        settings,
        config,
        app=slack_app,
        router=incident_commands,
        scheduler=scheduler,
        uow=uow,
        notifier=notifier,
        clock=clock,
    )
    reports_api, weekly_report = _exports_and_reports(
        settings,
        config,
        router=incident_commands,
        uow=uow,
        clock=clock,
        client=client,
        recent=triage.history,
    )
    incident_commands.attach(slack_app)
    slack_runtime = SlackRuntime(
        slack_app, notifier=notifier, uow=uow, app_token=settings.slack_app_token
    )
    engine, refresh_silences = _engine_and_silences(slack_app, config, uow=uow, clock=clock)
    registry = CollectorRegistry()
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
        """Time-driven alerts: silent nodes, quiet XIDs, held and released notifications.

        Silences are re-read first: one made by the CLI, or one that ended, counts at once.
        """
        now = clock.now()
        refresh_silences(now)
        await deliver(output=engine.tick(now), uow=uow, notifier=notifier)

    scheduler.every(TICK_S, tick, name="alert-engine-tick")
    fire_timers, firing_timers = _timers_and_oncall(
        settings,
        config,
        slack_app=slack_app,
        scheduler=scheduler,
        uow=uow,
        notifier=notifier,
        clock=clock,
    )

    scheduler.every(REPORT_CHECK_S, weekly_report, name="weekly-report", first_in=TIMERS_S)
    slack_runtime.schedule(scheduler, countdown_every_s=settings.slack_countdown_interval)

    async def start() -> None:
        """Resume firing alerts (so a restart neither re-fires nor forgets them), then poll."""
        with uow() as tx:
            firing = tx.alerts.list_firing()
            last_seen = {node.name: node.last_seen for node in tx.nodes.list()}
        engine.restore(firing, last_seen=last_seen, now=clock.now())
        refresh_silences(clock.now())
        try:  # reconcile: what fell due while the bot was down fires now, once
            next_due = await fire_timers()
        except Exception:
            log.exception("could not fire the incident timers that fell due; retrying shortly")
        else:
            log.info("incident timers reconciled; next due at %s", next_due)
        if settings.alertmanager_token is None:
            log.warning("POST /api/v1/alertmanager is open: set GPUWARDEN_ALERTMANAGER_TOKEN")
        scheduler.start()
        slack_runtime.start()
        log.info("bot ready: %d rules, %d firing alerts restored", len(config.rules), len(firing))

    async def stop() -> None:
        scheduler.stop()
        async with firing_timers:  # a page being sent is finished, not cut off half-way
            pass
        await slack_runtime.stop()

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
            api_token=settings.api_token,
            refresh_silences=refresh_silences,
            on_startup=start,
            on_shutdown=stop,
            registry=registry,
            routers=(reports_api,),
            history=triage.history,
        )
    )
    return Bot(app=app, uow=uow, engine=engine)


def _engine_and_silences(
    app: AsyncApp, config: BotConfig, *, uow: UnitOfWorkFactory, clock: Clock
) -> tuple[AlertEngine, Callable[[float], object]]:
    """The alert engine, ``/silence`` in Slack, and what hands the engine the silences in force."""
    engine = AlertEngine(config.engine)

    def refresh(now: float) -> object:
        """Hand the engine the silences not yet ended and the maintenance windows."""
        return silences.refresh(engine, uow=uow, windows=config.maintenance, now=now)

    router = CommandRouter("/silence", default="list", fallback="add")
    deps = SilenceDeps(uow=uow, access=config.access, clock=clock, refresh=refresh)
    register_silence(router, deps=deps)
    router.attach(app)
    return engine, refresh


def _timers_and_oncall(
    settings: Settings,
    config: BotConfig,
    *,
    slack_app: AsyncApp,
    scheduler: IntervalScheduler,
    uow: UnitOfWorkFactory,
    notifier: SlackNotifier,
    clock: Clock,
) -> tuple[Callable[[], Awaitable[float | None]], asyncio.Lock]:
    """The incident timers' run and its lock; ``/oncall``, Escalate, user group and PagerDuty.

    The timers see the schedules with the overrides and swaps made in Slack laid over them.
    """
    user_groups = SlackUserGroups(
        client=AsyncWebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_url, retry_handlers=[]
        ),
        outbox=notifier.outbox,
    )
    pager = (
        PagerDutyPager(routing_key=settings.pagerduty_routing_key, url=settings.pagerduty_url)
        if settings.pagerduty_routing_key
        else None
    )
    firing_timers = asyncio.Lock()  # one run at a time; shutdown waits for the one in flight

    async def fire_timers() -> float | None:
        """SLA reminders and breaches, pages and PagerDuty events that are due, each sent once."""
        async with firing_timers:
            now = clock.now()
            next_due = await fire_due(
                now=now,
                uow=uow,
                notifier=notifier,
                sla=config.sla,
                escalation=config.escalation,
                schedules=current_schedules(uow=uow, schedules=config.schedules, now=now),
                groups=user_groups,
            )
            if pager is not None:
                await page_outside(
                    now=now, uow=uow, pager=pager, notifier=notifier, escalation=config.escalation
                )
            return next_due

    async def timers() -> None:
        await fire_timers()

    # the database holds every deadline: this wake-up only looks for what fell due
    scheduler.every(TIMERS_S, timers, name="incident-timers", first_in=TIMERS_S)
    oncall_group = (
        OncallGroup(settings.oncall_usergroup, user_groups) if settings.oncall_usergroup else None
    )
    oncall_commands = CommandRouter("/oncall", default="now")
    register_oncall(
        slack_app,
        router=oncall_commands,
        deps=OncallDeps(
            uow=uow,
            notifier=notifier,
            access=config.access,
            clock=clock,
            schedules=config.schedules,
            escalation=config.escalation,
            group=oncall_group,
            page_now=fire_timers,
        ),
    )
    oncall_commands.attach(slack_app)
    if oncall_group is not None:

        async def keep_oncall_group() -> None:
            """Handoffs and overrides reach the on-call user group within a minute."""
            await oncall_group.keep(uow=uow, schedules=config.schedules, now=clock.now())

        scheduler.every(GROUP_SYNC_S, keep_oncall_group, name="oncall-usergroup", first_in=1.0)
    return fire_timers, firing_timers


def _exports_and_reports(
    settings: Settings,
    config: BotConfig,
    *,
    router: CommandRouter,
    uow: UnitOfWorkFactory,
    clock: Clock,
    client: AsyncWebClient,
    recent: SampleHistory,
) -> tuple[APIRouter, Callable[[], Awaitable[None]]]:
    """``/incident export|report``; returns their HTTP routes and the weekly report's job.

    An export's chart asks Prometheus for the metric's history, else the bot's recent samples.
    """
    rules = {rule.name: rule for rule in with_derivations(config.engine)}
    history: MetricHistory = recent
    if settings.prometheus_url is not None:
        history = PrometheusMetricsSource(url=settings.prometheus_url)
    register_export_commands(
        router, uow=uow, rules=rules, history=history, sla=config.sla, clock=clock
    )
    sink = SlackReportSink(client=client, channel=settings.alerts_channel, sla=config.sla)
    weekly = WeeklyReport(uow=uow, sla=config.sla, sink=sink)

    async def weekly_report() -> None:
        """The weekly report, once per ISO week (a ledger key), across restarts too."""
        await weekly.run(now=clock.now())

    api = reports_router(uow=uow, clock=clock, sla=config.sla, rules=rules, history=history)
    return api, weekly_report


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


@dataclass(frozen=True)
class _Wiring:
    """What every thread assistant hooks into: Slack, the scheduler, storage and time."""

    app: AsyncApp
    router: CommandRouter
    scheduler: IntervalScheduler
    uow: UnitOfWorkFactory
    clock: Clock


def _triage(
    settings: Settings,
    config: BotConfig,
    wiring: _Wiring,
    *,
    notifier: Notifier,
    cluster: KubernetesCluster | None,
) -> TriageDeps:
    """LLM triage: its commands, the root-cause assistant for new P1/P2 incidents, its deps.

    The LLM is the OpenAI-compatible endpoint when one is configured; else templates answer.
    """
    summarizer = None
    if settings.llm_base_url is not None:
        summarizer = OpenAISummarizer(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            timeout_s=settings.llm_timeout,
            clock=wiring.clock,
        )
        log.info("LLM triage through %s (model %s)", settings.llm_base_url, settings.llm_model)
    else:
        log.info("LLM triage off (GPUWARDEN_LLM_BASE_URL unset): template summaries")
    deps = TriageDeps(
        summarizer=summarizer,
        history=SampleHistory(),  # what agents pushed lately: evidence, probes, export charts
        watched_metric=metric_watcher(config.engine),
        cluster=cluster,  # rollout history: the last changes to what the incident touches
        max_tokens=settings.llm_max_tokens,
        max_prompt_chars=settings.llm_max_prompt_chars,
        incident_token_budget=settings.llm_incident_token_budget,
    )
    register_triage(
        wiring.app,
        router=wiring.router,
        deps=deps,
        uow=wiring.uow,
        notifier=notifier,
        clock=wiring.clock,
    )

    async def root_cause() -> None:
        """The root-cause assistant for new P1/P2 incidents, once each, off the ingest path."""
        await auto_root_cause(deps=deps, uow=wiring.uow, notifier=notifier, clock=wiring.clock)

    wiring.scheduler.every(TICK_S, root_cause, name="root-cause-assistant", first_in=TICK_S)
    return deps


def _thread_assistants(
    settings: Settings,
    config: BotConfig,
    *,
    app: AsyncApp,
    router: CommandRouter,
    scheduler: IntervalScheduler,
    uow: UnitOfWorkFactory,
    notifier: SlackNotifier,
    clock: Clock,
) -> TriageDeps:
    """What helps responders in an incident's thread: LLM triage and the runbook walk-through.

    Both see the one Kubernetes cluster, if any: triage reads its rollout history, runbooks act.
    """
    cluster = _cluster(settings, clock)
    wiring = _Wiring(app=app, router=router, scheduler=scheduler, uow=uow, clock=clock)
    triage = _triage(settings, config, wiring, notifier=notifier, cluster=cluster)
    _runbooks(settings, config, wiring, notifier=notifier, cluster=cluster, history=triage.history)
    return triage


def _runbooks(
    settings: Settings,
    config: BotConfig,
    wiring: _Wiring,
    *,
    notifier: SlackNotifier,
    history: SampleHistory,
    cluster: KubernetesCluster | None,
) -> None:
    """Runbook walk-throughs and gated remediation.

    Actions a crash left mid-execution are settled (by what the cluster shows) before the first
    walk. Remediation needs a cluster: GPUWARDEN_KUBE_URL, else the in-cluster service account or a
    kubeconfig; without one, runbooks still run their manual steps and metric probes.
    """
    client = AsyncWebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, retry_handlers=[]
    )
    gated = None
    if cluster is not None:
        policy = load_remediation(settings.config_dir)
        gated = RemediationDeps(
            uow=wiring.uow,
            cluster=cluster,
            notifier=notifier,
            clock=wiring.clock,
            roles=policy.roles,
            approvals=policy.approvals,
            guards=policy.guards,
            groups=SlackUserGroups(client=client, outbox=notifier.outbox),
        )
    deps = RunbookDeps(
        uow=wiring.uow,
        notifier=notifier,
        board=SlackRunbookBoard(client=client, outbox=notifier.outbox, clock=wiring.clock),
        clock=wiring.clock,
        runbooks=load_runbooks(settings.runbooks_dir),
        remediation=gated,
        metrics=PrometheusMetricsSource(url=settings.prometheus_url)
        if settings.prometheus_url
        else None,
        history=history,
        escalation=config.escalation,
        sla=config.sla,
    )
    register_runbooks(wiring.app, router=wiring.router, deps=deps)

    recovered = asyncio.Event()

    async def walk() -> None:
        """Offer fitting runbooks once per incident; drive the active runs (verify steps …)."""
        if gated is not None and not recovered.is_set():
            await remediation.recover_in_flight(deps=gated)
        recovered.set()
        await runbooks.offer_new(deps=deps)
        await runbooks.tick(deps=deps)

    wiring.scheduler.every(TICK_S, walk, name="runbooks", first_in=0.0)
    if gated is not None:
        remediation_deps = gated

        async def expire() -> None:
            """Requests past their approval deadline expire (and say so in the thread)."""
            await remediation.expire_due(deps=remediation_deps)

        wiring.scheduler.every(TIMERS_S * 5, expire, name="remediation-expiry", first_in=TIMERS_S)


def _cluster(settings: Settings, clock: Clock) -> KubernetesCluster | None:
    """The cluster from GPUWARDEN_KUBE_URL, else in-cluster or kubeconfig; None if neither."""
    try:
        api = connect(
            url=settings.kube_url,
            token=settings.kube_token,
            ca_cert=str(settings.kube_ca_cert) if settings.kube_ca_cert else None,
        )
    except ConfigError as exc:
        log.info("remediation off: no Kubernetes cluster configured (%s)", exc)
        return None
    where = settings.kube_url or "in-cluster / kubeconfig"
    log.info("remediation on: Kubernetes at %s, namespace %s", where, settings.kube_namespace)
    return KubernetesCluster(api, clock=clock, namespace=settings.kube_namespace)
