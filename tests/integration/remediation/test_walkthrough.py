"""A runbook walked through in Slack, with a scale-out approved by a second person, over HTTP.

The sandbox delivers signed clicks to the bot; the bot scales the Deployment of the Kubernetes
stand-in through the real ``kubernetes`` client; the timeline (HTTP API) and the hash-chained
audit log (the bot's database) show who requested, who approved and what happened. The crash
test kills the bot (SIGKILL) while the scale request is in flight and starts it again.
"""

from __future__ import annotations

from sqlmodel import create_engine

from bot.core.audit import verify_chain
from storage.repositories import SqlUnitOfWork
from tests.integration.remediation.conftest import WAIT_S, World
from tests.processes import eventually

RUNBOOK = "traffic-surge"


def _walk_to_scale_out(world: World, number: int, *, probe: bool) -> dict:
    ref = f"INC-{number}"
    world.command("U0CAROL", f"runbook {ref} {RUNBOOK}")
    message = world.run_message(ref, having="runbook.probe")
    for step in ("kv-cache", "capacity"):
        world.click("U0CAROL", message, "runbook.probe" if probe else "runbook.skip")
        message = world.step_past(ref, step)
    return world.run_message(ref, having="runbook.request")


def test_one_requests_another_approves_and_the_stand_in_scales(world: World) -> None:
    world.kube("POST", "reset", {})
    number = world.declare("U0ALICE", "Requests queue up on DeepSeek-V3")
    ref = f"INC-{number}"
    before = world.replicas()

    message = _walk_to_scale_out(world, number, probe=True)
    assert "gpu-node-1: Ready" in str(message["blocks"])  # the nodes probe's result

    world.click("U0ALICE", message, "runbook.request")
    plan = world.run_message(ref, having="action.approve")
    shown = str(plan["blocks"])
    assert f"spec.replicas: {before} → {before + 2}" in shown
    assert "Blast radius:*" in shown
    assert "Undo:* scale" in shown

    world.click("U0ALICE", plan, "action.approve")  # the requester cannot approve
    world.answer_to("U0ALICE", "someone else must approve")
    assert world.replicas() == before

    world.click("U0BOB", plan, "action.approve")
    eventually(lambda: world.replicas() == before + 2, timeout_s=WAIT_S, what="the scale-out")
    world.click("U0BOB", plan, "action.approve")  # a second click: nothing more happens
    done = world.wait_text(number, "done: scale serving/deepseek-v3-blue")
    assert "ACT-" in done
    texts = world.texts(number)
    assert any("<@U0ALICE> requested ACT-" in t for t in texts)
    assert any("<@U0BOB> approved ACT-" in t for t in texts)
    assert sum("Executing ACT-" in t for t in texts) == 1
    assert any("Runbook step *Add two serving replicas*: ACT-" in t for t in texts)
    world.run_message(ref, having="action.undo")  # the undo is offered, gated in its turn
    assert world.replicas() == before + 2

    engine = create_engine(f"sqlite:///{world.pair.directory}/data/gpuwarden.sqlite")
    with SqlUnitOfWork(engine) as tx:
        chain = list(tx.audit.chain())
    assert verify_chain(chain).intact
    actions = [(e.actor, e.action) for e in chain if e.action.startswith("action.")]
    assert ("U0ALICE", "action.request") in actions
    assert ("U0BOB", "action.approve") in actions
    assert [a for _, a in actions].count("action.execute") == 1


def test_killed_mid_execution_the_action_is_settled_once_by_the_cluster_state(
    world: World,
) -> None:
    world.kube("POST", "reset", {})
    number = world.declare("U0ALICE", "KV cache saturated on DeepSeek-V3")
    before = world.replicas()
    message = _walk_to_scale_out(world, number, probe=False)
    world.click("U0ALICE", message, "runbook.request")
    plan = world.run_message(f"INC-{number}", having="action.approve")
    # the scale's PATCH now takes 3 s: the bot dies while it is in flight
    world.kube("POST", "faults", {"verb": "patch", "resource": "deployments/scale", "delay_s": 3.0})
    world.click("U0BOB", plan, "action.approve")
    world.wait_text(number, "Executing ACT-")
    world.pair.bot.popen.kill()  # SIGKILL: no shutdown, no cleanup
    world.pair.bot.popen.wait()

    world.pair.start_bot()
    recovered = world.wait_text(number, "was found mid-execution; the cluster shows")
    replicas = world.replicas()
    assert replicas in (before, before + 2)  # applied at most once, never twice
    texts = world.texts(number)
    assert sum("Executing ACT-" in t for t in texts) == 1
    if replicas == before:  # the PATCH died with the bot: recorded as not applied
        assert "is not in effect" in recovered, recovered
    else:  # the PATCH landed after the bot died: recorded as done, not applied again
        assert "is not in effect" not in recovered, recovered
    eventually(lambda: world.replicas() == replicas, timeout_s=5, what="a stable cluster")
