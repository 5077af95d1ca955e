"""Runbooks: matching to alerts, placeholders and step progression, on the shipped files."""

from __future__ import annotations

import pytest

from bot.config.runbooks import load_runbooks
from bot.core.actions import ActionKind
from bot.core.errors import UserError
from bot.core.incidents import Severity
from bot.core.runbooks import (
    END,
    AlertFacts,
    DecisionStep,
    RemediationStep,
    Runbook,
    RunbookRun,
    RunState,
    StepOutcome,
    VerifyStep,
    abandon,
    advance,
    context_of,
    match_runbooks,
    render,
)

RUNBOOKS = {r.name: r for r in load_runbooks()}
Out = StepOutcome


def _names(rule: str, severity: Severity = Severity.P2, **labels: str) -> list[str]:
    found = match_runbooks(RUNBOOKS.values(), alerts=[AlertFacts(rule, labels)], severity=severity)
    return [runbook.name for runbook, _ in found]


@pytest.mark.parametrize(
    ("rule", "severity", "labels", "expected"),
    [
        (
            "gpu_utilization_high",
            Severity.P3,
            {"node": "n1", "gpu": "3"},
            "gpu-utilization-saturation",
        ),
        ("gpu_memory_leak", Severity.P2, {"node": "n1"}, "gpu-memory-leak"),
        ("ttft_p99_high", Severity.P2, {"model_name": "m"}, "ttft-regression"),
        ("model_unavailable", Severity.P1, {}, "model-unavailable"),
        ("deployment_rollout_failed", Severity.P2, {}, "bad-deploy"),
        ("gpu_xid", Severity.P1, {"node": "n1", "xid": "79"}, "xid-hardware-fault"),
        ("node_not_reporting", Severity.P2, {"node": "n1"}, "node-not-reporting"),
        ("possible_network_partition", Severity.P1, {}, "node-not-reporting"),
        ("kv_cache_saturation", Severity.P2, {}, "traffic-surge"),
        ("driver_cuda_incompatible", Severity.P3, {"node": "n1"}, "driver-cuda-incompatibility"),
        ("output_distribution_drift", Severity.P3, {}, "output-drift"),
    ],
)
def test_each_scenario_finds_its_runbook(
    rule: str, severity: Severity, labels: dict[str, str], expected: str
) -> None:
    assert expected in _names(rule, severity, **labels)


def test_xid_94_never_matches_a_runbook_that_drains() -> None:
    for xid in ("94", "13", "31", "43", "45", "68"):
        names = _names("gpu_xid", Severity.P3, node="n1", xid=xid)
        assert names == ["xid-contained"]
        kinds = {a.kind for a in RUNBOOKS[names[0]].actions()}
        assert ActionKind.DRAIN not in kinds
        assert ActionKind.CORDON not in kinds


def test_a_drain_xid_gets_the_cordon_and_drain_runbook() -> None:
    kinds = [a.kind for a in RUNBOOKS["xid-hardware-fault"].actions()]

    assert _names("gpu_xid", Severity.P1, node="n1", xid="48") == ["xid-hardware-fault"]
    assert kinds == [ActionKind.CORDON, ActionKind.DRAIN]


def test_output_drift_takes_no_infrastructure_action() -> None:
    assert RUNBOOKS["output-drift"].actions() == []


def test_model_unavailable_fails_over_and_only_for_p1() -> None:
    kinds = [a.kind for a in RUNBOOKS["model-unavailable"].actions()]

    assert kinds == [ActionKind.FAILOVER]
    assert "model-unavailable" not in _names("model_unavailable", Severity.P2)


def test_latency_regression_looks_at_the_last_three_changes_first() -> None:
    first = RUNBOOKS["ttft-regression"].steps[0]

    assert first.kind == "diagnostic"
    assert first.probe.kind == "rollout_history"  # type: ignore[union-attr]


def test_severity_restriction_excludes_p3_latency_warnings() -> None:
    assert _names("ttft_p99_high", Severity.P3, model_name="m") == []


def test_more_specific_runbooks_come_first() -> None:
    runbooks = [
        Runbook.model_validate(
            {"name": "broad", "title": "b", "match": {"labels": ['node=~".+"']}, "steps": [_i("a")]}
        ),
        Runbook.model_validate(
            {"name": "narrow", "title": "n", "match": {"rules": ["r"]}, "steps": [_i("a")]}
        ),
    ]
    found = match_runbooks(runbooks, alerts=[AlertFacts("r", {"node": "n1"})], severity=Severity.P3)

    assert [r.name for r, _ in found] == ["narrow", "broad"]


def test_placeholders_fill_from_labels_over_vars_and_name_what_is_missing() -> None:
    runbook = RUNBOOKS["gpu-utilization-saturation"]
    context = context_of(runbook, {"node": "gpu-node-2", "gpu": "3", "namespace": ""})

    assert render('x{node="${node}"}', context) == 'x{node="gpu-node-2"}'
    assert render("${namespace}/${deployment}", context) == "serving/deepseek-v3-blue"
    with pytest.raises(UserError, match="'model_name'"):
        render("${model_name}", context)


# ----------------------------------------------------------------------------- progression


def _run(runbook: Runbook) -> RunbookRun:
    return RunbookRun(1, 7, runbook.name, runbook.steps[0].id, RunState.ACTIVE, "U1", 0.0, 0.0)


def _walk(
    runbook: Runbook, answers: dict[str, tuple[StepOutcome, str | None, float | None]]
) -> list[str]:
    """Walk a runbook with the given answer per step (default: the kind's natural one)."""
    natural = {
        "instruction": Out.DONE,
        "diagnostic": Out.PROBED,
        "remediation": Out.EXECUTED,
        "verify": Out.VERIFIED,
    }
    run = _run(runbook)
    visited = []
    while run.state is RunState.ACTIVE:
        step = runbook.step(run.step)
        visited.append(step.id)
        outcome, choice, value = answers.get(
            step.id, (natural.get(step.kind, Out.CHOSEN), None, None)
        )
        run, _ = advance(
            run,
            runbook,
            step_id=step.id,
            outcome=outcome,
            actor="U1",
            now=1.0,
            choice=choice,
            value=value,
        )
        assert len(visited) < 50
    return visited


@pytest.mark.parametrize("name", sorted(RUNBOOKS))
def test_every_runbook_can_be_walked_to_its_end(name: str) -> None:
    runbook = RUNBOOKS[name]
    answers = {}
    for step in runbook.steps:
        if isinstance(step, DecisionStep):
            if step.choices:
                answers[step.id] = (Out.CHOSEN, step.choices[0].label, None)
            else:
                answers[step.id] = (Out.CHOSEN, None, 0.0)

    visited = _walk(runbook, answers)

    assert visited[0] == runbook.steps[0].id


def test_a_memory_leak_faster_than_50_mib_per_minute_leads_to_the_restart() -> None:
    runbook = RUNBOOKS["gpu-memory-leak"]

    fast = _walk(runbook, {"how-fast": (Out.CHOSEN, None, 60 * 2**20)})
    slow = _walk(runbook, {"how-fast": (Out.CHOSEN, None, 20 * 2**20)})

    assert "restart" in fast
    assert "restart" not in slow
    assert "watch" in slow


def test_the_choice_of_a_decision_picks_the_branch() -> None:
    runbook = RUNBOOKS["ttft-regression"]

    rolled = _walk(runbook, {"cause": (Out.CHOSEN, "A recent change — roll back", None)})

    assert rolled == ["last-changes", "queue", "cause", "roll-back", "verify-latency"]


def test_a_verify_timeout_goes_to_on_timeout() -> None:
    runbook = RUNBOOKS["traffic-surge"]
    verify = runbook.steps[-1]
    assert isinstance(verify, VerifyStep)

    visited = _walk(runbook, {verify.id: (Out.TIMED_OUT, None, None)})

    assert visited[-1] == verify.id
    assert verify.on_timeout == END


def test_a_click_on_a_step_the_run_has_left_changes_nothing() -> None:
    runbook = RUNBOOKS["gpu-utilization-saturation"]
    run = _run(runbook)
    moved, record = advance(
        run, runbook, step_id="gpu-snapshot", outcome=Out.PROBED, actor="U1", now=5.0
    )

    with pytest.raises(UserError, match="no longer the current step"):
        advance(moved, runbook, step_id="gpu-snapshot", outcome=Out.PROBED, actor="U1", now=6.0)
    assert (moved.step, moved.version, record.outcome) == ("node-load", 2, Out.PROBED)


def test_an_outcome_a_step_kind_does_not_allow_is_refused() -> None:
    runbook = RUNBOOKS["gpu-utilization-saturation"]
    run = _run(runbook)

    with pytest.raises(UserError, match="cannot be marked"):
        advance(run, runbook, step_id="gpu-snapshot", outcome=Out.VERIFIED, actor="U1", now=1.0)


def test_a_decision_without_a_known_choice_is_refused() -> None:
    runbook = RUNBOOKS["bad-deploy"]
    run = RunbookRun(1, 7, runbook.name, "confirm", RunState.ACTIVE, "U1", 0.0, 0.0)

    with pytest.raises(UserError, match="choose one of"):
        advance(
            run, runbook, step_id="confirm", outcome=Out.CHOSEN, actor="U1", now=1.0, choice="?"
        )


def test_an_ended_run_takes_no_more_steps_and_abandon_is_idempotent() -> None:
    runbook = RUNBOOKS["output-drift"]
    stopped = abandon(_run(runbook), now=3.0)

    assert stopped.state is RunState.ABANDONED
    assert abandon(stopped, now=4.0) is stopped
    with pytest.raises(UserError, match="abandoned"):
        advance(stopped, runbook, step_id="drift", outcome=Out.PROBED, actor="U1", now=5.0)


def test_remediation_steps_can_be_skipped_but_not_chosen() -> None:
    runbook = RUNBOOKS["traffic-surge"]
    run = RunbookRun(1, 7, runbook.name, "scale-out", RunState.ACTIVE, "U1", 0.0, 0.0)
    step = runbook.step("scale-out")
    assert isinstance(step, RemediationStep)

    moved, _ = advance(run, runbook, step_id="scale-out", outcome=Out.SKIPPED, actor="U1", now=1.0)

    assert moved.step == "verify-latency"
    with pytest.raises(UserError):
        advance(run, runbook, step_id="scale-out", outcome=Out.CHOSEN, actor="U1", now=1.0)


def _i(step_id: str) -> dict[str, str]:
    return {"id": step_id, "kind": "instruction", "title": step_id}
