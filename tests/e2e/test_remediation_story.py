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
2. The primary DeepSeek deployment stops serving (its pods crash-loop in the stand-in) → a P1
   "model unavailable" → the model-unavailable runbook → the fail-over (high risk) approved by
   two people other than the requester → the Service selects the standby → the model serves
   again → mitigated well inside the 30-minute SLA, which the timeline says.

On failure the incident's Markdown timeline export is left in the test's tmp dir.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from bot.config.files import DEFAULTS_DIR
from tests.integration.remediation.conftest import CHANNEL, World
from tests.processes import Process, eventually, free_port

SCENARIOS = Path(__file__).parent / "scenarios"
KUBE_TOKEN = "remediation-story-kube-token"
MODEL_INCIDENT = "model:deepseek-ai/DeepSeek-V3"
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
}
REMEDIATION = f"""
roles:
  responder: {{users: ["*"]}}
  approver: {{users: [{ALICE}, {BOB}, {CAROL}]}}
approvals: {{ttl: 15m, high_risk_approvers: 2}}
guards: {{cooldown: 1s, max_step: 4, max_replicas: 10, min_replicas: 1}}
"""


@dataclass
class Story:
    """The running world (sandbox, bot) and the simulated fleet that follows the stand-in."""

    world: World
    agent: Process

    def incident(self, *, severity: str) -> dict[str, Any]:
        """The model's incident, once it is open at ``severity``."""

        def found() -> dict[str, Any] | None:
            listed = httpx.get(f"{self.world.bot_url}/api/v1/incidents", timeout=5).json()
            return next(
                (
                    i
                    for i in listed
                    if i["group_key"] == MODEL_INCIDENT and i["severity"] == severity
                ),
                None,
            )

        return eventually(found, timeout_s=OPEN_S, what=f"a {severity} incident of the model")

    def status(self, incident_id: int) -> str:
        url = f"{self.world.bot_url}/api/v1/incidents/{incident_id}"
        return str(httpx.get(url, timeout=5).json()["status"])

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
        answer = httpx.post(
            f"{self.world.sandbox_url}/_sandbox/click",
            json={
                "user": user,
                "channel": CHANNEL,
                "ts": message["ts"],
                "action_id": action_id,
                "value": value,
            },
            timeout=30,
        )
        answer.raise_for_status()

    def step_past(self, ref: str, step: str) -> dict[str, Any]:
        """The run's message once ``step`` is no longer the one its buttons act on."""

        def moved() -> dict[str, Any] | None:
            message = self.world.run_message(ref)
            values = [
                e.get("value", "")
                for b in message["blocks"]
                for e in b.get("elements", [])
                if isinstance(e, dict)
            ]
            return None if any(v.endswith(f":{step}") for v in values) else message

        return eventually(moved, timeout_s=OPEN_S, what=f"{ref} past the step {step}")

    def deployment(self, name: str) -> dict[str, Any]:
        deployments = self.world.kube("GET", "state")["deployments"]
        return dict(next(d for d in deployments if d["name"] == name))

    def service(self) -> dict[str, Any]:
        services = self.world.kube("GET", "state")["services"]
        return dict(next(s for s in services if s["name"] == SERVICE))

    def markdown(self, incident_id: int) -> str:
        url = f"{self.world.bot_url}/api/v1/incidents/{incident_id}/timeline"
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
    sandbox_port, kube_port, bot_port = free_port(), free_port(), free_port()
    sandbox_url, bot_url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{bot_port}"
    kube_url = f"http://127.0.0.1:{kube_port}"
    shared = {
        "GPUWARDEN_SLACK_BOT_TOKEN": "xoxb-test-" + secrets.token_hex(4),
        "GPUWARDEN_SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "GPUWARDEN_INGEST_TOKEN": secrets.token_urlsafe(16),
    }
    bot_env = {
        **shared,
        "GPUWARDEN_PORT": str(bot_port),
        "GPUWARDEN_DATA_DIR": str(tmp / "data"),
        "GPUWARDEN_CONFIG_DIR": str(config),
        "GPUWARDEN_SLACK_API_URL": f"{sandbox_url}/api/",
        "GPUWARDEN_KUBE_URL": kube_url,
        "GPUWARDEN_KUBE_TOKEN": KUBE_TOKEN,
        "GPUWARDEN_KUBE_NAMESPACE": "serving",
    }
    sandbox_args = [
        *("sandbox", "--port", str(sandbox_port), "--kube-port", str(kube_port)),
        *("--kube-token", KUBE_TOKEN, "--kube-ready-after", "0.5"),
        *("--llm-port", str(free_port()), "--request-url", f"{bot_url}/slack/events"),
    ]
    agent_args = [
        *("agent", "--simulate", "--nodes", "4", "--seed", SEED, "--interval", "0.5"),
        *("--bot-url", bot_url, "--kube-url", kube_url, "--kube-token", KUBE_TOKEN),
        *("--metrics-port", "0", "--quality-port", "0", *fault_args),
    ]
    sandbox = Process("sandbox", sandbox_args, shared, tmp)
    bot = agent = None
    try:
        sandbox.wait_ready(f"{sandbox_url}/_sandbox/healthz")
        bot = Process("bot", ["bot"], bot_env, tmp)
        bot.wait_ready(f"{bot_url}/readyz")
        agent = Process("agent", agent_args, shared, tmp)
        yield Story(World(sandbox_url, kube_url, bot_url, bot_env, tmp, bot), agent)
    finally:
        for process in (agent, bot, sandbox):
            if process is not None:
                process.stop()


@contextmanager
def record_on_failure(told: Story, tmp: Path, incident_id: list[int]) -> Iterator[None]:
    """Leave the incident's Markdown timeline (and where to find the logs) if the block fails."""
    try:
        yield
    except BaseException:
        for number in incident_id:
            (tmp / f"INC-{number}-timeline.md").write_text(told.markdown(number))
        raise


def test_a_traffic_surge_is_scaled_out_by_one_and_approved_by_another(tmp_path: Path) -> None:
    with story(tmp_path, "--scenario", str(SCENARIOS / "traffic-surge.yaml")) as told:
        world, seen = told.world, []
        with record_on_failure(told, tmp_path, seen):
            incident = told.incident(severity="P2")
            number, ref = int(incident["id"]), str(incident["ref"])
            seen.append(number)
            assert told.deployment(PRIMARY)["replicas"] == 4

            offer = told.offer(ref, "traffic-surge")
            told.click_value(CAROL, offer, "runbook.start", f"{number}:traffic-surge")
            message = world.run_message(ref, having="runbook.probe")
            for step in ("kv-cache", "capacity"):
                world.click(CAROL, message, "runbook.probe")
                message = told.step_past(ref, step)
            assert "gpu-node-1: Ready" in str(message["blocks"])  # the nodes probe's result

            world.click(ALICE, world.run_message(ref, having="runbook.request"), "runbook.request")
            plan = world.run_message(ref, having="action.approve")
            assert "spec.replicas: 4 → 6" in str(plan["blocks"])
            world.click(ALICE, plan, "action.approve")  # her own request
            world.answer_to(ALICE, "someone else must approve")
            assert told.deployment(PRIMARY)["replicas"] == 4

            world.click(BOB, plan, "action.approve")
            eventually(
                lambda: told.deployment(PRIMARY)["readyReplicas"] == 6,
                timeout_s=OPEN_S,
                what="6 ready replicas of the primary in the stand-in",
            )
            eventually(
                lambda: told.status(number) == "mitigated",
                timeout_s=RECOVER_S,
                what=f"{ref} mitigated once the verify step passes",
            )

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
