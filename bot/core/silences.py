"""Silences (one-off, with an expiry) and recurring weekly maintenance windows.

A silence mutes alerts whose labels satisfy all of its matchers between ``starts_at`` and
``ends_at``. A maintenance window does the same every week on ``weekdays`` from ``start`` to
``end`` local time in ``timezone`` (wall-clock time, so it follows daylight-saving changes); an
``end`` at or before ``start`` runs past midnight into the next day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.matchers import Matcher, matches_all

_DAYS = 7
MANAGE_SILENCES = "silence"  # the permission (rbac.yaml) to add and end silences from Slack


@dataclass(frozen=True, slots=True)
class Silence:
    """A one-off silence, as created by a responder."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str

    def __post_init__(self) -> None:
        if not self.matchers:
            msg = f"silence {self.id}: expected at least one matcher"
            raise ValueError(msg)
        if self.ends_at <= self.starts_at:
            msg = f"silence {self.id}: expected ends_at after starts_at"
            raise ValueError(msg)

    def active(self, now: float) -> bool:
        """Whether the silence is in force at ``now``."""
        return self.starts_at <= now < self.ends_at

    def state(self, now: float) -> str:
        """``active``, ``pending`` (starts later) or ``ended`` at ``now``."""
        if self.active(now):
            return "active"
        return "ended" if self.ends_at <= now else "pending"

    def mutes(self, labels: Mapping[str, str], now: float) -> bool:
        """Whether this silence mutes an alert with ``labels`` at ``now``."""
        return self.active(now) and matches_all(self.matchers, labels)

    def describe(self) -> str:
        """One line for the timeline."""
        return f"silence {self.id} by {self.created_by}: {self.comment}"


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A weekly recurring silence: days of the week (0 = Monday) and a local time range."""

    name: str
    matchers: tuple[Matcher, ...]
    weekdays: frozenset[int]
    start: time
    end: time
    timezone: str
    created_by: str = ""
    comment: str = ""

    def __post_init__(self) -> None:
        if not self.matchers:
            msg = f"maintenance window {self.name}: expected at least one matcher"
            raise ValueError(msg)
        if not self.weekdays or not self.weekdays <= frozenset(range(_DAYS)):
            msg = f"maintenance window {self.name}: expected weekdays within 0 (Mon) … 6 (Sun)"
            raise ValueError(msg)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            msg = f"maintenance window {self.name}: unknown time zone {self.timezone!r}"
            raise ValueError(msg) from exc

    def active(self, now: float) -> bool:
        """Whether the window is open at ``now``."""
        local = datetime.fromtimestamp(now, tz=UTC).astimezone(ZoneInfo(self.timezone))
        day, at = local.weekday(), local.time()
        if self.start < self.end:
            return day in self.weekdays and self.start <= at < self.end
        # runs past midnight: this day's evening part, or the morning part of yesterday's window
        yesterday = (day - 1) % _DAYS
        return (day in self.weekdays and at >= self.start) or (
            yesterday in self.weekdays and at < self.end
        )

    def mutes(self, labels: Mapping[str, str], now: float) -> bool:
        """Whether this window mutes an alert with ``labels`` at ``now``."""
        return self.active(now) and matches_all(self.matchers, labels)

    def describe(self) -> str:
        """One line for the timeline."""
        by = f" by {self.created_by}" if self.created_by else ""
        return f"maintenance window {self.name}{by}: {self.comment}"


@dataclass(frozen=True, slots=True)
class Silences:
    """Every silence and maintenance window in force or scheduled."""

    silences: tuple[Silence, ...] = ()
    windows: tuple[MaintenanceWindow, ...] = ()

    def silencing(
        self, labels: Mapping[str, str], now: float
    ) -> Silence | MaintenanceWindow | None:
        """The first silence or window that mutes ``labels`` at ``now``, if any."""
        rules: tuple[Silence | MaintenanceWindow, ...] = (*self.silences, *self.windows)
        return next((rule for rule in rules if rule.mutes(labels, now)), None)

    def is_silenced(self, labels: Mapping[str, str], now: float) -> bool:
        """Whether anything mutes an alert with ``labels`` at ``now``."""
        return self.silencing(labels, now) is not None
