"""Absence: nodes that stopped reporting, nodes that report without metrics, and partitions.

Inputs, all with the bot's receipt time as ``now`` (never the agent's clock):

* :meth:`AbsenceTracker.reported`: a batch from a node arrived (any batch); ``samples`` says how
  many metric samples it carried.
* :meth:`AbsenceTracker.observe`: a ``heartbeat`` event of that batch; its ``interval_s`` attr is
  the node's own push interval (until the first one, ``default_interval_s`` applies).
* :meth:`AbsenceTracker.seen`: another source's view of the node: a Prometheus ``up`` series of
  its exporter, or the Kubernetes NodeReady condition (``up=False`` when it says down).

On :meth:`AbsenceTracker.tick` a node silent for more than ``missed_intervals`` of its intervals
fires ``node_not_reporting`` (labels node): *crit* when nothing else sees it either (node down or
cut off), *warn* when another source saw it up within that time (only the agent is silent); the
level moves between the two as that evidence changes. A node that still reports but has carried no
samples for as long fires ``node_no_metrics`` (warn: its collectors fail, the agent is alive).
When at least ``partition_nodes`` nodes (or ``partition_ratio`` of the fleet, whichever is fewer,
but never a single node) went silent within ``partition_window_s`` of each other, one extra
``possible_network_partition`` alert (labels scope=fleet) fires so the services can group them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.core.alert_book import AlertBook
from bot.core.alerts import Alert, AlertTransition, Level
from bot.core.delivery import PAGE_P1, PAGE_P2, POST_P3, Delivery
from bot.core.signals import HEARTBEAT, Event

NOT_REPORTING_RULE = "node_not_reporting"
NO_METRICS_RULE = "node_no_metrics"
PARTITION_RULE = "possible_network_partition"
FLEET_LABELS = (("scope", "fleet"),)
_MIN_PARTITION = 2  # one silent node is a node problem, never a partition


@dataclass(frozen=True, slots=True)
class AbsenceRule:
    """When silence becomes an alert, and how those alerts are delivered."""

    missed_intervals: float = 3.0
    default_interval_s: float = 15.0
    partition_nodes: int = 2
    partition_ratio: float = 0.1
    partition_window_s: float = 60.0
    node_down: Delivery = PAGE_P2
    agent_silent: Delivery = POST_P3
    no_metrics: Delivery = POST_P3
    partition: Delivery = PAGE_P1

    def partition_threshold(self, fleet: int) -> int:
        """How many nodes must go silent together to suspect a partition."""
        by_ratio = math.ceil(self.partition_ratio * fleet)
        return max(_MIN_PARTITION, min(self.partition_nodes, by_ratio))


@dataclass(slots=True)
class _Node:
    """What the tracker knows about one node."""

    first_heard: float
    last_heard: float
    last_data: float | None = None
    interval_s: float | None = None


class AbsenceTracker:
    """Watches every node's reports and raises absence alerts on :meth:`tick`."""

    def __init__(self, rule: AbsenceRule | None = None) -> None:
        self._rule = rule or AbsenceRule()
        self._nodes: dict[str, _Node] = {}
        # when another source last saw each node up, and down
        self._outside: dict[str, tuple[float | None, float | None]] = {}
        self._book = AlertBook()

    def reported(self, node: str, now: float, *, samples: int) -> None:
        """A batch from ``node`` arrived at ``now`` carrying ``samples`` metric samples."""
        state = self._heard(node, now)
        if samples > 0:
            state.last_data = now

    def observe(self, event: Event, *, now: float) -> None:
        """Take a node's heartbeat event (other kinds are ignored) received at ``now``."""
        if event.kind != HEARTBEAT:
            return
        node = dict(event.labels).get("node")
        if not node:
            return
        state = self._heard(node, now)
        interval = _positive(dict(event.attrs).get("interval_s", ""))
        if interval is not None:
            state.interval_s = interval

    def seen(self, node: str, now: float, *, up: bool) -> None:
        """Another source (Prometheus ``up``, Kubernetes NodeReady) saw ``node`` up or down."""
        up_at, down_at = self._outside.get(node, (None, None))
        self._outside[node] = (now, down_at) if up else (up_at, now)

    def forget(self, node: str, now: float) -> list[AlertTransition]:
        """Stop watching a decommissioned node; its absence alerts resolve."""
        self._nodes.pop(node, None)
        self._outside.pop(node, None)
        labels = (("node", node),)
        settled = [self._book.settle(rule, labels, None, now=now) for rule in _NODE_RULES]
        return [t for t in settled if t is not None]

    def tick(self, now: float) -> list[AlertTransition]:
        """Raise, move and resolve absence alerts as of ``now``."""
        transitions: list[AlertTransition] = []
        silent: dict[str, float] = {}
        for name, state in self._nodes.items():
            limit = self._rule.missed_intervals * (
                state.interval_s or self._rule.default_interval_s
            )
            quiet = now - state.last_heard
            level = self._silence_level(name, now, limit) if quiet > limit else None
            if level is not None:
                silent[name] = state.last_heard
            transitions += self._not_reporting(name, level, quiet, state, now)
            since_data = state.first_heard if state.last_data is None else state.last_data
            no_data = level is None and now - since_data > limit
            transitions += self._no_metrics(name, now - since_data if no_data else None, now)
        transitions += self._partition(silent, now)
        return transitions

    def delivery(self, alert: Alert) -> Delivery:
        """P-level and loudness of one of this tracker's alerts."""
        if alert.rule == PARTITION_RULE:
            return self._rule.partition
        if alert.rule == NO_METRICS_RULE:
            return self._rule.no_metrics
        return self._rule.node_down if alert.level is Level.CRIT else self._rule.agent_silent

    def firing(self) -> tuple[Alert, ...]:
        """Every absence alert now firing."""
        return self._book.firing()

    def restore(self, alert: Alert) -> None:
        """Resume a firing alert after a restart; it resolves when its node reports again."""
        self._book.restore(alert)

    def _heard(self, node: str, now: float) -> _Node:
        state = self._nodes.get(node)
        if state is None:
            state = self._nodes[node] = _Node(first_heard=now, last_heard=now)
        state.last_heard = max(state.last_heard, now)
        return state

    def _silence_level(self, node: str, now: float, limit: float) -> Level:
        """Warn when another source saw the node up lately (only the agent is silent), else crit."""
        up_at, down_at = self._outside.get(node, (None, None))
        if up_at is None or now - up_at > limit:
            return Level.CRIT
        return Level.CRIT if down_at is not None and down_at > up_at else Level.WARN

    def _not_reporting(
        self, node: str, level: Level | None, quiet: float, state: _Node, now: float
    ) -> list[AlertTransition]:
        cause = "agent silent, node still up elsewhere" if level is Level.WARN else "node unseen"
        summary = f"{node} has not reported for {quiet:.0f} s ({cause})"
        transition = self._book.settle(
            NOT_REPORTING_RULE,
            (("node", node),),
            level,
            now=now,
            value=quiet,
            summary=summary,
            started_at=state.last_heard,
        )
        return [] if transition is None else [transition]

    def _no_metrics(self, node: str, missing: float | None, now: float) -> list[AlertTransition]:
        level = None if missing is None else Level.WARN
        summary = f"{node} reports heartbeats but no metrics for {missing or 0:.0f} s"
        transition = self._book.settle(
            NO_METRICS_RULE, (("node", node),), level, now=now, value=missing or 0, summary=summary
        )
        return [] if transition is None else [transition]

    def _partition(self, silent: dict[str, float], now: float) -> list[AlertTransition]:
        together = _largest_cluster(silent, self._rule.partition_window_s)
        fleet = len(self._nodes)
        level = Level.CRIT if len(together) >= self._rule.partition_threshold(fleet) else None
        window = self._rule.partition_window_s
        summary = (
            f"{len(together)} of {fleet} nodes stopped reporting within {window:.0f} s"
            f" ({', '.join(together)}): possible network partition"
        )
        transition = self._book.settle(
            PARTITION_RULE,
            FLEET_LABELS,
            level,
            now=now,
            value=len(together),
            summary=summary,
            started_at=min((silent[n] for n in together), default=now),
        )
        return [] if transition is None else [transition]


_NODE_RULES = (NOT_REPORTING_RULE, NO_METRICS_RULE)


def _largest_cluster(silent_since: dict[str, float], window_s: float) -> tuple[str, ...]:
    """The most nodes whose silence began within ``window_s`` of each other, sorted by name."""
    ordered = sorted(silent_since.items(), key=lambda item: item[1])
    best: list[str] = []
    start = 0
    for end in range(len(ordered)):
        while ordered[end][1] - ordered[start][1] > window_s:
            start += 1
        if end - start + 1 > len(best):
            best = [name for name, _ in ordered[start : end + 1]]
    return tuple(sorted(best))


def _positive(text: str) -> float | None:
    """``text`` as a positive finite number, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None
