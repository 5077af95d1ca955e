"""The runbook walk-through on the in-memory store, a fake cluster and the bot's own readings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pytest
from slack_sdk.models.blocks import Block

from bot.adapters.slack.runbook_blocks import offer_message, run_message
from bot.config.runbooks import load_runbooks
from bot.core.alerts import Alert, AlertState, Level
from bot.core.approvals import ActionState, ApprovalPolicy, Decision
from bot.core.errors import UserError
from bot.core.guards import GuardPolicy
from bot.core.incidents import Incident, IncidentStatus, Severity
from bot.core.runbooks import Runbook, RunState, StepOutcome
from bot.core.signals import Sample, SeriesKey
from bot.core.walkthrough import RunView
from bot.services import runbooks
from bot.services.history import SampleHistory
from bot.services.remediation import RemediationDeps
from bot.services.runbooks import RunbookDeps
from storage.memory import InMemoryStore, InMemoryUnitOfWork
from tests.fakes import FakeNotifier, FrozenClock
from tests.unit.services.test_remediation import ROLES, FakeCluster

NODE, GPU = "gpu-node-2", "3"
UTIL = "gpuwarden_gpu_utilization_ratio"


@dataclass
class FakeBoard:
    """Renders every view to Block Kit (and validates it) as the Slack board would."""

    offers: list[list[str]] = field(default_factory=list)
    shown: list[RunView] = field(default_factory=list)

    async def offer(self, incident: Incident, runbooks: Sequence[Runbook]) -> None:
        _, blocks = offer_message(incident, runbooks)
        _valid(blocks)
        self.offers.append([r.name for r in runbooks])

    async def show(self, incident: Incident, view: RunView) -> str | None:
        _, blocks = run_message(view, now=0.0)
        _valid(blocks)
        self.shown.append(view)
        return "1.000200"


def _valid(blocks: list[dict[str, object]]) -> None:
    assert len(blocks) <= 50
    for block in blocks:
        parsed = Block.parse(block)  # type: ignore[arg-type]
        assert parsed is not None
        parsed.validate_json()


@dataclass
class World:
    deps: RunbookDeps
    cluster: FakeCluster
    board: FakeBoard
    clock: FrozenClock
    history: SampleHistory
    incident_id: int


@pytest.fixture
def world() -> World:
    store = InMemoryStore()
    clock = FrozenClock()
    cluster = FakeCluster(replicas=4)
    notifier = FakeNotifier()
    board = FakeBoard()
    history = SampleHistory()

    def uow() -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(store)

    gated = RemediationDeps(
        uow=uow,
        cluster=cluster,
        notifier=notifier,
        clock=clock,
        roles=ROLES,
        approvals=ApprovalPolicy(),
        guards=GuardPolicy(cooldown_s=1.0),
    )
    deps = RunbookDeps(
        uow=uow,
        notifier=notifier,
        board=board,
        clock=clock,
        runbooks=load_runbooks(),
        remediation=gated,
        history=history,
    )
    with uow() as tx:
        incident = tx.incidents.create(
            title="GPU 3 saturated", severity=Severity.P3, group_key="g", created_at=clock.now()
        )
        tx.incidents.save(
            replace(incident, slack_channel="C1", slack_ts="1.0", version=2),
            expected_version=1,
        )
        alert = Alert(
            "fp1",
            "gpu_utilization_high",
            (("gpu", GPU), ("node", NODE)),
            AlertState.FIRING,
            Level.CRIT,
            0.97,
            clock.now(),
        )
        tx.alerts.upsert(alert, incident_id=incident.id)
        tx.commit()
    return World(deps, cluster, board, clock, history, incident.id)


def _reading(world: World, value: float) -> None:
    series = SeriesKey.of(UTIL, {"node": NODE, "gpu": GPU})
    world.history.record([Sample(series, world.clock.now(), value)])


async def test_walks_saturation_runbook_from_probe_to_verified_scale_out(world: World) -> None:
    deps = world.deps
    assert await runbooks.offer_new(deps=deps) == [world.incident_id]
    assert await runbooks.offer_new(deps=deps) == []  # offered once
    assert world.board.offers == [["gpu-utilization-saturation"]]
    _reading(world, 0.97)

    run = await runbooks.start(
        deps=deps, incident_id=world.incident_id, name="gpu-utilization-saturation", user="carol"
    )
    run = await runbooks.probe(deps=deps, run_id=run.id, step_id="gpu-snapshot", user="carol")
    run = await runbooks.probe(deps=deps, run_id=run.id, step_id="node-load", user="carol")
    run = await runbooks.answer(
        deps=deps, run_id=run.id, step_id="check-workload", outcome=StepOutcome.DONE, user="carol"
    )
    run = await runbooks.answer(
        deps=deps,
        run_id=run.id,
        step_id="cause",
        outcome=StepOutcome.CHOSEN,
        user="carol",
        choice=0,
    )
    assert run.step == "scale-out"

    action = await runbooks.request_step_action(
        deps=deps, run_id=run.id, step_id="scale-out", user="alice"
    )
    again = await runbooks.request_step_action(
        deps=deps, run_id=run.id, step_id="scale-out", user="alice"
    )
    assert again.id == action.id  # a double click gets the same request
    assert action.plan.request.replicas == 5  # scale_by 1 over the 4 running
    with pytest.raises(UserError, match="someone else must approve"):
        await runbooks.decide(
            deps=deps,
            action_id=action.id,
            user="alice",
            decision=Decision.APPROVE,
            digest=action.plan.digest,
        )
    world.clock.advance(10)
    _reading(world, 0.5)
    done = await runbooks.decide(
        deps=deps,
        action_id=action.id,
        user="bob",
        decision=Decision.APPROVE,
        digest=action.plan.digest,
    )
    assert done.state is ActionState.SUCCEEDED
    assert world.cluster.replicas == 5
    assert len(world.cluster.applied) == 1

    final = world.board.shown[-1].run
    assert final.state is RunState.COMPLETED
    with deps.uow() as tx:
        incident = tx.incidents.get(world.incident_id)
        records = tx.runbooks.steps(run.id)
        texts = [e.text for e in tx.timeline.list(world.incident_id)]
    assert incident.status is IncidentStatus.MITIGATED
    assert [r.outcome for r in records] == [
        StepOutcome.PROBED,
        StepOutcome.PROBED,
        StepOutcome.DONE,
        StepOutcome.CHOSEN,
        StepOutcome.EXECUTED,
        StepOutcome.VERIFIED,
    ]
    assert "GPU 3: utilization_ratio 97%" in dict(records[0].detail)["result"]
    assert any("Runbook step *Check what runs on the GPU*: done by <@carol>" in t for t in texts)
    assert any("Runbook *GPU utilisation saturation* completed" in t for t in texts)


async def test_a_repeated_click_on_a_passed_step_changes_nothing(world: World) -> None:
    deps = world.deps
    run = await runbooks.start(
        deps=deps, incident_id=world.incident_id, name="output-drift", user="carol"
    )
    await runbooks.answer(
        deps=deps, run_id=run.id, step_id="drift", outcome=StepOutcome.SKIPPED, user="carol"
    )
    with pytest.raises(UserError, match="no longer the current step"):
        await runbooks.answer(
            deps=deps, run_id=run.id, step_id="drift", outcome=StepOutcome.SKIPPED, user="carol"
        )
    same = await runbooks.start(
        deps=deps, incident_id=world.incident_id, name="output-drift", user="bob"
    )
    assert same.id == run.id
    with deps.uow() as tx:
        assert len(tx.runbooks.steps(run.id)) == 1


async def test_verify_times_out_and_escalation_is_tried(world: World) -> None:
    deps = world.deps
    run = await runbooks.start(
        deps=deps, incident_id=world.incident_id, name="gpu-utilization-saturation", user="carol"
    )
    for step in ("gpu-snapshot", "node-load", "check-workload"):
        await runbooks.answer(
            deps=deps, run_id=run.id, step_id=step, outcome=StepOutcome.SKIPPED, user="carol"
        )
    await runbooks.answer(
        deps=deps,
        run_id=run.id,
        step_id="cause",
        outcome=StepOutcome.CHOSEN,
        user="carol",
        choice=1,
    )
    await runbooks.answer(
        deps=deps, run_id=run.id, step_id="stop-job", outcome=StepOutcome.DONE, user="carol"
    )
    _reading(world, 0.96)
    await runbooks.tick(deps=deps)
    with deps.uow() as tx:
        assert tx.runbooks.get(run.id).step == "verify-utilisation"
    world.clock.advance(601)
    _reading(world, 0.96)
    await runbooks.tick(deps=deps)
    with deps.uow() as tx:
        moved = tx.runbooks.get(run.id)
        records = tx.runbooks.steps(run.id)
        texts = [e.text for e in tx.timeline.list(world.incident_id)]
    assert moved.state is RunState.COMPLETED
    assert records[-1].outcome is StepOutcome.TIMED_OUT
    assert any("not recovered within 10 min" in t for t in texts)
    assert any("escalation" in t.lower() for t in texts)  # no policy configured: said so


async def test_probe_of_the_cluster_without_one_says_how_to_configure_it(world: World) -> None:
    deps = RunbookDeps(
        uow=world.deps.uow,
        notifier=world.deps.notifier,
        board=world.board,
        clock=world.clock,
        runbooks=world.deps.runbooks,
    )
    run = await runbooks.start(
        deps=deps, incident_id=world.incident_id, name="bad-deploy", user="carol"
    )
    with pytest.raises(UserError, match="GPUWARDEN_KUBE_URL"):
        await runbooks.probe(deps=deps, run_id=run.id, step_id="last-changes", user="carol")
