"""Anomaly rules: the streaming detectors behind rules.yaml's ``type: anomaly`` entries.

An :class:`AnomalyRule` keeps one :class:`~bot.core.anomaly.AnomalyDetector` per series and fires
when the score stays at or above ``threshold`` for ``for_samples`` consecutive samples; it
resolves once the score falls to ``recover`` or below. (Derived signals, which turn one metric
into another for threshold rules, are in :mod:`bot.core.derived_rules`.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from bot.core.alerts import Alert, AlertState, AlertTransition, Level, TransitionKind, fingerprint
from bot.core.anomaly import DEFAULT_ALERT_THRESHOLD, AnomalyDetector
from bot.core.incidents import Severity
from bot.core.signals import Sample, SeriesKey


def _matches(sample: Sample, metric: str, match: tuple[tuple[str, str], ...]) -> bool:
    if sample.series.metric != metric:
        return False
    if not match:
        return True
    labels = dict(sample.series.labels)
    return all(labels.get(k) == v for k, v in match)


class _Watches(Protocol):
    @property
    def metric(self) -> str: ...


_R = TypeVar("_R", bound=_Watches)


def _by_metric(rules: tuple[_R, ...]) -> dict[str, tuple[_R, ...]]:
    """Rules grouped by the metric they watch, each group in rule order."""
    out: dict[str, list[_R]] = {}
    for rule in rules:
        out.setdefault(rule.metric, []).append(rule)
    return {metric: tuple(group) for metric, group in out.items()}


@dataclass(frozen=True, slots=True)
class AnomalyRule:
    """Alert when a series departs from its own learnt baseline."""

    name: str
    metric: str
    threshold: float = DEFAULT_ALERT_THRESHOLD
    recover: float = 0.5
    for_samples: int = 2
    match: tuple[tuple[str, str], ...] = ()
    severity: Severity = Severity.P3
    summary: str = "{metric} is anomalous on {labels} (score {score:.2f}, value {value:.3g})"

    def applies_to(self, sample: Sample) -> bool:
        """Whether this rule watches the sample's series."""
        return _matches(sample, self.metric, self.match)


@dataclass(slots=True)
class _AnomalyState:
    detector: AnomalyDetector
    above: int = 0
    alert: Alert | None = None


class AnomalyEvaluator:
    """Runs every anomaly rule over a stream of samples; deterministic, no I/O.

    The first sample of a series settles which rules watch it, each with its own detector state;
    later samples of the series go straight to those states.
    """

    def __init__(self, rules: tuple[AnomalyRule, ...]) -> None:
        self._rules = rules
        self._by_metric = _by_metric(rules)
        self._plans: dict[SeriesKey, tuple[tuple[AnomalyRule, _AnomalyState], ...]] = {}

    def observe(self, sample: Sample) -> list[AlertTransition]:
        """Score one sample against each rule that watches it."""
        plan = self._plans.get(sample.series)
        if plan is None:
            plan = self._plans[sample.series] = tuple(
                (rule, _AnomalyState(AnomalyDetector()))
                for rule in self._by_metric.get(sample.series.metric, ())
                if rule.applies_to(sample)
            )
        out = []
        for rule, state in plan:
            transition = self._step(rule, state, sample)
            if transition is not None:
                out.append(transition)
        return out

    def firing(self) -> tuple[Alert, ...]:
        """Alerts currently firing."""
        return tuple(
            s.alert
            for plan in self._plans.values()
            for _, s in plan
            if s.alert is not None and s.alert.state is AlertState.FIRING
        )

    def series_count(self) -> int:
        """Series seen so far."""
        return len(self._plans)

    def owns(self, rule: str) -> bool:
        """Whether ``rule`` is one of this evaluator's rules."""
        return any(r.name == rule for r in self._rules)

    def severity(self, rule: str) -> Severity:
        """The P-level of a rule's alerts."""
        return next(r.severity for r in self._rules if r.name == rule)

    @staticmethod
    def _step(rule: AnomalyRule, state: _AnomalyState, sample: Sample) -> AlertTransition | None:
        score = state.detector.update(sample.ts, sample.value)
        state.above = state.above + 1 if score >= rule.threshold else 0
        labels = sample.series.labels
        firing = state.alert is not None and state.alert.state is AlertState.FIRING
        if not firing and state.above >= rule.for_samples:
            text = rule.summary.format(
                metric=rule.metric,
                labels=", ".join(f"{k}={v}" for k, v in labels),
                score=score,
                value=sample.value,
            )
            state.alert = Alert(
                fingerprint=fingerprint(rule.name, labels),
                rule=rule.name,
                labels=labels,
                state=AlertState.FIRING,
                level=Level.WARN,
                value=score,
                started_at=sample.ts,
                summary=text,
                fired_at=sample.ts,
            )
            return AlertTransition(TransitionKind.FIRED, state.alert, sample.ts)
        if firing and state.alert is not None and score <= rule.recover:
            state.alert = replace(
                state.alert, state=AlertState.RESOLVED, value=score, resolved_at=sample.ts
            )
            return AlertTransition(TransitionKind.RESOLVED, state.alert, sample.ts)
        return None
