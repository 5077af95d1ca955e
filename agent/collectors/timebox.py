"""Run a blocking job in a worker thread and wait for it no longer than a time box.

One daemon worker thread per box, started with the first job, runs the jobs one at a time (a
thread started per job would cost more CPU than the NVML calls it wraps). A job that overruns
keeps running in the worker (a C call cannot be cancelled); until it returns, the box refuses
new jobs, so a hung driver call never piles up threads.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Callable[[], Any], "Future[Any]"] | None  # None: the worker ends


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
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None

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
        if self._worker is None:
            self._worker = threading.Thread(
                target=_work, args=(self._jobs,), name=f"{self.name}-call", daemon=True
            )
            self._worker.start()
        self._jobs.put((job, future))
        limit = self.timeout_s if timeout_s is None else timeout_s
        try:
            return future.result(timeout=limit)
        except FutureTimeout:
            raise Overrun(f"{self.name}: no answer within {limit:g}s") from None

    def close(self) -> None:
        """Let the worker end once the job in flight (if any) returns."""
        if self._worker is not None:
            self._jobs.put(None)
            self._worker = None


def _work(jobs: queue.SimpleQueue[_Job]) -> None:
    while (item := jobs.get()) is not None:
        job, future = item
        try:
            future.set_result(job())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, which re-raises
            future.set_exception(exc)
