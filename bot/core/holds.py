"""Holding notifications back: flapping alerts, and alerts that resolve within a grace period.

* :class:`FlapGuard`: an alert that changes ``changes`` times within ``window_s`` is *held*: one
  notice says so, its further transitions are suppressed, and it is released (with another notice)
  once it has not changed for ``stable_s``.
* :class:`TransientHold`: a FIRED is delayed by its level's grace; if the alert resolves within it,
  neither the FIRED nor the RESOLVED is notified.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

from bot.core.alerts import AlertTransition, Level, TransitionKind

Dropped = tuple[AlertTransition, str]  # a transition not to notify, and why


@dataclass(frozen=True, slots=True)
class FlapNotice:
    """An alert starts (``held``) or stops being held for flapping."""

    transition: AlertTransition  # the change that started the hold, or the last one before release
    at: float
    held: bool
    text: str


@dataclass(slots=True)
class _History:
    times: deque[float]
    latest: AlertTransition
    held: bool = False


class FlapGuard:
    """Counts each alert's changes and holds those that flap."""

    def __init__(
        self, *, changes: int = 4, window_s: float = 600.0, stable_s: float = 600.0
    ) -> None:
        self._changes = changes
        self._window = window_s
        self._stable = stable_s
        self._history: dict[str, _History] = {}

    def record(self, transition: AlertTransition) -> FlapNotice | None:
        """Count one change of an alert; a notice when this change starts a hold."""
        fp = transition.alert.fingerprint
        history = self._history.get(fp)
        if history is None:
            history = self._history[fp] = _History(deque(), transition)
        history.times.append(transition.at)
        while history.times[0] <= transition.at - self._window:
            history.times.popleft()
        history.latest = transition
        if history.held or len(history.times) < self._changes:
            return None
        history.held = True
        text = (
            f"Flapping: {transition.alert.summary} changed {len(history.times)} times in"
            f" {self._window / 60:.0f} min; notifications held until it is stable for"
            f" {self._stable / 60:.0f} min"
        )
        return FlapNotice(transition, transition.at, held=True, text=text)

    def is_held(self, fingerprint: str) -> bool:
        """Whether the alert with this fingerprint is held for flapping."""
        history = self._history.get(fingerprint)
        return history is not None and history.held

    def release(self, now: float) -> list[FlapNotice]:
        """Release holds that have been stable for ``stable_s``; forget old histories."""
        notices = []
        for fp, history in list(self._history.items()):
            quiet = now - history.latest.at
            if history.held and quiet >= self._stable:
                del self._history[fp]
                text = f"Stable again: {history.latest.alert.summary}; notifications resume"
                notices.append(FlapNotice(history.latest, now, held=False, text=text))
            elif not history.held and quiet >= self._window:
                del self._history[fp]
        return notices


@dataclass(frozen=True, slots=True)
class _Pending:
    fired: AlertTransition
    due: float


class TransientHold:
    """Delays FIRED notifications by a grace per level and drops pairs that resolve in time."""

    def __init__(self, *, grace_crit_s: float = 0.0, grace_warn_s: float = 60.0) -> None:
        self._grace = {Level.CRIT: grace_crit_s, Level.WARN: grace_warn_s}
        self._pending: dict[str, _Pending] = {}

    def offer(self, transition: AlertTransition) -> tuple[list[AlertTransition], list[Dropped]]:
        """What may be notified now, and what is dropped (with the reason)."""
        fp = transition.alert.fingerprint
        pending = self._pending.get(fp)
        if pending is None:
            grace = self._grace[transition.alert.level]
            if transition.kind is TransitionKind.FIRED and grace > 0:
                self._pending[fp] = _Pending(transition, transition.at + grace)
                return [], []
            return [transition], []
        if transition.kind is TransitionKind.RESOLVED:
            del self._pending[fp]
            after = transition.at - pending.fired.at
            grace = pending.due - pending.fired.at
            reason = (
                f"transient: resolved {after:.0f} s after firing, within its {grace:.0f} s grace"
            )
            return [], [(pending.fired, reason), (transition, reason)]
        fired = replace(pending.fired, alert=transition.alert)
        due = pending.fired.at + self._grace[transition.alert.level]
        folded = (transition, "transient hold: folded into the fired notification still held")
        if due <= transition.at:
            del self._pending[fp]
            return [fired], [folded]
        self._pending[fp] = _Pending(fired, due)
        return [], [folded]

    def due(self, now: float) -> list[AlertTransition]:
        """FIRED notifications whose grace is over at ``now``."""
        ready = [p.fired for p in self._pending.values() if p.due <= now]
        for fired in ready:
            del self._pending[fired.alert.fingerprint]
        return ready

    def cancel(self, fingerprint: str) -> AlertTransition | None:
        """Drop the held FIRED of an alert (it started flapping), returning it."""
        pending = self._pending.pop(fingerprint, None)
        return None if pending is None else pending.fired
