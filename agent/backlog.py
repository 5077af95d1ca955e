"""Batches waiting for delivery, oldest first, bounded so an outage cannot exhaust memory.

`Backlog` is the port; `MemoryBacklog` keeps batches in memory, `agent.spool.DiskSpool` on disk
(surviving restarts), and the shipper works with either. `SpillingBacklog` puts a disk spool
behind a one-batch memory front: while the bot takes every batch as it comes, nothing touches the
disk (writing, fsync'ing and reading back each batch cost more CPU than collecting it); once
batches queue up (the bot is unreachable or slow), they all go to the spool, in order.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Protocol

from agent.wire import Batch

logger = logging.getLogger(__name__)


class Backlog(Protocol):
    """Batches waiting for delivery, oldest first; full means the oldest are evicted."""

    def __len__(self) -> int:
        """Return how many batches are waiting."""
        ...

    @property
    def records(self) -> int:
        """Return how many records (samples plus events) are waiting."""
        ...

    def append(self, batch: Batch) -> list[Batch]:
        """Add `batch` last; return the oldest batches evicted to make room for it."""
        ...

    def peek(self) -> Batch | None:
        """Return the oldest batch without removing it, or None when empty."""
        ...

    def pop(self) -> Batch:
        """Remove and return the oldest batch (after it was delivered or rejected)."""
        ...


class MemoryBacklog:
    """A `Backlog` in memory, holding at most `capacity` records (samples plus events)."""

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError(f"backlog capacity must be at least 1 record, got {capacity}")
        self.capacity = capacity
        self._batches: deque[Batch] = deque()
        self._records = 0

    def __len__(self) -> int:
        return len(self._batches)

    @property
    def records(self) -> int:
        """Return how many records (samples plus events) are waiting."""
        return self._records

    def append(self, batch: Batch) -> list[Batch]:
        """Add `batch` last; return the oldest batches evicted to make room for it."""
        self._batches.append(batch)
        self._records += batch.size
        evicted = []
        while self._records > self.capacity and len(self._batches) > 1:
            evicted.append(self.pop())
        return evicted

    def peek(self) -> Batch | None:
        """Return the oldest batch without removing it, or None when empty."""
        return self._batches[0] if self._batches else None

    def pop(self) -> Batch:
        """Remove and return the oldest batch."""
        batch = self._batches.popleft()
        self._records -= batch.size
        return batch


class SpillingBacklog:
    """A `Backlog` holding up to `hold` batches in memory while `spill` (a disk spool) is empty.

    The batch that would exceed `hold` goes to `spill` with those held, oldest first; so does
    every batch while `spill` has any. `close` spills what is held, for the next agent to send.
    """

    def __init__(self, spill: Backlog, *, hold: int = 1) -> None:
        if hold < 1:
            raise ValueError(f"hold must be at least 1 batch, got {hold}")
        self.spill = spill
        self.hold = hold
        self._held: deque[Batch] = deque()
        self._held_records = 0

    def __len__(self) -> int:
        return len(self._held) + len(self.spill)

    @property
    def records(self) -> int:
        """Return how many records (samples plus events) are waiting."""
        return self._held_records + self.spill.records

    def append(self, batch: Batch) -> list[Batch]:
        """Hold `batch`, or spill it (with those held); return what the spool evicted."""
        if not len(self.spill) and len(self._held) < self.hold:
            self._held.append(batch)
            self._held_records += batch.size
            return []
        evicted = self._spill_held()
        return evicted + self.spill.append(batch)

    def peek(self) -> Batch | None:
        """Return the oldest batch without removing it, or None when empty."""
        return self._held[0] if self._held else self.spill.peek()

    def pop(self) -> Batch:
        """Remove and return the oldest batch."""
        if not self._held:
            return self.spill.pop()
        batch = self._held.popleft()
        self._held_records -= batch.size
        return batch

    def close(self) -> None:
        """Spill the batches held in memory, so that the next agent delivers them."""
        evicted = self._spill_held()
        if evicted:
            logger.warning(
                "spool full at exit: %d oldest batch(es) (%d samples) dropped",
                len(evicted),
                sum(len(b.samples) for b in evicted),
            )

    def _spill_held(self) -> list[Batch]:
        evicted: list[Batch] = []
        while self._held:
            evicted += self.spill.append(self.pop())
        return evicted
