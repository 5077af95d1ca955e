"""The firing alerts of one evaluator, and the one move they all make: settle to a wanted level."""

from __future__ import annotations

from dataclasses import replace

from bot.core.alerts import Alert, AlertState, AlertTransition, Level, TransitionKind, fingerprint

Labels = tuple[tuple[str, str], ...]


class AlertBook:
    """Firing alerts by fingerprint; :meth:`settle` returns the transition a change makes."""

    def __init__(self) -> None:
        self._firing: dict[str, Alert] = {}

    def settle(
        self,
        rule: str,
        labels: Labels,
        level: Level | None,
        *,
        now: float,
        value: float = 0.0,
        summary: str = "",
        started_at: float | None = None,
    ) -> AlertTransition | None:
        """Make the alert fire at ``level`` (None: not fire); return the transition, if any.

        A firing alert keeps its ``started_at`` and takes the new value and summary; a resolved
        one keeps its last value and summary.
        """
        fp = fingerprint(rule, labels)
        current = self._firing.get(fp)
        if level is None:
            if current is None:
                return None
            del self._firing[fp]
            resolved = replace(current, state=AlertState.RESOLVED, resolved_at=now)
            return AlertTransition(TransitionKind.RESOLVED, resolved, now)
        if current is None:
            fired = Alert(
                fingerprint=fp,
                rule=rule,
                labels=labels,
                state=AlertState.FIRING,
                level=level,
                value=value,
                started_at=now if started_at is None else started_at,
                summary=summary,
                fired_at=now,
            )
            self._firing[fp] = fired
            return AlertTransition(TransitionKind.FIRED, fired, now)
        updated = replace(current, level=level, value=value, summary=summary)
        self._firing[fp] = updated
        if level is current.level:
            return None
        kind = TransitionKind.ESCALATED if level is Level.CRIT else TransitionKind.DEESCALATED
        return AlertTransition(kind, updated, now)

    def get(self, rule: str, labels: Labels) -> Alert | None:
        """The firing alert of ``rule`` on ``labels``, if there is one."""
        return self._firing.get(fingerprint(rule, labels))

    def firing(self) -> tuple[Alert, ...]:
        """Every firing alert."""
        return tuple(self._firing.values())

    def restore(self, alert: Alert) -> None:
        """Take back a firing alert after a restart, so it resolves instead of firing again."""
        self._firing[alert.fingerprint] = alert
