"""Composition root of the Slack stand-in: the FastAPI app with the Web API, automation and UI."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from sandbox.slack import hosting
from sandbox.slack.automation import router as automation_router
from sandbox.slack.changes import Changes
from sandbox.slack.errors import InvalidInput, NotFound
from sandbox.slack.interactions import AppEndpoint, Interactions
from sandbox.slack.people import DEFAULT_USERS, User
from sandbox.slack.signing import SLACK_TIMEOUT_SECONDS
from sandbox.slack.socket_mode import SocketHub, socket_router
from sandbox.slack.state import SlackState
from sandbox.slack.webapi import web_api_router
from sandbox.slack.workspace import DEFAULT_CHANNELS, Workspace

STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    *,
    bot_token: str,
    signing_secret: str,
    request_url: str | None,
    app_token: str | None = None,
    channels: Sequence[str] = DEFAULT_CHANNELS,
    users: Sequence[User] = DEFAULT_USERS,
    rate_limit_per_minute: int | None = None,
    delivery_timeout: float = SLACK_TIMEOUT_SECONDS,
) -> FastAPI:
    """Build a fresh Slack stand-in: one workspace, the bot's token, the app's Request URL.

    With ``app_token``, the app may connect over Socket Mode (``apps.connections.open``).
    """
    sockets = SocketHub(app_token)
    endpoint = AppEndpoint(request_url, signing_secret, delivery_timeout, sockets)
    changes = Changes()

    def fresh() -> Interactions:
        workspace = Workspace(channels=channels, users=users, changes=changes)
        state = SlackState.create(workspace, rate_limit_per_minute=rate_limit_per_minute)
        return Interactions(state, endpoint)

    app = FastAPI(title="gpuwarden Slack sandbox", docs_url=None, redoc_url=None)
    app.state.interactions = fresh()
    app.state.fresh = fresh
    app.include_router(web_api_router(bot_token=bot_token))
    app.include_router(automation_router)
    app.include_router(hosting.router)
    app.include_router(socket_router(sockets))
    app.add_exception_handler(NotFound, _status(404))
    app.add_exception_handler(InvalidInput, _status(422))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app


def _status(code: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handle(request: Request, exc: Exception) -> JSONResponse:  # noqa: ARG001
        return JSONResponse({"detail": str(exc)}, status_code=code)

    return handle
