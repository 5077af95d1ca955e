"""Root-cause evidence, computed without an LLM: the legwork of the seed's five-step method.

From an incident's alerts, the recent samples and events of its node and the changes to what it
runs, :func:`build_evidence` prepares:

1. the metrics that moved together with the trigger (Pearson correlation over the incident
   window, on time buckets, of series that left their own baseline);
2. the log events (and XIDs, lost GPUs, deploys) aligned with the metric anomaly's onset;
3. the last 3 changes to the affected deployments and nodes (rollouts and image versions,
   driver and CUDA versions);
4. a suggested reproduction;
5. ranked hypotheses, each with the evidence that supports it and how to verify it.

Everything here is deterministic; an LLM may only rephrase and reorder the hypotheses.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from bot import messages
from bot.core.alerts import Alert
from bot.core.cluster import RolloutRevision
from bot.core.incidents import Incident, TimelineEntry
from bot.core.signals import HEARTBEAT, Event, SeriesKey
from bot.core.xid import XidAction, xid_info

Points = Sequence[tuple[float, float]]

LOOKBACK_S = 15 * 60.0  # the window starts this long before the first alert began
ALIGN_S = 120.0  # events this close to the onset count as aligned with it
CHANGE_HORIZON_S = 6 * 3600.0  # changes older than this before the onset explain nothing
BUCKETS = 120
MIN_COMMON_BUCKETS = 8
MOVED_TOGETHER_R = 0.7
INFO_LABELS: Mapping[str, tuple[tuple[str, str], ...]] = {  # info series: label → change kind
    "gpuwarden_gpu_info": (("driver_version", "driver"), ("cuda_driver_version", "cuda")),
    "gpuwarden_serving_info": (("image", "image"),),
}
CHANGE_EVENT_KINDS = frozenset({"deploy", "rollout", "change"})
HARDWARE_EVENT_KINDS = frozenset({"xid", "gpu_lost"})
_ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})
MIN_BASELINE = 3  # samples a series needs before the window's first quarter ends
CHANGE_AFTER_S = 60.0  # a change reported this soon after the onset may still explain it


@dataclass(frozen=True, slots=True)
class Change:
    """One change to a deployment or a node: a rollout, an image, a driver or CUDA version."""

    at: float
    target: str  # "deployment/vllm-llama-70b" or "node/gpu-node-1"
    kind: str  # "rollout", "image", "driver", "cuda", "config"
    before: str = ""
    after: str = ""
    cause: str = ""

    @property
    def name(self) -> str:
        """The target without its kind: ``vllm-llama-70b``."""
        return self.target.rsplit("/", 1)[-1]

    def describe(self) -> str:
        """``image of deployment/x: a → b``."""
        what = messages.CHANGE_LINE.format(kind=self.kind, target=self.target)
        if self.before or self.after:
            what += f": {self.before or '?'} → {self.after or '?'}"
        return what + (f" ({self.cause})" if self.cause else "")


@dataclass(frozen=True, slots=True)
class EvidenceInput:
    """What the evidence is built from; the service gathers it, nothing here fetches."""

    incident: Incident
    alerts: Sequence[Alert]
    timeline: Sequence[TimelineEntry]
    series: Mapping[SeriesKey, Points]
    events: Sequence[Event] = ()
    changes: Sequence[Change] = ()
    trigger_metric: str | None = None  # the metric the first alert's rule watches
    now: float = 0.0


@dataclass(frozen=True, slots=True)
class Correlation:
    """A series that moved together with the trigger."""

    series: SeriesKey
    r: float
    onset: float | None


@dataclass(frozen=True, slots=True)
class AlignedEvent:
    """An event of the incident's scope and how far it lies from the anomaly's onset."""

    event: Event
    offset_s: float

    @property
    def text(self) -> str:
        """The event as one line (its message is untrusted text, to be quoted, not obeyed)."""
        attrs = dict(self.event.attrs)
        head = " ".join(v for v in (attrs.get("level", ""), attrs.get("component", "")) if v)
        return f"{self.event.kind} {head}: {self.event.message}".replace("  ", " ")


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """A candidate cause, its score (0-1), what supports it and how to verify it."""

    kind: str
    title: str
    score: float
    support: tuple[str, ...] = ()
    verify: str = ""


@dataclass(frozen=True, slots=True)
class Evidence:
    """The computed five steps for one incident."""

    ref: str
    window: tuple[float, float]
    onset: float
    trigger: SeriesKey | None
    moved_together: tuple[Correlation, ...]
    aligned: tuple[AlignedEvent, ...]
    changes: tuple[Change, ...]
    reproduction: str
    hypotheses: tuple[Hypothesis, ...] = field(default=())


def build_evidence(data: EvidenceInput) -> Evidence:
    """Compute the evidence for ``data.incident`` (see the module docstring)."""
    first = min(data.alerts, key=lambda a: a.started_at, default=None)
    began = first.started_at if first is not None else data.incident.created_at
    end = data.incident.resolved_at or data.now or began
    start = began - LOOKBACK_S
    scope = _scope(first, data.incident)
    series = {k: _within(p, start, end) for k, p in data.series.items() if _in_scope(k, scope)}
    series = {k: p for k, p in series.items() if p}
    if series:  # the history may be shorter than the lookback
        start = max(start, min(p[0][0] for p in series.values()))
    trigger = _trigger(series, first, data.trigger_metric, start, end)
    onset = _onset(series[trigger], start, end) if trigger is not None else None
    onset = began if onset is None else min(onset, began)
    buckets = _Buckets(start, end)
    moved = _moved_together(series, trigger, buckets, start, end)
    events = [
        e
        for e in data.events
        if e.kind != HEARTBEAT and _event_in_scope(e, scope) and start <= e.ts <= end
    ]
    aligned = tuple(
        sorted((AlignedEvent(e, e.ts - onset) for e in events), key=lambda a: abs(a.offset_s))
    )
    affected = _affected(scope, [*series, *(SeriesKey("", a.labels) for a in data.alerts)])
    changes = [*data.changes, *changes_from_events(data.events), *_version_changes(data.series)]
    recent = tuple(
        sorted(
            (c for c in _distinct(changes) if c.at <= end and _affects(c, affected)),
            key=lambda c: -c.at,
        )[:3]
    )
    facts = _Facts(series, trigger, moved, aligned, recent, onset, buckets)
    hypotheses = rank(facts.hypotheses())
    reproduction = _reproduction(hypotheses[0] if hypotheses else None, trigger, recent)
    return Evidence(
        ref=data.incident.ref,
        window=(start, end),
        onset=onset,
        trigger=trigger,
        moved_together=moved,
        aligned=aligned[:10],
        changes=recent,
        reproduction=reproduction,
        hypotheses=hypotheses,
    )


def rank(hypotheses: Iterable[Hypothesis]) -> tuple[Hypothesis, ...]:
    """Highest score first; ties keep their order."""
    return tuple(sorted(hypotheses, key=lambda h: -h.score))


def changes_from_rollouts(target: str, revisions: Sequence[RolloutRevision]) -> list[Change]:
    """A Deployment's rollout history as changes: each revision against the one before it."""
    ordered = sorted(revisions, key=lambda r: r.revision)
    return [
        Change(
            at=new.created,
            target=target,
            kind="image" if new.images != old.images else "rollout",
            before=", ".join(old.images),
            after=", ".join(new.images),
            cause=new.change_cause or "",
        )
        for old, new in pairwise(ordered)
        if new.created is not None
    ]


def changes_from_events(events: Iterable[Event]) -> list[Change]:
    """Deploy / rollout / change events as changes (attrs ``previous_image`` → ``image``, …)."""
    out = []
    for event in events:
        if event.kind not in CHANGE_EVENT_KINDS:
            continue
        attrs = dict(event.attrs)
        kind = attrs.get("change", "image" if "image" in attrs else event.kind)
        out.append(
            Change(
                at=event.ts,
                target=attrs.get("target") or f"node/{dict(event.labels).get('node', '')}",
                kind=kind,
                before=attrs.get("before", attrs.get(f"previous_{kind}", "")),
                after=attrs.get("after", attrs.get(kind, "")),
            )
        )
    return out


def _version_changes(series: Mapping[SeriesKey, Points]) -> list[Change]:
    """Version changes seen in info series: a node's driver, CUDA or serving image changed."""
    seen: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for key, points in series.items():
        for label, kind in INFO_LABELS.get(key.metric, ()):
            version = key.label(label)
            if version and points:
                seen.setdefault((key.label("node"), kind), []).append((points[0][0], version))
    out = []
    for (node, kind), firsts in seen.items():
        by_version: dict[str, float] = {}
        for at, version in sorted(firsts):
            by_version.setdefault(version, at)
        ordered = sorted(by_version.items(), key=lambda item: item[1])
        out += [
            Change(at=at, target=f"node/{node}", kind=kind, before=old, after=new)
            for (old, _), (new, at) in pairwise(ordered)
        ]
    return out


def _distinct(changes: Iterable[Change]) -> list[Change]:
    """One change per (target, kind, before, after): the earliest report of it."""
    first: dict[tuple[str, str, str, str], Change] = {}
    for change in sorted(changes, key=lambda c: c.at):
        first.setdefault((change.target, change.kind, change.before, change.after), change)
    return list(first.values())


# ---------------------------------------------------------------- scope


def _scope(alert: Alert | None, incident: Incident) -> dict[str, str]:
    """The labels that say where the incident is: node, and gpu when the alert has one."""
    labels = dict(alert.labels) if alert is not None else {}
    scope = {k: labels[k] for k in ("node",) if labels.get(k)}
    if not scope and incident.group_key.startswith("node:"):
        scope["node"] = incident.group_key.removeprefix("node:")
    return scope


def _in_scope(key: SeriesKey, scope: Mapping[str, str]) -> bool:
    return all(key.label(k, v) == v for k, v in scope.items())


def _hardware_fault(event: Event) -> bool:
    """A lost GPU, or an XID the table does not call an application's own (13, 31, 43, 94 …)."""
    if event.kind not in HARDWARE_EVENT_KINDS:
        return False
    if event.kind != "xid":
        return True
    try:
        code = int(dict(event.attrs).get("xid", ""))
    except ValueError:
        return True  # an XID without a readable code: the hardware is not ruled out
    return xid_info(code).action not in _APPLICATION_XID_ACTIONS


_APPLICATION_XID_ACTIONS = frozenset({XidAction.RESTART_APP_ONLY, XidAction.NONE})


def _event_in_scope(event: Event, scope: Mapping[str, str]) -> bool:
    labels = dict(event.labels)
    return all(labels.get(k, v) == v for k, v in scope.items())


def _affected(scope: Mapping[str, str], keys: Iterable[SeriesKey]) -> set[str]:
    """Names of what the incident touches: its node, deployments, pods and models."""
    names = set(scope.values())
    for key in keys:
        names.update(v for k, v in key.labels if k in {"deployment", "pod", "model_name"} and v)
    return names


def _affects(change: Change, affected: set[str]) -> bool:
    name = change.name
    return name in affected or any(n.startswith(f"{name}-") for n in affected)


def _within(points: Points, start: float, end: float) -> list[tuple[float, float]]:
    return [(t, v) for t, v in points if start <= t <= end and math.isfinite(v)]


# ---------------------------------------------------------------- statistics


def _trigger(
    series: Mapping[SeriesKey, Points],
    alert: Alert | None,
    metric: str | None,
    start: float,
    end: float,
) -> SeriesKey | None:
    """The series the first alert fired on; else the one that left its baseline the most."""
    labels = dict(alert.labels) if alert is not None else {}
    candidates = [
        k
        for k in series
        if k.metric == metric and all(k.label(n, v) == v for n, v in labels.items())
    ]
    pool = candidates or list(series)
    if not pool:
        return None
    return max(pool, key=lambda k: (_shift(series[k], start, end), k.metric, k.labels))


def _baseline(points: Points, start: float, end: float) -> list[float]:
    cut = start + (end - start) * 0.25
    return [v for t, v in points if t <= cut]


def _band(values: Sequence[float]) -> tuple[float, float]:
    """Median and a noise half-width (4 robust standard deviations, never zero)."""
    centre = statistics.median(values)
    mad = statistics.median(abs(v - centre) for v in values)
    return centre, max(4 * 1.4826 * mad, 1e-9 * abs(centre), 1e-12)


def _shift(points: Points, start: float, end: float) -> float:
    """How far the series' late values lie from its baseline, in noise half-widths."""
    base = _baseline(points, start, end)
    if len(base) < MIN_BASELINE or len(points) < 2:  # noqa: PLR2004  # a series that appeared with the incident
        return 1.0 if points and points[0][0] > start + (end - start) * 0.25 else 0.0
    centre, width = _band(base)
    return abs(points[-1][1] - centre) / width


def _onset(points: Points, start: float, end: float, *, persist: int = 3) -> float | None:
    """When the series left its baseline band and stayed out for ``persist`` samples."""
    base = _baseline(points, start, end)
    if len(base) < MIN_BASELINE:
        return points[0][0] if points else None  # it appeared with the anomaly
    centre, width = _band(base)
    run = 0
    for i, (_, value) in enumerate(points):
        run = run + 1 if abs(value - centre) > width else 0
        if run >= persist:
            return points[i - persist + 1][0]
    return None


@dataclass(frozen=True, slots=True)
class _Buckets:
    start: float
    end: float

    @property
    def step(self) -> float:
        return max((self.end - self.start) / BUCKETS, 1.0)

    def means(self, points: Points) -> dict[int, float]:
        sums: dict[int, list[float]] = {}
        for t, v in points:
            sums.setdefault(int((t - self.start) // self.step), []).append(v)
        return {b: statistics.fmean(vs) for b, vs in sums.items()}


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    if len(xs) < MIN_COMMON_BUCKETS:
        return None
    try:
        return statistics.correlation(xs, ys)
    except statistics.StatisticsError:  # a constant series
        return None


def _moved_together(
    series: Mapping[SeriesKey, Points],
    trigger: SeriesKey | None,
    buckets: _Buckets,
    start: float,
    end: float,
) -> tuple[Correlation, ...]:
    if trigger is None:
        return ()
    reference = buckets.means(series[trigger])
    found = []
    for key, points in series.items():
        if key == trigger or key.metric in INFO_LABELS:
            continue
        onset = _onset(points, start, end)
        if onset is None:
            continue  # never left its own baseline: it did not move
        mine = buckets.means(points)
        common = sorted(reference.keys() & mine.keys())
        r = _pearson([reference[b] for b in common], [mine[b] for b in common])
        if r is not None and abs(r) >= MOVED_TOGETHER_R:
            found.append(Correlation(key, round(r, 3), onset))
    found.sort(key=lambda c: (-abs(c.r), c.series.metric, c.series.labels))
    return tuple(found[:8])


def _spearman_with_time(points: Points) -> float:
    """Rank correlation of the values with time: 1 for a series that only ever grows."""
    if len(points) < MIN_COMMON_BUCKETS:
        return 0.0
    ranks = _ranks([v for _, v in points])
    try:
        return statistics.correlation(list(range(len(ranks))), ranks)
    except statistics.StatisticsError:
        return 0.0


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    for rank, i in enumerate(order):
        ranks[i] = float(rank)
    return ranks


# ---------------------------------------------------------------- hypotheses


@dataclass(frozen=True, slots=True)
class _Facts:
    series: Mapping[SeriesKey, Points]
    trigger: SeriesKey | None
    moved: tuple[Correlation, ...]
    aligned: tuple[AlignedEvent, ...]
    changes: tuple[Change, ...]
    onset: float
    buckets: _Buckets

    def related(self, key: SeriesKey) -> bool:
        """The trigger itself or a series that moved together with it."""
        return key == self.trigger or any(c.series == key for c in self.moved)

    def hypotheses(self) -> list[Hypothesis]:
        found = [*self._changes(), self._leak(), self._saturation(), self._hardware()]
        found.append(self._errors())
        return [h for h in found if h is not None]

    def _changes(self) -> list[Hypothesis]:
        out = []
        for change in self.changes:
            lag = self.onset - change.at
            if not -CHANGE_AFTER_S <= lag <= CHANGE_HORIZON_S:
                continue
            score = 0.05 + 0.9 * math.exp(-max(lag, 0.0) / 1800.0)
            out.append(
                Hypothesis(
                    "change",
                    messages.HYPOTHESIS_CHANGE.format(change=change.describe()),
                    round(score, 3),
                    (messages.SUPPORT_CHANGE_LAG.format(lag=_duration(lag)),),
                    messages.VERIFY_CHANGE.format(target=change.target),
                )
            )
        return out

    def _leak(self) -> Hypothesis | None:
        best: tuple[float, SeriesKey] | None = None
        for key, points in self.series.items():
            if "memory" not in key.metric or "total" in key.metric:
                continue
            growing = [p for p in points if p[0] >= self.onset - self.buckets.step]
            means = sorted(self.buckets.means(growing).items())
            rho = _spearman_with_time(means)
            if len(means) < 2 or means[-1][1] <= means[0][1] or rho < 0.9:  # noqa: PLR2004
                continue
            score = 0.9 * rho * (1.0 if self.related(key) else 0.6)
            if best is None or score > best[0]:
                best = (score, key)
        if best is None:
            return None
        score, key = best
        return Hypothesis(
            "leak",
            messages.HYPOTHESIS_LEAK.format(series=describe_series(key)),
            round(score, 3),
            (messages.SUPPORT_LEAK.format(series=describe_series(key)),),
            messages.VERIFY_LEAK,
        )

    def _saturation(self) -> Hypothesis | None:
        for key, points in self.series.items():
            if "utilization" not in key.metric or not self.related(key):
                continue
            peak = max(self.buckets.means(points).values(), default=0.0)
            if peak >= 0.95:  # noqa: PLR2004 - the seed's critical utilisation
                score = 0.75 if key == self.trigger else 0.6
                return Hypothesis(
                    "saturation",
                    messages.HYPOTHESIS_SATURATION.format(series=describe_series(key)),
                    score,
                    (messages.SUPPORT_SATURATION.format(peak=peak),),
                    messages.VERIFY_SATURATION,
                )
        return None

    def _hardware(self) -> Hypothesis | None:
        hits = [a for a in self.aligned if _hardware_fault(a.event)]
        if not hits:
            return None
        near = [a for a in hits if abs(a.offset_s) <= ALIGN_S]
        first = (near or hits)[0]
        return Hypothesis(
            "hardware",
            messages.HYPOTHESIS_HARDWARE.format(event=first.event.kind.upper()),
            0.8 if near else 0.5,
            tuple(messages.SUPPORT_EVENT.format(offset=_offset(a.offset_s)) for a in hits[:3]),
            messages.VERIFY_HARDWARE,
        )

    def _errors(self) -> Hypothesis | None:
        errors = [
            a
            for a in self.aligned
            if a.event.kind == "log"
            and dict(a.event.attrs).get("level") in _ERROR_LEVELS
            and abs(a.offset_s) <= ALIGN_S
        ]
        if not errors:
            return None
        components = sorted({dict(a.event.attrs).get("component", "?") for a in errors})
        return Hypothesis(
            "errors",
            messages.HYPOTHESIS_ERRORS.format(components=", ".join(components)),
            round(0.4 + 0.1 * min(len(errors), 3), 3),
            tuple(messages.SUPPORT_EVENT.format(offset=_offset(a.offset_s)) for a in errors[:3]),
            messages.VERIFY_ERRORS,
        )


def _reproduction(
    top: Hypothesis | None, trigger: SeriesKey | None, changes: Sequence[Change]
) -> str:
    metric = trigger.metric if trigger is not None else "the alerting metric"
    kind = top.kind if top is not None else ""
    if kind == "change" and changes:
        change = changes[0]
        return messages.REPRODUCE_CHANGE.format(
            before=change.before or "the previous version",
            after=change.after or "the new version",
            metric=metric,
        )
    template = {
        "leak": messages.REPRODUCE_LEAK,
        "saturation": messages.REPRODUCE_SATURATION,
        "hardware": messages.REPRODUCE_HARDWARE,
        "errors": messages.REPRODUCE_ERRORS,
    }.get(kind, messages.REPRODUCE_DEFAULT)
    return template.format(metric=metric)


def describe_series(key: SeriesKey) -> str:
    """``metric{gpu=2,node=gpu-node-1}`` with only the labels people recognise."""
    shown = ("node", "gpu", "pod", "model_name", "percentile", "reason")
    labels = ",".join(f"{k}={v}" for k, v in key.labels if k in shown and v)
    return f"{key.metric}{{{labels}}}" if labels else key.metric


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:  # noqa: PLR2004
        return f"{seconds:.0f} s"
    if seconds < 7200:  # noqa: PLR2004
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _offset(seconds: float) -> str:
    return ("+" if seconds >= 0 else "-") + _duration(seconds)
