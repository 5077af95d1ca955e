"""The three patch formats the API server accepts, applied to an object as JSON.

- ``application/merge-patch+json`` (RFC 7386): objects merge, ``null`` deletes, lists replace.
- ``application/strategic-merge-patch+json``: as merge patch, except that lists of objects whose
  items carry a merge key (``name`` for containers, env, volumes, ports; ``type`` for
  conditions; ``key`` for taints) merge item by item; ``$patch: delete`` removes an item.
- ``application/json-patch+json`` (RFC 6902): add, remove, replace, move, copy and test.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.kube.errors import ApiError, bad_request

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PATCH_TYPES = (MERGE_PATCH, STRATEGIC_MERGE_PATCH, JSON_PATCH)
_MERGE_KEYS = ("name", "type", "key", "containerPort", "ip")


def apply_patch(document: dict[str, Any], content_type: str, patch: Any) -> dict[str, Any]:
    """``document`` with ``patch`` applied; raises ApiError for a patch that cannot apply."""
    kind = content_type.split(";", 1)[0].strip()
    if kind == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("json patch must be a list of operations")
        return _json_patch(copy.deepcopy(document), patch)
    if kind not in (MERGE_PATCH, STRATEGIC_MERGE_PATCH):
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: "
            f"{', '.join(PATCH_TYPES)}",
        )
    if not isinstance(patch, dict):
        raise bad_request("a merge patch must be a JSON object")
    result = _merge(document, patch, strategic=kind == STRATEGIC_MERGE_PATCH)
    if not isinstance(result, dict):
        raise bad_request("a merge patch must be a JSON object")
    return result


def _merge(target: Any, patch: Any, *, strategic: bool) -> Any:
    if not isinstance(patch, dict):
        if strategic and isinstance(patch, list) and isinstance(target, list):
            return _merge_list(target, patch)
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    if strategic and patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value, strategic=strategic)
    return result


def _merge_list(target: list[Any], patch: list[Any]) -> list[Any]:
    key = _merge_key(patch)
    if key is None or not all(isinstance(item, dict) and key in item for item in target):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target)
    for item in patch:
        index = next((i for i, old in enumerate(result) if old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(copy.deepcopy(item))
        else:
            result[index] = _merge(result[index], item, strategic=True)
    return result


def _merge_key(items: list[Any]) -> str | None:
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in _MERGE_KEYS:
        if all(key in item for item in items):
            return key
    return None


def _json_patch(document: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    for number, operation in enumerate(operations):
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise bad_request(f"json patch operation {number} needs 'op' and 'path'")
        op, path = operation["op"], _pointer(operation["path"])
        if op == "test":
            if _get(document, path) != operation.get("value"):
                raise _unprocessable(f"testing value {operation['path']} failed")
        elif op == "remove":
            _remove(document, path)
        elif op in ("add", "replace"):
            if op == "replace":
                _get(document, path)
            _add(document, path, copy.deepcopy(operation.get("value")))
        elif op in ("move", "copy"):
            source = _pointer(str(operation.get("from", "")))
            value = copy.deepcopy(_get(document, source))
            if op == "move":
                _remove(document, source)
            _add(document, path, value)
        else:
            raise bad_request(f"json patch operation {number}: unknown op {op!r}")
    return document


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"json patch path {path!r} must start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(document: Any, path: list[str]) -> Any:
    node = document
    for part in path[:-1]:
        node = _child(node, part, path)
    return node


def _child(node: Any, part: str, path: list[str]) -> Any:
    try:
        return node[int(part)] if isinstance(node, list) else node[part]
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise _unprocessable(f"doc is missing path: /{'/'.join(path)}") from exc


def _get(document: Any, path: list[str]) -> Any:
    node = document
    for part in path:
        node = _child(node, part, path)
    return node


def _add(document: Any, path: list[str], value: Any) -> None:
    if not path:
        raise bad_request("json patch cannot replace the whole object")
    parent, last = _parent(document, path), path[-1]
    if isinstance(parent, list):
        parent.insert(len(parent) if last == "-" else int(last), value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise _unprocessable(f"doc is missing path: /{'/'.join(path)}")


def _remove(document: Any, path: list[str]) -> None:
    _get(document, path)
    parent, last = _parent(document, path), path[-1]
    if isinstance(parent, list):
        del parent[int(last)]
    else:
        del parent[last]


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, "Invalid", f"the server rejected our request due to an error: {message}")
