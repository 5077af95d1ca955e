"""The agent loop: every interval, collect from each node's sources, add a heartbeat, ship.

Sources sharing a node name (simulator or NVML, serving, logs, quality) go out in one batch per
node per tick; their readings also refresh the exporter's `Snapshot`. Between ticks the loop
delivers queued batches and waits out retry backoff; an urgent event (`UrgentEvents`: XID, GPU
lost) wakes it and leaves at once in its own small batch. With `watched` levels (the bot's
threshold rules, `agent.watch`), sources that can (`Sampler`) are also sampled every
`watch_interval_s` for the watched metrics only; a reading that crosses a level leaves at once in
its own batch instead of at the next tick. A stop request (SIGTERM / SIGINT via
`StopFlag`) ends the loop after the send in flight; queued batches then get a short grace period
to reach the bot.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TypeVar

from agent.exporter import Snapshot
from agent.shipper import Shipper
from agent.source import Sampler, Source
from agent.urgent import UrgentEvents
from agent.watch import DEFAULT_WATCH_INTERVAL_S, WatchedLevels
from agent.wire import HEARTBEAT, Batch, NodeEvent, Reading

logger = logging.getLogger(__name__)

S = TypeVar("S", bound=Source)
T = TypeVar("T")

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
    """Collects every `interval_s`, one batch per node; waits on `urgent` unless given `sleep`."""

    def __init__(
        self,
        *,
        sources: Sequence[Source],
        shipper: Shipper,
        stop: StopFlag,
        interval_s: float = 1.0,
        grace_s: float = 3.0,
        urgent: UrgentEvents | None = None,
        snapshot: Snapshot | None = None,
        silenced: Callable[[str, float], bool] | None = None,
        watched: WatchedLevels | None = None,
        watch_interval_s: float = DEFAULT_WATCH_INTERVAL_S,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be more than 0, got {interval_s}")
        if watch_interval_s <= 0:
            raise ValueError(f"watch_interval_s must be more than 0, got {watch_interval_s}")
        self._nodes: dict[str, list[Source]] = {}
        self._samplers: dict[str, list[Sampler]] = {}
        for source in sources:
            self._nodes.setdefault(source.node, []).append(source)
            if isinstance(source, Sampler):
                self._samplers.setdefault(source.node, []).append(source)
        self._shipper = shipper
        self._stop = stop
        self._interval_s = interval_s
        self._grace_s = grace_s
        self._urgent = urgent if urgent is not None else UrgentEvents()
        self._snapshot = snapshot
        self._silenced = silenced  # (node, now) -> send nothing at all: a simulated partition
        self._cut_off: set[str] = set()
        self._clock = clock
        self._sleep = sleep if sleep is not None else self._urgent.wait
        self._failing: set[int] = set()
        self._watched = watched
        self._watch_interval_s = watch_interval_s

    def tick(self, now: float) -> None:
        """Collect from every source at `now` and queue one batch per node."""
        heartbeat = NodeEvent(kind=HEARTBEAT, ts=now, attrs={"interval_s": self._interval_s})
        for node, sources in self._nodes.items():
            if self._partitioned(node, now):
                continue
            readings: list[Reading] = []
            events: list[NodeEvent] = []
            for source in sources:
                got_readings, got_events = self._collect(source, now)
                readings.extend(got_readings)
                events.extend(got_events)
            if self._snapshot is not None:
                self._snapshot.update(node, readings)
            if self._watched is not None:
                self._watched.check(node, readings)  # the batch leaves now anyway
            self._shipper.submit(
                Batch(
                    node=node,
                    gpu_count=self._gpu_count(node),
                    sent_at=now,
                    samples=tuple(readings),
                    events=(*events, heartbeat),
                )
            )

    def _partitioned(self, node: str, now: float) -> bool:
        """Whether `node` is cut off at `now`; the start and end of a cut-off are logged once."""
        silent = self._silenced is not None and self._silenced(node, now)
        if silent and node not in self._cut_off:
            logger.info("simulated partition: %s sends nothing", node)
            self._cut_off.add(node)
        elif not silent and node in self._cut_off:
            logger.info("simulated partition over: %s reports again", node)
            self._cut_off.discard(node)
        return silent

    def run(self) -> None:
        """Tick and ship until a stop is requested, then flush within the grace period."""
        logger.info(
            "agent loop started: %d node(s), every %.1fs", len(self._nodes), self._interval_s
        )
        next_tick = next_watch = self._clock()
        while not self._stop.requested:
            now = self._clock()
            if now >= next_tick:
                self.tick(now)
                next_tick += self._interval_s
                if next_tick <= now:
                    logger.warning("agent loop fell behind; skipping missed ticks")
                    next_tick = now + self._interval_s
                next_watch = now + self._watch_interval_s
            elif now >= next_watch:
                self.watch(now)
                next_watch = max(next_watch + self._watch_interval_s, now)
            self._ship_urgent(now)
            self._shipper.pump(until=next_tick)
            wake = min(next_tick, next_watch) if self._watched is not None else next_tick
            retry_at = self._shipper.retry_at
            self._wait_until(wake if retry_at is None else min(wake, retry_at))
        self._shutdown()

    def watch(self, now: float) -> None:
        """Sample the watched metrics at `now`; queue a batch per node whose readings crossed."""
        watched = self._watched
        metrics = watched.metrics if watched is not None else frozenset()
        if watched is None or not metrics:
            return
        for node, samplers in self._samplers.items():
            if self._silenced is not None and self._silenced(node, now):
                continue
            readings: list[Reading] = []
            for source in samplers:
                readings.extend(self._guarded(source, lambda s: s.sample(now, metrics), ()))
            crossings = watched.check(node, readings)
            if not crossings:
                continue
            for crossing in crossings:
                logger.info(
                    "%s: %s %s crossed %s (band %d -> %d); shipping it now",
                    node,
                    crossing.reading.metric,
                    dict(crossing.reading.labels),
                    crossing.level.rule,
                    crossing.before,
                    crossing.after,
                )
            samples = tuple({id(c.reading): c.reading for c in crossings}.values())
            self._shipper.submit(
                Batch(node=node, gpu_count=self._gpu_count(node), sent_at=now, samples=samples)
            )

    def _collect(self, source: Source, now: float) -> tuple[Sequence[Reading], Sequence[NodeEvent]]:
        nothing: tuple[Sequence[Reading], Sequence[NodeEvent]] = ((), ())
        return self._guarded(source, lambda s: s.collect(now), nothing)

    def _guarded(self, source: S, call: Callable[[S], T], failed: T) -> T:
        """Return `call(source)`, or `failed` if it raises (logged once until it works again)."""
        kind = type(source).__name__
        try:
            collected = call(source)
        except Exception:
            if id(source) not in self._failing:
                self._failing.add(id(source))
                logger.exception(
                    "collecting from %s failed (%s); its readings are left out until it recovers",
                    source.node,
                    kind,
                )
            return failed
        if id(source) in self._failing:
            self._failing.discard(id(source))
            logger.info("collecting from %s (%s) works again", source.node, kind)
        return collected

    def _gpu_count(self, node: str) -> int:
        return max((source.gpu_count for source in self._nodes.get(node, ())), default=0)

    def _ship_urgent(self, now: float) -> None:
        by_node: dict[str, list[NodeEvent]] = {}
        for node, event in self._urgent.drain():
            by_node.setdefault(node, []).append(event)
        for node, events in by_node.items():
            logger.info("shipping %d urgent event(s) from %s now", len(events), node)
            batch = Batch(
                node=node, gpu_count=self._gpu_count(node), sent_at=now, events=(*events,)
            )
            self._shipper.submit(batch)

    def _wait_until(self, when: float) -> None:
        while (
            not self._stop.requested
            and not self._urgent.pending
            and (left := when - self._clock()) > 0
        ):
            self._sleep(min(left, _WAIT_SLICE_S))

    def _shutdown(self) -> None:
        self._ship_urgent(self._clock())
        logger.info(
            "stopping (%s): flushing %d queued batch(es) for up to %.1fs",
            self._stop.reason or "requested",
            self._shipper.pending,
            self._grace_s,
        )
        if self._shipper.flush(deadline=self._clock() + self._grace_s):
            logger.info("all batches delivered; agent stopped")
