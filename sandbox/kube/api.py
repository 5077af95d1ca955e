"""The Kubernetes REST API of the stand-in: discovery, the resource paths and their verbs.

Paths, verbs, query parameters (``dryRun=All``, ``labelSelector``, ``fieldSelector``,
``tailLines``) and answers follow the real API server, including Status objects for errors and
the Table form ``kubectl get`` asks for. Every request needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from sandbox.kube import resources
from sandbox.kube.errors import ApiError, bad_request, not_found, unauthorized
from sandbox.kube.faults import Faults
from sandbox.kube.resources import PODS, Resource
from sandbox.kube.state import KubeState
from sandbox.kube.tables import TABLE_MEDIA, table

router = APIRouter()
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass(frozen=True, slots=True)
class Target:
    """What a resource path names."""

    resource: Resource
    namespace: str | None
    name: str
    subresource: str

    @property
    def resource_name(self) -> str:
        """``deployments`` or ``deployments/scale``, as RBAC names it."""
        return (
            f"{self.resource.plural}/{self.subresource}"
            if self.subresource
            else self.resource.plural
        )


def parse_path(group: str, version: str, path: str) -> Target:
    """The resource, namespace, name and subresource of a path below the group version."""
    parts = [part for part in path.split("/") if part]
    namespace: str | None = None
    if len(parts) >= 3 and parts[0] == "namespaces":  # noqa: PLR2004 - namespaces/<ns>/<plural>
        namespace, parts = parts[1], parts[2:]
    if not parts or len(parts) > 3:  # noqa: PLR2004 - <plural>/<name>/<subresource>
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    resource = resources.find(group, version, parts[0])
    if resource is None or (namespace is not None and not resource.namespaced):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    name = parts[1] if len(parts) > 1 else ""
    subresource = parts[2] if len(parts) > 2 else ""  # noqa: PLR2004
    if subresource and subresource not in {sub for sub, _, _ in resource.subresources}:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    return Target(resource, namespace, name, subresource)


@router.get("/version")
async def version() -> dict[str, str]:
    """The server version kubectl prints."""
    return {
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-gpuwarden-sandbox",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.23.4",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


@router.get("/api")
async def core_versions(request: Request) -> dict[str, Any]:
    """``GET /api``."""
    return resources.api_versions(request.url.netloc)


@router.get("/apis")
async def groups() -> dict[str, Any]:
    """``GET /apis``."""
    return resources.api_group_list()


@router.get("/api/v1")
async def core_resources() -> dict[str, Any] | None:
    """``GET /api/v1``."""
    return resources.resource_list("", "v1")


@router.get("/apis/{group}")
async def group_info(group: str) -> dict[str, Any]:
    """``GET /apis/<group>``."""
    found = resources.api_group(group)
    if found is None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    return found


@router.get("/apis/{group}/{version}")
async def group_resources(group: str, version: str) -> dict[str, Any]:
    """``GET /apis/<group>/<version>``."""
    found = resources.resource_list(group, version)
    if found is None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    return found


@router.api_route("/api/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def core_api(path: str, request: Request) -> Response:
    """Any core/v1 resource path."""
    return await _serve(request, parse_path("", "v1", path))


@router.api_route(
    "/apis/{group}/{version}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
)
async def group_api(group: str, version: str, path: str, request: Request) -> Response:
    """Any resource path of a named group."""
    return await _serve(request, parse_path(group, version, path))


async def _serve(request: Request, target: Target) -> Response:
    state: KubeState = request.app.state.kube
    faults: Faults = request.app.state.faults
    user = _authenticate(request)
    verb = _verb(request.method, target)
    fault = faults.take(verb, target.resource_name, target.name)
    if fault is not None:
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if error := fault.error(user, verb, target.resource, target.name, target.namespace):
            raise error
    body = await _body(request) if request.method in ("POST", "PUT", "PATCH") else None
    result = await run_in_threadpool(_dispatch, state, request, target, body)
    if isinstance(result, str):
        return PlainTextResponse(result)
    code = 201 if request.method == "POST" and result.get("kind") != "Status" else 200
    if result.get("kind") == "Status":
        code = int(result.get("code", 200))
    if TABLE_MEDIA in request.headers.get("accept", "") and request.method == "GET":
        objects = result.get("items", [result])
        kind = target.resource.kind
        result = table(kind, objects, state.clock(), state.store.revision)
    return JSONResponse(result, status_code=code)


@dataclass(frozen=True, slots=True)
class _Call:
    state: KubeState
    target: Target
    query: dict[str, str]
    body: Any
    content_type: str

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"

    @property
    def where(self) -> tuple[Resource, str, str]:
        return self.target.resource, self.target.namespace or "", self.target.name


def _list(call: _Call) -> Any:
    return call.state.list(
        call.target.resource,
        call.target.namespace,
        label_selector=call.query.get("labelSelector", ""),
        field_selector=call.query.get("fieldSelector", ""),
    )


def _log(call: _Call) -> Any:
    tail = call.query.get("tailLines")
    return call.state.log(
        call.target.namespace or "", call.target.name, int(tail) if tail else None
    )


def _evict(call: _Call) -> Any:
    if call.target.resource is not PODS:
        raise not_found(call.target.resource, call.target.name)
    return call.state.evict(call.target.namespace or "", call.target.name, dry_run=call.dry_run)


_HANDLERS: dict[tuple[str, bool, str], Callable[[_Call], Any]] = {
    ("GET", False, ""): _list,
    ("GET", True, ""): lambda c: c.state.get(*c.where),
    ("GET", True, "scale"): lambda c: c.state.get_scale(*c.where),
    ("GET", True, "log"): _log,
    ("POST", False, ""): lambda c: c.state.create(
        c.target.resource, c.target.namespace or "", c.body, dry_run=c.dry_run
    ),
    ("POST", True, "eviction"): _evict,
    ("PUT", True, ""): lambda c: c.state.replace(*c.where, c.body, dry_run=c.dry_run),
    ("PUT", True, "scale"): lambda c: c.state.replace(
        *c.where, c.body, dry_run=c.dry_run, scale=True
    ),
    ("PATCH", True, ""): lambda c: c.state.patch(
        *c.where, c.content_type, c.body, dry_run=c.dry_run
    ),
    ("PATCH", True, "scale"): lambda c: c.state.patch(
        *c.where, c.content_type, c.body, dry_run=c.dry_run, scale=True
    ),
    ("DELETE", True, ""): lambda c: c.state.delete(*c.where, dry_run=c.dry_run),
}


def _dispatch(state: KubeState, request: Request, target: Target, body: Any) -> Any:
    handler = _HANDLERS.get((request.method, bool(target.name), target.subresource))
    if handler is None:
        raise ApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    call = _Call(
        state,
        target,
        dict(request.query_params),
        body,
        request.headers.get("content-type", "application/json"),
    )
    return handler(call)


def _verb(method: str, target: Target) -> str:
    if method == "GET":
        return "get" if target.name else "list"
    return _VERBS[method]


def _authenticate(request: Request) -> str:
    tokens: dict[str, str] = request.app.state.tokens
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = tokens.get(token) if scheme.lower() == "bearer" else None
    if user is None:
        raise unauthorized()
    return user


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise bad_request(f"the body of the request could not be decoded as JSON: {exc}") from exc
