"""The shipped rules against the simulated fleet: quiet while it is healthy, right when it is not.

The simulator's readings take the real wire path (the agent's batch JSON, validated by the
ingest schema, with the trusted node label) into an alert engine built from the shipped
``rules.yaml``, one push a second, for a few simulated minutes.
"""

from __future__ import annotations

import pytest

from agent.simulate import Fleet, parse_schedule
from agent.wire import Batch
from bot.api.schemas import IngestPayload
from bot.config.files import load_config, load_engine_config
from bot.config.runbooks import known_rules, load_runbooks
from bot.core.engine import AlertEngine
from bot.core.incidents import Severity

START = 1_800_000_000.0  # 08:00 UTC: the daily cycle near its mean


def fired(fleet: Fleet, *, seconds: int) -> list[tuple[str, str, str]]:
    """(rule, node, severity) of every alert the shipped rules fire on ``fleet``, in order."""
    engine = AlertEngine(load_engine_config(None))
    out = []
    for tick in range(seconds):
        now = START + tick
        outputs = [engine.tick(now)]
        for node in fleet.nodes:
            readings, events = node.collect(now)
            batch = Batch(node.node, node.gpu_count, now, tuple(readings), tuple(events))
            ingest = IngestPayload.from_json(batch.to_json_bytes(), now=now).to_batch()
            outputs.append(
                engine.observe_batch(
                    node=ingest.node, samples=ingest.samples, events=ingest.events, now=now
                )
            )
        out += [
            (n.transition.alert.rule, dict(n.transition.alert.labels).get("node", ""), sev)
            for output in outputs
            for n in output.notify
            if n.transition.kind.value == "fired"
            for sev in [n.delivery.severity.value]
        ]
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_the_healthy_simulated_fleet_fires_no_shipped_rule(seed):
    # the temperature anomaly rule included: whole-degree readings step by one degree
    assert fired(Fleet(nodes=4, gpus_per_node=4, seed=seed), seconds=300) == []


def test_a_driver_mismatch_and_an_output_drift_fire_the_rules_their_runbooks_match():
    schedule = parse_schedule(
        "driver_mismatch@30s+5m:node=gpu-node-1;output_drift@30s+5m:node=gpu-node-2,kl=0.2"
    )
    alerts = fired(Fleet(nodes=2, gpus_per_node=4, seed=3, schedule=schedule), seconds=240)
    assert sorted(set(alerts)) == [
        ("driver_cuda_incompatible", "gpu-node-1", "P2"),
        ("model_unavailable", "gpu-node-1", "P1"),  # the replica crash-loops
        ("output_distribution_drift", "gpu-node-2", "P3"),
    ]


def test_every_rule_a_shipped_runbook_matches_is_a_shipped_rule_or_left_to_alertmanager():
    from_alertmanager = {  # documented in runbooks/README.md, with their Prometheus rules
        "deployment_rollout_failed",
        "serving_error_rate_high",
        "output_kl_divergence_high",
    }
    matched = {rule for book in load_runbooks(None) for rule in book.match.rules}
    assert matched - known_rules(load_engine_config(None)) == from_alertmanager


def test_the_p1_rule_is_model_unavailable_as_the_sla_policy_says():
    config = load_config(None)
    (p1,) = [r for r in config.engine.thresholds if r.severity_crit == Severity.P1]
    assert p1.name == "model_unavailable"
