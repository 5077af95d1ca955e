"""Events that matter now (XID, GPU lost), handed from any thread to the agent loop between ticks.

A collector thread calls `UrgentEvents.put`; the loop's wait (`UrgentEvents.wait`) wakes at once,
and the loop ships what `drain` returns in its own small batch instead of waiting for the tick.
"""

from __future__ import annotations

import threading

from agent.wire import NodeEvent


class UrgentEvents:
    """A thread-safe hand-off of (node, event) pairs that wakes whoever waits on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[tuple[str, NodeEvent]] = []
        self._ready = threading.Event()

    @property
    def pending(self) -> bool:
        """Return whether events wait to be drained."""
        return self._ready.is_set()

    def put(self, node: str, event: NodeEvent) -> None:
        """Hand over `event` observed on `node`; wakes a waiting loop."""
        with self._lock:
            self._pending.append((node, event))
            self._ready.set()

    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds or until an event is pending; return whether one is."""
        return self._ready.wait(timeout)

    def drain(self) -> list[tuple[str, NodeEvent]]:
        """Remove and return every pending (node, event), oldest first."""
        with self._lock:
            drained, self._pending = self._pending, []
            self._ready.clear()
        return drained
