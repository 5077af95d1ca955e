"""Alerts from Prometheus Alertmanager, turned into the same incident flow as the bot's own.

Alertmanager delivers at least once: it retries failed webhooks and repeats firing alerts every
``repeat_interval``. An alert that is already firing is therefore ignored, so repeats and retries
never add timeline entries or Slack messages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.core.alerts import Alert, AlertState, AlertTransition, Level, TransitionKind
from bot.core.errors import NotFound
from bot.core.incidents import Severity
from bot.core.ports import Clock, Notifier, UnitOfWorkFactory
from bot.services.alerting import handle_transition

FINGERPRINT_PREFIX = "am:"
CRITICAL_SEVERITIES = frozenset({"critical", "page"})
# labels that classify an alert rather than identify it
_CLASSIFYING = frozenset({"alertname", "severity"})


@dataclass(frozen=True, slots=True)
class ExternalAlert:
    """One alert of an Alertmanager notification, already validated by the API."""

    fingerprint: str
    firing: bool
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: float
    ends_at: float | None = None


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    """What the bot did with the alerts of one notification."""

    fired: int
    resolved: int
    ignored: int


def level_of(labels: Mapping[str, str]) -> Level:
    """CRIT for ``severity`` critical or page, WARN for anything else."""
    return Level.CRIT if labels.get("severity", "").lower() in CRITICAL_SEVERITIES else Level.WARN


def severity_of(labels: Mapping[str, str], level: Level) -> Severity:
    """Label ``gpuwarden_severity`` (P1/P2/P3) if valid, else P2 for CRIT and P3 for WARN."""
    wanted = labels.get("gpuwarden_severity", "").upper()
    if wanted in Severity.__members__:
        return Severity[wanted]
    return Severity.P2 if level is Level.CRIT else Severity.P3


def node_of(labels: Mapping[str, str]) -> str:
    """The ``node`` label, else the host part of ``instance`` (``gpu-node-1:9840``)."""
    if labels.get("node"):
        return labels["node"]
    instance = labels.get("instance", "")
    if instance.startswith("["):  # [2001:db8::1]:9100
        return instance[1:].partition("]")[0]
    return instance.partition(":")[0] if instance.count(":") == 1 else instance


def to_alert(external: ExternalAlert, *, now: float) -> Alert:
    """The firing alert an Alertmanager alert stands for."""
    labels = {k: v for k, v in external.labels.items() if k not in _CLASSIFYING}
    node = node_of(external.labels)
    if node:
        labels["node"] = node
    name = external.labels["alertname"]
    notes = external.annotations
    return Alert(
        fingerprint=FINGERPRINT_PREFIX + external.fingerprint,
        rule=name,
        labels=tuple(sorted(labels.items())),
        state=AlertState.FIRING,
        level=level_of(external.labels),
        value=0.0,  # Alertmanager does not carry the value; the summary usually does
        started_at=external.starts_at,
        summary=notes.get("summary") or notes.get("description") or f"{name} on {node or '-'}",
        fired_at=now,
    )


async def receive_alerts(
    *,
    alerts: Sequence[ExternalAlert],
    uow: UnitOfWorkFactory,
    notifier: Notifier,
    clock: Clock,
) -> ReceiveResult:
    """Fire new alerts, resolve resolved ones, ignore repeats; open incidents as agents' do."""
    now = clock.now()
    counts: Counter[str] = Counter()
    for external in alerts:
        transition = _transition(uow, external, now)
        if transition is None:
            counts["ignored"] += 1
            continue
        await handle_transition(
            transition=transition,
            severity=severity_of(external.labels, transition.alert.level),
            uow=uow,
            notifier=notifier,
        )
        counts[transition.kind] += 1
    return ReceiveResult(
        counts[TransitionKind.FIRED], counts[TransitionKind.RESOLVED], counts["ignored"]
    )


def _transition(
    uow: UnitOfWorkFactory, external: ExternalAlert, now: float
) -> AlertTransition | None:
    """FIRED when new or not firing, RESOLVED when firing, None when nothing changes."""
    with uow() as tx:
        try:
            known: Alert | None = tx.alerts.get(FINGERPRINT_PREFIX + external.fingerprint)
        except NotFound:
            known = None
    firing = known is not None and known.state is AlertState.FIRING
    if external.firing and not firing:
        return AlertTransition(TransitionKind.FIRED, to_alert(external, now=now), now)
    if known is not None and firing and not external.firing:
        resolved = replace(known, state=AlertState.RESOLVED, resolved_at=external.ends_at or now)
        return AlertTransition(TransitionKind.RESOLVED, resolved, now)
    return None
