"""Grouping: alerts about one place go out as one notification and end up in one incident.

Where an alert is (its *scope*) follows one label precedence, shared by notifications and
incidents:

1. an alert about a GPU (it has a ``gpu`` label) is about its node's hardware: scope ``node``;
2. otherwise a serving alert is about its deployment (``namespace`` + ``deployment``) or, when
   it names none, its model (``model_name``, as vLLM / SGLang label their metrics), so a
   first-token-latency regression on the replicas of several nodes is one incident;
3. otherwise its ``node``;
4. an alert with none of these is about its rule (``alertname``).

Notifications group by scope unless ``group_by`` names labels explicitly (as Alertmanager's
route does). The first transition of a group waits ``group_wait_s`` for company; a group notified
less than ``group_interval_s`` ago collects until that interval is over, so a storm of alerts
becomes a few updates, not a flood. :func:`incident_key` names the scope as an incident's group
key: ``deployment:<namespace>/<name>``, ``model:<name>``, ``node:<name>`` or ``rule:<name>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.core.alerts import Alert, AlertTransition
from bot.core.matchers import alert_labels

GroupKey = tuple[tuple[str, str], ...]
_DEPLOYMENT = ("namespace", "deployment")
# the scope's last label → the prefix of the incident group key
_PREFIX = {"deployment": "deployment", "model_name": "model", "node": "node", "alertname": "rule"}


def scope(labels: Mapping[str, str]) -> GroupKey:
    """Where an alert with ``labels`` is, by the precedence in this module's docstring."""
    if not labels.get("gpu"):
        if labels.get("deployment"):
            return tuple((name, labels[name]) for name in _DEPLOYMENT if labels.get(name))
        if labels.get("model_name"):
            return (("model_name", labels["model_name"]),)
    if labels.get("node"):
        return (("node", labels["node"]),)
    return (("alertname", labels.get("alertname", "")),)


def group_key(labels: Mapping[str, str], group_by: tuple[str, ...] | None = None) -> GroupKey:
    """The notification group of an alert with ``labels``: its scope, or its ``group_by`` labels.

    With explicit ``group_by``, an alert that has none of those labels groups by its rule.
    """
    if group_by is None:
        return scope(labels)
    key = tuple((name, labels[name]) for name in group_by if labels.get(name))
    return key or (("alertname", labels.get("alertname", "")),)


def incident_key(labels: Mapping[str, str]) -> str:
    """The group key of the incident an alert with ``labels`` joins, e.g. ``node:gpu-node-2``."""
    key = scope(labels)
    return f"{_PREFIX[key[-1][0]]}:{'/'.join(value for _, value in key)}"


def served_by(incident_group_key: str) -> str | None:
    """The deployment or model an incident group key names (``model:deepseek-v3``), if any."""
    kind, _, name = incident_group_key.partition(":")
    return name if kind in {_PREFIX["deployment"], _PREFIX["model_name"]} and name else None


@dataclass(frozen=True, slots=True)
class NotificationGroup:
    """Transitions of one group to be delivered together, in arrival order."""

    key: GroupKey
    transitions: tuple[AlertTransition, ...]
    opened_at: float


@dataclass(slots=True)
class _Batch:
    opened_at: float
    due: float
    transitions: list[AlertTransition] = field(default_factory=list)


class Grouper:
    """Collects transitions per group and hands out the groups that are due."""

    def __init__(
        self,
        *,
        group_by: tuple[str, ...] | None = None,
        group_wait_s: float = 10.0,
        group_interval_s: float = 30.0,
        labels_of: Callable[[Alert], Mapping[str, str]] = alert_labels,
    ) -> None:
        self._group_by = group_by
        self._wait = group_wait_s
        self._interval = group_interval_s
        self._labels_of = labels_of
        self._batches: dict[GroupKey, _Batch] = {}
        self._sent: dict[GroupKey, float] = {}

    def add(self, transition: AlertTransition, now: float) -> None:
        """Queue a transition in its group."""
        key = group_key(self._labels_of(transition.alert), self._group_by)
        batch = self._batches.get(key)
        if batch is None:
            sent = self._sent.get(key)
            due = now + self._wait
            if sent is not None and now < sent + self._interval:
                due = sent + self._interval
            batch = self._batches[key] = _Batch(opened_at=now, due=due)
        batch.transitions.append(transition)

    def tick(self, now: float) -> list[NotificationGroup]:
        """The groups due at ``now``, oldest first."""
        due = sorted(
            (key for key, batch in self._batches.items() if batch.due <= now),
            key=lambda k: self._batches[k].opened_at,
        )
        groups = []
        for key in due:
            batch = self._batches.pop(key)
            groups.append(NotificationGroup(key, tuple(batch.transitions), batch.opened_at))
            self._sent[key] = now
        for key, sent in list(self._sent.items()):
            if now >= sent + self._interval:
                del self._sent[key]
        return groups
