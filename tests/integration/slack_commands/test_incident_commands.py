"""/incident commands, the root message's buttons and the declare modal, over real HTTP.

A person acts through the sandbox's automation endpoints exactly as in the browser; the sandbox
delivers signed slash commands, clicks and modal submissions to the bot, which keeps incidents
in PostgreSQL and answers through the Web API and response_url.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from tests.integration.slack_commands.conftest import CHANNEL, WAIT_S, World
from tests.processes import eventually


def thread_texts(world: World, ref: str) -> list[str]:
    return [r["text"] for r in world.root(ref)["replies"]]


def kinds(world: World, incident_id: int) -> list[str]:
    return [e["kind"] for e in world.timeline(incident_id)]


def wait_for_reply(world: World, ref: str, needle: str) -> None:
    eventually(
        lambda: any(needle in t for t in thread_texts(world, ref)),
        timeout_s=WAIT_S,
        what=f"{needle!r} in the thread of {ref}",
    )


def test_declare_opens_the_modal_and_submitting_it_posts_the_incident(world: World):
    answer = world.command("U0ALICE", "declare")
    assert answer["status"] == 200

    views = world.read("views", user="U0ALICE")["views"]["U0ALICE"]
    view = views[-1]["view"]
    assert view["callback_id"] == "incident.declare"
    too_short = world.act(
        "submit",
        user="U0ALICE",
        view_id=view["id"],
        values={"declare.title": {"declare.title": "x"}},
    )
    assert too_short["response_action"] == "errors"
    shown = world.read("views", user="U0ALICE")["views"]["U0ALICE"][-1]
    assert "at least 5 characters" in shown["errors"]["declare.title"]

    world.act(
        "submit",
        user="U0ALICE",
        view_id=view["id"],
        values={
            "declare.title": {"declare.title": "DeepSeek-V3 returns 503s"},
            "declare.severity": {"declare.severity": "P1"},
            "declare.description": {"declare.description": "since the 14:00 rollout"},
        },
    )
    world.answer_to("U0ALICE", "Declared INC-")
    incidents = [i for i in world.read_api() if i["title"] == "DeepSeek-V3 returns 503s"]
    assert [(i["severity"], i["status"]) for i in incidents] == [("P1", "triggered")]
    ref = incidents[0]["ref"]
    root = world.root(ref)
    assert "since the 14:00 rollout" in str(root["blocks"])
    assert "<@U0ALICE>" in str(root["blocks"])  # who declared it owns it
    wait_for_reply(world, ref, "declared (P1) by <@U0ALICE>")


def test_ack_mitigate_resolve_by_command_update_the_message_and_the_thread(world: World):
    number = world.declare("U0BOB", "KV cache thrashing on ds-v3")
    ref = f"INC-{number}"
    world.command("U0ALICE", f"ack {ref}")
    world.answer_to("U0ALICE", f"Done: {ref} is acknowledged")
    world.command("U0ALICE", f"mitigate inc-{number}")
    world.answer_to("U0ALICE", f"Done: {ref} is mitigated")
    world.command("U0BOB", f"resolve {number} rolled back to vLLM 0.6.3")
    world.answer_to("U0BOB", f"Done: {ref} is resolved")

    assert world.incident(number)["status"] == "resolved"
    eventually(lambda: "resolved" in world.root(ref)["text"], timeout_s=WAIT_S, what="root updated")
    wait_for_reply(world, ref, "Resolved by <@U0BOB>: rolled back to vLLM 0.6.3")
    texts = thread_texts(world, ref)
    order = ["Acknowledged by <@U0ALICE>", "Mitigated by <@U0ALICE>", "Resolved by <@U0BOB>"]
    positions = [next(i for i, t in enumerate(texts) if o in t) for o in order]
    assert positions == sorted(positions)
    assert [k for k in kinds(world, number) if k.startswith("incident.")][1:] == [
        "incident.acknowledged",
        "incident.mitigated",
        "incident.resolved",
    ]
    world.command("U0BOB", f"close {ref}")
    world.answer_to("U0BOB", f"Done: {ref} is closed")


def test_sev_assign_note_timeline_and_show(world: World):
    number = world.declare("U0ALICE", "Straggler GPU slows training")
    ref = f"INC-{number}"
    world.command("U0ALICE", f"sev {ref} P1")
    world.answer_to("U0ALICE", f"Done: {ref} is triggered (P1)")
    world.command("U0ALICE", f"assign {ref} <@U0BOB|bob>")  # as Slack escapes a mention
    world.answer_to("U0ALICE", "owner <@U0BOB>")
    world.command("U0CAROL", f'note {ref} customer "acme" informed')
    world.answer_to("U0CAROL", f"Note added to {ref}")
    wait_for_reply(world, ref, 'Note from <@U0CAROL>: customer "acme" informed')

    shown = world.command("U0ALICE", f"timeline {ref}")["ephemeral"]
    assert "Severity P2 → P1 by <@U0ALICE>" in shown["text"]
    assert "Owner is now <@U0BOB>" in shown["text"]
    details = world.command("U0ALICE", f"show {ref}")["ephemeral"]
    assert "Straggler GPU slows training" in details["text"]
    assert "<@U0BOB>" in str(details["blocks"])


def test_merge_closes_the_duplicate(world: World):
    first = world.declare("U0ALICE", "Gateway 503s (first report)")
    second = world.declare("U0BOB", "Gateway 503s (second report)")
    world.command("U0BOB", f"merge INC-{second} into INC-{first}")
    world.answer_to("U0BOB", f"INC-{first} is triggered")
    merged = world.incident(second)
    assert merged["status"] == "closed"
    wait_for_reply(world, f"INC-{second}", f"Merged into INC-{first}")
    wait_for_reply(world, f"INC-{first}", f"INC-{second} merged into this incident")


def click(world: World, user: str, ts: str, action_id: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{world.sandbox_url}/_sandbox/click",
        json={"user": user, "channel": CHANNEL, "ts": ts, "action_id": action_id},
        timeout=10,
    )
    body = answer.json()
    return {"status": answer.status_code} if answer.status_code == 404 else dict(body)


def deliver_as_slack(world: World, payload: dict[str, Any], *, retry: int) -> int:
    """POST a block_actions payload to the bot signed as Slack signs it; ``retry`` > 0 is a
    Slack retry (``X-Slack-Retry-Num``) of the same delivery."""
    body = urlencode({"payload": json.dumps(payload)})
    stamp = str(int(time.time()))
    signature = SignatureVerifier(world.signing_secret).generate_signature(
        timestamp=stamp, body=body
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": str(signature),
    }
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    answer = httpx.post(f"{world.bot_url}/slack/events", content=body, headers=headers, timeout=10)
    return answer.status_code


def test_slack_retries_of_one_click_have_one_effect(world: World):
    number = world.declare("U0ALICE", "XID 79 on gpu-node-3")
    root = world.root(f"INC-{number}")
    payload = {
        "type": "block_actions",
        "team": {"id": "T0SANDBOX"},
        "user": {"id": "U0BOB", "name": "bob"},
        "channel": {"id": root.get("channel", ""), "name": CHANNEL},
        "container": {"type": "message", "message_ts": root["ts"]},
        "message": root,
        "trigger_id": "1.2.retried",
        "response_url": f"{world.sandbox_url}/_sandbox/response/gone",
        "actions": [
            {
                "type": "button",
                "action_id": "incident.acknowledge",
                "block_id": "incident.actions",
                "value": str(number),
                "action_ts": str(time.time()),
            }
        ],
    }
    with ThreadPoolExecutor(3) as pool:  # the retries arrive while the first is in flight
        statuses = list(pool.map(lambda n: deliver_as_slack(world, payload, retry=n), range(3)))
    assert statuses == [200, 200, 200]
    eventually(
        lambda: world.incident(number)["status"] == "acknowledged", timeout_s=WAIT_S, what="the ack"
    )
    time.sleep(0.5)
    assert kinds(world, number).count("incident.acknowledged") == 1
    assert sum("Acknowledged by" in t for t in thread_texts(world, f"INC-{number}")) == 1


def test_double_clicks_have_one_effect_and_the_loser_is_told(world: World):
    number = world.declare("U0ALICE", "NVLink errors on gpu-node-7")
    ref = f"INC-{number}"
    ts = world.root(ref)["ts"]
    with ThreadPoolExecutor(2) as pool:
        acks = list(pool.map(lambda _: click(world, "U0BOB", ts, "incident.acknowledge"), range(2)))
    # a click that comes after the message lost its button is not delivered (404), as in Slack
    assert sorted(a["status"] for a in acks)[0] == 200
    eventually(lambda: "acknowledged" in world.root(ref)["text"], timeout_s=WAIT_S, what="the ack")
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: click(world, "U0BOB", ts, "incident.resolve"), range(2)))
    eventually(lambda: "resolved" in world.root(ref)["text"], timeout_s=WAIT_S, what="resolved")

    assert kinds(world, number).count("incident.acknowledged") == 1
    assert kinds(world, number).count("incident.resolved") == 1
    texts = thread_texts(world, ref)
    assert sum("Acknowledged by" in t for t in texts) == 1, texts
    assert sum("Resolved by" in t for t in texts) == 1, texts
    losers = [t for t in world.ephemerals("U0BOB") if t.startswith(f"{ref} ")]
    assert losers  # each losing click is told why: already done, or changed at that moment
    assert all("cannot be" in t or "changed by someone else" in t for t in losers)


def test_the_severity_select_changes_the_level(world: World):
    number = world.declare("U0ALICE", "Throughput down 40 percent")
    ref = f"INC-{number}"
    ts = world.root(ref)["ts"]
    chosen = world.act(
        "select", user="U0BOB", channel=CHANNEL, ts=ts, action_id="incident.severity", value="P1"
    )
    assert chosen["status"] == 200
    eventually(lambda: world.incident(number)["severity"] == "P1", timeout_s=WAIT_S, what="P1")
    eventually(
        lambda: f"{ref} [P1]" in world.root(ref)["text"], timeout_s=WAIT_S, what="the P1 root"
    )


def test_a_user_without_the_grant_gets_an_ephemeral_refusal(world: World):
    number = world.declare("U0ALICE", "Power capping on rack 3")
    ref = f"INC-{number}"
    world.command("U0CAROL", f"ack {ref}")
    refusal = world.answer_to("U0CAROL", "not allowed to acknowledge")
    assert "rbac.yaml" in refusal
    click(world, "U0CAROL", world.root(ref)["ts"], "incident.resolve")
    world.answer_to("U0CAROL", "not allowed to resolve")
    assert world.incident(number)["status"] == "triggered"
    assert not [e for e in world.timeline(number) if e["actor"] == "U0CAROL"]
    assert not [e for e in world.ephemerals("U0ALICE") if "not allowed" in e]  # only carol saw


def test_an_unknown_incident_or_a_bad_argument_gets_an_ephemeral_answer(world: World):
    shown = world.command("U0ALICE", "show INC-999")
    assert shown["status"] == 200
    assert "There is no INC-999" in shown["ephemeral"]["text"]
    assert "`/incident list`" in shown["ephemeral"]["text"]
    world.command("U0ALICE", "ack INC-999")
    world.answer_to("U0ALICE", "There is no INC-999")
    world.command("U0ALICE", "ack the-big-one")
    world.answer_to("U0ALICE", "`the-big-one` is not an incident; write it as `INC-12`")
    world.command("U0ALICE", "sev 1 P7")
    world.answer_to("U0ALICE", "`P7` is not a severity; use P1, P2 or P3.")
    world.command("U0ALICE", "mitigate")
    world.answer_to("U0ALICE", "Usage: `/incident mitigate INC-12`")
    assert not [
        m for m in world.read("messages", channel=CHANNEL)["messages"] if "INC-999" in m["text"]
    ]
