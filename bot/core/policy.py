"""Severity/SLA policy and who may do what: values and pure lookups (schedules: ``oncall``)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.incidents import Severity


@dataclass(frozen=True, slots=True)
class SeverityPolicy:
    """What a P-level means and how fast it must be handled."""

    severity: Severity
    description: str
    ack_s: float
    resolve_s: float
    resolve_goal: str  # "restore", "mitigate" or "root-cause"
    suggested_action: str


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """The P-levels of one organisation, plus when to remind before a deadline."""

    levels: tuple[SeverityPolicy, ...]
    reminders: tuple[float, ...] = (0.5, 0.8)

    def of(self, severity: Severity) -> SeverityPolicy:
        """The policy for one severity."""
        return next(p for p in self.levels if p.severity is severity)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A point in time by which something must have happened."""

    name: str
    due: float


def deadlines(policy: SlaPolicy, severity: Severity, *, opened_at: float) -> tuple[Deadline, ...]:
    """The ack and resolve deadlines of an incident opened at ``opened_at``."""
    level = policy.of(severity)
    return (
        Deadline("ack", opened_at + level.ack_s),
        Deadline(level.resolve_goal, opened_at + level.resolve_s),
    )


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Which users may take which actions; ``*`` stands for every user."""

    grants: tuple[tuple[str, frozenset[str]], ...]  # (action, users)

    def allows(self, user: str, action: str) -> bool:
        """Whether ``user`` may take ``action``."""
        users = dict(self.grants).get(action, frozenset())
        return "*" in users or user in users
