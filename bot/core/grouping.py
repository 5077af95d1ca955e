"""Grouping: transitions of one node or one serving deployment go out as one notification.

The group key is the alert's values of the ``group_by`` labels (default node and deployment) that
it has; an alert with none of them groups by its rule (``alertname``). The first transition of a
group waits ``group_wait_s`` for company; a group notified less than ``group_interval_s`` ago
collects until that interval is over, so a storm of alerts becomes a few updates, not a flood.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.core.alerts import Alert, AlertTransition
from bot.core.matchers import alert_labels

GroupKey = tuple[tuple[str, str], ...]
DEFAULT_GROUP_BY = ("node", "deployment")


def group_key(labels: Mapping[str, str], group_by: tuple[str, ...] = DEFAULT_GROUP_BY) -> GroupKey:
    """The group an alert with ``labels`` belongs to."""
    key = tuple((name, labels[name]) for name in group_by if labels.get(name))
    return key or (("alertname", labels.get("alertname", "")),)


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
        group_by: tuple[str, ...] = DEFAULT_GROUP_BY,
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
