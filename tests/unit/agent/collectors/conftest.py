"""Fixtures for collector tests: a fresh registry, readings as a lookup table."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from prometheus_client import CollectorRegistry

from agent.wire import Reading

NOW = 1_700_000_000.0


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def values(readings: Iterable[Reading], **match: str) -> dict[tuple[str, ...], float]:
    """Map (metric, extra label values…) → value for readings whose labels include `match`."""
    base = {"gpu", "uuid", "model_name", *match}
    table: dict[tuple[str, ...], float] = {}
    for r in readings:
        if all(r.labels.get(k) == v for k, v in match.items()):
            extra = tuple(f"{k}={v}" for k, v in sorted(r.labels.items()) if k not in base)
            table[(r.metric, *extra)] = r.value
    return table
