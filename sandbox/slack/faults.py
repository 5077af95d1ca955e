"""Injected Web API failures, and the log of calls that shows how the app coped with them.

Faults make the next N calls of a method fail the way Slack fails.

``ratelimited`` answers HTTP 429 with ``Retry-After`` (a "429 storm" when N is large); any other
code answers ``{"ok": false, "error": code}``, with HTTP 200 unless another status is asked for
(say 500 with ``internal_error`` for slack_sdk's server-error retries).
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

RATELIMITED = "ratelimited"


@dataclass
class Fault:
    """One queued failure of ``method``, repeated for the next ``count`` calls."""

    method: str
    error: str
    count: int
    retry_after: int = 1
    http_status: int | None = None

    @property
    def status(self) -> int:
        """The HTTP status to answer with."""
        if self.http_status is not None:
            return self.http_status
        return 429 if self.error == RATELIMITED else 200

    def to_json(self) -> dict[str, object]:
        """Describe the fault for ``GET /_sandbox/faults``."""
        return {
            "method": self.method,
            "error": self.error,
            "count": self.count,
            "retry_after": self.retry_after,
            "http_status": self.status,
        }


class Faults:
    """Queued failures per method, spent in order."""

    def __init__(self) -> None:
        self._queues: defaultdict[str, deque[Fault]] = defaultdict(deque)

    def add(self, fault: Fault) -> None:
        """Queue ``fault`` behind the method's earlier ones."""
        self._queues[fault.method].append(fault)

    def take(self, method: str) -> Fault | None:
        """Spend one call of the method's first fault; None when none is pending."""
        queue = self._queues.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.count -= 1
        if fault.count <= 0:
            queue.popleft()
        return fault

    def pending(self) -> list[Fault]:
        """Every fault still to fire."""
        return [fault for queue in self._queues.values() for fault in queue]

    def clear(self) -> None:
        """Forget every pending fault."""
        self._queues.clear()


@dataclass(frozen=True)
class LoggedCall:
    """One Web API call as it arrived, and how it was answered."""

    method: str
    at: float
    channel: str | None
    ts: str | None
    thread_ts: str | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        """Describe the call for ``GET /_sandbox/calls``."""
        return {
            "method": self.method,
            "at": self.at,
            "channel": self.channel,
            "ts": self.ts,
            "thread_ts": self.thread_ts,
            "error": self.error,
        }


class CallLog:
    """The most recent Web API calls, oldest first."""

    def __init__(self, limit: int = 10_000) -> None:
        self._calls: deque[LoggedCall] = deque(maxlen=limit)

    def record(self, method: str, args: dict[str, Any], error: object) -> None:
        """Note a call of ``method`` with ``args`` and its error code (None when it succeeded)."""
        self._calls.append(
            LoggedCall(
                method,
                time.time(),
                _text(args.get("channel")),
                _text(args.get("ts")),
                _text(args.get("thread_ts")),
                _text(error),
            )
        )

    def of(self, method: str | None) -> list[LoggedCall]:
        """The logged calls of ``method`` (of every method when None)."""
        return [call for call in self._calls if method is None or call.method == method]


def _text(value: object) -> str | None:
    return None if value is None else str(value)
