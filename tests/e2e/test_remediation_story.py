"""The remediation story end to end, in the demo world, every part a real process over HTTP.

``gpuwarden sandbox`` (the Slack and Kubernetes stand-ins, on free ports), ``gpuwarden bot``
(SQLite, the shipped runbooks, the shipped serving rules with short ``for`` durations) and
``gpuwarden agent --simulate`` following the Kubernetes stand-in: the simulated fleet serves with
the replicas the stand-in runs and the colour its Service selects, so an approved remediation
visibly brings the metrics back. People act only through the sandbox (``/_sandbox/click``), as
in the browser.

1. A scheduled traffic surge (``scenarios/traffic-surge.yaml``) → a P2 incident (TTFT / KV
   cache) → the traffic-surge runbook offered in its thread → walked by one person → the
   scale-out requested by alice, refused to her own approval, approved by bob → the stand-in runs
   6 replicas → the surge shared among them, TTFT and KV cache recover → the verify step passes
   → the incident is mitigated.
2. A broken release of the primary, rolled out with the ``Recreate`` strategy through the
   kubernetes client: every replica crash-loops, the engines the Service routes to stop
   answering (``gpuwarden_serving_up`` 0) → P1 "model unavailable" (the shipped rule opens one
   incident per node) → the model-unavailable runbook → the fail-over (high risk) approved by
   two people other than the requester → the Service selects the standby → the engines answer
   again → mitigated well inside the 30-minute restore deadline, which the timeline records.

On failure the incident's Markdown timeline export is left in the test's tmp dir, beside the
processes' logs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from kubernetes import client

from bot.config.files import DEFAULTS_DIR
from tests.integration.remediation.conftest import World
from tests.integration.slack_world import bot_with_sandbox
from tests.processes import eventually, running

SCENARIOS = Path(__file__).parent / "scenarios"
KUBE_TOKEN = "remediation-story-kube-token"
PRIMARY, STANDBY, SERVICE = "deepseek-v3-blue", "deepseek-v3-green", "deepseek-v3"
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
SEED = "2"  # gpu-node-1 carries the most traffic of the 4 nodes (see the scenario)
OPEN_S = 60.0  # a rule fires within seconds; generous for a shared CI machine
RECOVER_S = 90.0  # the fleet reads the cluster every 3 s; alerts resolve at the next samples
TTFT_RECOVER_S, KV_RECOVER = 0.15, 0.80  # the shipped rules' recover values
# the serving rules as shipped, their `for` durations shortened (warn longer than crit: a jump
# straight past the critical line opens the incident at the critical severity)
FOR = {
    "ttft_p99_high": {"warn": "4s", "crit": "1s"},
    "kv_cache_saturation": {"warn": "4s", "crit": "1s"},
    "model_unavailable": {"warn": "4s", "crit": "1s"},
}
BROKEN_IMAGE = "vllm/vllm-openai:v0.9.1-broken"  # the stand-in's pods of it never turn ready
WELL_INSIDE_S = 5 * 60  # the P1 restore deadline is 30 min
REMEDIATION = f"""
roles:
  responder: {{users: ["*"]}}
  approver: {{users: [{ALICE}, {BOB}, {CAROL}]}}
approvals: {{ttl: 15m, high_risk_approvers: 2}}
guards: {{cooldown: 1s, max_step: 4, max_replicas: 10, min_replicas: 1}}
"""


@dataclass
class Story:
    """The running sandbox and bot (the simulated fleet runs beside them), and what people see."""

    world: World

    def incident(self, *, severity: str, title: str) -> dict[str, Any]:
        """The first incident open at ``severity`` with ``title`` in its title."""

        def found() -> dict[str, Any] | None:
            listed = httpx.get(f"{self.world.pair.bot_url}/api/v1/incidents", timeout=5).json()
            return min(
                (i for i in listed if i["severity"] == severity and title in i["title"]),
                key=lambda i: int(i["id"]),
                default=None,
            )

        return eventually(found, timeout_s=OPEN_S, what=f"a {severity} incident ({title!r})")

    def wait_mitigated(self, incident_id: int) -> None:
        """Wait until the verify step has passed and marked the incident mitigated."""
        url = f"{self.world.pair.bot_url}/api/v1/incidents/{incident_id}"
        eventually(
            lambda: httpx.get(url, timeout=5).json()["status"] == "mitigated",
            timeout_s=RECOVER_S,
            what=f"INC-{incident_id} mitigated by its runbook's verify step",
        )

    def offer(self, ref: str, runbook: str) -> dict[str, Any]:
        """The runbook offer in the thread of ``ref``, once it offers ``runbook``."""

        def found() -> dict[str, Any] | None:
            root = next((m for m in self.world.messages() if f"{ref} [" in m.get("text", "")), None)
            replies = root.get("replies", []) if root else []
            return next(
                (
                    r
                    for r in replies
                    if r.get("text", "").startswith(f"Runbooks that fit {ref}:")
                    and f":{runbook}" in str(r["blocks"])
                ),
                None,
            )

        return eventually(found, timeout_s=OPEN_S, what=f"the {runbook} runbook offered in {ref}")

    def click_value(self, user: str, message: dict[str, Any], action_id: str, value: str) -> None:
        """Click the button of ``message`` with this action_id and value."""
        assert any(
            e.get("action_id") == action_id and e.get("value") == value
            for b in message.get("blocks", [])
            for e in [*b.get("elements", []), b.get("accessory") or {}]
        ), f"no {action_id} button with value {value!r} in {message.get('text')!r}"
        self.world.click(user, message, action_id, value=value)

    def walk(
        self, incident: dict[str, Any], runbook: str, *, probes: tuple[str, ...]
    ) -> dict[str, Any]:
        """Carol starts ``runbook`` from the offer and runs its ``probes``; the run's message."""
        number, ref = incident["id"], incident["ref"]
        self.click_value(CAROL, self.offer(ref, runbook), "runbook.start", f"{number}:{runbook}")
        message = self.world.run_message(ref, having="runbook.probe")
        for step in probes:
            self.world.click(CAROL, message, "runbook.probe")
            message = self.world.step_past(ref, step, timeout_s=OPEN_S)
        return message

    def request_refusing_own_approval(self, ref: str) -> dict[str, Any]:
        """Alice requests the step's action and tries to approve it herself; the plan shown."""
        request = self.world.run_message(ref, having="runbook.request")
        self.world.click(ALICE, request, "runbook.request")
        plan = self.world.run_message(ref, having="action.approve")
        self.world.click(ALICE, plan, "action.approve")
        self.world.answer_to(ALICE, "someone else must approve")
        return plan

    def deployment(self, name: str) -> dict[str, Any]:
        deployments = self.world.kube("GET", "state")["deployments"]
        return dict(next(d for d in deployments if d["name"] == name))

    def service(self) -> dict[str, Any]:
        services = self.world.kube("GET", "state")["services"]
        return dict(next(s for s in services if s["name"] == SERVICE))

    def markdown(self, incident_id: int) -> str:
        url = f"{self.world.pair.bot_url}/api/v1/incidents/{incident_id}/timeline"
        return httpx.get(url, params={"format": "md"}, timeout=10).text


def _rules() -> str:
    """The shipped rules that the story needs, with the short `for` durations of FOR."""
    shipped = yaml.safe_load((DEFAULTS_DIR / "rules.yaml").read_text())["rules"]
    rules = [{**r, "for": FOR[r["name"]]} for r in shipped if r["name"] in FOR]
    assert len(rules) == len(FOR), f"shipped rules lack some of {sorted(FOR)}"
    return yaml.safe_dump({"rules": rules}, sort_keys=False)


@contextmanager
def story(tmp: Path, *fault_args: str) -> Iterator[Story]:
    """Start the sandbox, the bot and the simulated 4-node fleet (with ``fault_args``)."""
    config = tmp / "config"
    config.mkdir()
    (config / "rules.yaml").write_text(_rules())
    (config / "remediation.yaml").write_text(REMEDIATION)
    with bot_with_sandbox(tmp, kube_token=KUBE_TOKEN, kube_ready_after=0.5) as pair:
        agent_args = [
            *("agent", "--simulate", "--nodes", "4", "--seed", SEED, "--interval", "0.5"),
            *("--bot-url", pair.bot_url, "--kube-url", pair.kube_url, "--kube-token", KUBE_TOKEN),
            *("--metrics-port", "0", "--quality-port", "0", *fault_args),
        ]
        with running("agent", agent_args, pair.secrets, tmp):
            yield Story(World(pair))


@contextmanager
def record_on_failure(told: Story, tmp: Path, incidents: list[int]) -> Iterator[None]:
    """If the block fails, leave the Markdown timeline of each of ``incidents`` in ``tmp``."""
    try:
        yield
    except BaseException:
        for number in incidents:
            try:
                (tmp / f"INC-{number}-timeline.md").write_text(told.markdown(number))
            except httpx.HTTPError as exc:  # the bot is gone: its log says why
                (tmp / f"INC-{number}-timeline.md").write_text(f"no export: {exc}\n")
        raise


def test_a_traffic_surge_is_scaled_out_by_one_and_approved_by_another(tmp_path: Path) -> None:
    with story(tmp_path, "--scenario", str(SCENARIOS / "traffic-surge.yaml")) as told:
        world, seen = told.world, list[int]()
        with record_on_failure(told, tmp_path, seen):
            incident = told.incident(severity="P2", title="deepseek-ai/DeepSeek-V3")
            number, ref = int(incident["id"]), str(incident["ref"])
            seen.append(number)
            assert told.deployment(PRIMARY)["replicas"] == 4

            probed = told.walk(incident, "traffic-surge", probes=("kv-cache", "capacity"))
            assert "gpu-node-1: Ready" in str(probed["blocks"])  # the nodes probe's result
            plan = told.request_refusing_own_approval(ref)
            assert "spec.replicas: 4 → 6" in str(plan["blocks"])
            assert told.deployment(PRIMARY)["replicas"] == 4

            world.click(BOB, plan, "action.approve")
            eventually(
                lambda: told.deployment(PRIMARY)["readyReplicas"] == 6,
                timeout_s=OPEN_S,
                what="6 ready replicas of the primary in the stand-in",
            )
            told.wait_mitigated(number)

            timeline = world.timeline(number)
            opened = _first(timeline, kind="incident.opened")
            assert "(P2)" in opened["text"]
            requested = _first(timeline, actor=ALICE, text="requested ACT-")
            approved = _first(timeline, actor=BOB, text="approved ACT-")
            assert not [e for e in timeline if e["actor"] == ALICE and "approved" in e["text"]]
            done = _first(timeline, text="done: scale serving/deepseek-v3-blue to 6 replicas")
            assert sum("Executing ACT-" in e["text"] for e in timeline) == 1
            recovered = [e for e in timeline if e["kind"] == "alert.resolved"]
            assert len(recovered) == 2, recovered  # TTFT p99 and KV cache, each back under ...
            for entry in recovered:  # ... its recover value, as the simulator's readings show
                line = KV_RECOVER if "KV cache" in entry["text"] else TTFT_RECOVER_S
                assert float(entry["data"]["value"]) <= line, entry
            verified = _first(timeline, kind="runbook.step", text="recovered")
            assert verified["data"]["step"] == "verify-latency"
            mitigated = _first(timeline, kind="incident.mitigated")
            met = _first(timeline, kind="sla.met")
            assert met["data"]["goal"] == "mitigate"
            _in_order(opened, requested, approved, done, *recovered, verified, mitigated, met)
            assert all(e["at"] >= done["at"] for e in recovered)  # the scale-out brought it back

            assert told.deployment(PRIMARY)["replicas"] == 6
            assert told.service()["selector"]["colour"] == "blue"


def test_a_broken_primary_is_failed_over_with_two_approvals_inside_the_sla(tmp_path: Path) -> None:
    with story(tmp_path, "--faults", "") as told:
        world, seen = told.world, list[int]()
        with record_on_failure(told, tmp_path, seen):
            _release_broken_primary(told.world.pair.kube_url)
            incident = told.incident(severity="P1", title="does not answer")
            number, ref = int(incident["id"]), str(incident["ref"])
            seen.append(number)

            probed = told.walk(incident, "model-unavailable", probes=("pods", "events"))
            assert "CrashLoopBackOff" in str(probed["blocks"])  # the pods probe's result
            plan = told.request_refusing_own_approval(ref)
            assert "colour=blue → app=deepseek-v3,colour=green" in str(plan["blocks"])
            world.click(BOB, plan, "action.approve")
            world.wait_text(number, f"<@{BOB}> approved ACT-")
            assert told.service()["selector"]["colour"] == "blue"  # high risk: one is not enough

            world.click(CAROL, world.run_message(ref, having="action.approve"), "action.approve")
            eventually(
                lambda: told.service()["selector"]["colour"] == "green",
                timeout_s=OPEN_S,
                what="the Service selecting the standby",
            )
            told.wait_mitigated(number)
            world.click(CAROL, world.run_message(ref, having="runbook.done"), "runbook.done")
            world.wait_text(number, "Runbook *Model unavailable")

            timeline = world.timeline(number)
            opened = _first(timeline, kind="incident.opened")
            assert "(P1)" in opened["text"]
            requested = _first(timeline, actor=ALICE, text="requested ACT-")
            first = _first(timeline, actor=BOB, text="approved ACT-")
            second = _first(timeline, actor=CAROL, text="approved ACT-")
            assert "(1 of 2)" in first["text"]
            assert "(2 of 2)" in second["text"]
            assert not [e for e in timeline if e["actor"] == ALICE and "approved" in e["text"]]
            done = _first(timeline, text="done: fail over serving/deepseek-v3")
            assert sum("Executing ACT-" in e["text"] for e in timeline) == 1
            recovered = _first(timeline, kind="alert.resolved")
            verified = _first(timeline, kind="runbook.step", text="recovered")
            assert verified["data"]["step"] == "verify-serving"
            mitigated = _first(timeline, kind="incident.mitigated")
            met = _first(timeline, kind="sla.met", text="restore within 30 min (P1)")
            assert met["data"]["met"] == "true"
            assert int(met["data"]["took_s"]) < WELL_INSIDE_S
            _in_order(opened, requested, first, second, done, recovered, verified, mitigated, met)

            service = told.service()
            assert service["deployments"] == [STANDBY]
            assert service["readyEndpoints"] == told.deployment(STANDBY)["readyReplicas"] == 2
            assert told.deployment(PRIMARY)["readyReplicas"] == 0  # still broken: the cause waits


def _release_broken_primary(kube_url: str) -> None:
    """Replace the primary with a release that crash-loops, stopping the old pods first."""
    config = client.Configuration(host=kube_url)
    config.api_key = {"authorization": f"Bearer {KUBE_TOKEN}"}
    with client.ApiClient(config) as api:
        apps = client.AppsV1Api(api)
        primary = apps.read_namespaced_deployment(PRIMARY, "serving")
        primary.spec.strategy = client.V1DeploymentStrategy(type="Recreate")
        pods = primary.spec.template.spec
        assert pods is not None
        pods.containers[0].image = BROKEN_IMAGE
        apps.replace_namespaced_deployment(PRIMARY, "serving", primary)


def _first(timeline: list[dict[str, Any]], **having: str) -> dict[str, Any]:
    """The first entry whose fields contain the given text (``kind`` and ``actor``: equal)."""
    for entry in timeline:
        if all(
            (value in entry[key]) if key == "text" else entry[key] == value
            for key, value in having.items()
        ):
            return entry
    texts = "\n".join(f"{e['kind']} {e['actor']}: {e['text']}" for e in timeline)
    raise AssertionError(f"no timeline entry with {having}; the timeline:\n{texts}")


def _in_order(*entries: dict[str, Any]) -> None:
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids), [e["text"] for e in entries]
