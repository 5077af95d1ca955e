"""Wire schemas of the HTTP API (what agents and clients send and receive)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import InitErrorDetails

from bot.core.incidents import Incident, TimelineEntry
from bot.core.signals import Event, Sample, SeriesKey
from bot.core.thresholds import ThresholdRule
from bot.services.ingest import IngestBatch, gc_paused

_NAME = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
LabelName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]
# how far a reading's timestamp may lie ahead of / behind the bot's clock
MAX_AHEAD_S = 3600.0
MAX_BEHIND_S = 7 * 86400.0
_FAR_FROM_NOW = (
    "expected unix seconds within 7 d before and 1 h after the bot's clock ({now:.0f}); "
    "check the agent host's clock"
)
_NODE_LABEL = "the 'node' label is set by the bot from the batch's 'node'; remove it"
# One key object per series across batches: the alert engine's per-series lookups then match on
# identity instead of comparing labels. Bounded: when full it starts again (keys stay correct).
_SERIES_KEYS: dict[SeriesKey, SeriesKey] = {}
MAX_SERIES_KEYS = 1_000_000


class SampleIn(BaseModel):
    """One reading of one series (its timestamp is checked by :meth:`IngestPayload.from_json`)."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field(pattern=_NAME, max_length=200)
    labels: dict[LabelName, str] = Field(default_factory=dict, max_length=32)
    ts: float
    value: float = Field(allow_inf_nan=False)


class EventIn(BaseModel):
    """A discrete happening on a node (its timestamp is checked by ``from_json``)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern=r"^[a-z][a-z0-9_.]*$", max_length=64)
    ts: float
    labels: dict[str, str] = Field(default_factory=dict, max_length=32)
    message: str = Field(default="", max_length=4096)
    attrs: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=32)


class IngestPayload(BaseModel):
    """A batch from one node's agent; ``batch_id`` makes re-sending it harmless.

    Validate with :meth:`from_json`: the field constraints run inside pydantic-core, and the
    checks that need the bot's clock (or would cost a Python call per sample) run in one pass.
    """

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
        """Validate a JSON body; reading timestamps must lie near ``now`` (the bot's clock).

        Raises ValidationError naming every bad field, e.g. ``samples.3.ts``.
        """
        with gc_paused():  # see gc_paused: thousands of short-lived models per batch
            payload = cls.model_validate_json(raw)
            problems = payload._problems(now)
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, problems)
        return payload

    def _problems(self, now: float) -> list[InitErrorDetails]:
        """Timestamps far from ``now`` and samples that name their own node, as pydantic errors."""
        low, high = now - MAX_BEHIND_S, now + MAX_AHEAD_S
        problems: list[InitErrorDetails] = []
        for i, s in enumerate(self.samples):
            if not low <= s.ts <= high:
                problems.append(_value_error(("samples", i, "ts"), s.ts, _FAR_FROM_NOW, now))
            if "node" in s.labels:
                problems.append(_value_error(("samples", i, "labels", "node"), "node", _NODE_LABEL))
        for i, e in enumerate(self.events):
            if not low <= e.ts <= high:
                problems.append(_value_error(("events", i, "ts"), e.ts, _FAR_FROM_NOW, now))
        return problems

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
                    key = keys[raw] = _shared(
                        SeriesKey.of(s.metric, {**s.labels, "node": self.node})
                    )
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


def _shared(key: SeriesKey) -> SeriesKey:
    """The key object earlier batches used for this series (``key`` itself if none)."""
    if len(_SERIES_KEYS) >= MAX_SERIES_KEYS:
        _SERIES_KEYS.clear()
    return _SERIES_KEYS.setdefault(key, key)


def _value_error(
    loc: tuple[str | int, ...], value: object, text: str, now: float = 0.0
) -> InitErrorDetails:
    """One ``value_error`` at ``loc``, worded as a field validator's would be."""
    return {
        "type": "value_error",
        "loc": loc,
        "input": value,
        "ctx": {"error": ValueError(text.format(now=now))},
    }


class IngestAccepted(BaseModel):
    """Answer to an accepted (or already seen) batch."""

    accepted_samples: int
    accepted_events: int
    duplicate: bool


class WatchLevelOut(BaseModel):
    """One threshold rule's levels, for an agent to check its readings against as it samples."""

    rule: str
    metric: str
    match: dict[str, str]
    warn: float
    crit: float
    recover: float

    @classmethod
    def of(cls, rule: ThresholdRule) -> WatchLevelOut:
        """From a threshold rule."""
        return cls(
            rule=rule.name,
            metric=rule.metric,
            match=dict(rule.match),
            warn=rule.warn,
            crit=rule.crit,
            recover=rule.recover,
        )


class WatchLevelsOut(BaseModel):
    """The levels agents watch, and how many seconds until they should ask again."""

    levels: list[WatchLevelOut]
    refresh_s: float


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
