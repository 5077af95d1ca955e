"""YAML configuration files: rules, SLA policy, on-call schedules, escalation and permissions.

Each file is validated by a pydantic schema and turned into the pure values of ``bot.core``.
Every error names the file, the key and what was expected, e.g.
``rules.yaml: rules[0].warn: expected a number, got 'high'``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config.engine_rules import AnomalyRuleSpec, DerivedRuleSpec
from bot.core.engine import EngineConfig
from bot.core.errors import ConfigError
from bot.core.escalation import EscalationLevel, EscalationPolicy, Target, TargetKind
from bot.core.incidents import Severity
from bot.core.matchers import Matcher
from bot.core.oncall import Layer, Override, Restriction, Schedule
from bot.core.policy import AccessPolicy, SeverityPolicy, SlaPolicy
from bot.core.silences import MaintenanceWindow
from bot.core.thresholds import ORDER, Direction, ThresholdRule

DEFAULTS_DIR = Path(__file__).parent / "defaults"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds from a number or a string such as ``"30s"``, ``"5m"``, ``"1h"``, ``"7d"``."""
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        msg = f"expected a duration such as 30s, 5m, 1h or 7d, got {value!r}"
        raise ValueError(msg)
    return float(match.group(1)) * _UNIT_S[match.group(2) or "s"]


Duration = Annotated[float, BeforeValidator(parse_duration)]


def every_severity(value: dict[Severity, T]) -> dict[Severity, T]:
    """Check that a per-severity mapping defines P1, P2 and P3."""
    missing = [s.value for s in Severity if s not in value]
    if missing:
        msg = f"expected every severity P1, P2, P3 to be defined; missing {', '.join(missing)}"
        raise ValueError(msg)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ForDurations(_Strict):
    warn: Duration = 0.0
    crit: Duration = 0.0


class _Severities(_Strict):
    warn: Severity = Severity.P3
    crit: Severity = Severity.P3


class ThresholdRuleSpec(_Strict):
    """One ``type: threshold`` rule in rules.yaml."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: Literal["threshold"]
    metric: str
    direction: Direction = Direction.ABOVE  # before the values: their check reads it
    warn: float
    crit: float
    recover: float
    for_: _ForDurations = Field(default_factory=_ForDurations, alias="for")
    group_by: tuple[str, ...] = ()
    match: dict[str, str] = Field(default_factory=dict)
    severity: _Severities = Field(default_factory=_Severities)
    summary: str = "{metric} at {value:.2f} on {labels}"
    query: str | None = None

    @field_validator("crit", "recover")
    @classmethod
    def _ordered(cls, value: float, info: ValidationInfo) -> float:
        """Crit at or beyond warn, recover strictly on the good side of it (see ORDER)."""
        data, name = info.data, info.field_name
        warn, direction = data.get("warn"), data.get("direction", Direction.ABOVE)
        if warn is None:  # warn itself is invalid: reported on its own
            return value
        above = direction is Direction.ABOVE
        if name == "crit":
            ordered = value >= warn if above else value <= warn
        else:
            ordered = value < warn if above else value > warn
        if not ordered:
            hint = "; set `direction: below` where lower is worse" if above else ""
            msg = (
                f"rule {data.get('name')!r}: expected {ORDER[direction]} (direction: "
                f"{direction}), got {name}={value} with warn={warn}{hint}"
            )
            raise ValueError(msg)
        return value

    @field_validator("query")
    @classmethod
    def _promql(cls, query: str | None, info: ValidationInfo) -> str | None:
        name = info.data.get("name")
        if query is not None and not query.strip():
            msg = f"rule {name!r}: a non-empty PromQL expression"
            raise ValueError(msg)
        if query is not None and info.data.get("match"):
            msg = f"rule {name!r}: no `match` beside `query`; select the series in the query"
            raise ValueError(msg)
        return query

    def to_rule(self) -> ThresholdRule:
        """The pure rule value."""
        return ThresholdRule(
            name=self.name,
            metric=self.metric,
            warn=self.warn,
            crit=self.crit,
            recover=self.recover,
            for_warn_s=self.for_.warn,
            for_crit_s=self.for_.crit,
            group_by=self.group_by,
            match=tuple(sorted(self.match.items())),
            severity_warn=self.severity.warn,
            severity_crit=self.severity.crit,
            summary=self.summary,
            query=self.query,
            direction=self.direction,
        )


RULE_TYPES = frozenset({"threshold", "anomaly", "derived"})
RuleSpec = Annotated[
    ThresholdRuleSpec | AnomalyRuleSpec | DerivedRuleSpec, Field(discriminator="type")
]


class RulesFile(_Strict):
    """rules.yaml."""

    def engine(self) -> EngineConfig:
        """Every rule, as the alert engine's configuration."""
        return EngineConfig(
            thresholds=tuple(r.to_rule() for r in self.rules if isinstance(r, ThresholdRuleSpec)),
            anomalies=tuple(r.to_rule() for r in self.rules if isinstance(r, AnomalyRuleSpec)),
            derived=tuple(r.to_rule() for r in self.rules if isinstance(r, DerivedRuleSpec)),
        )

    rules: list[RuleSpec]

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[RuleSpec]) -> list[RuleSpec]:
        names = [r.name for r in rules]
        for rule in rules:
            if names.count(rule.name) > 1:
                msg = f"rule name {rule.name!r} is used more than once; names must be unique"
                raise ValueError(msg)
        return rules


class _SeveritySpec(_Strict):
    description: str
    ack: Duration = Field(gt=0)
    resolve: Duration = Field(gt=0)
    goal: Literal["restore", "mitigate", "root-cause"]
    action: str


class SlaFile(_Strict):
    """sla.yaml."""

    severities: dict[Severity, _SeveritySpec]
    reminders: tuple[Annotated[float, Field(gt=0, lt=1)], ...] = (0.5, 0.8)

    _all_levels = field_validator("severities")(every_severity)

    def to_policy(self) -> SlaPolicy:
        """The pure policy value."""
        levels = tuple(
            SeverityPolicy(sev, s.description, s.ack, s.resolve, s.goal, s.action)
            for sev, s in sorted(self.severities.items())
        )
        return SlaPolicy(levels, self.reminders)


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = f"expected an IANA time zone such as Europe/Berlin, got {value!r}"
        raise ValueError(msg) from exc
    return value


def _whole_days(value: object) -> int:
    seconds = parse_duration(value)
    days = seconds / 86400.0
    if days < 1 or not days.is_integer():
        msg = f"expected a whole number of days such as '1d' or '7d', got {value!r}"
        raise ValueError(msg)
    return int(days)


TimeZone = Annotated[str, AfterValidator(_known_zone)]
Days = Annotated[int, BeforeValidator(_whole_days)]


class _RestrictionSpec(_Strict):
    days: tuple[Weekday, ...] = Field(min_length=1)
    start: time
    end: time

    def to_restriction(self) -> Restriction:
        weekdays = frozenset(_WEEKDAYS.index(day) for day in self.days)
        return Restriction(weekdays, self.start, self.end)


class _LayerSpec(_Strict):
    users: tuple[str, ...] = Field(min_length=1)
    every: Days
    handoff: time
    timezone: TimeZone = "UTC"
    start: date
    restrictions: tuple[_RestrictionSpec, ...] = ()

    def to_layer(self) -> Layer:
        return Layer(
            users=self.users,
            every_days=self.every,
            handoff=self.handoff,
            timezone=self.timezone,
            start=self.start,
            restrictions=tuple(r.to_restriction() for r in self.restrictions),
        )


class _OverrideSpec(_Strict):
    user: str
    start: datetime  # without an offset: UTC
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> _OverrideSpec:
        if _unix(self.end) <= _unix(self.start):
            msg = f"expected an override to end after it starts, got {self.start} to {self.end}"
            raise ValueError(msg)
        return self

    def to_override(self) -> Override:
        return Override(self.user, _unix(self.start), _unix(self.end))


def _unix(at: datetime) -> float:
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


_SHORTHAND = ("users", "every", "handoff", "start")


class _ScheduleSpec(_Strict):
    """A schedule: ``layers`` (later ones win), or one rotation's keys as a one-layer shorthand."""

    name: str
    layers: tuple[_LayerSpec, ...] | None = Field(default=None, min_length=1)
    overrides: tuple[_OverrideSpec, ...] = ()
    # the one-layer shorthand (the original flat form of oncall.yaml)
    users: tuple[str, ...] | None = Field(default=None, min_length=1)
    every: Days | None = None
    handoff: time | None = None
    timezone: TimeZone | None = None
    start: date | None = None
    restrictions: tuple[_RestrictionSpec, ...] = ()

    @model_validator(mode="after")
    def _layers_or_shorthand(self) -> _ScheduleSpec:
        given = [key for key in (*_SHORTHAND, "timezone") if getattr(self, key) is not None]
        if self.restrictions:
            given.append("restrictions")
        if self.layers is not None and given:
            msg = f"expected either `layers` or the one-layer keys, not both (got {given[0]!r})"
            raise ValueError(msg)
        missing = [key for key in _SHORTHAND if getattr(self, key) is None]
        if self.layers is None and missing:
            msg = f"expected `layers`, or {', '.join(_SHORTHAND)} for one rotation; missing "
            raise ValueError(msg + ", ".join(missing))
        return self

    def to_schedule(self) -> Schedule:
        """The pure schedule value."""
        if self.layers is not None:
            layers = tuple(layer.to_layer() for layer in self.layers)
        else:
            assert self.users is not None  # the validator made sure of all four
            assert self.every is not None
            assert self.handoff is not None
            assert self.start is not None
            one = _LayerSpec.model_construct(
                users=self.users,
                every=self.every,
                handoff=self.handoff,
                timezone=self.timezone or "UTC",
                start=self.start,
                restrictions=self.restrictions,
            )
            layers = (one.to_layer(),)
        return Schedule(self.name, layers, tuple(o.to_override() for o in self.overrides))


class OncallFile(_Strict):
    """oncall.yaml."""

    schedules: list[_ScheduleSpec] = Field(min_length=1)

    @field_validator("schedules")
    @classmethod
    def _unique_names(cls, schedules: list[_ScheduleSpec]) -> list[_ScheduleSpec]:
        names = [s.name for s in schedules]
        for name in names:
            if names.count(name) > 1:
                msg = f"schedule name {name!r} is used more than once; names must be unique"
                raise ValueError(msg)
        return schedules


class _TargetSpec(_Strict):
    """Exactly one of ``user`` (a Slack user id), ``schedule`` or ``group`` (a user group)."""

    user: str | None = None
    schedule: str | None = None
    group: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> _TargetSpec:
        if sum(v is not None for v in (self.user, self.schedule, self.group)) != 1:
            msg = "expected exactly one of user, schedule or group"
            raise ValueError(msg)
        return self

    def to_target(self) -> Target:
        for kind in TargetKind:
            ref = getattr(self, kind.value)
            if ref is not None:
                return Target(kind, ref)
        raise AssertionError  # pragma: no cover  (the validator allows no other case)


class _LevelSpec(_Strict):
    notify: tuple[_TargetSpec, ...] = Field(min_length=1)
    wait: Duration = Field(default=0.0, ge=0)  # before the next level (or the repeat) is paged


class _PolicySpec(_Strict):
    levels: tuple[_LevelSpec, ...] = ()  # none: the severity is posted, never paged
    repeats: int = Field(default=0, ge=0)

    def to_policy(self, name: str) -> EscalationPolicy:
        levels = tuple(
            EscalationLevel(tuple(t.to_target() for t in level.notify), level.wait)
            for level in self.levels
        )
        return EscalationPolicy(name, levels, self.repeats)


class EscalationFile(_Strict):
    """escalation.yaml."""

    severities: dict[Severity, _PolicySpec]

    _all_levels = field_validator("severities")(every_severity)

    def to_policies(self) -> dict[Severity, EscalationPolicy]:
        """The pure policy of each severity."""
        return {sev: spec.to_policy(sev.value) for sev, spec in sorted(self.severities.items())}

    def unknown_schedule(self, known: set[str]) -> tuple[str, str] | None:
        """The key and name of the first schedule target that oncall.yaml does not define."""
        for sev, spec in sorted(self.severities.items()):
            for i, level in enumerate(spec.levels):
                for j, target in enumerate(level.notify):
                    if target.schedule is not None and target.schedule not in known:
                        key = f"severities.{sev.value}.levels[{i}].notify[{j}].schedule"
                        return key, target.schedule
        return None


class RbacFile(_Strict):
    """rbac.yaml."""

    permissions: dict[
        Literal[
            "acknowledge",
            "resolve",
            "escalate",
            "oncall",
            "declare",
            "mitigate",
            "close",
            "severity",
            "assign",
            "note",
            "merge",
            "silence",
        ],
        tuple[str, ...],
    ]

    def to_policy(self) -> AccessPolicy:
        """The pure access policy."""
        return AccessPolicy(tuple((a, frozenset(u)) for a, u in sorted(self.permissions.items())))


def _matcher(text: str) -> Matcher:
    return Matcher.parse(text)  # its ValueError names the matcher and the accepted forms


class _WindowSpec(_Strict):
    name: str = Field(min_length=1)
    matchers: tuple[Annotated[Matcher, BeforeValidator(_matcher)], ...] = Field(min_length=1)
    days: tuple[Weekday, ...] = Field(min_length=1)
    start: time
    end: time
    timezone: TimeZone = "UTC"
    comment: str = ""

    def to_window(self) -> MaintenanceWindow:
        return MaintenanceWindow(
            name=self.name,
            matchers=self.matchers,
            weekdays=frozenset(_WEEKDAYS.index(day) for day in self.days),
            start=self.start,
            end=self.end,
            timezone=self.timezone,
            created_by="maintenance.yaml",
            comment=self.comment,
        )


class MaintenanceFile(_Strict):
    """``maintenance.yaml``: weekly maintenance windows that mute matching alerts."""

    windows: list[_WindowSpec] = Field(default_factory=list)

    @field_validator("windows")
    @classmethod
    def _unique_names(cls, windows: list[_WindowSpec]) -> list[_WindowSpec]:
        names = [w.name for w in windows]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            msg = f"expected unique window names, {', '.join(repeated)} repeated"
            raise ValueError(msg)
        return windows


@dataclass(frozen=True, slots=True)
class BotConfig:
    """Everything the YAML files configure, as pure values."""

    engine: EngineConfig
    sla: SlaPolicy
    schedules: tuple[Schedule, ...]
    escalation: Mapping[Severity, EscalationPolicy]
    access: AccessPolicy
    maintenance: tuple[MaintenanceWindow, ...] = ()

    @property
    def rules(self) -> tuple[ThresholdRule, ...]:
        """The threshold rules (what Prometheus export and PromQL polling deal in)."""
        return self.engine.thresholds


def load_config(config_dir: Path | None) -> BotConfig:
    """Load every file from ``config_dir``, falling back to the shipped defaults per file."""
    engine = load_engine_config(config_dir)
    sla = _load(config_dir, "sla.yaml", SlaFile)
    oncall = _load(config_dir, "oncall.yaml", OncallFile)
    escalation_path = _path(config_dir, "escalation.yaml")
    escalation = _load(config_dir, "escalation.yaml", EscalationFile)
    unknown = escalation.unknown_schedule({s.name for s in oncall.schedules})
    if unknown is not None:
        key, name = unknown
        raise ConfigError(
            source=str(escalation_path),
            key=key,
            expected=f"the name of a schedule in oncall.yaml (got {name!r})",
        )
    rbac = _load(config_dir, "rbac.yaml", RbacFile)
    maintenance = _load(config_dir, "maintenance.yaml", MaintenanceFile)
    return BotConfig(
        engine=engine,
        sla=sla.to_policy(),
        schedules=tuple(s.to_schedule() for s in oncall.schedules),
        escalation=escalation.to_policies(),
        access=rbac.to_policy(),
        maintenance=tuple(w.to_window() for w in maintenance.windows),
    )


def load_engine_config(config_dir: Path | None) -> EngineConfig:
    """The rules of ``rules.yaml`` in ``config_dir`` (or the shipped default)."""
    return _load(config_dir, "rules.yaml", RulesFile).engine()


def _path(config_dir: Path | None, name: str) -> Path:
    """The file in ``config_dir``, else the shipped default."""
    path = config_dir / name if config_dir is not None else None
    return path if path is not None and path.exists() else DEFAULTS_DIR / name


def _load(config_dir: Path | None, name: str, schema: type[M]) -> M:
    path = _path(config_dir, name)
    data = read_yaml(path)
    try:
        return schema.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise config_error(str(path), exc) from exc


def read_yaml(path: Path) -> Any:
    """The YAML document in ``path``; a ConfigError names the file and the bad line."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(document)"
        raise ConfigError(source=str(path), key=where, expected="valid YAML") from exc
    except OSError as exc:
        raise ConfigError(
            source=str(path), key="(file)", expected=f"a readable file: {exc}"
        ) from exc


def config_error(source: str, exc: ValidationError) -> ConfigError:
    """A ConfigError naming the first invalid key of a pydantic validation error."""
    first = exc.errors()[0]
    loc = first["loc"]
    # pydantic names the chosen member of a tagged union (rules[0].threshold.warn): drop it
    shown = tuple(
        part
        for i, part in enumerate(loc)
        if not (part in RULE_TYPES and i > 0 and isinstance(loc[i - 1], int))
    )
    key = format_location(shown) or "(top level)"
    return ConfigError(source=source, key=key, expected=describe_problem(first))


def format_location(loc: tuple[int | str, ...]) -> str:
    """``("rules", 0, "warn")`` → ``rules[0].warn``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe_problem(error: Any) -> str:
    """What was expected, and what was given, in words."""
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] in {"missing", "extra_forbidden"}:
        return "required key is missing" if error["type"] == "missing" else "unknown key"
    given = error.get("input")
    if isinstance(given, dict | list) or given is None:
        return f"expected: {message}"
    return f"expected: {message} (got {given!r})"
