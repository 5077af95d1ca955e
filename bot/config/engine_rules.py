"""rules.yaml entries beyond thresholds: anomaly rules and derived signals."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.core.anomaly import DEFAULT_ALERT_THRESHOLD
from bot.core.anomaly_rules import AnomalyRule
from bot.core.derived_rules import KINDS, DerivedRule
from bot.core.incidents import Severity

_NAME = r"^[a-z][a-z0-9_]*$"


class AnomalyRuleSpec(BaseModel):
    """One ``type: anomaly`` rule: alert when a series leaves its own learnt baseline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME)
    type: Literal["anomaly"]
    metric: str
    threshold: float = Field(default=DEFAULT_ALERT_THRESHOLD, gt=0, lt=1)
    recover: float = Field(default=0.5, ge=0, lt=1)
    for_samples: int = Field(default=2, ge=1, le=100)
    match: dict[str, str] = Field(default_factory=dict)
    severity: Severity = Severity.P3

    def to_rule(self) -> AnomalyRule:
        """The pure rule value."""
        return AnomalyRule(
            name=self.name,
            metric=self.metric,
            threshold=self.threshold,
            recover=self.recover,
            for_samples=self.for_samples,
            match=tuple(sorted(self.match.items())),
            severity=self.severity,
        )


class DerivedRuleSpec(BaseModel):
    """One ``type: derived`` entry: samples of ``metric`` become samples of ``output``.

    The kinds are those of :mod:`bot.core.derived_rules` (which says what each reads and writes).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME)
    type: Literal["derived"]
    kind: str
    metric: str
    output: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    match: dict[str, str] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in KINDS:
            msg = f"one of {', '.join(KINDS)}"
            raise ValueError(msg)
        return kind

    def to_rule(self) -> DerivedRule:
        """The pure rule value."""
        return DerivedRule(
            self.name, self.kind, self.metric, self.output, tuple(sorted(self.match.items()))
        )
