"""Timestamps as the API server writes them (RFC 3339, seconds, UTC) and ages as kubectl shows."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(unix_seconds: float) -> str:
    """``2025-01-31T12:00:00Z``."""
    return datetime.fromtimestamp(int(unix_seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> float:
    """Unix seconds of an RFC 3339 timestamp."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def age(created: str, now: float) -> str:
    """The short age kubectl shows: ``42s``, ``7m``, ``3h``, ``12d``."""
    seconds = max(int(now - parse_rfc3339(created)), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
