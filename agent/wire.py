"""The agent → bot wire format: typed readings, events and the batch for `POST /api/v1/ingest`.

A batch is gzip-compressed JSON sent with a bearer token. The bot answers 202 with
``{"accepted_samples": n, "accepted_events": m, "duplicate": bool}``; a re-sent ``batch_id`` is
answered as a duplicate, so the agent may deliver at least once.
"""

from __future__ import annotations

import gzip
import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

AGENT_VERSION = "0.1.0"
INGEST_PATH = "/api/v1/ingest"
METRIC_PREFIX = "gpuwarden_"

GPU_UTILIZATION = "gpuwarden_gpu_utilization_ratio"
GPU_MEMORY_USED = "gpuwarden_gpu_memory_used_bytes"
GPU_MEMORY_TOTAL = "gpuwarden_gpu_memory_total_bytes"
GPU_TEMPERATURE = "gpuwarden_gpu_temperature_celsius"
GPU_POWER = "gpuwarden_gpu_power_usage_watts"
GPU_SM_CLOCK = "gpuwarden_gpu_sm_clock_hertz"

HEARTBEAT = "heartbeat"

AttrValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Reading:
    """One sample of one metric series at one instant."""

    metric: str
    labels: Mapping[str, str]
    ts: float
    value: float

    def __post_init__(self) -> None:
        if not self.metric.startswith(METRIC_PREFIX):
            raise ValueError(f"metric {self.metric!r} must start with {METRIC_PREFIX!r}")
        if not math.isfinite(self.value):
            raise ValueError(f"metric {self.metric!r}: value must be finite, got {self.value}")

    def to_payload(self) -> dict[str, Any]:
        """Return the JSON-ready form of this reading."""
        return {
            "metric": self.metric,
            "labels": dict(self.labels),
            "ts": self.ts,
            "value": self.value,
        }


class LabelIdentities:
    """Sorted label tuples, computed once per labels object for the readings of one call.

    The readings of one GPU share one labels mapping, so a batch needs a few sorts instead of
    one per reading. Keyed by `id`: use it only while the readings are alive (one call).
    """

    def __init__(self) -> None:
        self._seen: dict[int, tuple[tuple[str, str], ...]] = {}

    def of(self, labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        """Return `labels` as a sorted tuple of (name, value)."""
        found = self._seen.get(id(labels))
        if found is None:
            found = self._seen[id(labels)] = tuple(sorted(labels.items()))
        return found


@dataclass(frozen=True, slots=True)
class NodeEvent:
    """Something that happened on the node (heartbeat, XID, GPU lost, log line)."""

    kind: str
    ts: float
    labels: Mapping[str, str] = field(default_factory=dict)
    message: str = ""
    attrs: Mapping[str, AttrValue] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        """Return the JSON-ready form of this event."""
        return {
            "kind": self.kind,
            "ts": self.ts,
            "labels": dict(self.labels),
            "message": self.message,
            "attrs": dict(self.attrs),
        }


def new_batch_id() -> str:
    """Return a fresh batch id (uuid4, hex)."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Batch:
    """One push from one node: its readings and events, under an idempotent batch id."""

    node: str
    gpu_count: int
    sent_at: float
    samples: tuple[Reading, ...] = ()
    events: tuple[NodeEvent, ...] = ()
    batch_id: str = field(default_factory=new_batch_id)
    agent_version: str = AGENT_VERSION

    @property
    def size(self) -> int:
        """Return the number of records (samples plus events) the batch carries."""
        return len(self.samples) + len(self.events)

    def to_payload(self) -> dict[str, Any]:
        """Return the JSON-ready body of `POST /api/v1/ingest`."""
        return {
            "batch_id": self.batch_id,
            "node": self.node,
            "agent_version": self.agent_version,
            "gpu_count": self.gpu_count,
            "sent_at": self.sent_at,
            "samples": [s.to_payload() for s in self.samples],
            "events": [e.to_payload() for e in self.events],
        }

    def to_json_bytes(self) -> bytes:
        """Return the body as compact UTF-8 JSON (non-finite numbers are refused)."""
        text = json.dumps(self.to_payload(), separators=(",", ":"), allow_nan=False)
        return text.encode("utf-8")

    def to_gzip_bytes(self) -> bytes:
        """Return the body gzip-compressed, as sent with `Content-Encoding: gzip`.

        Level 1: a third of level 6's CPU for bodies about 5-40 % larger (label names and values
        repeat, so even level 1 shrinks them 20-fold).
        """
        return gzip.compress(self.to_json_bytes(), compresslevel=1, mtime=0)

    def split(self, max_samples: int) -> list[Batch]:
        """Return this batch cut into batches of at most `max_samples` samples each.

        Events ride with the first part; each part of a cut batch gets its own batch id.
        """
        if max_samples < 1:
            raise ValueError(f"max_samples must be at least 1, got {max_samples}")
        if len(self.samples) <= max_samples:
            return [self]
        parts = [
            self.samples[start : start + max_samples]
            for start in range(0, len(self.samples), max_samples)
        ]
        return [
            replace(
                self,
                samples=part,
                events=self.events if index == 0 else (),
                batch_id=new_batch_id(),
            )
            for index, part in enumerate(parts)
        ]
