"""Composition root of the Slack stand-in: the FastAPI app with the Web API, automation and UI."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from sandbox.slack.automation import router as automation_router
from sandbox.slack.interactions import AppEndpoint, Interactions
from sandbox.slack.ratelimit import RateLimiter
from sandbox.slack.responses import ResponseUrls
from sandbox.slack.signing import SLACK_TIMEOUT_SECONDS
from sandbox.slack.webapi import web_api_router
from sandbox.slack.workspace import DEFAULT_CHANNELS, DEFAULT_USERS, Workspace

STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    *,
    bot_token: str,
    signing_secret: str,
    request_url: str | None,
    channels: Sequence[str] = DEFAULT_CHANNELS,
    users: Sequence[str] = DEFAULT_USERS,
    rate_limit_per_minute: int | None = None,
    delivery_timeout: float = SLACK_TIMEOUT_SECONDS,
) -> FastAPI:
    """Build a fresh Slack stand-in: one workspace, the bot's token, the app's Request URL."""
    ws = Workspace(channels=channels, users=users)
    limiter = RateLimiter(rate_limit_per_minute)
    endpoint = AppEndpoint(request_url, signing_secret, delivery_timeout)
    interactions = Interactions(ws, ResponseUrls(), endpoint)
    app = FastAPI(title="gpuwarden Slack sandbox", docs_url=None, redoc_url=None)
    app.state.interactions = interactions
    app.state.limiter = limiter
    app.include_router(web_api_router(ws, bot_token=bot_token, limiter=limiter))
    app.include_router(automation_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app
