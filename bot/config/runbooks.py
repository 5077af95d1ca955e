"""Runbook files: loading, validation and lint.

Every ``*.yaml`` in the runbooks directory is one :class:`~bot.core.runbooks.Runbook`. Errors name
the file, the step and the field, e.g.
``runbooks/bad-deploy.yaml: step 'roll-back' (steps[3]).action.kind: expected: …``. Lint also
warns about runbooks that match rule names the bot does not evaluate itself (they can still match
an Alertmanager alert of that name).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.config.files import (
    Duration,
    config_error,
    describe_problem,
    format_location,
    read_yaml,
)
from bot.core.absence import NO_METRICS_RULE, NOT_REPORTING_RULE, PARTITION_RULE
from bot.core.approvals import ApprovalPolicy, Role, RolePolicy
from bot.core.engine import EngineConfig
from bot.core.errors import ConfigError
from bot.core.event_rules import GPU_LOST_RULE, LOG_BURST_RULE, XID_RULE
from bot.core.guards import GuardPolicy
from bot.core.runbooks import STEP_KINDS, Runbook

RUNBOOKS_DIR = Path(__file__).parents[2] / "runbooks"
REMEDIATION_DEFAULT = Path(__file__).parent / "defaults" / "remediation.yaml"
SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "schemas" / "runbook.schema.json"
BUILT_IN_RULES = frozenset(
    {
        XID_RULE,
        GPU_LOST_RULE,
        LOG_BURST_RULE,
        NOT_REPORTING_RULE,
        NO_METRICS_RULE,
        PARTITION_RULE,
    }
)


@dataclass(frozen=True, slots=True)
class LintReport:
    """What ``gpuwarden runbooks lint`` found: errors (each fatal) and warnings."""

    runbooks: tuple[Runbook, ...]
    errors: tuple[ConfigError, ...]
    warnings: tuple[str, ...]


def load_runbooks(directory: Path | None = None) -> tuple[Runbook, ...]:
    """Every runbook of ``directory`` (default: the shipped ones); the first error raises."""
    report = lint_runbooks(directory)
    if report.errors:
        raise report.errors[0]
    return report.runbooks


def lint_runbooks(
    directory: Path | None = None, *, engine: EngineConfig | None = None
) -> LintReport:
    """Validate every runbook file; with ``engine``, warn about rule names it does not know."""
    folder = directory or RUNBOOKS_DIR
    files = sorted(folder.glob("*.yaml"))
    if not files:
        error = ConfigError(
            source=str(folder), key="(directory)", expected="at least one runbook *.yaml file"
        )
        return LintReport((), (error,), ())
    runbooks: list[Runbook] = []
    errors: list[ConfigError] = []
    for path in files:
        try:
            runbooks.append(load_runbook(path))
        except ConfigError as exc:
            errors.append(exc)
    errors += _repeated_names(runbooks, folder)
    warnings = _unknown_rules(runbooks, engine) if engine is not None else []
    return LintReport(tuple(runbooks), tuple(errors), tuple(warnings))


def load_runbook(path: Path) -> Runbook:
    """One runbook file; a ConfigError names the file, the step and the field."""
    data = read_yaml(path)
    try:
        runbook = Runbook.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise runbook_error(str(path), data, exc) from exc
    if runbook.name != path.stem:
        raise ConfigError(
            source=str(path),
            key="name",
            expected=f"the file's name without .yaml ({path.stem!r}), got {runbook.name!r}",
        )
    return runbook


def runbook_error(source: str, data: object, exc: ValidationError) -> ConfigError:
    """A ConfigError for the first problem, naming the step by its id and its index."""
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):  # noqa: PLR2004
        index = loc[1]
        rest = loc[3:] if len(loc) > 2 and loc[2] in STEP_KINDS else loc[2:]  # noqa: PLR2004
        step = f"step {_step_id(data, index)!r} (steps[{index}])"
        key = step + (f".{format_location(rest)}" if rest else "")
    else:
        key = format_location(loc) or "(top level)"
    return ConfigError(source=source, key=key, expected=describe_problem(first))


def runbook_schema() -> dict[str, Any]:
    """The JSON schema of a runbook file (published as docs/schemas/runbook.schema.json)."""
    schema = Runbook.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://gpuwarden.dev/schemas/runbook.schema.json",
        **schema,
    }


def schema_text() -> str:
    """The published schema file's exact text."""
    return json.dumps(runbook_schema(), indent=2, sort_keys=True) + "\n"


def known_rules(engine: EngineConfig) -> frozenset[str]:
    """Names of the alert rules the bot evaluates itself."""
    names: Iterable[str] = (
        *(r.name for r in engine.thresholds),
        *(r.name for r in engine.anomalies),
        *(r.name for r in engine.peers),
    )
    return frozenset(names) | BUILT_IN_RULES


def _step_id(data: object, index: int) -> str:
    if isinstance(data, Mapping):
        steps = data.get("steps")
        if isinstance(steps, list) and index < len(steps) and isinstance(steps[index], Mapping):
            return str(steps[index].get("id", "?"))
    return "?"


def _repeated_names(runbooks: list[Runbook], folder: Path) -> list[ConfigError]:
    names = [r.name for r in runbooks]
    return [
        ConfigError(
            source=str(folder), key="name", expected=f"unique runbook names, {n!r} repeated"
        )
        for n in sorted({n for n in names if names.count(n) > 1})
    ]


def _unknown_rules(runbooks: list[Runbook], engine: EngineConfig) -> list[str]:
    known = known_rules(engine)
    return [
        f"{runbook.name}: match.rules: {rule!r} is no rule of rules.yaml nor a built-in rule; "
        "it matches only an Alertmanager alert of that name"
        for runbook in runbooks
        for rule in runbook.match.rules
        if rule not in known
    ]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Members(_Strict):
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


class _Approvals(_Strict):
    ttl: Duration = Field(default=900.0, gt=0)
    high_risk_approvers: int = Field(default=2, ge=2, description="the two-person rule")


class _Guards(_Strict):
    kill_switch: bool = False
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=10, ge=1)
    max_step: int = Field(default=4, ge=1)
    gpu_headroom: float = Field(default=0.2, ge=0, lt=1)
    cooldown: Duration = Field(default=300.0, ge=0)
    breaker_failures: int = Field(default=3, ge=1)
    breaker_window: Duration = Field(default=1800.0, gt=0)


class RemediationFile(_Strict):
    """``remediation.yaml``: roles, approval policy and guard rails."""

    roles: dict[Role, _Members] = Field(default_factory=dict)
    approvals: _Approvals = _Approvals()
    guards: _Guards = _Guards()


@dataclass(frozen=True, slots=True)
class RemediationConfig:
    """What ``remediation.yaml`` configures, as pure values."""

    roles: RolePolicy
    approvals: ApprovalPolicy
    guards: GuardPolicy


def load_remediation(config_dir: Path | None) -> RemediationConfig:
    """``remediation.yaml`` from ``config_dir``, else the shipped default."""
    path = config_dir / "remediation.yaml" if config_dir is not None else None
    if path is None or not path.exists():
        path = REMEDIATION_DEFAULT
    try:
        spec = RemediationFile.model_validate(read_yaml(path) or {})
    except ValidationError as exc:
        raise config_error(str(path), exc) from exc
    g = spec.guards
    if g.min_replicas > g.max_replicas:
        raise ConfigError(
            source=str(path), key="guards.min_replicas", expected="at most guards.max_replicas"
        )
    return RemediationConfig(
        roles=RolePolicy(
            users={role: frozenset(m.users) for role, m in spec.roles.items()},
            groups={role: frozenset(m.groups) for role, m in spec.roles.items()},
        ),
        approvals=ApprovalPolicy(
            ttl_s=spec.approvals.ttl, high_risk_approvers=spec.approvals.high_risk_approvers
        ),
        guards=GuardPolicy(
            kill_switch=g.kill_switch,
            min_replicas=g.min_replicas,
            max_replicas=g.max_replicas,
            max_step=g.max_step,
            gpu_headroom=g.gpu_headroom,
            cooldown_s=g.cooldown,
            breaker_failures=g.breaker_failures,
            breaker_window_s=g.breaker_window,
        ),
    )
