"""The LLM stand-in's FastAPI app: OpenAI's chat completions and models, plus automation.

``POST /v1/chat/completions`` and ``GET /v1/models`` answer as OpenAI's API does (bearer key,
error bodies, ``usage``, ``max_tokens`` honoured with ``finish_reason: "length"``), so the bot
talks to it with the real ``openai`` client. ``/_sandbox/…`` sets the mode and latency, queues
scripted answers and failures, and reads back every request received.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from sandbox.llm.answers import evidence_answer, last_user_text
from sandbox.llm.state import Failure, FailureKind, LlmState, Mode

DEFAULT_API_KEY = "sk-sandbox-llm-key"  # a local stand-in's well-known key
DEFAULT_MODELS = ("gpuwarden-sandbox-llm", "deepseek-ai/DeepSeek-V3")
CHARS_PER_TOKEN = 4


def _error(status: int, message: str, code: str, kind: str = "invalid_request_error") -> Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status)


def _tokens(text: str) -> int:
    return max(1, len(text) // CHARS_PER_TOKEN)


class ConfigIn(BaseModel):
    """``POST /_sandbox/config``."""

    mode: Mode | None = None
    latency_s: float | None = Field(default=None, ge=0, le=600)


class ScriptIn(BaseModel):
    """``POST /_sandbox/script``: answers given in order, before the mode's own."""

    answers: list[str]


class FailureIn(BaseModel):
    """One queued failure."""

    kind: FailureKind
    status: int = Field(default=500, ge=400, le=599)
    seconds: float = Field(default=60.0, ge=0, le=600)


class FailuresIn(BaseModel):
    """``POST /_sandbox/failures``: met by the next requests, one each."""

    failures: list[FailureIn]


def create_app(
    *, api_key: str = DEFAULT_API_KEY, models: tuple[str, ...] = DEFAULT_MODELS
) -> FastAPI:
    """A fresh stand-in that accepts ``api_key`` and serves ``models``."""
    state = LlmState(api_key=api_key, models=models)
    ids = itertools.count(1)
    app = FastAPI(title="gpuwarden LLM sandbox", docs_url=None, redoc_url=None)
    app.state.llm = state

    async def authorised(authorization: Annotated[str | None, Header()] = None) -> None:
        if authorization != f"Bearer {state.api_key}":
            raise _Unauthorised

    @app.exception_handler(_Unauthorised)
    async def unauthorised(request: Request, exc: _Unauthorised) -> Response:  # noqa: ARG001
        return _error(401, "Incorrect API key provided.", "invalid_api_key")

    @app.get("/v1/models", dependencies=[Depends(authorised)])
    async def list_models() -> dict[str, Any]:
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "gpuwarden-sandbox"}
            for m in state.models
        ]
        return {"object": "list", "data": data}

    @app.post("/v1/chat/completions", dependencies=[Depends(authorised)])
    async def chat_completions(request: Request) -> Response:
        raw = (await request.body()).decode(errors="replace")
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        state.record({"headers": headers, "raw": raw})
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return _error(400, "We could not parse the JSON body of your request.", "invalid_json")
        problem = _problem(body, state.models)
        if problem is not None:
            return problem
        return await _answer(state, body, next(ids))

    app.include_router(_automation(state))
    return app


class _Unauthorised(Exception):
    """The request did not carry the stand-in's API key."""


def _problem(body: object, models: tuple[str, ...]) -> Response | None:
    """The error OpenAI answers a malformed request with, if any."""
    if not isinstance(body, dict):
        return _error(400, "The request body must be a JSON object.", "invalid_body")
    model = body.get("model")
    if not isinstance(model, str):
        return _error(400, "you must provide a model parameter", "missing_model")
    if model not in models:
        return _error(404, f"The model `{model}` does not exist.", "model_not_found")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error(400, "'messages' must be a non-empty array.", "invalid_messages")
    if not all(isinstance(m, dict) and "role" in m for m in messages):
        return _error(400, "each message needs a 'role'.", "invalid_messages")
    return None


async def _answer(state: LlmState, body: dict[str, Any], number: int) -> Response:
    """The completion for a valid request, after the latency and any queued failure."""
    if state.latency_s:
        await asyncio.sleep(state.latency_s)
    failure = state.next_failure()
    if failure is not None:
        early = await _fail(failure)
        if early is not None:
            return early
    content = state.next_script()
    if content is None:
        if state.mode is Mode.SCRIPTED:
            return _error(500, "No scripted answer left.", "script_empty", "server_error")
        messages = body["messages"]
        content = last_user_text(messages) if state.mode is Mode.ECHO else evidence_answer(messages)
    return JSONResponse(_completion(number, body, content))


async def _fail(failure: Failure) -> Response | None:
    """Meet a queued failure: an error response, a hang, or a body that is not a completion."""
    if failure.kind is FailureKind.STATUS:
        response = _error(
            failure.status, "The server had an error.", "sandbox_fault", "server_error"
        )
        if failure.status == 429:  # noqa: PLR2004
            response.headers["retry-after"] = "0"
        return response
    if failure.kind is FailureKind.MALFORMED:
        return Response('{"choices": "not a list', media_type="application/json")
    await asyncio.sleep(failure.seconds)
    return None


def _completion(number: int, body: dict[str, Any], content: str) -> dict[str, Any]:
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    finish = "stop"
    if isinstance(limit, int) and _tokens(content) > limit:
        content, finish = content[: limit * CHARS_PER_TOKEN], "length"
    prompt = sum(_tokens(str(m.get("content", ""))) for m in body["messages"])
    completion = _tokens(content)
    return {
        "id": f"chatcmpl-sandbox-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def _automation(state: LlmState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox", include_in_schema=False)

    @router.post("/config")
    async def configure(body: ConfigIn) -> dict[str, Any]:
        if body.mode is not None:
            state.mode = body.mode
        if body.latency_s is not None:
            state.latency_s = body.latency_s
        return {"mode": state.mode, "latency_s": state.latency_s}

    @router.post("/script")
    async def script(body: ScriptIn) -> dict[str, int]:
        with state.lock:
            state.script.extend(body.answers)
            return {"queued": len(state.script)}

    @router.post("/failures")
    async def failures(body: FailuresIn) -> dict[str, int]:
        with state.lock:
            state.failures.extend(Failure(f.kind, f.status, f.seconds) for f in body.failures)
            return {"queued": len(state.failures)}

    @router.get("/requests")
    async def requests() -> list[dict[str, Any]]:
        with state.lock:
            return list(state.requests)

    @router.post("/reset")
    async def reset() -> dict[str, bool]:
        state.reset()
        return {"ok": True}

    return router
