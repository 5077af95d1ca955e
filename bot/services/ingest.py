"""Accepting a batch of readings from a node agent."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.incidents import Node
from bot.core.ports import Clock, Notifier, UnitOfWorkFactory
from bot.core.signals import Event, Sample
from bot.core.thresholds import Evaluator
from bot.services.alerting import evaluate_samples


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
    evaluator: Evaluator,
    notifier: Notifier,
    clock: Clock,
) -> IngestResult:
    """Record the batch once, evaluate its samples and act on every alert transition."""
    now = clock.now()
    with uow() as tx:
        if not tx.ingest.record(batch.batch_id, node=batch.node, received_at=now):
            return IngestResult(0, 0, duplicate=True)
        tx.nodes.touch(Node(batch.node, now, batch.agent_version, batch.gpu_count))
        tx.commit()
    await evaluate_samples(samples=batch.samples, evaluator=evaluator, uow=uow, notifier=notifier)
    return IngestResult(len(batch.samples), len(batch.events), duplicate=False)
