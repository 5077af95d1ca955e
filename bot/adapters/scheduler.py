"""Periodic wake-ups on the bot's event loop: APScheduler 3.x with its in-memory job store.

Jobs are wake-ups only; whatever must survive a restart lives in the database. The SQL job store
(which pickles callables) is deliberately not used.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler


class IntervalScheduler:
    """Runs coroutine jobs every few seconds; late runs collapse into one, none overlap."""

    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def every(
        self,
        seconds: float,
        job: Callable[[], Awaitable[None]],
        *,
        name: str,
        first_in: float = 0.0,
    ) -> None:
        """Run ``job`` every ``seconds`` once started, the first time ``first_in`` from now."""
        first = datetime.now(UTC) + timedelta(seconds=first_in)
        self._scheduler.add_job(
            job, "interval", seconds=seconds, id=name, name=name, next_run_time=first
        )

    def start(self) -> None:
        """Start on the running event loop."""
        self._scheduler.start()

    def stop(self) -> None:
        """Stop without waiting for running jobs."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
