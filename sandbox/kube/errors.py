"""Failures the Kubernetes stand-in reports as the real API server does: a ``Status`` object.

Error tree::

    ApiError        any non-2xx answer; ``to_status()`` renders the ``meta/v1`` Status body
                    (401 Unauthorized, 403 Forbidden, 404 NotFound, 405 MethodNotAllowed,
                    409 Conflict / AlreadyExists, 415 UnsupportedMediaType, 422 Invalid,
                    429 TooManyRequests, 500 InternalError)
"""

from __future__ import annotations

from typing import Any

from sandbox.kube.resources import Resource


class ApiError(Exception):
    """An answer with a Status body: HTTP code, machine reason, human message, details."""

    def __init__(
        self, code: int, reason: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def to_status(self) -> dict[str, Any]:
        """The ``Status`` object the API server answers with."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            status["details"] = self.details
        return status


def _details(resource: Resource, name: str, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": resource.plural, **extra}
    if resource.group:
        details["group"] = resource.group
    return details


def not_found(resource: Resource, name: str) -> ApiError:
    """404 for an object that does not exist."""
    return ApiError(
        404, "NotFound", f'{resource.qualified} "{name}" not found', _details(resource, name)
    )


def already_exists(resource: Resource, name: str) -> ApiError:
    """409 for a create whose name is taken."""
    return ApiError(
        409,
        "AlreadyExists",
        f'{resource.qualified} "{name}" already exists',
        _details(resource, name),
    )


def conflict(resource: Resource, name: str) -> ApiError:
    """409 for a write conditioned on a resourceVersion that is no longer current."""
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {resource.qualified} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        _details(resource, name),
    )


def forbidden(
    user: str, verb: str, resource: Resource, name: str, namespace: str | None
) -> ApiError:
    """403 as RBAC denies a request."""
    scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    target = f'{resource.qualified} "{name}"' if name else resource.qualified
    return ApiError(
        403,
        "Forbidden",
        f'{target} is forbidden: User "{user}" cannot {verb} resource "{resource.plural}" '
        f'in API group "{resource.group}"{scope}',
        _details(resource, name),
    )


def invalid(resource: Resource, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 naming each invalid field: ``(field path, message)``."""
    text = "; ".join(f"{path}: {message}" for path, message in causes)
    return ApiError(
        422,
        "Invalid",
        f'{resource.kind}.{resource.group or "core"} "{name}" is invalid: {text}'.replace(
            ".core ", " "
        ),
        _details(
            resource,
            name,
            causes=[
                {"reason": "FieldValueInvalid", "message": message, "field": path}
                for path, message in causes
            ],
        ),
    )


def bad_request(message: str) -> ApiError:
    """400 for a body that cannot be decoded."""
    return ApiError(400, "BadRequest", message)


def unauthorized() -> ApiError:
    """401 for a missing or unknown bearer token."""
    return ApiError(401, "Unauthorized", "Unauthorized")


def disruption_budget(pdb: str, needs: int, has: int) -> ApiError:
    """429 for an eviction that would break a PodDisruptionBudget."""
    return ApiError(
        429,
        "TooManyRequests",
        "Cannot evict pod as it would violate the pod's disruption budget.",
        {
            "causes": [
                {
                    "reason": "DisruptionBudget",
                    "message": f"The disruption budget {pdb} needs {needs} healthy pods and has "
                    f"{has} currently",
                }
            ]
        },
    )
