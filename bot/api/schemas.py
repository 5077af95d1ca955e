"""Wire schemas of the HTTP API (what agents and clients send and receive)."""

from __future__ import annotations

import math
import re
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from bot.core.incidents import Incident, TimelineEntry
from bot.core.signals import Event, Sample, SeriesKey
from bot.services.ingest import IngestBatch, gc_paused

_NAME = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# how far a reading's timestamp may lie ahead of / behind the bot's clock
MAX_AHEAD_S = 3600.0
MAX_BEHIND_S = 7 * 86400.0


def _near_now(ts: float, info: ValidationInfo) -> float:
    """Refuse timestamps more than an hour ahead of or seven days behind the bot's clock."""
    if not isinstance(info.context, dict) or "now" not in info.context:
        msg = "validate ingest payloads with IngestPayload.from_json(raw, now=…)"
        raise TypeError(msg)
    now = float(info.context["now"])
    if not now - MAX_BEHIND_S <= ts <= now + MAX_AHEAD_S:
        msg = (
            f"expected unix seconds within 7 d before and 1 h after the bot's clock ({now:.0f}); "
            "check the agent host's clock"
        )
        raise ValueError(msg)
    return ts


class SampleIn(BaseModel):
    """One reading of one series."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field(pattern=_NAME, max_length=200)
    labels: dict[str, str] = Field(default_factory=dict, max_length=32)
    ts: float
    value: float

    near_now = field_validator("ts")(_near_now)

    @field_validator("labels")
    @classmethod
    def _label_names(cls, labels: dict[str, str]) -> dict[str, str]:
        bad = [k for k in labels if _LABEL.fullmatch(k) is None]
        if bad:
            msg = f"label names must match {_LABEL.pattern}; got {bad}"
            raise ValueError(msg)
        if "node" in labels:
            msg = "the 'node' label is set by the bot from the batch's 'node'; remove it"
            raise ValueError(msg)
        return labels

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            msg = "expected a finite number"
            raise ValueError(msg)
        return value


class EventIn(BaseModel):
    """A discrete happening on a node."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern=r"^[a-z][a-z0-9_.]*$", max_length=64)
    ts: float
    labels: dict[str, str] = Field(default_factory=dict, max_length=32)
    message: str = Field(default="", max_length=4096)
    attrs: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=32)

    near_now = field_validator("ts")(_near_now)


class IngestPayload(BaseModel):
    """A batch from one node's agent; ``batch_id`` makes re-sending it harmless."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    node: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    agent_version: str = Field(default="", max_length=64)
    gpu_count: int = Field(default=0, ge=0, le=1024)
    sent_at: float = Field(gt=0)
    samples: list[SampleIn] = Field(default_factory=list, max_length=50_000)
    events: list[EventIn] = Field(default_factory=list, max_length=5_000)

    @classmethod
    def from_json(cls, raw: bytes, *, now: float) -> Self:
        """Validate a JSON body, checking reading timestamps against ``now`` (the bot's clock)."""
        with gc_paused():  # see gc_paused: thousands of short-lived models per batch
            return cls.model_validate_json(raw, context={"now": now})

    def to_batch(self) -> IngestBatch:
        """Domain value with the trusted ``node`` label added to every sample."""
        # a batch repeats each series once per tick: build each series' key once, and share it
        keys: dict[tuple[str, tuple[tuple[str, str], ...]], SeriesKey] = {}
        samples = []
        with gc_paused():
            for s in self.samples:
                raw = (s.metric, tuple(s.labels.items()))
                key = keys.get(raw)
                if key is None:
                    key = keys[raw] = SeriesKey.of(s.metric, {**s.labels, "node": self.node})
                samples.append(Sample(key, s.ts, s.value))
        return IngestBatch(
            batch_id=self.batch_id,
            node=self.node,
            agent_version=self.agent_version,
            gpu_count=self.gpu_count,
            samples=tuple(samples),
            events=tuple(
                Event(
                    e.kind,
                    e.ts,
                    tuple(sorted({**e.labels, "node": self.node}.items())),
                    e.message,
                    tuple(sorted((k, str(v)) for k, v in e.attrs.items())),
                )
                for e in self.events
            ),
        )


class IngestAccepted(BaseModel):
    """Answer to an accepted (or already seen) batch."""

    accepted_samples: int
    accepted_events: int
    duplicate: bool


class IncidentOut(BaseModel):
    """An incident as the API shows it."""

    id: int
    ref: str
    title: str
    severity: str
    status: str
    group_key: str
    created_at: float
    updated_at: float
    acknowledged_by: str | None
    acknowledged_at: float | None
    resolved_at: float | None

    @classmethod
    def of(cls, incident: Incident) -> IncidentOut:
        """From the domain value."""
        return cls(
            id=incident.id,
            ref=incident.ref,
            title=incident.title,
            severity=incident.severity,
            status=incident.status,
            group_key=incident.group_key,
            created_at=incident.created_at,
            updated_at=incident.updated_at,
            acknowledged_by=incident.acknowledged_by,
            acknowledged_at=incident.acknowledged_at,
            resolved_at=incident.resolved_at,
        )


class TimelineEntryOut(BaseModel):
    """One timeline entry as the API shows it."""

    id: int | None
    at: float
    kind: str
    actor: str
    text: str
    data: dict[str, str]

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineEntryOut:
        """From the domain value."""
        return cls(
            id=entry.id,
            at=entry.at,
            kind=entry.kind,
            actor=entry.actor,
            text=entry.text,
            data=dict(entry.data),
        )
