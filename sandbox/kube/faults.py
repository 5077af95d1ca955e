"""Faults a test injects into the Kubernetes API: an error answer or added latency.

``Fault(status=409, verb="patch", resource="deployments/scale", count=1)`` makes the next matching
request answer 409 Conflict, as if someone had changed the object in between; 403 answers
Forbidden as RBAC would; ``delay_s`` slows matching requests down.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.kube.errors import ApiError, conflict, forbidden
from sandbox.kube.resources import Resource


@dataclass
class Fault:
    """One injected fault; ``None`` fields match anything."""

    status: int | None = None  # 403, 409, 429, 500 … or None for latency only
    verb: str | None = None  # get, list, create, update, patch, delete
    resource: str | None = None  # "deployments", "deployments/scale", "pods/eviction" …
    name: str | None = None
    count: int = 1  # how many requests it hits
    delay_s: float = 0.0

    def matches(self, verb: str, resource: str, name: str) -> bool:
        """Whether this fault applies to the request."""
        return (
            self.count > 0
            and self.verb in (None, verb)
            and self.resource in (None, resource)
            and self.name in (None, name)
        )

    def error(
        self, user: str, verb: str, resource: Resource, name: str, namespace: str | None
    ) -> ApiError | None:
        """The error to answer with, shaped as the real API server's."""
        if self.status is None:
            return None
        if self.status == 409:  # noqa: PLR2004 - HTTP status
            return conflict(resource, name)
        if self.status == 403:  # noqa: PLR2004
            return forbidden(user, verb, resource, name, namespace)
        reasons = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}
        reason = reasons.get(self.status, "InternalError")
        return ApiError(self.status, reason, f"injected fault: {reason}")


class Faults:
    """The faults in force, consumed as requests hit them."""

    def __init__(self) -> None:
        self.active: list[Fault] = []

    def take(self, verb: str, resource: str, name: str) -> Fault | None:
        """The first fault matching the request, counted down; None if none applies."""
        for fault in self.active:
            if fault.matches(verb, resource, name):
                fault.count -= 1
                return fault
        return None
