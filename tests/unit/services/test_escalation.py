"""Escalating by hand, group pages and the outside pager, with fakes and a frozen clock."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.errors import UserError
from bot.core.escalation import PagerAction
from bot.core.incidents import IncidentAction, Severity, apply
from bot.core.oncall import UserGroup
from bot.core.policy import AccessPolicy
from bot.services import escalation
from tests.fakes import FakePager, FakeUserGroups
from tests.unit.services.test_timers import CONFIG
from tests.unit.services.test_timers import World as TimersWorld

EVERYONE = AccessPolicy((("acknowledge", frozenset({"*"})), ("escalate", frozenset({"*"}))))
# the shipped escalation.yaml: P1 pages the schedule, then the schedule and @gpu-oncall
GPU_ONCALL = UserGroup("S0GPUONCALL", "gpu-oncall", ("U0ALICE", "U0BOB"))
PAGE_1 = "Paging <@U0ALICE> (escalation level 1)"
PAGE_2 = "Paging <@U0ALICE> <!subteam^S0GPUONCALL> (escalation level 2)"


class World(TimersWorld):
    """The timers' world, with user groups and an outside pager."""

    def __init__(self) -> None:
        super().__init__()
        self.groups = FakeUserGroups({GPU_ONCALL.id: GPU_ONCALL})
        self.pager = FakePager()

    async def pages(self, at: float) -> list[str]:
        """Run the timers ``at`` seconds after the incident opened; return the new pages."""
        return [text for text in await self.replies_at(at) if text.startswith("Paging")]

    async def escalate(self, at: float, user: str = "U0BOB", incident_id: int = 1) -> None:
        self.clock.t = self.opened + at
        await escalation.escalate(
            incident_id=incident_id,
            user=user,
            uow=self.uow,
            notifier=self.notifier,
            access=EVERYONE,
            escalation=CONFIG.escalation,
            clock=self.clock,
        )

    async def page_outside(self, at: float) -> None:
        self.clock.t = self.opened + at
        await escalation.page_outside(
            now=self.clock.now(),
            uow=self.uow,
            pager=self.pager,
            notifier=self.notifier,
            escalation=CONFIG.escalation,
        )

    def timeline(self, kind_prefix: str) -> list[tuple[str, str, str]]:
        with self.uow() as tx:
            entries = tx.timeline.list(1)
        return [(e.kind, e.text, e.actor) for e in entries if e.kind.startswith(kind_prefix)]


@pytest.fixture
def world() -> World:
    return World()


async def test_escalate_pages_the_next_level_now_and_says_who_escalated(world: World):
    world.open()
    assert await world.pages(0) == [PAGE_1]

    await world.escalate(60)

    assert world.timeline("escalation.manual") == [
        ("escalation.manual", "Escalated to level 2 by <@U0BOB>", "U0BOB")
    ]
    assert world.notifier.replies[-1] == (1, "Escalated to level 2 by <@U0BOB>")
    assert await world.pages(60) == [PAGE_2]


async def test_a_group_target_is_mentioned_as_the_group_and_each_member_is_dmed(world: World):
    world.open()
    await world.pages(0)
    world.notifier.dms.clear()

    assert await world.pages(300) == [PAGE_2]

    assert [user for user, _ in world.notifier.dms] == ["U0ALICE", "U0BOB"]  # alice once


async def test_a_group_that_cannot_be_looked_up_is_named_and_the_page_still_goes(world: World):
    world.open()
    world.groups.down = True
    await world.pages(0)
    assert await world.pages(300) == ["Paging <@U0ALICE> @gpu-oncall (escalation level 2)"]


async def test_pressing_escalate_twice_pages_the_next_level_once(world: World):
    world.open()
    await world.pages(0)
    await world.escalate(60)
    with pytest.raises(UserError, match="escalated to level 2 by <@U0BOB> moments ago"):
        await world.escalate(61, user="U0ALICE")

    assert await world.pages(61) == [PAGE_2]
    assert await world.pages(62) == []


async def test_two_presses_at_the_same_moment_record_one_escalation(world: World):
    world.open()
    await world.pages(0)
    world.clock.t = world.opened + 60
    results = await asyncio.gather(
        world.escalate(60), world.escalate(60, user="U0ALICE"), return_exceptions=True
    )
    assert sum(isinstance(r, UserError) for r in results) == 1
    assert len(world.timeline("escalation.manual")) == 1


async def test_the_automatic_chain_goes_on_from_the_level_escalated_to(world: World):
    world.open()
    await world.pages(0)
    await world.escalate(60)
    assert await world.pages(60) == [PAGE_2]

    assert await world.pages(300) == []  # level 2 is not paged again at its old time
    assert await world.pages(359) == []
    assert await world.pages(360) == ["Paging <@U0ALICE> (escalation level 1, round 2)"]


async def test_a_later_press_escalates_one_level_further(world: World):
    world.open()
    await world.pages(0)
    await world.escalate(60)
    await world.pages(60)
    await world.escalate(120)
    assert await world.pages(120) == ["Paging <@U0ALICE> (escalation level 1, round 2)"]


async def test_an_ack_stops_the_chain_but_escalating_after_it_pages_the_next_level(world: World):
    world.open()
    await world.pages(0)
    await world.acknowledge(30)
    assert await world.pages(300) == []

    await world.escalate(400)
    assert await world.pages(400) == [PAGE_2]
    assert await world.pages(9999) == []  # nothing further after the ack


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("p3", "P3, which pages nobody"),
        ("resolved", "INC-1 is resolved; there is nothing to escalate"),
        ("exhausted", "paged every escalation level"),
    ],
)
async def test_escalating_what_cannot_be_escalated_says_why(world: World, setup: str, message: str):
    incident = world.open(Severity.P3 if setup == "p3" else Severity.P1)
    if setup == "resolved":
        with world.uow() as tx:
            done = apply(incident, IncidentAction.RESOLVE, actor="U0ALICE", now=world.opened + 1)
            tx.incidents.save(done, expected_version=incident.version)
            tx.commit()
    at = 99999.0 if setup == "exhausted" else 60.0
    with pytest.raises(UserError, match=message):
        await world.escalate(at)
    assert world.timeline("escalation.manual") == []


async def test_escalating_needs_the_escalate_permission(world: World):
    world.open()
    with pytest.raises(UserError, match="not allowed to escalate"):
        await escalation.escalate(
            incident_id=1,
            user="U0BOB",
            uow=world.uow,
            notifier=world.notifier,
            access=AccessPolicy((("escalate", frozenset({"U0ALICE"})),)),
            escalation=CONFIG.escalation,
            clock=world.clock,
        )


async def test_the_pager_is_triggered_once_then_acknowledged_and_resolved(world: World):
    incident = world.open()
    await world.page_outside(0)
    await world.page_outside(1)
    with world.uow() as tx:
        acked = apply(incident, IncidentAction.ACKNOWLEDGE, actor="U0ALICE", now=world.opened + 30)
        tx.incidents.save(acked, expected_version=incident.version)
        tx.commit()
    await world.page_outside(31)
    with world.uow() as tx:
        resolved = apply(acked, IncidentAction.RESOLVE, actor="U0ALICE", now=world.opened + 60)
        tx.incidents.save(resolved, expected_version=acked.version)
        tx.commit()
    await world.page_outside(61)
    await world.page_outside(62)

    assert [(p.action, p.dedup_key) for p in world.pager.sent] == [
        (PagerAction.TRIGGER, "INC-1"),
        (PagerAction.ACKNOWLEDGE, "INC-1"),
        (PagerAction.RESOLVE, "INC-1"),
    ]
    assert [kind for kind, _, _ in world.timeline("pager.")] == [
        "pager.trigger",
        "pager.acknowledge",
        "pager.resolve",
    ]
    assert world.notifier.replies == []  # quiet in the thread while it works


async def test_a_pager_that_is_down_gets_the_event_on_a_later_run_once(world: World):
    world.open()
    world.pager.down = True
    await world.page_outside(0)
    await world.page_outside(2)
    world.pager.down = False
    await world.page_outside(4)
    await world.page_outside(6)
    assert [p.action for p in world.pager.sent] == [PagerAction.TRIGGER]


async def test_a_refused_event_is_recorded_and_said_in_the_thread_not_retried(world: World):
    world.open()
    world.pager.refuse = "Event object is invalid: 'payload.summary' is missing"
    await world.page_outside(0)
    await world.page_outside(2)
    (reply,) = world.notifier.replies
    assert "PagerDuty refused the trigger event" in reply[1]
    with world.uow() as tx:
        (sent,) = tx.notifications.sent(1)
    assert sent.detail.startswith("Event object is invalid")


async def test_severities_that_do_not_page_never_reach_the_pager(world: World):
    world.open(Severity.P3)
    await world.page_outside(0)
    assert world.pager.sent == []
