"""The Web API endpoint ``/api/<method>``: reads args and token, and answers, as Slack does.

Slack answers HTTP 200 with ``{"ok": false, "error": …}`` for every failure except rate limiting,
which is HTTP 429 with a ``Retry-After`` header. Injected faults (``/_sandbox/faults``) fire after
authentication, before the rate limiter and the method. Every call is logged
(``GET /_sandbox/calls``), so tests can see how often the app called and what it was told.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.slack.arguments import Args
from sandbox.slack.errors import SlackError
from sandbox.slack.faults import RATELIMITED, Fault
from sandbox.slack.interactions import current
from sandbox.slack.methods import METHODS, Call
from sandbox.slack.socket_mode import CONNECTIONS_OPEN
from sandbox.slack.state import SlackState


def web_api_router(*, bot_token: str) -> APIRouter:
    """Build the router that serves every Web API method under ``/api/``."""
    router = APIRouter()

    @router.api_route("/api/{method}", methods=["GET", "POST"], include_in_schema=False)
    async def call(method: str, request: Request) -> JSONResponse:
        if method == CONNECTIONS_OPEN:
            return await _open_connection(request)
        handler = METHODS.get(method)
        if handler is None:
            return JSONResponse(SlackError("unknown_method").to_body())
        state = current(request).state
        values: dict[str, Any] = {}
        try:
            values = await _read_args(request)
            _authenticate(request, values, bot_token)
            refusal = _refusal(state, method, values)
            if refusal is not None:
                return refusal
            base_url = str(request.base_url).rstrip("/")
            body: dict[str, Any] = {"ok": True, **handler(Call(state, Args(values), base_url))}
        except SlackError as error:
            body = error.to_body()
        state.calls.record(method, values, body.get("error"))
        return JSONResponse(body)

    @router.get("/_sandbox/calls")
    async def calls(request: Request, method: str | None = None) -> dict[str, Any]:
        """The Web API calls received (of ``method``), oldest first, with their errors."""
        logged = current(request).state.calls.of(method)
        return {"calls": [call.to_json() for call in logged]}

    return router


async def _open_connection(request: Request) -> JSONResponse:
    """``apps.connections.open``: a Socket Mode URL, for the app-level token only."""
    interactions = current(request)
    hub = interactions.app.sockets
    values: dict[str, Any] = {}
    try:
        values = await _read_args(request)
        if hub.app_token is None:
            raise SlackError("not_allowed_token_type")
        _authenticate(request, values, hub.app_token)
        body: dict[str, object] = {
            "ok": True,
            "url": hub.open_url(str(request.base_url).rstrip("/")),
        }
    except SlackError as error:
        body = error.to_body()
    interactions.state.calls.record(CONNECTIONS_OPEN, values, body.get("error"))
    return JSONResponse(body)


def _refusal(state: SlackState, method: str, values: dict[str, Any]) -> JSONResponse | None:
    """An injected fault or the rate limiter's 429 (logged), or None when the call may proceed."""
    fault = state.faults.take(method)
    if fault is None:
        retry_after = state.limiter.acquire(method)
        if retry_after is None:
            return None
        fault = Fault(method, RATELIMITED, count=1, retry_after=retry_after)
    headers = {"Retry-After": str(fault.retry_after)} if fault.error == RATELIMITED else None
    state.calls.record(method, values, fault.error)
    return JSONResponse(
        SlackError(fault.error).to_body(), status_code=fault.status, headers=headers
    )


async def _read_args(request: Request) -> dict[str, Any]:
    values: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    if not raw:
        return values
    if "application/json" in request.headers.get("content-type", ""):
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise SlackError("invalid_json") from None
        if not isinstance(parsed, dict):
            raise SlackError("invalid_json")
        return values | parsed
    try:
        return values | dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise SlackError("invalid_form_data") from None


def _authenticate(request: Request, values: dict[str, Any], bot_token: str) -> None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    token = credentials.strip() if scheme.lower() == "bearer" else values.get("token")
    if not token:
        raise SlackError("not_authed")
    if token != bot_token:
        raise SlackError("invalid_auth")
