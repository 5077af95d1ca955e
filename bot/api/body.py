"""Request bodies: read within a size limit, gunzip safely, and describe them in OpenAPI."""

from __future__ import annotations

import zlib
from typing import Any

from fastapi import HTTPException, Request
from pydantic import BaseModel


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over ``limit`` bytes without buffering it all."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"request body larger than {limit} bytes")
    return bytes(body)


def gunzip(raw: bytes, limit: int) -> bytes:
    """Decompress a gzip body, refusing corrupt data (400) and zip bombs (413)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise HTTPException(400, f"body is not valid gzip: {exc}") from exc
    if len(out) > limit:
        raise HTTPException(413, f"decompressed body larger than {limit} bytes")
    return out


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads and validates its JSON body itself."""
    schema = model.model_json_schema(by_alias=True)
    inlined = _inline(schema, schema.get("$defs", {}))
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inlined}}}}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with every ``$ref`` to its ``$defs`` replaced by the definition itself."""
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    return {key: _inline(value, defs) for key, value in node.items() if key != "$defs"}
