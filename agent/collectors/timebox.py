"""Run a blocking job in a daemon thread and wait for it no longer than a time box.

A job that overruns keeps running in its thread (a C call cannot be cancelled); until it
returns, the box refuses new jobs, so a hung driver call never piles up threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

T = TypeVar("T")


class Overrun(Exception):
    """The job did not finish within the box, or an earlier job is still running."""


class TimeBox:
    """At most one job at a time, each waited for at most `timeout_s` seconds."""

    def __init__(self, name: str, timeout_s: float) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be more than 0, got {timeout_s}")
        self.name = name
        self.timeout_s = timeout_s
        self._pending: Future[Any] | None = None

    @property
    def busy(self) -> bool:
        """Return whether an earlier job is still running."""
        return self._pending is not None and not self._pending.done()

    def run(self, job: Callable[[], T], timeout_s: float | None = None) -> T:
        """Return `job()`, re-raising what it raised; raise `Overrun` if the box runs out."""
        if self.busy:
            raise Overrun(f"{self.name}: the previous call has not returned yet")
        future: Future[T] = Future()
        self._pending = future
        thread = threading.Thread(
            target=_work, args=(job, future), name=f"{self.name}-call", daemon=True
        )
        thread.start()
        limit = self.timeout_s if timeout_s is None else timeout_s
        try:
            return future.result(timeout=limit)
        except FutureTimeout:
            raise Overrun(f"{self.name}: no answer within {limit:g}s") from None


def _work(job: Callable[[], T], future: Future[T]) -> None:
    try:
        future.set_result(job())
    except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, which re-raises
        future.set_exception(exc)
