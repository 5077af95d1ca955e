"""Slack's HTTP endpoints beside the Web API: response_urls, upload URLs and file downloads.

- ``POST /_sandbox/response/<id>``: a ``response_url`` (post, replace or delete, as Slack does)
- ``POST /_sandbox/upload/<file_id>``: an ``upload_url`` of the files v2 flow; the body is the
  file's raw bytes, as slack_sdk sends them
- ``GET  /_sandbox/files/<file_id>/<name>``: a file's bytes (``?download=1``: as an attachment);
  served inline under ``Content-Security-Policy: sandbox`` so an uploaded HTML export cannot run
  script in the sandbox's origin
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from sandbox.slack.errors import NotFound, SlackError
from sandbox.slack.interactions import current
from sandbox.slack.responses import apply_response

router = APIRouter(prefix="/_sandbox")


@router.post("/response/{key}")
async def respond(key: str, request: Request) -> JSONResponse:
    """The ``response_url`` target: post, replace or delete as Slack does."""
    interactions = current(request)
    try:
        target = interactions.state.urls.use(key)
        answer = await request.json()
        if not isinstance(answer, dict):
            raise SlackError("invalid_payload")
        apply_response(interactions.state.ws, target, answer)
    except ValueError:
        return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
    except SlackError as error:
        status = 404 if error.code in {"expired_url", "used_url"} else 400
        return JSONResponse(error.to_body(), status_code=status)
    return JSONResponse({"ok": True})


@router.post("/upload/{file_id}")
async def upload(file_id: str, request: Request) -> PlainTextResponse:
    """The ``upload_url`` target: store the raw bytes of a reserved file."""
    content = await request.body()
    current(request).state.files.receive(file_id, content)
    return PlainTextResponse(f"OK - {len(content)}")


@router.get("/files/{file_id}/{name}")
async def file_bytes(file_id: str, name: str, request: Request, download: bool = False) -> Response:
    """A completed file's bytes."""
    try:
        file = current(request).state.files.get(file_id)
    except SlackError:
        raise NotFound(f"no file {file_id}") from None
    if name != file.name:
        raise NotFound(f"file {file_id} is not named {name!r}")
    disposition = "attachment" if download else "inline"
    headers = {
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(file.name)}",
        "Content-Security-Policy": "sandbox",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(file.content, media_type=file.mimetype, headers=headers)
