"""Runbooks as data: the model of a runbook file, matching to alerts, and step progression.

A runbook names the alerts it is for (``match``: rule names, label matchers, severities) and an
ordered list of steps. Each step is one of five kinds:

- **instruction** — a manual check; the responder answers Done, Skip or Not applicable;
- **diagnostic** — a read-only probe the bot runs (PromQL, Kubernetes events, pod status, rollout
  history, nodes, a GPU snapshot); its result is shown in the thread;
- **decision** — a branch, on a responder's choice (``choices``) or on a probe's value
  (``branch``);
- **remediation** — a gated action (``bot.core.actions``), requested, approved, executed once;
- **verify** — wait until a PromQL value is back on the good side of ``recover``; on timeout,
  escalate and go to ``on_timeout``.

Strings may hold ``${placeholders}``, filled from the alert's labels over the runbook's ``vars``.
Steps go to ``next`` (default: the following step; ``end`` finishes the run). The model is
pydantic so that the published JSON schema and ``gpuwarden runbooks lint`` come from one source.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from bot.core.actions import ActionKind
from bot.core.errors import UserError
from bot.core.incidents import Severity
from bot.core.matchers import Matcher, matches_all

END = "end"  # the step id that finishes a run
_SLUG = r"^[a-z0-9][a-z0-9-]*$"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(value: object) -> object:
    if isinstance(value, str):
        found = _DURATION.match(value)
        if found is None:
            msg = f"expected a duration such as 90s, 10m or 1h, got {value!r}"
            raise ValueError(msg)
        return float(found.group(1)) * _UNIT_S[found.group(2) or "s"]
    return value


def _template(value: object) -> object:
    if isinstance(value, str):
        placeholders(value)  # raises ValueError naming the bad brace
    return value


def _matcher(value: str) -> str:
    Matcher.parse(value)  # raises ValueError naming the accepted forms
    return value


Seconds = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]
Template = Annotated[str, BeforeValidator(_template), Field(min_length=1)]
StepId = Annotated[str, Field(pattern=_SLUG, max_length=64)]
LabelMatcher = Annotated[str, AfterValidator(_matcher)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Model):
    """Which alerts a runbook is for; every given part must hold (rules: any of them)."""

    rules: tuple[str, ...] = Field(default=(), description="alert rule names (any of them)")
    labels: tuple[LabelMatcher, ...] = Field(
        default=(), description='label matchers as Alertmanager writes them, e.g. xid=~"79|48"'
    )
    severities: tuple[Severity, ...] = Field(default=(), description="P-levels (any of them)")

    @model_validator(mode="after")
    def _not_everything(self) -> Self:
        if not self.rules and not self.labels:
            msg = "expected at least one rule or label matcher (a runbook for every alert)"
            raise ValueError(msg)
        return self

    def accepts(self, *, rule: str, labels: Mapping[str, str], severity: Severity) -> bool:
        """Whether an alert of ``rule`` with ``labels`` in a ``severity`` incident matches."""
        if self.rules and rule not in self.rules:
            return False
        if self.severities and severity not in self.severities:
            return False
        matchers = [Matcher.parse(text) for text in self.labels]
        return matches_all(matchers, {"alertname": rule, **labels})


class Probe(_Model):
    """A read-only look at the system; exactly one field is set."""

    promql: Template | None = Field(default=None, description="an instant PromQL query")
    events: Template | None = Field(default=None, description="Deployment or node: events")
    pods: Template | None = Field(default=None, description="Deployment: pods and log tails")
    rollout_history: Template | None = Field(
        default=None, description="Deployment: the last 3 revisions (model/config changes)"
    )
    gpu_snapshot: Template | None = Field(
        default=None, description="node: the latest GPU readings the bot has"
    )
    nodes: bool = Field(default=False, description="all nodes with their GPU capacity")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if len(self.chosen()) != 1:
            msg = (
                "expected exactly one of promql, events, pods, rollout_history, gpu_snapshot, nodes"
            )
            raise ValueError(msg)
        return self

    def chosen(self) -> list[str]:
        """Names of the fields that are set."""
        names = ("promql", "events", "pods", "rollout_history", "gpu_snapshot")
        chosen = [name for name in names if getattr(self, name) is not None]
        return [*chosen, "nodes"] if self.nodes else chosen

    @property
    def kind(self) -> str:
        """Which probe this is (``promql``, ``events`` …)."""
        return self.chosen()[0]

    @property
    def subject(self) -> str:
        """The query or target template ("" for ``nodes``)."""
        value = getattr(self, self.kind)
        return value if isinstance(value, str) else ""


class Choice(_Model):
    """One answer a responder may pick at a decision."""

    label: str = Field(min_length=1, max_length=75)
    goto: StepId


class Branch(_Model):
    """Go to ``then`` if a probe's value is above ``above`` (or below ``below``), else ``else``."""

    model_config = ConfigDict(populate_by_name=True)

    probe: StepId = Field(description="id of an earlier promql diagnostic step")
    above: float | None = None
    below: float | None = None
    then: StepId
    otherwise: StepId = Field(alias="else")

    @model_validator(mode="after")
    def _one_bound(self) -> Self:
        if (self.above is None) == (self.below is None):
            msg = "expected exactly one of above, below"
            raise ValueError(msg)
        return self

    def target(self, value: float) -> str:
        """The step a probe value leads to."""
        hit = value > self.above if self.above is not None else value < (self.below or 0.0)
        return self.then if hit else self.otherwise


class ActionSpec(_Model):
    """The action a remediation step requests; parameters as ``bot.core.actions`` takes them."""

    kind: ActionKind
    target: Template = Field(description="namespace/name of a Deployment or Service, or a node")
    replicas: int | None = Field(default=None, ge=0, description="scale: absolute replicas")
    scale_by: int | None = Field(
        default=None, description="scale: replicas to add (negative: remove) to what runs now"
    )
    standby: Template | None = Field(default=None, description="failover: the standby Deployment")
    revision: int | None = Field(
        default=None, ge=1, description="rollback: revision (default: previous)"
    )

    @model_validator(mode="after")
    def _parameters(self) -> Self:
        if self.kind is ActionKind.SCALE and (self.replicas is None) == (self.scale_by is None):
            msg = "scale expects exactly one of replicas, scale_by"
            raise ValueError(msg)
        if self.kind is not ActionKind.SCALE and (self.replicas, self.scale_by) != (None, None):
            msg = f"{self.kind} takes no replicas or scale_by"
            raise ValueError(msg)
        if (self.kind is ActionKind.FAILOVER) != (self.standby is not None):
            msg = "standby is expected for failover, and only there"
            raise ValueError(msg)
        if self.revision is not None and self.kind is not ActionKind.ROLLBACK:
            msg = f"{self.kind} takes no revision"
            raise ValueError(msg)
        return self


class _Step(_Model):
    id: StepId
    title: str = Field(min_length=1, max_length=150)
    text: str = Field(default="", description="what to do or look at (Slack mrkdwn)")
    next: StepId | None = Field(default=None, description="the step after this one; end finishes")

    def exits(self) -> list[str]:
        """Step ids this step may lead to (besides the following one)."""
        return [self.next] if self.next else []


class InstructionStep(_Step):
    """A manual check: Done, Skip or Not applicable."""

    kind: Literal["instruction"]


class DiagnosticStep(_Step):
    """A read-only probe run by the bot."""

    kind: Literal["diagnostic"]
    probe: Probe


class DecisionStep(_Step):
    """A branch on a responder's choice or on a probe's value."""

    kind: Literal["decision"]
    choices: tuple[Choice, ...] = Field(default=(), max_length=5)
    branch: Branch | None = None

    @model_validator(mode="after")
    def _choices_or_branch(self) -> Self:
        if bool(self.choices) == (self.branch is not None):
            msg = "expected either choices or branch"
            raise ValueError(msg)
        return self

    def exits(self) -> list[str]:
        """The choices' and the branch's targets."""
        branch = [self.branch.then, self.branch.otherwise] if self.branch else []
        return [*super().exits(), *(c.goto for c in self.choices), *branch]


class RemediationStep(_Step):
    """A gated action: requested, approved by others, executed once, verified, undoable."""

    kind: Literal["remediation"]
    action: ActionSpec


class VerifyStep(_Step):
    """Wait until the triggering metric has recovered; escalate on timeout.

    With ``query`` and ``recover``: until the query's largest value (smallest, for ``above``) is
    on the good side of ``recover``. Without: until the incident's alerts have resolved, which
    is each rule's own recover value.
    """

    kind: Literal["verify"]
    query: Template | None = Field(default=None, description="instant PromQL query")
    recover: float | None = Field(default=None, description="the value that counts as recovered")
    direction: Literal["below", "above"] = "below"
    timeout: Seconds = 600.0
    escalate: bool = Field(default=True, description="escalate the incident on timeout")
    on_timeout: StepId = Field(default=END, description="the step after a timeout")

    @model_validator(mode="after")
    def _query_with_recover(self) -> Self:
        if (self.query is None) != (self.recover is None):
            msg = "expected query and recover together (or neither: wait for the alerts)"
            raise ValueError(msg)
        return self

    def recovered(self, values: Iterable[float]) -> bool:
        """Whether every value is on the good side of ``recover`` (no values: not yet)."""
        seen = list(values)
        if not seen or self.recover is None:
            return False
        if self.direction == "below":
            return max(seen) <= self.recover
        return min(seen) >= self.recover

    def exits(self) -> list[str]:
        """Also the timeout's step."""
        return [*super().exits(), self.on_timeout]


Step = Annotated[
    InstructionStep | DiagnosticStep | DecisionStep | RemediationStep | VerifyStep,
    Field(discriminator="kind"),
]
STEP_KINDS = ("instruction", "diagnostic", "decision", "remediation", "verify")


class Runbook(_Model):
    """One runbook file."""

    name: StepId = Field(description="unique name, also the file's stem")
    title: str = Field(min_length=1, max_length=150)
    description: str = ""
    owner: str = Field(default="", description="who maintains it (a team or a Slack handle)")
    match: Match
    vars: dict[str, str] = Field(
        default_factory=dict, description="defaults for placeholders the alert labels lack"
    )
    steps: tuple[Step, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _links(self) -> Self:
        ids = [step.id for step in self.steps]
        if repeated := sorted({i for i in ids if ids.count(i) > 1}):
            msg = f"expected unique step ids, {', '.join(repeated)} repeated"
            raise ValueError(msg)
        known = {*ids, END}
        for step in self.steps:
            for goes_to in step.exits():
                if goes_to not in known:
                    msg = f"step {step.id!r} leads to {goes_to!r}, which is no step of this runbook"
                    raise ValueError(msg)
            if isinstance(step, DecisionStep) and step.branch is not None:
                probe = self.step(step.branch.probe) if step.branch.probe in ids else None
                if not isinstance(probe, DiagnosticStep) or probe.probe.kind != "promql":
                    msg = (
                        f"step {step.id!r} branches on {step.branch.probe!r}: "
                        "expected a promql diagnostic step"
                    )
                    raise ValueError(msg)
        return self

    def step(self, step_id: str) -> Step:
        """The step with this id; raises UserError for an unknown one."""
        for step in self.steps:
            if step.id == step_id:
                return step
        msg = f"runbook {self.name} has no step {step_id!r}"
        raise UserError(msg)

    def following(self, step_id: str) -> str:
        """The step after ``step_id`` when it names no ``next`` (``end`` after the last)."""
        step = self.step(step_id)
        if step.next:
            return step.next
        index = self.steps.index(step)
        return self.steps[index + 1].id if index + 1 < len(self.steps) else END

    def actions(self) -> list[ActionSpec]:
        """Every action this runbook's remediation steps request."""
        return [s.action for s in self.steps if isinstance(s, RemediationStep)]


# ----------------------------------------------------------------------------- templates


def placeholders(template: str) -> list[str]:
    """The ``${name}`` (or ``$name``) placeholders in ``template``; ValueError for a bad ``$``.

    ``$`` rather than braces, so that PromQL's ``{label="…"}`` needs no escaping; ``$$`` is a
    literal dollar.
    """
    parsed = string.Template(template)
    if not parsed.is_valid():
        msg = f"expected ${{name}} placeholders ($$ for a literal $) in {template!r}"
        raise ValueError(msg)
    return parsed.get_identifiers()


def render(template: str, context: Mapping[str, str]) -> str:
    """``template`` with its placeholders filled; UserError names a missing one."""
    missing = [name for name in placeholders(template) if not context.get(name)]
    if missing:
        msg = f"this step needs the label {missing[0]!r}, which the incident's alerts lack"
        raise UserError(msg)
    return string.Template(template).substitute(context)


def context_of(runbook: Runbook, labels: Mapping[str, str]) -> dict[str, str]:
    """Placeholder values: the alert's labels over the runbook's ``vars``."""
    return {**runbook.vars, **{k: v for k, v in labels.items() if v}}


# ----------------------------------------------------------------------------- matching


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What matching needs from one alert of an incident."""

    rule: str
    labels: Mapping[str, str]


def match_runbooks(
    runbooks: Iterable[Runbook], *, alerts: Iterable[AlertFacts], severity: Severity
) -> list[tuple[Runbook, AlertFacts]]:
    """Runbooks that fit the incident, each with the first alert it matched, most specific first.

    Specificity: runbooks naming rules before label-only ones, then more label matchers, then
    a severity restriction; ties keep the given order.
    """
    facts = list(alerts)
    found: list[tuple[Runbook, AlertFacts]] = []
    for runbook in runbooks:
        hit = next(
            (
                a
                for a in facts
                if runbook.match.accepts(rule=a.rule, labels=a.labels, severity=severity)
            ),
            None,
        )
        if hit is not None:
            found.append((runbook, hit))
    return sorted(found, key=lambda pair: -_specificity(pair[0].match))


def _specificity(match: Match) -> int:
    return 100 * bool(match.rules) + 10 * len(match.labels) + bool(match.severities)


# ----------------------------------------------------------------------------- progression


class RunState(StrEnum):
    """Where a runbook run stands."""

    ACTIVE = "active"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class StepOutcome(StrEnum):
    """What happened at a step; each kind of step allows some of them."""

    DONE = "done"
    SKIPPED = "skipped"
    NOT_APPLICABLE = "not_applicable"
    PROBED = "probed"
    CHOSEN = "chosen"
    EXECUTED = "executed"
    VERIFIED = "verified"
    TIMED_OUT = "timed_out"


_O = StepOutcome
ALLOWED: dict[str, frozenset[StepOutcome]] = {
    "instruction": frozenset({_O.DONE, _O.SKIPPED, _O.NOT_APPLICABLE}),
    "diagnostic": frozenset({_O.PROBED, _O.SKIPPED}),
    "decision": frozenset({_O.CHOSEN}),
    "remediation": frozenset({_O.EXECUTED, _O.SKIPPED, _O.NOT_APPLICABLE}),
    "verify": frozenset({_O.VERIFIED, _O.TIMED_OUT, _O.SKIPPED}),
}


@dataclass(frozen=True, slots=True)
class RunbookRun:
    """A runbook being walked through in one incident; ``version`` guards compare-and-set."""

    id: int
    incident_id: int
    runbook: str
    step: str
    state: RunState
    started_by: str
    started_at: float
    updated_at: float
    version: int = 1
    slack_ts: str | None = None


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What happened at one step of a run (append-only)."""

    run_id: int
    step: str
    outcome: StepOutcome
    actor: str
    at: float
    detail: tuple[tuple[str, str], ...] = ()
    id: int | None = None


def advance(
    run: RunbookRun,
    runbook: Runbook,
    *,
    step_id: str,
    outcome: StepOutcome,
    actor: str,
    now: float,
    choice: str | None = None,
    value: float | None = None,
    detail: tuple[tuple[str, str], ...] = (),
) -> tuple[RunbookRun, StepRecord]:
    """The run after ``outcome`` at ``step_id``, and the record of it.

    ``step_id`` is the step the person saw: a click on a step the run has left (a double click,
    a Slack retry, an old message) raises UserError and changes nothing. A decision takes
    ``choice`` (a choice's label) or ``value`` (the branch probe's value).
    """
    if run.state is not RunState.ACTIVE:
        msg = f"the runbook {run.runbook} has {run.state}; nothing more to do"
        raise UserError(msg)
    if step_id != run.step:
        msg = f"step {step_id!r} is no longer the current step (now: {run.step!r})"
        raise UserError(msg)
    step = runbook.step(step_id)
    if outcome not in ALLOWED[step.kind]:
        msg = f"a {step.kind} step cannot be marked {outcome}"
        raise UserError(msg)
    following = _after(runbook, step, outcome, choice=choice, value=value)
    record = StepRecord(run.id, step_id, outcome, actor, now, _with_choice(detail, choice))
    state = RunState.COMPLETED if following == END else RunState.ACTIVE
    moved = replace(
        run,
        step="" if following == END else following,
        state=state,
        updated_at=now,
        version=run.version + 1,
    )
    return moved, record


def abandon(run: RunbookRun, *, now: float) -> RunbookRun:
    """The run stopped before its end (the incident was resolved, or a responder stopped it)."""
    if run.state is not RunState.ACTIVE:
        return run
    return replace(run, state=RunState.ABANDONED, updated_at=now, version=run.version + 1)


def _after(
    runbook: Runbook, step: Step, outcome: StepOutcome, *, choice: str | None, value: float | None
) -> str:
    if isinstance(step, VerifyStep) and outcome is StepOutcome.TIMED_OUT:
        return step.on_timeout
    if isinstance(step, DecisionStep):
        return _decided(step, choice=choice, value=value)
    return runbook.following(step.id)


def _decided(step: DecisionStep, *, choice: str | None, value: float | None) -> str:
    if step.branch is not None:
        if value is None:
            msg = f"decision {step.id!r} needs the value of probe {step.branch.probe!r}"
            raise UserError(msg)
        return step.branch.target(value)
    picked = next((c for c in step.choices if c.label == choice), None)
    if picked is None:
        labels = ", ".join(c.label for c in step.choices)
        msg = f"decision {step.id!r}: choose one of {labels}"
        raise UserError(msg)
    return picked.goto


def _with_choice(
    detail: tuple[tuple[str, str], ...], choice: str | None
) -> tuple[tuple[str, str], ...]:
    return detail if choice is None else (*detail, ("choice", choice))
