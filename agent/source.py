"""Where a node's readings come from: the port that the simulator and NVML collectors fill."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from agent.wire import NodeEvent, Reading


class Source(Protocol):
    """One node's readings and events, collected on demand at a given instant."""

    @property
    def node(self) -> str:
        """Return the node name the batches carry."""
        ...

    @property
    def gpu_count(self) -> int:
        """Return how many GPUs the node has."""
        ...

    def collect(self, now: float) -> tuple[Sequence[Reading], Sequence[NodeEvent]]:
        """Return the readings and events observed at `now` (unix seconds)."""
        ...


@runtime_checkable
class Sampler(Source, Protocol):
    """A source that can also read a few metrics between collections, cheaply and at once."""

    def sample(self, now: float, metrics: frozenset[str]) -> Sequence[Reading]:
        """Return the current readings of `metrics` (those it has) at `now`."""
        ...
