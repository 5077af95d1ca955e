"""Slack-style rate limiting: a per-method budget of calls in a sliding one-minute window."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class RateLimiter:
    """Admit at most ``per_minute`` calls of each method per minute; ``None`` turns it off."""

    def __init__(
        self, per_minute: int | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._calls: defaultdict[str, deque[float]] = defaultdict(deque)

    def acquire(self, method: str) -> int | None:
        """Count a call; return None if admitted, else the seconds to wait (``Retry-After``)."""
        if self.per_minute is None:
            return None
        now = self._clock()
        calls = self._calls[method]
        while calls and now - calls[0] >= WINDOW_SECONDS:
            calls.popleft()
        if len(calls) >= self.per_minute:
            return max(1, math.ceil(WINDOW_SECONDS - (now - calls[0])))
        calls.append(now)
        return None

    def configure(self, per_minute: int | None) -> None:
        """Change the budget and forget the calls counted so far."""
        self.per_minute = per_minute
        self._calls.clear()
