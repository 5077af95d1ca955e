"""What the agents report: samples of a series, and discrete events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True, slots=True, eq=False)
class SeriesKey:
    """A metric name plus its identifying labels, hashable and order-independent.

    Keys index every per-series state of the alert engine, so the hash is computed once, when
    the key is made (a tuple of label pairs would be hashed again on every lookup).
    """

    metric: str
    labels: tuple[tuple[str, str], ...] = ()
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.metric, self.labels)))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, SeriesKey):
            return NotImplemented
        return (
            self._hash == other._hash
            and self.metric == other.metric
            and self.labels == other.labels
        )

    def __reduce__(self) -> tuple[type[SeriesKey], tuple[str, tuple[tuple[str, str], ...]]]:
        """Pickle without the hash: string hashes differ from one process to the next."""
        return (SeriesKey, (self.metric, self.labels))

    @classmethod
    def of(cls, metric: str, labels: Mapping[str, str] | None = None) -> SeriesKey:
        """Build a key with labels sorted by name."""
        return cls(metric, tuple(sorted((labels or {}).items())))

    def label(self, name: str, default: str = "") -> str:
        """Value of one label, or ``default`` when the series lacks it."""
        return dict(self.labels).get(name, default)


class Sample(NamedTuple):
    """One observation of a series at a unix timestamp (seconds).

    A named tuple rather than a frozen dataclass: ingest makes one per reading, and a tuple is
    made three times faster.
    """

    series: SeriesKey
    ts: float
    value: float


HEARTBEAT = "heartbeat"  # the agent's "still here" event: liveness, never evidence of a fault


@dataclass(frozen=True, slots=True)
class Event:
    """A discrete happening on a node: an XID, a log line, a lost GPU, a heartbeat."""

    kind: str
    ts: float
    labels: tuple[tuple[str, str], ...] = ()
    message: str = ""
    attrs: tuple[tuple[str, str], ...] = field(default=())
