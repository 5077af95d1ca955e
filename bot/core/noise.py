"""Noise control: which alert transitions reach people, when, and in which groups.

:class:`NoisePolicy` runs each transition through, in order:

1. flap detection (:class:`~bot.core.holds.FlapGuard`): a held alert's transitions are suppressed;
2. the transient hold (:class:`~bot.core.holds.TransientHold`): FIRED waits its level's grace;
3. inhibition, then silences and maintenance windows, checked when the transition is released;
4. grouping (:class:`~bot.core.grouping.Grouper`): released transitions come out in groups.

Nothing is dropped silently: every transition not notified comes back as a :class:`Suppression`
with a cause and a reason for the timeline. A RESOLVED is notified exactly when its alert's firing
was, even if a silence started since (so Slack never shows a stale alert). An alert muted when it
fired is announced (as FIRED) on a later call once nothing mutes it and it still fires. When a
flapping alert is released, its current state is announced if it differs from the last notified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bot.core.alerts import Alert, AlertTransition, Level, TransitionKind
from bot.core.grouping import Grouper, NotificationGroup
from bot.core.holds import FlapGuard, FlapNotice, TransientHold
from bot.core.inhibition import DEFAULT_INHIBIT_RULES, InhibitRule, LabelSet, inhibiting
from bot.core.matchers import alert_labels
from bot.core.silences import Silences


class Cause(StrEnum):
    """Why a transition was not notified."""

    INHIBITED = "inhibited"
    SILENCED = "silenced"
    FLAPPING = "flapping"
    TRANSIENT = "transient"
    NOT_ANNOUNCED = "not_announced"  # a RESOLVED whose FIRED was never notified


@dataclass(frozen=True, slots=True)
class Suppression:
    """A transition that was not notified, and why."""

    transition: AlertTransition
    cause: Cause
    reason: str


@dataclass(frozen=True, slots=True)
class NoiseOutcome:
    """What to notify now (in groups), what was suppressed, and flapping notices."""

    groups: tuple[NotificationGroup, ...] = ()
    suppressed: tuple[Suppression, ...] = ()
    notices: tuple[FlapNotice, ...] = ()


@dataclass(frozen=True, slots=True)
class NoiseSettings:
    """Knobs of the noise policy; defaults follow Alertmanager where it has one."""

    group_by: tuple[str, ...] | None = None  # None: by scope (node, deployment, model …)
    group_wait_s: float = 10.0
    group_interval_s: float = 30.0
    inhibit_rules: tuple[InhibitRule, ...] = DEFAULT_INHIBIT_RULES
    flap_changes: int = 4
    flap_window_s: float = 600.0
    flap_stable_s: float = 600.0
    grace_crit_s: float = 0.0
    grace_warn_s: float = 60.0


@dataclass(slots=True)
class _Run:
    """What one call collects."""

    firing: dict[str, Alert]
    sources: list[tuple[str, LabelSet]]
    suppressed: list[Suppression] = field(default_factory=list)
    notices: list[FlapNotice] = field(default_factory=list)


class NoisePolicy:
    """Filters alert transitions into notification groups and reasoned suppressions."""

    def __init__(
        self,
        settings: NoiseSettings | None = None,
        *,
        silences: Silences | None = None,
        labels_of: Callable[[Alert], Mapping[str, str]] = alert_labels,
    ) -> None:
        self._settings = s = settings or NoiseSettings()
        self.silences = silences or Silences()
        self._labels_of = labels_of
        self._flaps = FlapGuard(
            changes=s.flap_changes, window_s=s.flap_window_s, stable_s=s.flap_stable_s
        )
        self._transient = TransientHold(grace_crit_s=s.grace_crit_s, grace_warn_s=s.grace_warn_s)
        self._grouper = Grouper(
            group_by=s.group_by,
            group_wait_s=s.group_wait_s,
            group_interval_s=s.group_interval_s,
            labels_of=labels_of,
        )
        self._announced: dict[str, Alert] = {}  # alerts people were told are firing
        self._muted: set[str] = set()  # firing alerts whose FIRED was muted, to announce later

    def filter(
        self, transitions: Iterable[AlertTransition], firing: Iterable[Alert], now: float
    ) -> NoiseOutcome:
        """Run new transitions through the policy; ``firing`` is every alert firing now."""
        run = self._start(firing)
        for transition in transitions:
            self._take(transition, run, now)
        return self._drain(run, now)

    def tick(self, now: float, *, firing: Iterable[Alert]) -> NoiseOutcome:
        """Release what is due at ``now``: held FIRED, stable flappers, unmuted alerts, groups."""
        return self._drain(self._start(firing), now)

    def restore(self, alert: Alert) -> None:
        """Remember an alert notified before a restart, so its RESOLVED is notified too."""
        self._announced[alert.fingerprint] = alert

    def _start(self, firing: Iterable[Alert]) -> _Run:
        alerts = {a.fingerprint: a for a in firing}
        return _Run(alerts, [(fp, self._labels_of(a)) for fp, a in alerts.items()])

    def _take(self, transition: AlertTransition, run: _Run, now: float) -> None:
        fp = transition.alert.fingerprint
        notice = self._flaps.record(transition)
        if notice is not None:
            run.notices.append(notice)
            cancelled = self._transient.cancel(fp)
            if cancelled is not None:
                run.suppressed.append(Suppression(cancelled, Cause.FLAPPING, notice.text))
        if self._flaps.is_held(fp):
            stable = self._settings.flap_stable_s / 60
            why = f"flapping: held until it is stable for {stable:.0f} min"
            run.suppressed.append(Suppression(transition, Cause.FLAPPING, why))
            return
        ready, dropped = self._transient.offer(transition)
        run.suppressed += [Suppression(t, Cause.TRANSIENT, why) for t, why in dropped]
        for released in ready:
            self._gate(released, run, now)

    def _drain(self, run: _Run, now: float) -> NoiseOutcome:
        for fired in self._transient.due(now):
            self._gate(fired, run, now)
        for notice in self._flaps.release(now):
            run.notices.append(notice)
            catch_up = self._catch_up(notice.transition)
            if catch_up is not None:
                self._gate(catch_up, run, now)
        for fp in sorted(self._muted):
            alert = run.firing.get(fp)
            if (
                alert is not None
                and not self._flaps.is_held(fp)
                and self._mute(alert, run, now) is None
            ):
                self._gate(AlertTransition(TransitionKind.FIRED, alert, now), run, now)
        return NoiseOutcome(
            tuple(self._grouper.tick(now)), tuple(run.suppressed), tuple(run.notices)
        )

    def _gate(self, transition: AlertTransition, run: _Run, now: float) -> None:
        """Mute, or queue for notification, a transition that no hold keeps back any more."""
        fp = transition.alert.fingerprint
        if transition.kind is TransitionKind.RESOLVED:
            self._muted.discard(fp)
            if self._announced.pop(fp, None) is None:
                why = "resolved, but its firing was never notified"
                run.suppressed.append(Suppression(transition, Cause.NOT_ANNOUNCED, why))
            else:
                self._grouper.add(transition, now)
            return
        muted = self._mute(transition.alert, run, now)
        if muted is not None:
            if fp not in self._announced:
                self._muted.add(fp)
            run.suppressed.append(Suppression(transition, *muted))
            return
        self._muted.discard(fp)
        if fp not in self._announced and transition.kind is not TransitionKind.FIRED:
            transition = replace(transition, kind=TransitionKind.FIRED)
        self._announced[fp] = transition.alert
        self._grouper.add(transition, now)

    def _mute(self, alert: Alert, run: _Run, now: float) -> tuple[Cause, str] | None:
        """Whether an inhibition rule or a silence mutes ``alert`` now, and which."""
        labels = self._labels_of(alert)
        hit = inhibiting(alert.fingerprint, labels, run.sources, self._settings.inhibit_rules)
        if hit is not None:
            rule, source = hit
            shared = ", ".join(f"{n}={source.get(n, '')}" for n in rule.equal)
            why = f"muted by inhibition {rule.name}: {source.get('alertname', '?')} ({shared})"
            return Cause.INHIBITED, why
        silence = self.silences.silencing(labels, now)
        if silence is not None:
            return Cause.SILENCED, f"silenced by {silence.describe()}"
        return None

    def _catch_up(self, latest: AlertTransition) -> AlertTransition | None:
        """What to announce when a flapping alert is released: its state, if people lack it."""
        announced = self._announced.get(latest.alert.fingerprint)
        if latest.kind is TransitionKind.RESOLVED:
            return latest if announced is not None else None
        if announced is None:
            return replace(latest, kind=TransitionKind.FIRED)
        if announced.level is latest.alert.level:
            return None
        up = latest.alert.level is Level.CRIT
        return replace(latest, kind=TransitionKind.ESCALATED if up else TransitionKind.DEESCALATED)
