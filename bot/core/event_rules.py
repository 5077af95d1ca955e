"""Event rules: XIDs, lost GPUs and bursts of error logs become alerts.

Events come from the agents as :class:`~bot.core.signals.Event` values; a field is read from the
event's labels first (ingest sets ``node``), then from its attrs:

* ``xid``: attrs ``xid`` (the code), ``gpu`` (index) and ``pci``. Fires at once (no ``for``) as rule
  ``gpu_xid`` with labels node/gpu/xid, level and delivery from the XID table. A repeat of the same
  XID on the same GPU while firing raises the alert's ``value`` (the count), not a new alert.
* ``gpu_lost``: attrs ``gpu``. Fires rule ``gpu_lost`` (crit, P1, pages) for that GPU.
* ``log``: attrs ``level`` and ``component``. ``burst_count`` error-level lines of one component
  within ``burst_window_s`` fire rule ``error_log_burst`` per (node, component).

Every alert resolves on :meth:`EventEvaluator.tick` once its event has not repeated for the
rule's quiet period (the agent repeats ``gpu_lost`` every minute while the GPU stays lost).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.alert_book import AlertBook, Labels
from bot.core.alerts import Alert, AlertTransition, Level
from bot.core.delivery import PAGE_P1, POST_P3, Delivery
from bot.core.signals import Event
from bot.core.xid import ACTION_TEXT, XidAction, XidInfo, xid_info

XID_RULE = "gpu_xid"
GPU_LOST_RULE = "gpu_lost"
LOG_BURST_RULE = "error_log_burst"
_MESSAGE_CHARS = 120


@dataclass(frozen=True, slots=True)
class EventRules:
    """Settings of the event rules; the defaults suit agents that push every few seconds."""

    xid_quiet_s: float = 900.0
    gpu_lost_quiet_s: float = 300.0
    burst_count: int = 5
    burst_window_s: float = 60.0
    error_levels: frozenset[str] = frozenset({"error", "critical", "fatal"})
    gpu_lost: Delivery = PAGE_P1
    burst: Delivery = POST_P3
    burst_level: Level = Level.WARN
    xid_overrides: tuple[XidInfo, ...] = ()

    def quiet_s(self, rule: str) -> float:
        """How long an alert of ``rule`` stays firing without a repeat of its event."""
        return {
            XID_RULE: self.xid_quiet_s,
            GPU_LOST_RULE: self.gpu_lost_quiet_s,
            LOG_BURST_RULE: self.burst_window_s,
        }[rule]


@dataclass(frozen=True, slots=True)
class _Raise:
    """What one event says about one alert."""

    rule: str
    labels: Labels
    level: Level
    at: float
    describe: Callable[[float], str]  # the summary for a given count
    count: float | None = None  # None: one more occurrence


class EventEvaluator:
    """Turns events into alert transitions; deterministic and free of I/O."""

    def __init__(self, rules: EventRules | None = None) -> None:
        self._rules = rules or EventRules()
        self._book = AlertBook()
        self._last_seen: dict[tuple[str, Labels], float] = {}
        self._bursts: dict[tuple[str, str], deque[float]] = {}  # recent error-log times

    def observe(self, event: Event) -> list[AlertTransition]:
        """Feed one event; kinds other than xid, gpu_lost and log are ignored."""
        handler = {"xid": self._xid, "gpu_lost": self._gpu_lost, "log": self._log}.get(event.kind)
        if handler is None:
            return []
        raised = handler(event)
        return [] if raised is None else self._raise(raised)

    def tick(self, now: float) -> list[AlertTransition]:
        """Resolve every alert whose event has been quiet for its rule's quiet period."""
        transitions: list[AlertTransition] = []
        for alert in self._book.firing():
            key = (alert.rule, alert.labels)
            if now - self._last_seen[key] < self._rules.quiet_s(alert.rule):
                continue
            del self._last_seen[key]
            resolved = self._book.settle(alert.rule, alert.labels, None, now=now)
            transitions.extend(() if resolved is None else (resolved,))
        horizon = now - self._rules.burst_window_s
        for source, times in list(self._bursts.items()):
            _drop_before(times, horizon)
            if not times:
                del self._bursts[source]
        return transitions

    def delivery(self, alert: Alert) -> Delivery:
        """P-level and loudness of one of this evaluator's alerts."""
        if alert.rule == XID_RULE:
            return self.xid(alert).delivery
        return self._rules.gpu_lost if alert.rule == GPU_LOST_RULE else self._rules.burst

    def xid(self, alert: Alert) -> XidInfo:
        """The XID table row behind a ``gpu_xid`` alert (action, class, meaning)."""
        return xid_info(_code(alert.label("xid")), self._rules.xid_overrides)

    def firing(self) -> tuple[Alert, ...]:
        """Every alert this evaluator holds firing, with its current count."""
        return self._book.firing()

    def restore(self, alert: Alert, *, now: float) -> None:
        """Resume a firing alert after a restart; its quiet period starts again at ``now``."""
        self._book.restore(alert)
        self._last_seen[(alert.rule, alert.labels)] = now

    def _raise(self, raised: _Raise) -> list[AlertTransition]:
        key = (raised.rule, raised.labels)
        current = self._book.get(*key)
        count = raised.count
        if count is None:
            count = 1.0 if current is None else current.value + 1
        transition = self._book.settle(
            raised.rule,
            raised.labels,
            raised.level,
            now=raised.at,
            value=count,
            summary=raised.describe(count),
        )
        self._last_seen[key] = max(self._last_seen.get(key, raised.at), raised.at)
        return [] if transition is None else [transition]

    def _xid(self, event: Event) -> _Raise:
        raw = _field(event, "xid")
        info = xid_info(_code(raw), self._rules.xid_overrides)
        node, gpu = _field(event, "node"), _field(event, "gpu") or _field(event, "pci")
        labels = (("node", node), ("gpu", gpu), ("xid", raw))

        def describe(count: float) -> str:
            times = f" (x{count:.0f})" if count > 1 else ""
            return (
                f"XID {raw} ({info.name}) on {node} GPU {gpu}{times}: {info.meaning}"
                f" → {ACTION_TEXT[info.action]}"
            )

        return _Raise(XID_RULE, labels, info.level, event.ts, describe)

    def _gpu_lost(self, event: Event) -> _Raise:
        node, gpu = _field(event, "node"), _field(event, "gpu")
        action = ACTION_TEXT[XidAction.REBOOT_NODE_AND_DRAIN]

        def describe(_count: float) -> str:
            return f"GPU {gpu} on {node} is lost (NVML cannot reach it) → {action}"

        return _Raise(GPU_LOST_RULE, (("node", node), ("gpu", gpu)), Level.CRIT, event.ts, describe)

    def _log(self, event: Event) -> _Raise | None:
        if _field(event, "level").lower() not in self._rules.error_levels:
            return None
        node, component = _field(event, "node"), _field(event, "component")
        times = self._bursts.setdefault((node, component), deque())
        times.append(event.ts)
        _drop_before(times, event.ts - self._rules.burst_window_s)
        if len(times) < self._rules.burst_count:
            return None
        window, last = self._rules.burst_window_s, event.message[:_MESSAGE_CHARS]

        def describe(count: float) -> str:
            return (
                f"{count:.0f} error logs from {component} on {node} within {window:.0f} s;"
                f" last: {last}"
            )

        labels = (("node", node), ("component", component))
        return _Raise(
            LOG_BURST_RULE, labels, self._rules.burst_level, event.ts, describe, len(times)
        )


def _field(event: Event, name: str) -> str:
    """An event field from its labels (``node`` is set by ingest), else its attrs, else ""."""
    for key, value in (*event.labels, *event.attrs):
        if key == name:
            return value
    return ""


def _code(raw: str) -> int:
    """The XID code in ``raw``; -1 (an unknown code) when it is not a number."""
    text = raw.strip()
    return int(text) if text.isdigit() else -1


def _drop_before(times: deque[float], horizon: float) -> None:
    while times and times[0] <= horizon:
        times.popleft()
