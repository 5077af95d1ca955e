"""Threshold rules with value hysteresis and per-level ``for`` durations.

A series enters *warn* at ``warn`` and *crit* at ``crit`` once the value has stayed there for the
level's ``for`` duration; it is resolved only when the value falls to ``recover`` or below. Values
between ``recover`` and ``warn`` keep a firing alert firing (the hysteresis band), so a signal that
oscillates around the warn line does not flap.

For signals where lower is worse (``direction: below``: a serving engine up 1 / down 0, a
compatibility check, a hit rate) every comparison is mirrored: warn at ``warn`` or below, crit at
``crit`` or below, resolved at ``recover`` or above, with ``crit <= warn < recover``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from bot.core.alerts import Alert, AlertState, AlertTransition, Level, TransitionKind, fingerprint
from bot.core.signals import Sample, SeriesKey


class Direction(StrEnum):
    """Which side of the thresholds is bad."""

    ABOVE = "above"  # higher is worse: recover < warn <= crit
    BELOW = "below"  # lower is worse: crit <= warn < recover


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """A static threshold on one metric; higher values are worse unless ``direction`` is below."""

    name: str
    metric: str
    warn: float
    crit: float
    recover: float
    for_warn_s: float = 0.0
    for_crit_s: float = 0.0
    group_by: tuple[str, ...] = ()
    match: tuple[tuple[str, str], ...] = ()
    severity_warn: str = "P3"
    severity_crit: str = "P3"
    summary: str = "{metric} at {value:.2f} on {labels}"
    # PromQL whose instant-vector result feeds this rule as samples of ``metric`` (else: agents)
    query: str | None = None
    direction: Direction = Direction.ABOVE

    def __post_init__(self) -> None:
        problem = ordering_problem(self.direction, self.warn, self.crit, self.recover)
        if problem is not None:
            raise ValueError(f"rule {self.name!r}: {problem}")

    def recovered(self, value: float) -> bool:
        """Whether ``value`` is at ``recover`` or on its good side (ends a firing alert)."""
        return value <= self.recover if self.direction is Direction.ABOVE else value >= self.recover

    def applies_to(self, sample: Sample) -> bool:
        """Whether this rule watches the sample's series."""
        if sample.series.metric != self.metric:
            return False
        if not self.match:
            return True
        labels = dict(sample.series.labels)
        return all(labels.get(k) == v for k, v in self.match)

    def identifying_labels(self, sample: Sample) -> tuple[tuple[str, str], ...]:
        """The labels that tell one alert of this rule from another."""
        if not self.group_by:
            return sample.series.labels
        labels = dict(sample.series.labels)
        return tuple((k, labels.get(k, "")) for k in self.group_by)

    def severity(self, level: Level) -> str:
        """Incident severity (P1/P2/P3) for an alert of this rule at ``level``."""
        return self.severity_crit if level is Level.CRIT else self.severity_warn

    def describe(self, value: float, labels: tuple[tuple[str, str], ...]) -> str:
        """Human summary of an alert of this rule."""
        text = ", ".join(f"{k}={v}" for k, v in labels)
        return self.summary.format(metric=self.metric, value=value, labels=text, **dict(labels))


ORDER = {Direction.ABOVE: "recover < warn <= crit", Direction.BELOW: "crit <= warn < recover"}


def ordering_problem(direction: Direction, warn: float, crit: float, recover: float) -> str | None:
    """What is wrong with the order of a rule's values for its direction, or None."""
    ordered = recover < warn <= crit if direction is Direction.ABOVE else crit <= warn < recover
    if ordered:
        return None
    return (
        f"expected {ORDER[direction]} (direction: {direction}), "
        f"got recover={recover}, warn={warn}, crit={crit}"
    )


@dataclass(frozen=True, slots=True)
class SeriesState:
    """What evaluation remembers about one alert between samples."""

    alert: Alert | None = None
    # since when the value has been continuously at or beyond warn / crit (for ``for`` durations)
    warn_since: float | None = None
    crit_since: float | None = None


def evaluate(
    rule: ThresholdRule,
    state: SeriesState,
    sample: Sample,
    labels: tuple[tuple[str, str], ...] | None = None,
) -> tuple[SeriesState, AlertTransition | None]:
    """Advance one alert's state by one sample; return the new state and any transition.

    ``labels`` are ``rule.identifying_labels(sample)`` when the caller has them already.
    """
    value, now = sample.value, sample.ts
    if labels is None:
        labels = rule.identifying_labels(sample)
    if rule.direction is Direction.ABOVE:  # spelt out: this runs for every sample
        at_warn, at_crit = value >= rule.warn, value >= rule.crit
    else:
        at_warn, at_crit = value <= rule.warn, value <= rule.crit
    warn_since = _since(state.warn_since, now, holds=at_warn)
    crit_since = _since(state.crit_since, now, holds=at_crit)
    level = _level_held(rule, now, warn_since, crit_since)
    alert = state.alert

    if alert is None or alert.state is AlertState.RESOLVED:
        if level is None:
            # the common case, nothing to remember, shares one state
            quiet = warn_since is None and crit_since is None
            return (_QUIET if quiet else SeriesState(None, warn_since, crit_since)), None
        fired = Alert(
            fingerprint=fingerprint(rule.name, labels),
            rule=rule.name,
            labels=labels,
            state=AlertState.FIRING,
            level=level,
            value=value,
            started_at=warn_since if warn_since is not None else now,
            summary=rule.describe(value, labels),
            fired_at=now,
        )
        return _moved(fired, warn_since, crit_since, TransitionKind.FIRED, now)

    # the alert is firing: only the recover value ends it (value hysteresis)
    if rule.recovered(value):
        resolved = replace(
            alert,
            state=AlertState.RESOLVED,
            value=value,
            resolved_at=now,
            summary=rule.describe(value, labels),  # "recovered: … at 70%", not the last peak
        )
        return _moved(resolved, None, None, TransitionKind.RESOLVED, now)
    updated = replace(alert, value=value, summary=rule.describe(value, labels))
    if alert.level is Level.WARN and level is Level.CRIT:
        return _moved(
            replace(updated, level=level), warn_since, crit_since, TransitionKind.ESCALATED, now
        )
    if alert.level is Level.CRIT and not at_warn:  # back on the good side of warn
        return _moved(
            replace(updated, level=Level.WARN),
            warn_since,
            crit_since,
            TransitionKind.DEESCALATED,
            now,
        )
    return SeriesState(updated, warn_since, crit_since), None


_QUIET = SeriesState()  # no alert, no condition holding: shared, as states are immutable


def _since(previous: float | None, now: float, *, holds: bool) -> float | None:
    """Start of the current unbroken run of a condition, or None when it does not hold."""
    if not holds:
        return None
    return now if previous is None else previous


def _moved(
    alert: Alert,
    warn_since: float | None,
    crit_since: float | None,
    kind: TransitionKind,
    now: float,
) -> tuple[SeriesState, AlertTransition]:
    return SeriesState(alert, warn_since, crit_since), AlertTransition(kind, alert, now)


def _level_held(
    rule: ThresholdRule, now: float, warn_since: float | None, crit_since: float | None
) -> Level | None:
    """The highest level whose ``for`` duration the value has satisfied."""
    if crit_since is not None and now - crit_since >= rule.for_crit_s:
        return Level.CRIT
    if warn_since is not None and now - warn_since >= rule.for_warn_s:
        return Level.WARN
    return None


@dataclass(slots=True)
class _Cell:
    """The state of one alert (rule + identifying labels), shared by the series that feed it."""

    state: SeriesState


_Plan = tuple[tuple[ThresholdRule, tuple[tuple[str, str], ...], _Cell], ...]


class Evaluator:
    """Evaluates every rule against a stream of samples, remembering each series' state.

    Deterministic and free of I/O: samples in, transitions out. The first sample of a series
    settles which rules watch it and which alert of each rule it feeds (its *plan*); later
    samples of the series follow the plan without matching labels again.
    """

    def __init__(self, rules: tuple[ThresholdRule, ...]) -> None:
        self._rules = rules
        self._cells: dict[tuple[str, tuple[tuple[str, str], ...]], _Cell] = {}
        self._plans: dict[SeriesKey, _Plan] = {}
        # rules by metric, in rule order: a sample is only checked against its metric's rules
        self._by_metric: dict[str, tuple[ThresholdRule, ...]] = {}
        for rule in rules:
            self._by_metric[rule.metric] = (*self._by_metric.get(rule.metric, ()), rule)

    def observe(self, sample: Sample) -> list[AlertTransition]:
        """Feed one sample to every rule that watches its series."""
        plan = self._plans.get(sample.series)
        if plan is None:
            plan = self._plans[sample.series] = self._plan(sample)
        transitions = []
        for rule, labels, cell in plan:
            cell.state, transition = evaluate(rule, cell.state, sample, labels)
            if transition is not None:
                transitions.append(transition)
        return transitions

    def firing(self) -> tuple[Alert, ...]:
        """Alerts currently firing."""
        return tuple(
            c.state.alert
            for c in self._cells.values()
            if c.state.alert is not None and c.state.alert.state is AlertState.FIRING
        )

    def restore(self, alert: Alert) -> None:
        """Resume a firing alert after a restart, so it resolves instead of firing again."""
        self._cell((alert.rule, alert.labels)).state = SeriesState(alert)

    def series_count(self) -> int:
        """Series seen so far."""
        return len(self._plans)

    def _plan(self, sample: Sample) -> _Plan:
        """The rules that watch this sample's series, each with the alert it feeds."""
        plan = []
        for rule in self._by_metric.get(sample.series.metric, ()):
            if rule.applies_to(sample):
                labels = rule.identifying_labels(sample)
                plan.append((rule, labels, self._cell((rule.name, labels))))
        return tuple(plan)

    def _cell(self, key: tuple[str, tuple[tuple[str, str], ...]]) -> _Cell:
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = _Cell(_QUIET)
        return cell

    def rule(self, name: str) -> ThresholdRule:
        """The rule with this name."""
        return next(r for r in self._rules if r.name == name)
