"""Shared fixtures for agent unit tests: a frozen clock and an in-memory bot."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest


class FakeClock:
    """A clock that moves only when `sleep` or `advance` is called; sleeps are recorded."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeBot:
    """Answers each request with the next scripted response (the last one repeats)."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses) or [httpx.Response(202, json={"duplicate": False})]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]

    def payloads(self) -> list[dict[str, object]]:
        return [json.loads(gzip.decompress(r.content)) for r in self.requests]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
