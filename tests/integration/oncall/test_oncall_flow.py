"""Paging, the Escalate button, ``/oncall`` and the user-group sync, over real HTTP.

The tests run in file order on one bot: the escalation test comes first, while alice is on call.
"""

from __future__ import annotations

import time

from tests.integration.oncall.conftest import World
from tests.processes import eventually

ESCALATE = "incident.escalate"
ACKNOWLEDGE = "incident.acknowledge"
PAGE_1 = "Paging <@U0ALICE> (escalation level 1)"
PAGE_2 = "Paging <!subteam^S0GPUAPPROVERS> (escalation level 2)"
LEVEL_3 = "escalation level 3"
ESCALATED = "Escalated to level 2 by <@U0BOB>"
PAGE_DM = "You are paged for INC-1"


def _count(world: World, ts: str, needle: str) -> int:
    """How many thread replies contain ``needle`` (a reply starts with its time)."""
    return sum(needle in text for text in world.replies(ts))


def _root(world: World, ref: str) -> str:
    return eventually(
        lambda: next((m["ts"] for m in world.messages() if ref in m.get("text", "")), None),
        timeout_s=15,
        what=f"the root message of {ref}",
    )


def test_escalate_pages_the_next_level_once_and_an_ack_stops_the_rest(world: World):
    world.push(0.97)  # a P1: alice (the schedule) is paged at once
    ts = _root(world, "INC-1")
    eventually(lambda: _count(world, ts, PAGE_1), timeout_s=15, what="the level 1 page")

    world.click("U0BOB", ts, ESCALATE, redeliveries=1)  # with one Slack retry of the delivery
    world.click("U0BOB", ts, ESCALATE)  # and a double click
    escalated_at = time.time()

    eventually(lambda: _count(world, ts, PAGE_2), timeout_s=10, what="the level 2 page")
    world.answer_to("U0BOB", "INC-1 was escalated to level 2 by <@U0BOB> moments ago")
    world.click("U0ALICE", ts, ACKNOWLEDGE)
    eventually(
        lambda: any(e["kind"] == "incident.acknowledged" for e in world.timeline(1)),
        timeout_s=10,
        what="the acknowledgement",
    )
    time.sleep(max(0.0, escalated_at + 12 + 4 - time.time()))  # past level 3's time, and a run

    replies = world.replies(ts)
    assert _count(world, ts, ESCALATED) == 1, replies
    assert _count(world, ts, PAGE_2) == 1, replies
    assert _count(world, ts, LEVEL_3) == 0, replies
    assert sum(PAGE_DM in text for text in world.dms("U0BOB")) == 1  # in @gpu-approvers
    assert sum(PAGE_DM in text for text in world.dms("U0ALICE")) == 1  # level 1
    assert not any(PAGE_DM in text for text in world.dms("U0CAROL"))
    manual = [e for e in world.timeline(1) if e["kind"] == "escalation.manual"]
    assert [(e["actor"], e["text"]) for e in manual] == [("U0BOB", ESCALATED)]


def test_oncall_shows_an_override_and_refuses_who_may_not_make_one(world: World):
    world.command("U0CAROL", "override <@U0BOB|bob> 2h")
    world.answer_to("U0CAROL", "not allowed to change who is on call")
    world.command("U0ALICE", "override <@U0BOB|bob> two-hours")
    world.answer_to("U0ALICE", "`two-hours` is not a duration")

    answer = world.command("U0ALICE", "override <@U0BOB|bob> 2h")
    assert answer["message"] is not None, answer  # said in the channel
    assert "<@U0BOB> is on call for *gpu-primary*" in answer["message"]["text"]

    shown = world.command("U0CAROL", "")["ephemeral"]["text"]  # the ack is the answer
    assert "*gpu-primary*: <@U0BOB> until" in shown
    assert "next: <@U0ALICE> from" in shown


def test_oncall_sync_puts_whoever_is_on_call_into_the_user_group(world: World):
    world.web_api("usergroups.users.update", usergroup="S0GPUONCALL", users="U0CAROL")
    assert world.group_members("gpu-oncall") == ["U0CAROL"]

    world.command("U0CAROL", "sync")

    world.answer_to("U0CAROL", "@gpu-oncall now holds the people on call: <@U0BOB>")
    assert world.group_members("gpu-oncall") == ["U0BOB"]


def test_a_swap_exchanges_the_current_shift_with_the_next_one(world: World):
    answer = world.command("U0BOB", "swap <@U0BOB|bob> with <@U0ALICE|alice>")
    assert answer["message"] is not None, answer
    assert "Swapped in *gpu-primary* by <@U0BOB>: <@U0ALICE> takes" in answer["message"]["text"]

    shown = world.command("U0CAROL", "now")["ephemeral"]["text"]
    assert "*gpu-primary*: <@U0ALICE> until" in shown
    assert "next: <@U0BOB> from" in shown
