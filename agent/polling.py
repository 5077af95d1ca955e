"""A daemon thread that calls a function again after the delay it returns, until stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable


class PollingThread:
    """Runs `poll` at once and then again after each delay it returns (seconds), until `stop`."""

    def __init__(self, name: str, poll: Callable[[], float]) -> None:
        self._poll = poll
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start polling in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end and wait for it (a poll in flight finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self._poll())
