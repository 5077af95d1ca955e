"""Batches waiting for delivery, oldest first, bounded so an outage cannot exhaust memory.

`Backlog` is the port; `MemoryBacklog` keeps batches in memory, `agent.spool.DiskSpool` on disk
(surviving restarts), and the shipper works with either.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from agent.wire import Batch


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
