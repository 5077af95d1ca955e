"""A runbook walk-through as values (pure): what a run shows, and what its probes found.

A :class:`RunView` is everything the incident thread shows about one run: the runbook, where
the run stands, what happened at each step (with probe results and who did what) and the
actions its remediation steps requested. The probe formatters turn what the cluster, Prometheus
or the bot's latest readings report into the short text stored with the step and shown in
Slack; :func:`evaluate` answers the simple PromQL a runbook uses (an optionally aggregated
selector such as ``max(metric{node="n1"})``) from the readings the bot keeps, for a bot without
Prometheus.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot import messages
from bot.core.approvals import FINAL_STATES, ActionRecord, ActionState
from bot.core.cluster import ClusterEvent, NodeCapacity, PodStatus, RolloutRevision
from bot.core.matchers import Matcher, matches_all
from bot.core.runbooks import Branch, Runbook, RunbookRun, StepOutcome, StepRecord
from bot.core.signals import Sample, SeriesKey

BOT = "gpuwarden"  # the actor of what the bot does by itself
MAX_LINES = 12  # lines of one probe result kept
GPU_PREFIX = "gpuwarden_gpu_"
_SELECTOR = re.compile(
    r"^\s*(?:(?P<agg>max|min|sum|avg|count)\s*\(\s*)?"
    r"(?P<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(?P<matchers>[^}]*)\})?\s*"
    r"(?(agg)\))\s*$"
)
_OUTCOME = {
    StepOutcome.DONE: "done",
    StepOutcome.SKIPPED: "skipped",
    StepOutcome.NOT_APPLICABLE: "not applicable",
    StepOutcome.PROBED: "probe ran",
}
_MATCHER_SPLIT = re.compile(r",\s*(?=[A-Za-z_]\w*\s*(?:=~|!~|!=|=))")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one probe found: readable lines, and the number a decision may branch on."""

    lines: tuple[str, ...]
    value: float | None = None

    def text(self) -> str:
        """The lines, at most :data:`MAX_LINES` of them."""
        shown = list(self.lines[:MAX_LINES])
        if len(self.lines) > MAX_LINES:
            shown.append(messages.RUNBOOK_MORE_LINES.format(count=len(self.lines) - MAX_LINES))
        return "\n".join(shown) or messages.RUNBOOK_PROBE_EMPTY

    def detail(self) -> tuple[tuple[str, str], ...]:
        """The pairs stored with the step record."""
        value = () if self.value is None else (("value", repr(self.value)),)
        return (("result", self.text()), *value)


@dataclass(frozen=True, slots=True)
class RunView:
    """One run as the thread shows it."""

    incident_ref: str
    run: RunbookRun
    runbook: Runbook
    records: tuple[StepRecord, ...]
    actions: tuple[ActionRecord, ...]
    context: Mapping[str, str] = field(default_factory=dict)  # placeholder values
    approvals: Mapping[int, tuple[str, ...]] = field(default_factory=dict)  # action → approvers

    def approvers(self, action: ActionRecord) -> tuple[str, ...]:
        """Who approved ``action`` so far."""
        return self.approvals.get(action.id, ())

    def fill(self, template: str) -> str:
        """``template`` with the placeholders it can fill (the others stay as they are)."""
        return string.Template(template).safe_substitute(self.context)

    def record_of(self, step_id: str) -> StepRecord | None:
        """The latest record of a step, if it was passed."""
        return next((r for r in reversed(self.records) if r.step == step_id), None)

    def action_of(self, step_id: str) -> ActionRecord | None:
        """The latest action requested at a step."""
        return latest_action(self.actions, step_id)

    def fingerprint(self) -> tuple[int, tuple[tuple[int, int], ...]]:
        """Changes whenever what the view shows changes."""
        return self.run.version, tuple((a.id, a.version) for a in self.actions)

    def undo_of(self, action: ActionRecord) -> ActionRecord | None:
        """The latest undo requested for ``action``."""
        undos = [a for a in self.actions if a.undo_of == action.id]
        return max(undos, key=lambda a: a.id) if undos else None


def latest_action(actions: Iterable[ActionRecord], step_id: str) -> ActionRecord | None:
    """The newest action a step requested (undos of it are not the step's own)."""
    mine = [a for a in actions if a.step == step_id and a.undo_of is None]
    return max(mine, key=lambda a: a.id) if mine else None


def branch_value(branch: Branch, goto: str) -> float:
    """A value that leads ``branch`` to ``goto``: a responder's pick when its probe found none."""
    bound = branch.above if branch.above is not None else branch.below or 0.0
    beyond = bound + 1.0 if branch.above is not None else bound - 1.0
    return beyond if goto == branch.then else bound


def action_key(run_id: int, step_id: str, actions: Sequence[ActionRecord]) -> str:
    """The idempotency key of the next request at a step: one per attempt.

    A request still open (or one that succeeded) keeps the key of its attempt, so that double
    clicks and retries get it back; after one that ended without effect a new attempt starts.
    """
    mine = [a for a in actions if a.step == step_id]
    tried = sum(1 for a in mine if a.state in FINAL_STATES and a.state is not ActionState.SUCCEEDED)
    return f"runbook:{run_id}:{step_id}:{tried}"


def who(actor: str) -> str:
    """A person as a Slack mention; the bot by its name."""
    return messages.RUNBOOK_BOT if actor == BOT else f"<@{actor}>"


def outcome_text(record: StepRecord) -> str:
    """What happened at a step, for people (``chose “Serving traffic”``, ``ACT-3 executed``)."""
    pairs = dict(record.detail)
    if record.outcome is StepOutcome.CHOSEN:
        choice = pairs.get("choice")
        return messages.RUNBOOK_OUTCOME_CHOSEN.format(choice=choice) if choice else "branched"
    if record.outcome is StepOutcome.EXECUTED:
        return messages.RUNBOOK_OUTCOME_EXECUTED.format(ref=pairs.get("action", ""))
    if record.outcome is StepOutcome.VERIFIED:
        return messages.RUNBOOK_OUTCOME_VERIFIED.format(detail=pairs.get("result", ""))
    if record.outcome is StepOutcome.TIMED_OUT:
        return messages.RUNBOOK_OUTCOME_TIMED_OUT.format(
            minutes=pairs.get("minutes", "?"), detail=pairs.get("result", "")
        )
    return _OUTCOME[record.outcome]


def probe_value(records: Iterable[StepRecord], step_id: str) -> float | None:
    """The number the probe of ``step_id`` found (its latest record), if any."""
    for record in reversed(list(records)):
        if record.step == step_id:
            value = dict(record.detail).get("value")
            return float(value) if value is not None else None
    return None


def entered_at(run: RunbookRun, records: Sequence[StepRecord]) -> float:
    """When the run arrived at its current step (the last record, else the start)."""
    return max((r.at for r in records), default=run.started_at)


# ----------------------------------------------------------------------------- probe formatters


def events_result(events: Sequence[ClusterEvent]) -> ProbeResult:
    """Kubernetes events, newest first."""
    lines = [
        messages.RUNBOOK_EVENT_LINE.format(
            type=e.type, reason=e.reason, involved=e.involved, message=e.message, count=e.count
        )
        for e in events
    ]
    warnings = sum(1 for e in events if e.type == "Warning")
    return ProbeResult(tuple(lines), float(warnings))


def pods_result(pods: Sequence[PodStatus]) -> ProbeResult:
    """Pod status with the last log line of each pod; the value is how many are not ready."""
    lines = []
    for pod in pods:
        lines.append(
            messages.RUNBOOK_POD_LINE.format(
                name=pod.name,
                phase=pod.phase,
                ready="ready" if pod.ready else "not ready",
                restarts=pod.restarts,
                node=pod.node or "-",
                reason=f" ({pod.reason})" if pod.reason else "",
            )
        )
        if pod.log_tail:
            lines.append(messages.RUNBOOK_LOG_LINE.format(line=pod.log_tail[-1]))
    return ProbeResult(tuple(lines), float(sum(1 for p in pods if not p.ready)))


def rollout_result(revisions: Sequence[RolloutRevision]) -> ProbeResult:
    """The last revisions (model/config changes), newest first."""
    lines = [
        messages.RUNBOOK_REVISION_LINE.format(
            revision=r.revision,
            current=messages.RUNBOOK_REVISION_CURRENT if r.current else "",
            images=", ".join(r.images),
            cause=r.change_cause or messages.RUNBOOK_NO_CHANGE_CAUSE,
        )
        for r in revisions
    ]
    return ProbeResult(tuple(lines), float(len(revisions)))


def nodes_result(nodes: Sequence[NodeCapacity]) -> ProbeResult:
    """Nodes with their GPUs; the value is the fleet's free GPUs."""
    lines = [
        messages.RUNBOOK_NODE_LINE.format(
            name=n.name,
            state=("Ready" if n.ready else "NotReady") + (", cordoned" if n.unschedulable else ""),
            free=n.gpus_free,
            gpus=n.gpus,
        )
        for n in nodes
    ]
    return ProbeResult(tuple(lines), float(sum(n.gpus_free for n in nodes)))


def samples_result(samples: Sequence[Sample]) -> ProbeResult:
    """A PromQL answer; the value is its largest element."""
    lines = [
        messages.RUNBOOK_SAMPLE_LINE.format(
            labels=_labels_text(s.series) or s.series.metric or messages.RUNBOOK_SAMPLE_AGGREGATE,
            value=f"{s.value:.4g}",
        )
        for s in samples
    ]
    return ProbeResult(tuple(lines), max((s.value for s in samples), default=None))


def gpu_snapshot_result(latest: Mapping[SeriesKey, tuple[float, float]]) -> ProbeResult:
    """The latest GPU reading of each series, one line per GPU; value: the busiest GPU's load."""
    by_gpu: dict[str, list[str]] = {}
    utilisation: list[float] = []
    for key, (_, value) in sorted(latest.items(), key=lambda kv: kv[0].metric):
        if not key.metric.startswith(GPU_PREFIX):
            continue
        name = key.metric.removeprefix(GPU_PREFIX)
        by_gpu.setdefault(key.label("gpu", "?"), []).append(f"{name} {_human(name, value)}")
        if name == "utilization_ratio":
            utilisation.append(value)
    lines = [
        messages.RUNBOOK_GPU_LINE.format(gpu=gpu, readings=", ".join(readings))
        for gpu, readings in sorted(by_gpu.items(), key=lambda kv: _natural(kv[0]))
    ]
    return ProbeResult(tuple(lines), max(utilisation, default=None))


def _human(name: str, value: float) -> str:
    if name.endswith("_ratio"):
        return f"{value:.0%}"
    if name.endswith("_bytes"):
        return f"{value / 2**30:.1f} GiB"
    if name.endswith("_celsius"):
        return f"{value:.0f} °C"
    if name.endswith("_watts"):
        return f"{value:.0f} W"
    return f"{value:.4g}"


def _natural(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (1 << 30, text)


def _labels_text(series: SeriesKey) -> str:
    return ", ".join(f"{k}={v}" for k, v in series.labels)


# ----------------------------------------------------------------------------- simple PromQL


@dataclass(frozen=True, slots=True)
class Selector:
    """``agg(metric{matchers})``: the PromQL the bot answers from its own readings."""

    metric: str
    matchers: tuple[Matcher, ...]
    aggregation: str | None

    @classmethod
    def parse(cls, promql: str) -> Selector | None:
        """The selector, or None for PromQL beyond it (functions, ranges, operators)."""
        found = _SELECTOR.match(promql)
        if found is None:
            return None
        text = (found.group("matchers") or "").strip().rstrip(",")
        try:
            matchers = tuple(Matcher.parse(m) for m in _MATCHER_SPLIT.split(text) if m.strip())
        except ValueError:
            return None
        return cls(found.group("metric"), matchers, found.group("agg"))


def evaluate(
    selector: Selector,
    latest: Mapping[SeriesKey, tuple[float, float]],
    *,
    now: float,
    stale_s: float,
) -> list[Sample]:
    """The selector over the latest reading of each series (older than ``stale_s``: gone)."""
    hits = [
        Sample(key, ts, value)
        for key, (ts, value) in latest.items()
        if key.metric == selector.metric
        and now - ts <= stale_s
        and matches_all(selector.matchers, dict(key.labels))
    ]
    if selector.aggregation is None or not hits:
        return hits
    values = [s.value for s in hits]
    combined = {
        "max": max(values),
        "min": min(values),
        "sum": sum(values),
        "avg": sum(values) / len(values),
        "count": float(len(values)),
    }[selector.aggregation]
    return [Sample(SeriesKey(""), max(s.ts for s in hits), combined)]
