"""Mapping validation failures to answers that name the bad field."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from bot.config.files import describe_problem, format_location


def invalid(what: str, errors: list[Any]) -> JSONResponse:
    """A 422 whose body names every bad field (the first 20) and what was expected."""
    found = [
        {"field": format_location(tuple(e["loc"])) or "(body)", "problem": describe_problem(e)}
        for e in errors[:20]
    ]
    detail = f"invalid {what}: {found[0]['field']}: {found[0]['problem']}" if found else what
    return JSONResponse(status_code=422, content={"error": detail, "problems": found})


async def on_request_validation(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own validation failures (path / query parameters) in the same shape."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return invalid("request", [{**e, "loc": tuple(e["loc"])[1:]} for e in errors])
