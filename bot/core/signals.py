"""What the agents report: samples of a series, and discrete events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """A metric name plus its identifying labels, hashable and order-independent."""

    metric: str
    labels: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, metric: str, labels: Mapping[str, str] | None = None) -> SeriesKey:
        """Build a key with labels sorted by name."""
        return cls(metric, tuple(sorted((labels or {}).items())))

    def label(self, name: str, default: str = "") -> str:
        """Value of one label, or ``default`` when the series lacks it."""
        return dict(self.labels).get(name, default)


@dataclass(frozen=True, slots=True)
class Sample:
    """One observation of a series at a unix timestamp (seconds)."""

    series: SeriesKey
    ts: float
    value: float


@dataclass(frozen=True, slots=True)
class Event:
    """A discrete happening on a node: an XID, a log line, a lost GPU, a heartbeat."""

    kind: str
    ts: float
    labels: tuple[tuple[str, str], ...] = ()
    message: str = ""
    attrs: tuple[tuple[str, str], ...] = field(default=())
