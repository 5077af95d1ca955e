"""Steering the stand-in: rate limits, injected faults, and the live change stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator

from sandbox.slack.automation.deps import StateDep
from sandbox.slack.changes import Changes
from sandbox.slack.faults import Fault
from sandbox.slack.methods import METHODS

router = APIRouter()
HEARTBEAT_SECONDS = 15.0
RECONNECT_MILLISECONDS = 1000


class RateLimitRequest(BaseModel):
    """A new per-method budget; null turns rate limiting off."""

    per_minute: int | None = Field(default=None, ge=1)


class FaultRequest(BaseModel):
    """Make the next ``count`` calls of ``method`` fail with ``error``."""

    method: str
    error: str = Field(min_length=1, max_length=100)
    count: int = Field(default=1, ge=1, le=10_000)
    retry_after: int = Field(default=1, ge=0, le=3600)
    http_status: int | None = Field(default=None, ge=200, le=599)

    @field_validator("method")
    @classmethod
    def _known(cls, method: str) -> str:
        if method not in METHODS:
            msg = f"the sandbox has no Web API method {method!r}"
            raise ValueError(msg)
        return method


@router.post("/reset")
async def reset(request: Request) -> dict[str, bool]:
    """Start over: a fresh workspace, no modals, files, faults or rate-limit history."""
    request.app.state.interactions = request.app.state.fresh()
    request.app.state.interactions.state.ws.changes.bump("reset")
    return {"ok": True}


@router.post("/ratelimit")
async def ratelimit(body: RateLimitRequest, state: StateDep) -> dict[str, int | None]:
    """Change the per-method Web API budget (null: off)."""
    state.limiter.configure(body.per_minute)
    return {"per_minute": state.limiter.per_minute}


@router.post("/faults")
async def add_fault(body: FaultRequest, state: StateDep) -> dict[str, object]:
    """Queue a failure for the next ``count`` calls of a method."""
    fault = Fault(**body.model_dump())
    state.faults.add(fault)
    return fault.to_json()


@router.get("/faults")
async def faults(state: StateDep) -> dict[str, list[dict[str, object]]]:
    """The faults still to fire."""
    return {"faults": [fault.to_json() for fault in state.faults.pending()]}


@router.delete("/faults")
async def clear_faults(state: StateDep) -> dict[str, bool]:
    """Forget every pending fault."""
    state.faults.clear()
    return {"ok": True}


@router.get("/events")
async def events(state: StateDep) -> StreamingResponse:
    """Server-sent events: ``{version, kind}`` at once and after every change."""
    return StreamingResponse(
        _stream(state.ws.changes),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(changes: Changes) -> AsyncIterator[str]:
    yield f"retry: {RECONNECT_MILLISECONDS}\n\n"
    seen = -1
    while True:
        version = await changes.wait(seen, HEARTBEAT_SECONDS)
        if version == seen:
            yield ": keep-alive\n\n"
            continue
        seen = version
        data = json.dumps({"version": version, "kind": changes.kind})
        yield f"id: {version}\ndata: {data}\n\n"
