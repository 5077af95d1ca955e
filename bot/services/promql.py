"""Threshold rules fed by Prometheus: each ``query:`` rule's result becomes samples of its metric.

The samples go through the same alert engine and alert handling as the agents' samples, so value
hysteresis, ``for`` durations and incidents behave the same whichever way a metric arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.engine import AlertEngine
from bot.core.errors import AdapterError
from bot.core.ports import MetricsSource, Notifier, UnitOfWorkFactory
from bot.core.signals import Sample, SeriesKey
from bot.core.thresholds import ThresholdRule
from bot.services.alerting import deliver

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollResult:
    """Which rules' queries answered and which failed in one poll."""

    answered: tuple[str, ...]
    failed: tuple[str, ...]


def promql_rules(rules: Sequence[ThresholdRule]) -> tuple[ThresholdRule, ...]:
    """The rules that carry a ``query``."""
    return tuple(r for r in rules if r.query is not None)


async def poll_rules(
    *,
    rules: Sequence[ThresholdRule],
    source: MetricsSource,
    engine: AlertEngine,
    now: float,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
) -> PollResult:
    """Run every rule's query and evaluate its samples; a failing query skips only its rule."""
    answered: list[str] = []
    failed: list[str] = []
    for rule in rules:
        if rule.query is None:
            continue
        try:
            found = await source.query(rule.query)
        except AdapterError as exc:
            log.warning("PromQL rule %s: %s", rule.name, exc)
            failed.append(rule.name)
            continue
        samples = [Sample(SeriesKey(rule.metric, s.series.labels), s.ts, s.value) for s in found]
        output = engine.observe_samples(samples, now=now)
        await deliver(output=output, uow=uow, notifier=notifier)
        answered.append(rule.name)
    return PollResult(tuple(answered), tuple(failed))
