"""Runbook walk-throughs in the incident thread: offer, start, steps, probes, actions, verify.

A run's state is in the database (``runbook_run`` and its step records): every change is a
compare-and-set on the run's version, so a double click, a Slack retry or an old message's
button changes nothing twice, and a restarted bot goes on where the run stood. Every step
passed is a timeline entry (posted to the thread); the run's own thread message is re-rendered
after each change.

What the bot does by itself, in :func:`drive` (after every click, and from :func:`tick` for
every active run): a decision that branches on a probe's value, a remediation step whose action
succeeded, and verify steps — until the metric is back on the good side of its ``recover``
value (or, without a query, until the incident's alerts resolve), else at the timeout the
incident is escalated and the run goes to ``on_timeout``. A passed verify marks the incident
mitigated.

Remediation steps go through :mod:`bot.services.remediation` (plan, guard rails, approvals by
someone else, exactly-once execution). PromQL probes ask Prometheus when it is configured; else
the bot answers simple selectors (``max(metric{node="n1"})``) from its latest readings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from bot import messages
from bot.core.actions import ActionKind, ActionRequest
from bot.core.alerts import Alert, AlertState
from bot.core.approvals import FINAL_STATES, ActionRecord, ActionState, Decision
from bot.core.errors import AdapterError, NotFound, UserError
from bot.core.escalation import ESCALATE, EscalationPolicy
from bot.core.incidents import (
    OPEN_STATUSES,
    Incident,
    IncidentAction,
    IncidentStatus,
    Severity,
    TimelineEntry,
)
from bot.core.policy import AccessPolicy, SlaPolicy
from bot.core.ports import (
    Clock,
    Cluster,
    MetricsSource,
    Notifier,
    RunbookBoard,
    UnitOfWorkFactory,
)
from bot.core.runbooks import (
    AlertFacts,
    DecisionStep,
    DiagnosticStep,
    Probe,
    RemediationStep,
    Runbook,
    RunbookRun,
    RunState,
    Step,
    StepOutcome,
    StepRecord,
    VerifyStep,
    advance,
    context_of,
    match_runbooks,
    render,
)
from bot.core.signals import Sample
from bot.core.walkthrough import (
    BOT,
    ProbeResult,
    RunView,
    Selector,
    action_key,
    branch_value,
    entered_at,
    evaluate,
    events_result,
    gpu_snapshot_result,
    nodes_result,
    outcome_text,
    pods_result,
    probe_value,
    rollout_result,
    samples_result,
    who,
)
from bot.services import escalation, incidents, remediation
from bot.services.history import SampleHistory
from bot.services.remediation import RemediationDeps

log = logging.getLogger(__name__)
STALE_S = 60.0  # a reading older than this no longer answers a query
LOG_LINES = 5  # log lines of each pod a pods probe shows
# what the bot itself may do to an incident when a runbook says so
BOT_ACCESS = AccessPolicy(
    grants=((IncidentAction.MITIGATE.value, frozenset({BOT})), (ESCALATE, frozenset({BOT})))
)


@dataclass(frozen=True)
class RunbookDeps:
    """What the walk-through needs; ``remediation`` is None when no cluster is configured."""

    uow: UnitOfWorkFactory
    notifier: Notifier
    board: RunbookBoard
    clock: Clock
    runbooks: tuple[Runbook, ...]
    remediation: RemediationDeps | None = None
    metrics: MetricsSource | None = None
    history: SampleHistory | None = None
    escalation: Mapping[Severity, EscalationPolicy] = field(default_factory=dict)
    sla: SlaPolicy | None = None  # to record whether a verified mitigation met the SLA

    @property
    def cluster(self) -> Cluster | None:
        """The cluster probes read and actions change, if one is configured."""
        return self.remediation.cluster if self.remediation is not None else None


def find(deps: RunbookDeps, name: str) -> Runbook:
    """The runbook called ``name``; UserError lists the known ones."""
    for runbook in deps.runbooks:
        if runbook.name == name:
            return runbook
    names = ", ".join(r.name for r in deps.runbooks)
    raise UserError(messages.RUNBOOK_UNKNOWN.format(name=name, names=names))


def matching(deps: RunbookDeps, incident: Incident, alerts: Sequence[Alert]) -> list[Runbook]:
    """The runbooks that fit the incident's alerts and severity, most specific first."""
    facts = [AlertFacts(a.rule, dict(a.labels)) for a in alerts]
    return [rb for rb, _ in match_runbooks(deps.runbooks, alerts=facts, severity=incident.severity)]


async def offer(*, deps: RunbookDeps, incident_id: int) -> list[Runbook]:
    """Offer the fitting runbooks in the thread now; UserError when none fits."""
    incident, alerts = _incident(deps, incident_id)
    found = matching(deps, incident, alerts)
    if not found:
        names = ", ".join(r.name for r in deps.runbooks)
        raise UserError(messages.RUNBOOK_NONE_MATCH.format(ref=incident.ref, names=names))
    await deps.board.offer(incident, found)
    return found


async def offer_new(*, deps: RunbookDeps) -> list[int]:
    """Offer each fitting runbook once in every open incident's thread (run by the scheduler).

    A ledger key per incident and runbook makes it once across ticks and restarts; a runbook
    that comes to fit later (a new alert, a new severity) is offered then.
    """
    with deps.uow() as tx:
        open_ = [i for i in tx.incidents.list(statuses=OPEN_STATUSES) if i.slack_ts is not None]
    offered = []
    for incident in open_:
        _, alerts = _incident(deps, incident.id)
        now = deps.clock.now()
        new = []
        with deps.uow() as tx:
            for runbook in matching(deps, incident, alerts):
                key = f"runbook-offer:{incident.id}:{runbook.name}"
                if tx.notifications.claim(
                    key, incident_id=incident.id, kind="runbook", due_at=now, now=now
                ):
                    new.append(runbook)
            tx.commit()
        if not new:
            continue
        keys = [f"runbook-offer:{incident.id}:{runbook.name}" for runbook in new]
        try:
            await deps.board.offer(incident, new)
        except AdapterError:  # released: a later tick offers them again
            log.exception("could not offer runbooks in the thread of %s", incident.ref)
            with deps.uow() as tx:
                for key in keys:
                    tx.notifications.release(key)
                tx.commit()
            continue
        with deps.uow() as tx:
            for key in keys:
                tx.notifications.mark_sent(key, now)
            tx.commit()
        offered.append(incident.id)
    return offered


async def start(*, deps: RunbookDeps, incident_id: int, name: str, user: str) -> RunbookRun:
    """Start ``name`` in the incident (once: a second start returns the run that exists)."""
    runbook = find(deps, name)
    now = deps.clock.now()
    with deps.uow() as tx:
        incident = tx.incidents.get(incident_id)
        draft = RunbookRun(
            0, incident_id, runbook.name, runbook.steps[0].id, RunState.ACTIVE, user, now, now
        )
        run = tx.runbooks.start(draft)
        entries = []
        if run is not None:
            text = messages.RUNBOOK_STARTED.format(user=user, title=runbook.title)
            entries.append(
                tx.timeline.append(
                    TimelineEntry(
                        incident_id,
                        now,
                        "runbook.started",
                        text,
                        actor=user,
                        data=(("run", str(run.id)), ("runbook", runbook.name)),
                    )
                )
            )
        else:
            run = next(r for r in tx.runbooks.for_incident(incident_id) if r.runbook == name)
        tx.commit()
    await _post(deps, incident, entries)
    return await drive(deps=deps, run_id=run.id)


async def answer(
    *,
    deps: RunbookDeps,
    run_id: int,
    step_id: str,
    outcome: StepOutcome,
    user: str,
    choice: int | None = None,
) -> RunbookRun:
    """A responder's answer at a step: Done / Skip / Not applicable, or a decision's choice.

    ``choice`` is the index of a decision's choice (or, for a branch whose probe found no value,
    0 for its ``then`` and 1 for its ``else``).
    """
    view = _view(deps, run_id)
    step = view.runbook.step(step_id)
    label = None
    value = None
    if isinstance(step, DecisionStep):
        outcome = StepOutcome.CHOSEN
        label, value = _chosen(step, choice)
    await _advance(
        deps, run_id, step_id=step_id, outcome=outcome, actor=user, choice=label, value=value
    )
    return await drive(deps=deps, run_id=run_id)


async def probe(*, deps: RunbookDeps, run_id: int, step_id: str, user: str) -> RunbookRun:
    """Run the current diagnostic step's probe, store its result and move on."""
    view = _view(deps, run_id)
    step = _current(view, step_id)
    if not isinstance(step, DiagnosticStep):
        raise UserError(messages.RUNBOOK_NOT_THIS_STEP.format(step=view.run.step))
    result = await _run_probe(deps, step.probe, view.context)
    await _advance(
        deps,
        run_id,
        step_id=step_id,
        outcome=StepOutcome.PROBED,
        actor=user,
        value=result.value,
        detail=result.detail(),
    )
    return await drive(deps=deps, run_id=run_id)


async def request_step_action(
    *, deps: RunbookDeps, run_id: int, step_id: str, user: str, groups: frozenset[str] = frozenset()
) -> ActionRecord:
    """Request the current remediation step's action (planned, guarded, waiting for approval).

    A request still open for the step is returned as it is (a double click, a retry).
    """
    gated = _remediation(deps)
    view = _view(deps, run_id)
    step = _current(view, step_id)
    if not isinstance(step, RemediationStep):
        raise UserError(messages.RUNBOOK_NOT_THIS_STEP.format(step=view.run.step))
    latest = view.action_of(step_id)
    if latest is not None and latest.state not in FINAL_STATES:
        return latest
    request = await _action_request(gated, step, view.context)
    action = await remediation.request_action(
        deps=gated,
        request=request,
        user=user,
        groups=groups,
        key=action_key(run_id, step_id, [a for a in view.actions if a.undo_of is None]),
        incident_id=view.run.incident_id,
        run_id=run_id,
        step=step_id,
    )
    await drive(deps=deps, run_id=run_id)
    return action


async def decide(
    *,
    deps: RunbookDeps,
    action_id: int,
    user: str,
    decision: Decision,
    digest: str,
    groups: frozenset[str] = frozenset(),
) -> ActionRecord:
    """An approver's decision; an approved action runs once, then the run moves on."""
    action = await remediation.decide_action(
        deps=_remediation(deps),
        action_id=action_id,
        user=user,
        decision=decision,
        digest=digest,
        groups=groups,
    )
    if action.run_id is not None:
        await drive(deps=deps, run_id=action.run_id)
    return action


async def undo(
    *, deps: RunbookDeps, action_id: int, user: str, groups: frozenset[str] = frozenset()
) -> ActionRecord:
    """Request the undo of a finished action: gated like any other request."""
    action = await remediation.request_undo(
        deps=_remediation(deps), action_id=action_id, user=user, groups=groups
    )
    if action.run_id is not None:
        await drive(deps=deps, run_id=action.run_id)
    return action


async def tick(*, deps: RunbookDeps) -> None:
    """Drive every active run of the open incidents (verify steps, finished actions)."""
    with deps.uow() as tx:
        runs = [
            run
            for incident in tx.incidents.list(statuses=OPEN_STATUSES)
            for run in tx.runbooks.for_incident(incident.id)
            if run.state is RunState.ACTIVE
        ]
    for run in runs:
        try:
            await drive(deps=deps, run_id=run.id)
        except (UserError, NotFound) as exc:
            log.info("runbook run %d waits: %s", run.id, exc)


async def drive(*, deps: RunbookDeps, run_id: int) -> RunbookRun:
    """Take the steps the bot takes by itself, then show the run in the thread."""
    view = _view(deps, run_id)
    for _ in view.runbook.steps:
        if view.run.state is not RunState.ACTIVE or not await _automatic(deps, view):
            break
        view = _view(deps, run_id)
    await _show(deps, view)
    return view.run


# ----------------------------------------------------------------------------- steps


async def _automatic(deps: RunbookDeps, view: RunView) -> bool:
    """Take the current step if the bot can; whether the run moved."""
    step = view.runbook.step(view.run.step)
    if isinstance(step, DecisionStep) and step.branch is not None:
        value = probe_value(view.records, step.branch.probe)
        if value is None:
            return False  # the responder picks (the probe found nothing)
        await _advance(
            deps, view.run.id, step_id=step.id, outcome=StepOutcome.CHOSEN, actor=BOT, value=value
        )
        return True
    if isinstance(step, RemediationStep):
        action = view.action_of(step.id)
        if action is None or action.state is not ActionState.SUCCEEDED:
            return False
        await _advance(
            deps,
            view.run.id,
            step_id=step.id,
            outcome=StepOutcome.EXECUTED,
            actor=BOT,
            detail=(("action", action.ref), ("result", action.outcome)),
        )
        return True
    if isinstance(step, VerifyStep):
        return await _verify(deps, view, step)
    return False


async def _verify(deps: RunbookDeps, view: RunView, step: VerifyStep) -> bool:
    recovered, detail = await _recovered(deps, view, step)
    now = deps.clock.now()
    if recovered:
        await _advance(
            deps,
            view.run.id,
            step_id=step.id,
            outcome=StepOutcome.VERIFIED,
            actor=BOT,
            detail=(("result", detail),),
        )
        await _mitigate(deps, view.run.incident_id)
        return True
    if now < entered_at(view.run, view.records) + step.timeout:
        return False
    await _advance(
        deps,
        view.run.id,
        step_id=step.id,
        outcome=StepOutcome.TIMED_OUT,
        actor=BOT,
        detail=(("result", detail), ("minutes", f"{step.timeout / 60:g}")),
    )
    if step.escalate:
        await _escalate(deps, view.run.incident_id)
    return True


async def _recovered(deps: RunbookDeps, view: RunView, step: VerifyStep) -> tuple[bool, str]:
    """Whether the step's condition holds now, and what was seen."""
    if step.query is not None and step.recover is not None:
        query = render(step.query, view.context)
        samples = await _query(deps, query)
        if samples is not None:
            now = ", ".join(f"{s.value:.4g}" for s in samples) or "no data"
            detail = messages.RUNBOOK_VERIFY_QUERY.format(
                query=query, direction=step.direction, recover=step.recover, value=now
            )
            return step.recovered(s.value for s in samples), detail
    _, alerts = _incident(deps, view.run.incident_id)
    firing = sum(1 for a in alerts if a.state is AlertState.FIRING)
    return bool(alerts) and firing == 0, messages.RUNBOOK_VERIFY_ALERTS.format(firing=firing)


async def _mitigate(deps: RunbookDeps, incident_id: int) -> None:
    incident, _ = _incident(deps, incident_id)
    if incident.status not in {IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED}:
        return
    try:
        await incidents.mitigate(deps=_incident_deps(deps), incident_id=incident_id, user=BOT)
    except UserError as exc:
        await _note(
            deps,
            incident,
            messages.RUNBOOK_NOT_MITIGATED.format(
                ref=incident.ref, status=incident.status, reason=exc
            ),
        )


async def _escalate(deps: RunbookDeps, incident_id: int) -> None:
    try:
        await escalation.escalate(
            incident_id=incident_id,
            user=BOT,
            uow=deps.uow,
            notifier=deps.notifier,
            access=BOT_ACCESS,
            escalation=deps.escalation,
            clock=deps.clock,
        )
    except UserError as exc:
        incident, _ = _incident(deps, incident_id)
        await _note(deps, incident, messages.RUNBOOK_NOT_ESCALATED.format(reason=exc))


async def _run_probe(deps: RunbookDeps, probe: Probe, context: Mapping[str, str]) -> ProbeResult:
    subject = render(probe.subject, context) if probe.subject else ""
    if probe.kind == "promql":
        samples = await _query(deps, subject)
        if samples is None:
            return ProbeResult((messages.RUNBOOK_NO_METRICS.format(query=subject),))
        return samples_result(samples)
    if probe.kind == "gpu_snapshot":
        latest = deps.history.latest(node=subject) if deps.history is not None else {}
        if not latest:
            return ProbeResult((messages.RUNBOOK_NO_READINGS.format(node=subject),))
        return gpu_snapshot_result(latest)
    cluster = deps.cluster
    if cluster is None:
        raise UserError(messages.RUNBOOK_NO_CLUSTER)
    try:
        return await _cluster_probe(cluster, probe.kind, subject)
    except (AdapterError, NotFound) as exc:
        raise UserError(messages.RUNBOOK_PROBE_FAILED.format(error=exc)) from exc


async def _cluster_probe(cluster: Cluster, kind: str, subject: str) -> ProbeResult:
    """A read-only look at the cluster: events, pods, rollout history or nodes."""
    if kind == "events":
        return events_result(await cluster.events(subject))
    if kind == "pods":
        return pods_result(await cluster.pods(subject, log_lines=LOG_LINES))
    if kind == "rollout_history":
        return rollout_result(await cluster.rollout_history(subject, limit=3))
    return nodes_result(await cluster.nodes())


async def _query(deps: RunbookDeps, promql: str) -> list[Sample] | None:
    """Prometheus's answer; else the bot's own readings for a simple selector; else None."""
    if deps.metrics is not None:
        try:
            return await deps.metrics.query(promql)
        except AdapterError as exc:
            log.warning("runbook query %s failed: %s", promql, exc)
            return None
    selector = Selector.parse(promql)
    if selector is None or deps.history is None:
        return None
    return evaluate(selector, deps.history.latest(), now=deps.clock.now(), stale_s=STALE_S)


async def _action_request(
    deps: RemediationDeps, step: RemediationStep, context: Mapping[str, str]
) -> ActionRequest:
    spec = step.action
    target = render(spec.target, context)
    replicas = spec.replicas
    if spec.kind is ActionKind.SCALE and spec.scale_by is not None:
        # the current replicas, read by planning a no-op look (a server-side dry run)
        look = await deps.cluster.plan(ActionRequest(ActionKind.SCALE, target, replicas=0))
        replicas = max(int(look.observed["spec.replicas"]) + spec.scale_by, 0)
    return ActionRequest(
        spec.kind,
        target,
        replicas=replicas,
        standby=render(spec.standby, context) if spec.standby else None,
        revision=spec.revision,
    )


def _chosen(step: DecisionStep, choice: int | None) -> tuple[str | None, float | None]:
    """A decision's choice label, or a branch value that leads where the responder chose."""
    if step.branch is not None:
        goto = (step.branch.then, step.branch.otherwise)
        if choice not in (0, 1):
            raise UserError(messages.RUNBOOK_NOT_THIS_STEP.format(step=step.id))
        return None, branch_value(step.branch, goto[choice or 0])
    if choice is None or not 0 <= choice < len(step.choices):
        labels = ", ".join(c.label for c in step.choices)
        raise UserError(f"decision {step.id!r}: choose one of {labels}")
    return step.choices[choice].label, None


# ----------------------------------------------------------------------------- state


async def _advance(
    deps: RunbookDeps,
    run_id: int,
    *,
    step_id: str,
    outcome: StepOutcome,
    actor: str,
    choice: str | None = None,
    value: float | None = None,
    detail: tuple[tuple[str, str], ...] = (),
) -> RunbookRun:
    """Record ``outcome`` at ``step_id`` by compare-and-set, with its timeline entries."""
    now = deps.clock.now()
    with deps.uow() as tx:
        run = tx.runbooks.get(run_id)
        runbook = find(deps, run.runbook)
        moved, record = advance(
            run,
            runbook,
            step_id=step_id,
            outcome=outcome,
            actor=actor,
            now=now,
            choice=choice,
            value=value,
            detail=detail,
        )
        if not tx.runbooks.save(moved, expected_version=run.version):
            raise UserError(messages.RUNBOOK_CHANGED_CONCURRENTLY)
        tx.runbooks.record(record)
        data = (("run", str(run.id)), ("step", step_id), ("outcome", outcome.value))
        step = runbook.step(step_id)
        entries = [
            tx.timeline.append(
                TimelineEntry(
                    run.incident_id,
                    now,
                    "runbook.step",
                    _step_text(step.title, record),
                    actor=actor,
                    data=data,
                )
            )
        ]
        if moved.state is RunState.COMPLETED:
            text = messages.RUNBOOK_COMPLETED.format(title=runbook.title)
            entries.append(
                tx.timeline.append(
                    TimelineEntry(run.incident_id, now, "runbook.completed", text, data=data[:1])
                )
            )
        incident = tx.incidents.get(run.incident_id)
        tx.commit()
    await _post(deps, incident, entries)
    return moved


def _step_text(title: str, record: StepRecord) -> str:
    said, by = outcome_text(record), who(record.actor)
    result = dict(record.detail).get("result")
    if record.outcome is StepOutcome.PROBED and result:
        return messages.RUNBOOK_STEP_RESULT.format(title=title, outcome=said, who=by, result=result)
    return messages.RUNBOOK_STEP.format(title=title, outcome=said, who=by)


def _view(deps: RunbookDeps, run_id: int) -> RunView:
    with deps.uow() as tx:
        run = tx.runbooks.get(run_id)
        incident = tx.incidents.get(run.incident_id)
        records = tuple(tx.runbooks.steps(run_id))
        actions = tuple(
            a for a in tx.actions.in_states(frozenset(ActionState)) if a.run_id == run_id
        )
        approvals = {
            a.id: tuple(
                d.approver for d in tx.actions.approvals(a.id) if d.decision is Decision.APPROVE
            )
            for a in actions
            if a.state is ActionState.PENDING
        }
    runbook = find(deps, run.runbook)
    view = RunView(incident.ref, run, runbook, records, actions, approvals=approvals)
    return replace(view, context=_context(deps, view))


def _current(view: RunView, step_id: str) -> Step:
    if view.run.state is not RunState.ACTIVE or view.run.step != step_id:
        raise UserError(messages.RUNBOOK_NOT_THIS_STEP.format(step=view.run.step or "-"))
    return view.runbook.step(step_id)


def _context(deps: RunbookDeps, view: RunView) -> dict[str, str]:
    """Placeholder values: the labels of the alert the runbook fits (else the first alert)."""
    incident, alerts = _incident(deps, view.run.incident_id)
    facts = [AlertFacts(a.rule, dict(a.labels)) for a in alerts]
    hit = match_runbooks([view.runbook], alerts=facts, severity=incident.severity)
    labels = hit[0][1].labels if hit else (facts[0].labels if facts else {})
    return context_of(view.runbook, labels)


def _incident(deps: RunbookDeps, incident_id: int) -> tuple[Incident, list[Alert]]:
    with deps.uow() as tx:
        return tx.incidents.get(incident_id), tx.alerts.for_incident(incident_id)


def _remediation(deps: RunbookDeps) -> RemediationDeps:
    if deps.remediation is None:
        raise UserError(messages.RUNBOOK_NO_CLUSTER)
    return deps.remediation


def _incident_deps(deps: RunbookDeps) -> incidents.Deps:
    return incidents.Deps(deps.uow, deps.notifier, BOT_ACCESS, deps.clock, deps.sla)


async def _show(deps: RunbookDeps, view: RunView) -> None:
    """Render the run in the thread; remember its message the first time."""
    incident, _ = _incident(deps, view.run.incident_id)
    try:
        ts = await deps.board.show(incident, view)
    except AdapterError:
        log.exception("could not show runbook run %d of %s", view.run.id, incident.ref)
        return
    for _ in range(3):  # a concurrent step may move the run on meanwhile: read it again
        with deps.uow() as tx:
            current = tx.runbooks.get(view.run.id)
            if ts is None or current.slack_ts == ts:
                return
            kept = replace(current, slack_ts=ts, version=current.version + 1)
            if tx.runbooks.save(kept, expected_version=current.version):
                tx.commit()
                return


async def _note(deps: RunbookDeps, incident: Incident, text: str) -> None:
    with deps.uow() as tx:
        entry = tx.timeline.append(
            TimelineEntry(incident.id, deps.clock.now(), "runbook.note", text)
        )
        tx.commit()
    await _post(deps, incident, [entry])


async def _post(deps: RunbookDeps, incident: Incident, entries: Sequence[TimelineEntry]) -> None:
    try:
        for entry in entries:
            await deps.notifier.post_timeline(incident, entry)
    except AdapterError:
        log.exception("could not post to the thread of %s; it is on the timeline", incident.ref)
