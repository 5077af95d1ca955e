"""Composition root of the Kubernetes stand-in: the REST API, discovery and automation."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.kube import world
from sandbox.kube.api import router as api_router
from sandbox.kube.automation import router as automation_router
from sandbox.kube.errors import ApiError
from sandbox.kube.faults import Faults
from sandbox.kube.state import KubeState

DEFAULT_TOKEN = "sandbox-kube-token"  # noqa: S105 - a local stand-in's well-known token
DEFAULT_USER = "system:serviceaccount:gpuwarden:gpuwarden-bot"
DEFAULT_READY_AFTER_S = 3.0


def create_app(
    *,
    tokens: Mapping[str, str] | None = None,
    ready_after_s: float = DEFAULT_READY_AFTER_S,
    clock: Callable[[], float] = time.time,
    seed: bool = True,
) -> FastAPI:
    """Build a fresh stand-in; ``tokens`` maps bearer tokens to user names."""

    def fresh(*, empty: bool = not seed) -> KubeState:
        state = KubeState(clock=clock, ready_after_s=ready_after_s)
        if not empty:
            world.seed(state)
        return state

    app = FastAPI(title="gpuwarden Kubernetes sandbox", docs_url=None, redoc_url=None)
    app.state.kube = fresh()
    app.state.fresh = fresh
    app.state.faults = Faults()
    app.state.tokens = dict(tokens or {DEFAULT_TOKEN: DEFAULT_USER})
    app.include_router(automation_router)
    app.include_router(api_router)

    @app.exception_handler(ApiError)
    async def status(request: Request, exc: ApiError) -> JSONResponse:  # noqa: ARG001
        return JSONResponse(exc.to_status(), status_code=exc.code)

    @app.get("/healthz", include_in_schema=False)
    @app.get("/readyz", include_in_schema=False)
    @app.get("/livez", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse("ok")

    return app
