"""The agent loop: every interval, collect from each source, add a heartbeat, ship.

Between ticks the loop delivers queued batches and waits out retry backoff. A stop request
(SIGTERM / SIGINT via `StopFlag`) ends the loop after the send in flight; queued batches then
get a short grace period to reach the bot.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Sequence
from types import FrameType

from agent.shipper import Shipper
from agent.source import Source
from agent.wire import HEARTBEAT, Batch, NodeEvent

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_WAIT_SLICE_S = 0.2  # how often a wait looks at the stop flag


class StopFlag:
    """A stop request a signal handler can set safely: a plain attribute, no locks."""

    def __init__(self) -> None:
        self.requested = False
        self.reason = ""

    def request(self, reason: str) -> None:
        """Ask the loop to stop, saying why."""
        self.reason = reason
        self.requested = True

    def install(self) -> Callable[[], None]:
        """Make SIGTERM and SIGINT request a stop; return a function restoring the old handlers."""

        def handle(signum: int, _frame: FrameType | None) -> None:
            self.request(signal.Signals(signum).name)

        previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore


class AgentLoop:
    """Collects from every source each `interval_s` and hands one batch per node to the shipper."""

    def __init__(
        self,
        *,
        sources: Sequence[Source],
        shipper: Shipper,
        stop: StopFlag,
        interval_s: float = 5.0,
        grace_s: float = 3.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be more than 0, got {interval_s}")
        self._sources = sources
        self._shipper = shipper
        self._stop = stop
        self._interval_s = interval_s
        self._grace_s = grace_s
        self._clock = clock
        self._sleep = sleep

    def tick(self, now: float) -> None:
        """Collect from every source at `now` and queue one batch per node."""
        heartbeat = NodeEvent(kind=HEARTBEAT, ts=now, attrs={"interval_s": self._interval_s})
        for source in self._sources:
            try:
                readings, events = source.collect(now)
            except Exception:
                logger.exception("collecting from %s failed; sending a heartbeat only", source.node)
                readings, events = (), ()
            self._shipper.submit(
                Batch(
                    node=source.node,
                    gpu_count=source.gpu_count,
                    sent_at=now,
                    samples=tuple(readings),
                    events=(*events, heartbeat),
                )
            )

    def run(self) -> None:
        """Tick and ship until a stop is requested, then flush within the grace period."""
        logger.info(
            "agent loop started: %d node(s), every %.1fs", len(self._sources), self._interval_s
        )
        next_tick = self._clock()
        while not self._stop.requested:
            now = self._clock()
            if now >= next_tick:
                self.tick(now)
                next_tick += self._interval_s
                if next_tick <= now:
                    logger.warning("agent loop fell behind; skipping missed ticks")
                    next_tick = now + self._interval_s
            self._shipper.pump(until=next_tick)
            retry_at = self._shipper.retry_at
            self._wait_until(next_tick if retry_at is None else min(next_tick, retry_at))
        self._shutdown()

    def _wait_until(self, when: float) -> None:
        while not self._stop.requested and (left := when - self._clock()) > 0:
            self._sleep(min(left, _WAIT_SLICE_S))

    def _shutdown(self) -> None:
        logger.info(
            "stopping (%s): flushing %d queued batch(es) for up to %.1fs",
            self._stop.reason or "requested",
            self._shipper.pending,
            self._grace_s,
        )
        if self._shipper.flush(deadline=self._clock() + self._grace_s):
            logger.info("all batches delivered; agent stopped")
