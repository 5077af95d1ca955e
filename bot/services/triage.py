"""LLM-assisted triage: read-in summary, root-cause assistant, postmortem draft.

Each run gathers the incident's record and its evidence (computed by ``bot.core.evidence``
without the LLM), asks the LLM when one is configured, and falls back to the deterministic
template when it is off, over its token budget, slow, failing or answering out of shape. Either
way one timeline entry records what was produced and whether the fallback was used, and it goes
to the incident's thread. Nothing the model writes is acted on.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot import messages
from bot.core.alerts import Alert
from bot.core.engine import EngineConfig
from bot.core.errors import AdapterError, NotFound
from bot.core.evidence import Change, Evidence, EvidenceInput, build_evidence, changes_from_rollouts
from bot.core.incidents import OPEN_STATUSES, Incident, Severity, TimelineEntry
from bot.core.ports import Clock, Cluster, Notifier, Summarizer, UnitOfWorkFactory
from bot.core.triage import (
    InvalidAnswer,
    Report,
    Task,
    allowed_from,
    build_prompt,
    evidence_text,
    llm_report,
    parse_answer,
    report_text,
    template_report,
)
from bot.services.history import SampleHistory

log = logging.getLogger(__name__)
AUTO_SEVERITIES = frozenset({Severity.P1, Severity.P2})
ENTRY_KIND = "triage.{task}"


@dataclass(frozen=True)
class TriageDeps:
    """What triage needs: the LLM (None: off), its limits, and where evidence comes from."""

    summarizer: Summarizer | None
    history: SampleHistory
    watched_metric: Callable[[str], str | None]  # alert rule → the metric it watches
    cluster: Cluster | None = None
    max_tokens: int = 800
    max_prompt_chars: int = 24_000
    incident_token_budget: int = 60_000


@dataclass(frozen=True, slots=True)
class TriageResult:
    """What one run produced: the timeline entry (its text is what was posted)."""

    incident: Incident
    entry: TimelineEntry
    report: Report
    evidence: Evidence


def metric_watcher(config: EngineConfig) -> Callable[[str], str | None]:
    """Rule name → the metric its alerts are about (a derived rule's input, not its output)."""
    inputs = {d.output: d.metric for d in config.derived}
    watched = {r.name: inputs.get(r.metric, r.metric) for r in config.thresholds}
    watched |= {r.name: r.metric for r in config.anomalies}
    return watched.get


async def run_triage(
    *,
    task: Task,
    incident_id: int,
    deps: TriageDeps,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
    clock: Clock,
    actor: str = "gpuwarden",
) -> TriageResult:
    """Produce ``task`` for the incident, record it on the timeline and post it to the thread."""
    with uow() as tx:
        incident = tx.incidents.get(incident_id)
        alerts = tx.alerts.for_incident(incident_id)
        timeline = tx.timeline.list(incident_id)
    now = clock.now()
    first = min(alerts, key=lambda a: a.started_at, default=None)
    node = first.label("node") if first is not None else None
    evidence = build_evidence(
        EvidenceInput(
            incident=incident,
            alerts=alerts,
            timeline=timeline,
            series=deps.history.series(node=node or None),
            events=deps.history.events(node=node or None),
            changes=await _rollout_changes(deps.cluster, alerts),
            trigger_metric=deps.watched_metric(first.rule) if first is not None else None,
            now=now,
        )
    )
    report, tokens = await _report(
        task, incident=incident, alerts=alerts, timeline=timeline, evidence=evidence, deps=deps
    )
    text = report_text(report)
    if task is Task.ROOT_CAUSE:
        text += "\n" + evidence_text(evidence, ranking=report.ranking)
    data = (
        ("source", report.source),
        ("fallback", str(report.source == "template").lower()),
        ("note", report.note),
        ("tokens", str(tokens)),
    )
    with uow() as tx:
        entry = tx.timeline.append(
            TimelineEntry(incident_id, now, ENTRY_KIND.format(task=task), text, actor, data)
        )
        tx.commit()
    try:
        await notifier.post_timeline(incident, entry)
    except AdapterError:
        log.exception("could not post the %s of %s; it is on the timeline", task, incident.ref)
    return TriageResult(incident, entry, report, evidence)


async def _report(
    task: Task,
    *,
    incident: Incident,
    alerts: Sequence[Alert],
    timeline: Sequence[TimelineEntry],
    evidence: Evidence,
    deps: TriageDeps,
) -> tuple[Report, int]:
    """The LLM's report and its token cost, or the template and why it was used."""

    def fallback(reason: str) -> tuple[Report, int]:
        report = template_report(
            task,
            incident=incident,
            alerts=alerts,
            timeline=timeline,
            evidence=evidence,
            reason=reason,
        )
        return report, 0

    if deps.summarizer is None:
        return fallback(messages.LLM_OFF)
    spent = sum(
        int(dict(e.data).get("tokens", "0") or 0) for e in timeline if e.kind.startswith("triage.")
    )
    if spent >= deps.incident_token_budget:
        return fallback(messages.LLM_BUDGET_SPENT.format(ref=incident.ref, tokens=spent))
    prompt = build_prompt(
        task,
        incident=incident,
        alerts=alerts,
        timeline=timeline,
        evidence=evidence,
        nonce=secrets.token_hex(8),
        max_chars=deps.max_prompt_chars,
    )
    try:
        completion = await deps.summarizer.complete(
            system=prompt.system, user=prompt.user, max_tokens=deps.max_tokens
        )
    except AdapterError as exc:
        log.warning("LLM %s for %s failed (%s); posting the template", task, incident.ref, exc)
        return fallback(messages.LLM_FAILED.format(error=exc))
    try:
        answer = parse_answer(task, completion.text)
    except InvalidAnswer as exc:
        log.warning("LLM %s for %s was out of shape (%s)", task, incident.ref, exc)
        report, _ = fallback(messages.LLM_OUT_OF_SHAPE.format(error=exc))
        return report, completion.tokens
    allowed = allowed_from(incident, timeline, evidence)
    return llm_report(task, answer, allowed, model=deps.summarizer.model), completion.tokens


async def _rollout_changes(cluster: Cluster | None, alerts: Sequence[Alert]) -> list[Change]:
    """The rollout history of the deployments the alerts name (read-only; failures skipped)."""
    if cluster is None:
        return []
    targets = sorted({a.label("deployment") for a in alerts if a.label("deployment")})
    changes: list[Change] = []
    for target in targets:
        try:
            revisions = await cluster.rollout_history(target, limit=4)
        except (AdapterError, NotFound) as exc:
            log.warning("no rollout history of %s for the evidence: %s", target, exc)
            continue
        changes += changes_from_rollouts(f"deployment/{target}", revisions)
    return changes


async def auto_root_cause(
    *,
    deps: TriageDeps,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
    clock: Clock,
) -> list[int]:
    """Post the root-cause assistant once for each open P1/P2 incident that has none yet.

    Run by the scheduler, off the ingest path; the claim in the notification ledger makes it
    once per incident across retries and restarts. Returns the incidents it ran for.
    """
    with uow() as tx:
        open_ = tx.incidents.list(statuses=OPEN_STATUSES, limit=50)
    done = []
    for incident in open_:
        if incident.severity not in AUTO_SEVERITIES:
            continue
        key = f"triage:{incident.id}:root_cause"
        now = clock.now()
        with uow() as tx:
            claimed = tx.notifications.claim(
                key, incident_id=incident.id, kind="triage", due_at=now, now=now
            )
            tx.commit()
        if not claimed:
            continue
        result = await run_triage(
            task=Task.ROOT_CAUSE,
            incident_id=incident.id,
            deps=deps,
            uow=uow,
            notifier=notifier,
            clock=clock,
        )
        with uow() as tx:
            tx.notifications.mark_sent(key, clock.now(), detail=result.report.source)
            tx.commit()
        done.append(incident.id)
    return done
