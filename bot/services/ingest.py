"""Accepting a batch of readings from a node agent."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bot.core.engine import AlertEngine
from bot.core.incidents import Node
from bot.core.ports import Clock, Notifier, UnitOfWorkFactory
from bot.core.signals import Event, Sample
from bot.services.alerting import deliver
from bot.services.history import SampleHistory


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around a batch's CPU-bound work; never around an await.

    A batch allocates tens of thousands of short-lived objects (models, samples) that live until
    it ends. Collections triggered meanwhile promote them to the oldest generation, which soon
    forces full collections that walk every long-lived object: with 100k series of alert state
    that was 40 % of ingest time and 0.5 s pauses. Reference counting frees them either way.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


FREEZE_EVERY = 10_000  # new series between two freezes of the long-lived heap


class HeapKeeper:
    """Keeps the alert state out of the cyclic collector's way with ``gc.freeze()``.

    A full collection walks every tracked object: with 100k series of alert state, 0.4-0.5 s
    each, behind the ingest p99. Once at start-up (after the restore) and again whenever the
    engine has taken on ``every`` new series (a fill), one collection runs and what survives it
    is frozen: later collections skip it. Reference counting still frees frozen objects; only a
    reference cycle that dies after being frozen stays, so freezes are few and follow growth.
    """

    def __init__(self, *, every: int = FREEZE_EVERY) -> None:
        self._every = every
        self._frozen_at: int | None = None  # series count at the last freeze

    def settle(self, series: int) -> None:
        """Collect once and freeze the survivors; ``series`` is the engine's count now."""
        gc.collect()
        gc.freeze()
        self._frozen_at = series

    def grown(self, series: int) -> None:
        """Settle if ``series`` grew by ``every`` since the last freeze (or there was none)."""
        if self._frozen_at is None or series - self._frozen_at >= self._every:
            self.settle(series)


@dataclass(frozen=True, slots=True)
class IngestBatch:
    """One validated batch from an agent; every sample already carries its ``node`` label."""

    batch_id: str
    node: str
    agent_version: str
    gpu_count: int
    samples: tuple[Sample, ...]
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What the bot did with a batch."""

    accepted_samples: int
    accepted_events: int
    duplicate: bool


async def ingest(
    *,
    batch: IngestBatch,
    uow: UnitOfWorkFactory,
    engine: AlertEngine,
    notifier: Notifier,
    clock: Clock,
    history: SampleHistory | None = None,
    heap: HeapKeeper | None = None,
) -> IngestResult:
    """Record the batch once, run it through the alert engine and act on what it decides.

    ``history`` keeps recent samples and events for the root-cause evidence (LLM triage);
    ``heap`` freezes the engine's state after it grew (see :class:`HeapKeeper`).
    """
    now = clock.now()
    with gc_paused():
        with uow() as tx:
            if not tx.ingest.record(batch.batch_id, node=batch.node, received_at=now):
                return IngestResult(0, 0, duplicate=True)
            tx.nodes.touch(Node(batch.node, now, batch.agent_version, batch.gpu_count))
            tx.commit()
        if history is not None:
            history.record(batch.samples, batch.events)
        output = engine.observe_batch(
            node=batch.node, samples=batch.samples, events=batch.events, now=now
        )
    if heap is not None:
        heap.grown(engine.series_count())
    await deliver(output=output, uow=uow, notifier=notifier)
    return IngestResult(len(batch.samples), len(batch.events), duplicate=False)
