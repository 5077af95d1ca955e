"""The change feed behind the UI's live updates: a counter bumped whenever visible state changes.

Everything runs on the server's event loop, so a plain :class:`asyncio.Event` wakes the waiting
``/_sandbox/events`` streams; each bump swaps in a fresh event for the next round.
"""

from __future__ import annotations

import asyncio
import contextlib


class Changes:
    """A monotonically increasing ``version`` and the ``kind`` of the latest change."""

    def __init__(self) -> None:
        self.version = 0
        self.kind = ""
        self._event = asyncio.Event()

    def bump(self, kind: str) -> None:
        """Record one change (``message``, ``view``, ``usergroup`` …) and wake the waiters."""
        self.version += 1
        self.kind = kind
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, seen: int, within: float) -> int:
        """Return the version once it differs from ``seen``, or after ``within`` seconds."""
        if self.version == seen:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), within)
        return self.version
