"""The alert engine: every evaluator behind one façade, with noise control at the exit.

Samples go through derivations (leak rates …), threshold rules, anomaly rules and peer-outlier
detection; events through the XID / GPU-lost / log-burst rules; batches and heartbeats through the
absence tracker. Every transition then passes the noise policy (inhibition, silences, flapping,
transient hold), which says what to notify now and what was suppressed, and why. Pure: values
in, values out, time passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.core.absence import (
    NO_METRICS_RULE,
    NOT_REPORTING_RULE,
    PARTITION_RULE,
    AbsenceRule,
    AbsenceTracker,
)
from bot.core.alerts import Alert, AlertTransition
from bot.core.anomaly_rules import AnomalyEvaluator, AnomalyRule
from bot.core.delivery import Delivery, Notify
from bot.core.derived_rules import Derivations, DerivedRule
from bot.core.event_rules import (
    GPU_LOST_RULE,
    LOG_BURST_RULE,
    XID_RULE,
    EventEvaluator,
    EventRules,
)
from bot.core.holds import FlapNotice
from bot.core.incidents import Severity
from bot.core.matchers import alert_labels
from bot.core.noise import NoiseOutcome, NoisePolicy, NoiseSettings, Suppression
from bot.core.peers import DEFAULT_PEER_RULES, PeerOutliers, PeerRule, snapshots
from bot.core.signals import Event, Sample
from bot.core.thresholds import Evaluator, ThresholdRule

# The first alert of a group opens its incident at once and later ones join it, so no batching
# delay; rules' own ``for`` durations already hold back transients, so no extra grace either.
IMMEDIATE = NoiseSettings(group_wait_s=0.0, group_interval_s=0.0, grace_warn_s=0.0)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Every rule the engine evaluates."""

    thresholds: tuple[ThresholdRule, ...] = ()
    anomalies: tuple[AnomalyRule, ...] = ()
    derived: tuple[DerivedRule, ...] = ()
    events: EventRules = field(default_factory=EventRules)
    absence: AbsenceRule = field(default_factory=AbsenceRule)
    peers: tuple[PeerRule, ...] = DEFAULT_PEER_RULES
    noise: NoiseSettings = IMMEDIATE


@dataclass(frozen=True, slots=True)
class Notification:
    """A transition to tell people about, with its P-level and loudness."""

    transition: AlertTransition
    delivery: Delivery


@dataclass(frozen=True, slots=True)
class EngineOutput:
    """What one engine step decided."""

    notify: tuple[Notification, ...] = ()
    suppressed: tuple[Suppression, ...] = ()
    notices: tuple[FlapNotice, ...] = ()


class AlertEngine:
    """All evaluators plus the noise policy; deterministic and free of I/O."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.thresholds = Evaluator(config.thresholds)
        self.anomalies = AnomalyEvaluator(config.anomalies)
        self.derivations = Derivations(config.derived)
        self.events = EventEvaluator(config.events)
        self.absence = AbsenceTracker(config.absence)
        self.peers = PeerOutliers(config.peers)
        self.noise = NoisePolicy(config.noise, labels_of=self._labels)
        self._owners = _owners(self)

    def observe_batch(
        self, *, node: str, samples: Sequence[Sample], events: Sequence[Event], now: float
    ) -> EngineOutput:
        """One agent batch: its samples, its events, and the fact that the node reported."""
        self.absence.reported(node, now, samples=len(samples))
        transitions: list[AlertTransition] = []
        for event in events:
            self.absence.observe(event, now=now)
            transitions += self.events.observe(event)
        transitions += self._samples(samples)
        for snap in snapshots(samples):
            transitions += self.peers.observe(snap.node, snap.metric, snap.values_by_gpu, snap.ts)
        return self._filter(transitions, now)

    def observe_samples(self, samples: Sequence[Sample], *, now: float) -> EngineOutput:
        """Samples that did not come from an agent batch (PromQL results)."""
        return self._filter(self._samples(samples), now)

    def tick(self, now: float) -> EngineOutput:
        """Time-driven changes: quiet XIDs resolve, silent nodes fire, held alerts release."""
        transitions = self.events.tick(now) + self.absence.tick(now)
        first = self._filter(transitions, now)
        later = self._outcome(self.noise.tick(now, firing=self.firing()))
        return EngineOutput(
            first.notify + later.notify,
            first.suppressed + later.suppressed,
            first.notices + later.notices,
        )

    def series_count(self) -> int:
        """Series the threshold and anomaly evaluators keep state for (grows with new series)."""
        return self.thresholds.series_count() + self.anomalies.series_count()

    def delivery(self, alert: Alert) -> Delivery | None:
        """P-level and loudness of an alert of one of the engine's rules; None for others."""
        owner = self._owners.get(alert.rule)
        return owner.delivery(alert) if owner is not None else None

    def firing(self) -> tuple[Alert, ...]:
        """Every alert firing now, whichever evaluator owns it."""
        return (
            self.thresholds.firing()
            + self.anomalies.firing()
            + self.events.firing()
            + self.absence.firing()
            + self.peers.firing()
        )

    def restore(
        self, alerts: Iterable[Alert], *, last_seen: Mapping[str, float], now: float
    ) -> None:
        """Resume after a restart: firing alerts, and when each node last reported."""
        for node, seen in last_seen.items():
            self.absence.reported(node, seen, samples=1)
        for alert in alerts:
            owner = self._owners.get(alert.rule)
            if owner is not None:
                owner.restore(alert, now=now)
                self.noise.restore(alert)

    def _samples(self, samples: Sequence[Sample]) -> list[AlertTransition]:
        transitions: list[AlertTransition] = []
        for sample in samples:
            for derived in self.derivations.feed(sample):
                transitions += self.thresholds.observe(derived)
            transitions += self.thresholds.observe(sample)
            transitions += self.anomalies.observe(sample)
        for derived in self.derivations.flush():  # histograms complete with their batch
            transitions += self.thresholds.observe(derived)
        return transitions

    def _filter(self, transitions: list[AlertTransition], now: float) -> EngineOutput:
        if not transitions:
            return EngineOutput()
        return self._outcome(self.noise.filter(transitions, self.firing(), now))

    def _outcome(self, outcome: NoiseOutcome) -> EngineOutput:
        notify = tuple(
            Notification(t, self.delivery(t.alert) or Delivery(Severity.P3, Notify.POST))
            for group in outcome.groups
            for t in group.transitions
        )
        return EngineOutput(notify, outcome.suppressed, outcome.notices)

    def _labels(self, alert: Alert) -> dict[str, str]:
        """What inhibition and silences match on: the alert's labels plus its severity."""
        labels = alert_labels(alert)
        delivery = self.delivery(alert)
        if delivery is not None:
            labels["severity"] = delivery.severity.value
        return labels


class _Owner(Protocol):
    """What the engine needs of the evaluator that owns a rule."""

    def delivery(self, alert: Alert) -> Delivery: ...

    def restore(self, alert: Alert, *, now: float) -> None: ...


@dataclass(frozen=True, slots=True)
class _Rules:
    """Delivery and restore for rules whose evaluators keep no per-rule delivery of their own."""

    deliver: Callable[[Alert], Delivery]
    resume: Callable[[Alert], None]

    def delivery(self, alert: Alert) -> Delivery:
        return self.deliver(alert)

    def restore(self, alert: Alert, *, now: float) -> None:  # noqa: ARG002  (time not needed)
        self.resume(alert)


def _owners(engine: AlertEngine) -> dict[str, _Owner]:
    """Which evaluator owns each rule name."""
    config = engine.config
    thresholds = _Rules(
        lambda a: Delivery(Severity(engine.thresholds.rule(a.rule).severity(a.level))),
        engine.thresholds.restore,
    )
    anomalies = _Rules(lambda a: Delivery(engine.anomalies.severity(a.rule)), lambda _: None)
    absence = _Rules(engine.absence.delivery, engine.absence.restore)
    peers = _Rules(engine.peers.delivery, engine.peers.restore)
    owners: dict[str, _Owner] = {r.name: thresholds for r in config.thresholds}
    owners |= {r.name: anomalies for r in config.anomalies}
    owners |= {r.name: peers for r in config.peers}
    owners |= dict.fromkeys((XID_RULE, GPU_LOST_RULE, LOG_BURST_RULE), engine.events)
    owners |= dict.fromkeys((NOT_REPORTING_RULE, NO_METRICS_RULE, PARTITION_RULE), absence)
    return owners
