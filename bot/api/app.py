"""The FastAPI application: routes plus the Bolt request handler at ``/slack/events``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from pydantic import ValidationError
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

from bot.api.alertmanager import alertmanager_router
from bot.api.auth import bearer
from bot.api.body import gunzip, json_body, read_limited
from bot.api.errors import invalid, on_request_validation
from bot.api.schemas import (
    IncidentOut,
    IngestAccepted,
    IngestPayload,
    WatchLevelOut,
    WatchLevelsOut,
)
from bot.api.silences import silence_router
from bot.core.engine import AlertEngine
from bot.core.errors import NotFound
from bot.core.ports import Clock, Notifier, UnitOfWorkFactory
from bot.services import ingest as ingest_service
from bot.services.history import SampleHistory
from bot.services.ingest import HeapKeeper
from bot.services.watch import WATCH_REFRESH_S, watched_rules


@dataclass(frozen=True)
class ApiDeps:
    """What the HTTP layer needs; built by ``bot.bootstrap``."""

    uow: UnitOfWorkFactory
    engine: AlertEngine
    notifier: Notifier
    clock: Clock
    slack: AsyncSlackRequestHandler
    ingest_token: str
    max_batch_bytes: int
    alertmanager_token: str | None = None
    api_token: str | None = None  # management API (silences); None: writes refused
    refresh_silences: Callable[[float], object] = lambda _now: None
    on_startup: Callable[[], Awaitable[None]] | None = None
    on_shutdown: Callable[[], Awaitable[None]] | None = None
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    routers: tuple[APIRouter, ...] = ()  # feature routes bound by bootstrap (exports, reports)
    history: SampleHistory | None = None  # recent samples for root-cause evidence (triage)
    heap: HeapKeeper = field(default_factory=HeapKeeper)  # gc.freeze after start-up and fills


def create_app(deps: ApiDeps) -> FastAPI:
    """Build the app; nothing is module-level, so tests can make as many as they need."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if deps.on_startup is not None:
            await deps.on_startup()
        deps.heap.settle(deps.engine.series_count())  # what start-up built lives on: freeze it
        yield
        if deps.on_shutdown is not None:
            await deps.on_shutdown()

    app = FastAPI(
        title="gpuwarden bot",
        version="0.1.0",
        lifespan=lifespan,
        description=(
            "Ingest from GPU node agents and Alertmanager, Slack interactions, incidents and "
            "timelines."
        ),
    )
    app.add_exception_handler(RequestValidationError, on_request_validation)
    batches = Counter(
        "gpuwarden_bot_ingest_batches",
        "Batches received, by outcome",
        ["outcome"],
        registry=deps.registry,
    )
    samples = Counter(
        "gpuwarden_bot_ingest_samples", "Samples accepted from agents", registry=deps.registry
    )

    @app.post(
        "/api/v1/ingest",
        status_code=202,
        response_model=IngestAccepted,
        dependencies=[
            Depends(bearer(deps.ingest_token, refused=batches.labels("unauthorized").inc))
        ],
        openapi_extra=json_body(IngestPayload),
        summary="Accept a batch of readings and events from a node agent (gzip allowed)",
    )
    async def ingest(
        request: Request, content_encoding: Annotated[str | None, Header()] = None
    ) -> Response | IngestAccepted:
        raw = await read_limited(request, deps.max_batch_bytes)
        if content_encoding == "gzip":
            raw = gunzip(raw, deps.max_batch_bytes)
        try:
            payload = IngestPayload.from_json(raw, now=deps.clock.now())
        except ValidationError as exc:
            batches.labels("invalid").inc()
            return invalid("batch", list(exc.errors()))
        result = await ingest_service.ingest(
            batch=payload.to_batch(),
            uow=deps.uow,
            engine=deps.engine,
            notifier=deps.notifier,
            clock=deps.clock,
            history=deps.history,
            heap=deps.heap,
        )
        batches.labels("duplicate" if result.duplicate else "accepted").inc()
        samples.inc(result.accepted_samples)
        return IngestAccepted(
            accepted_samples=result.accepted_samples,
            accepted_events=result.accepted_events,
            duplicate=result.duplicate,
        )

    @app.get(
        "/api/v1/agent/watch",
        response_model=WatchLevelsOut,
        dependencies=[
            Depends(bearer(deps.ingest_token, refused=batches.labels("unauthorized").inc))
        ],
        summary="Levels agents check as they sample, to ship a crossing at once",
    )
    def agent_watch() -> WatchLevelsOut:
        rules = watched_rules(deps.engine.config)
        return WatchLevelsOut(
            levels=[WatchLevelOut.of(rule) for rule in rules], refresh_s=WATCH_REFRESH_S
        )

    @app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        return await deps.slack.handle(request)

    app.include_router(
        alertmanager_router(
            uow=deps.uow,
            notifier=deps.notifier,
            clock=deps.clock,
            token=deps.alertmanager_token,
            max_body_bytes=deps.max_batch_bytes,
            registry=deps.registry,
        )
    )
    app.include_router(
        silence_router(
            uow=deps.uow, clock=deps.clock, token=deps.api_token, refresh=deps.refresh_silences
        )
    )
    for router in deps.routers:
        app.include_router(router)
    _incident_routes(app, deps)
    _health_routes(app, deps)
    return app


def _incident_routes(app: FastAPI, deps: ApiDeps) -> None:
    @app.get("/api/v1/incidents", response_model=list[IncidentOut])
    def list_incidents(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[IncidentOut]:
        with deps.uow() as tx:
            return [IncidentOut.of(i) for i in tx.incidents.list(limit=limit)]

    @app.get("/api/v1/incidents/{incident_id}", response_model=IncidentOut)
    def get_incident(incident_id: int) -> IncidentOut:
        with deps.uow() as tx:
            try:
                return IncidentOut.of(tx.incidents.get(incident_id))
            except NotFound as exc:
                raise HTTPException(404, str(exc)) from exc


def _health_routes(app: FastAPI, deps: ApiDeps) -> None:
    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        return "ok"

    @app.get("/readyz", response_class=PlainTextResponse)
    def readyz() -> str:
        with deps.uow() as tx:
            tx.incidents.list(limit=1)
        return "ready"

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(deps.registry), media_type=CONTENT_TYPE_LATEST)
