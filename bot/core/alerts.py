"""Alerts: what a rule says about one series, and the transitions it goes through.

An alert is identified by its fingerprint (rule name + identifying labels). Evaluation never
performs side effects: it returns the new alert state and, when something changed that people
care about, an :class:`AlertTransition` value.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class AlertState(StrEnum):
    """Where an alert is in its life."""

    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class Level(StrEnum):
    """How bad a firing alert is."""

    WARN = "warn"
    CRIT = "crit"


class TransitionKind(StrEnum):
    """The changes of an alert that are worth telling people about."""

    FIRED = "fired"
    ESCALATED = "escalated"  # warn → crit
    DEESCALATED = "deescalated"  # crit → warn
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Alert:
    """The current view of one rule on one series."""

    fingerprint: str
    rule: str
    labels: tuple[tuple[str, str], ...]
    state: AlertState
    level: Level
    value: float
    started_at: float
    summary: str = ""
    fired_at: float | None = None
    resolved_at: float | None = None

    def label(self, name: str, default: str = "") -> str:
        """Value of one identifying label."""
        return dict(self.labels).get(name, default)


@dataclass(frozen=True, slots=True)
class AlertTransition:
    """A change of an alert, returned by evaluation for the services to act on."""

    kind: TransitionKind
    alert: Alert
    at: float


def fingerprint(rule: str, labels: tuple[tuple[str, str], ...]) -> str:
    """Stable id of an alert: the rule name plus its identifying labels."""
    text = rule + "\x00" + "\x00".join(f"{k}={v}" for k, v in sorted(labels))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
