"""Fakes for the Slack outbox tests: time that moves only when told, and a scripted Web API."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse


@dataclass
class FakeTime:
    """A monotonic clock and a sleeper: a sleep returns once ``advance`` has passed its end."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)
    _waiters: list[tuple[float, asyncio.Event]] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        woken = asyncio.Event()
        self._waiters.append((self.now + seconds, woken))
        await woken.wait()

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        for waiter in [w for w in self._waiters if w[0] <= self.now]:
            self._waiters.remove(waiter)
            waiter[1].set()
        await settle()


async def settle() -> None:
    """Let every runnable task run until it blocks."""
    for _ in range(20):
        await asyncio.sleep(0)


def response(
    data: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> AsyncSlackResponse:
    return AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="http://slack.test/api/chat.postMessage",
        req_args={},
        data=data,
        headers=headers or {},
        status_code=status,
    )


def failure(error: str, *, status: int = 200, retry_after: str | None = None) -> SlackApiError:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    answer = response({"ok": False, "error": error}, status=status, headers=headers)
    return SlackApiError("The request to the Slack API failed.", answer)


@dataclass
class FakeSlack:
    """Answers calls in order; ``fail(channel, exc, times)`` scripts failures per channel."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    attempts: list[tuple[str, str]] = field(default_factory=list)
    in_flight: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    most_in_flight: int = 0
    _failures: defaultdict[str, deque[BaseException]] = field(
        default_factory=lambda: defaultdict(deque)
    )

    def fail(self, channel: str, exc: BaseException, times: int = 1) -> None:
        self._failures[channel].extend([exc] * times)

    def post(self, channel: str, text: str) -> Any:
        """A call factory, as the notifier hands the outbox."""

        async def call() -> AsyncSlackResponse:
            self.attempts.append((channel, text))
            self.in_flight[channel] += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight[channel])
            try:
                await asyncio.sleep(0)
                if self._failures[channel]:
                    raise self._failures[channel].popleft()
                self.sent.append((channel, text))
                return response({"ok": True, "channel": channel, "ts": f"{len(self.sent)}.0"})
            finally:
                self.in_flight[channel] -= 1

        return call
