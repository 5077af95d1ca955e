"""fire_due against the in-memory unit of work, a fake notifier and a frozen clock."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, time

import pytest

from bot.config.files import load_config
from bot.core.incidents import Incident, IncidentAction, Severity, TimelineEntry, apply
from bot.core.oncall import Layer, Schedule
from bot.core.policy import AccessPolicy
from bot.services.incidents import acknowledge
from bot.services.timers import fire_due
from storage.memory import InMemoryStore, InMemoryUnitOfWork
from tests.fakes import FakeNotifier, FakeUserGroups, FrozenClock

CONFIG = load_config(None)  # the shipped sla.yaml and escalation.yaml
ALICE_ALWAYS = Schedule("gpu-primary", (Layer(("U0ALICE",), 7, time(9), "UTC", date(2026, 1, 5)),))
EVERYONE = AccessPolicy((("acknowledge", frozenset({"*"})),))
ACK_BREACHED = "Ack deadline breached — escalating"
PAGE_1 = "Paging <@U0ALICE> (escalation level 1)"
PAGE_2 = "Paging <@U0ALICE> @gpu-oncall (escalation level 2)"


class World:
    def __init__(self) -> None:
        self.store = InMemoryStore()
        self.notifier = FakeNotifier()
        self.clock = FrozenClock()
        self.opened = self.clock.now()
        self.groups: FakeUserGroups | None = None  # user groups: none looked up

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)

    def open(self, severity: Severity = Severity.P1) -> Incident:
        with self.uow() as tx:
            incident = tx.incidents.create(
                title="vLLM on gpu-node-1 down",
                severity=severity,
                group_key="node:gpu-node-1",
                created_at=self.opened,
            )
            posted = replace(incident, slack_channel="C0GPUALERTS", slack_ts="1.000100")
            assert tx.incidents.save(posted, expected_version=incident.version)
            tx.commit()
        return posted

    async def fire(self, at: float) -> float | None:
        """Run fire_due ``at`` seconds after the incident opened; return the next due time."""
        self.clock.t = self.opened + at
        return await fire_due(
            now=self.clock.now(),
            uow=self.uow,
            notifier=self.notifier,
            sla=CONFIG.sla,
            escalation=CONFIG.escalation,
            schedules={"gpu-primary": ALICE_ALWAYS},
            groups=self.groups,
        )

    async def replies_at(self, at: float) -> list[str]:
        before = len(self.notifier.replies)
        await self.fire(at)
        return [text for _, text in self.notifier.replies[before:]]

    async def acknowledge(self, at: float, user: str = "U0ALICE") -> None:
        """Acknowledge INC-1 ``at`` seconds after it opened."""
        self.clock.t = self.opened + at
        await acknowledge(
            incident_id=1,
            user=user,
            uow=self.uow,
            notifier=self.notifier,
            access=EVERYONE,
            clock=self.clock,
        )

    def timeline(self, incident_id: int = 1) -> list[str]:
        with self.uow() as tx:
            return [e.kind for e in tx.timeline.list(incident_id)]


@pytest.fixture
def world() -> World:
    return World()


async def test_p1_pages_at_once_reminds_at_50_and_80_percent_then_breaches_and_escalates(
    world: World,
):
    world.open(Severity.P1)  # ack in 5 min

    assert await world.replies_at(0) == [PAGE_1]
    assert await world.replies_at(149) == []
    assert await world.replies_at(150) == ["50 % of the ack deadline passed (3 min left)"]
    assert await world.replies_at(240) == ["80 % of the ack deadline passed (1 min left)"]
    assert await world.replies_at(300) == [ACK_BREACHED, PAGE_2]
    assert world.notifier.dms == [
        ("U0ALICE", world.notifier.dms[0][1]),
        ("U0ALICE", world.notifier.dms[0][1]),
    ]
    assert "You are paged for INC-1 (P1): vLLM on gpu-node-1 down" in world.notifier.dms[0][1]
    assert world.timeline() == [
        "escalation.page",
        "sla.reminder",
        "sla.reminder",
        "sla.breach",
        "escalation.page",
    ]


async def test_a_second_run_at_the_same_time_fires_nothing(world: World):
    world.open(Severity.P1)
    await world.fire(300)
    sent = (list(world.notifier.replies), list(world.notifier.dms))

    assert await world.replies_at(300) == []
    assert await world.replies_at(301) == []
    assert (world.notifier.replies, world.notifier.dms) == sent


async def test_what_fell_due_while_down_fires_once__only_the_latest_timer_per_deadline(
    world: World,
):
    world.open(Severity.P1)

    assert await world.replies_at(400) == [PAGE_1, ACK_BREACHED, PAGE_2]  # no stale reminders
    assert await world.replies_at(400) == []
    assert len(world.notifier.dms) == 2


async def test_a_long_outage_pages_each_level_once_and_records_the_missed_rounds(world: World):
    world.open(Severity.P1)  # levels every 5 min, 2 repeats: the chain ends after 30 min

    replies = await world.replies_at(3600)

    assert [r for r in replies if r.startswith("Paging")] == [
        "Paging <@U0ALICE> (escalation level 1, round 3)",
        "Paging <@U0ALICE> @gpu-oncall (escalation level 2, round 3)",
    ]
    with world.uow() as tx:
        sent = {n.key: n.detail for n in tx.notifications.sent(1)}
    assert sent["incident:1:escalation:0:0"] == "superseded by incident:1:escalation:0:2"
    assert sent["incident:1:escalation:1:2"] == "<@U0ALICE>"
    assert await world.replies_at(3600) == []


async def test_acknowledging_stops_the_later_pages_and_the_ack_timers(world: World):
    world.open(Severity.P1)
    await world.fire(0)
    await world.acknowledge(60)

    assert await world.replies_at(600) == []
    assert await world.replies_at(900) == ["50 % of the restore deadline passed (15 min left)"]
    assert len(world.notifier.dms) == 1


async def test_an_acknowledgement_while_firing_stops_the_pages_still_to_come(world: World):
    incident = world.open(Severity.P1)
    await world.fire(0)

    class AckOnBreach(FakeNotifier):
        """Someone acknowledges while the breach is being posted, before page 2 is claimed."""

        async def post_timeline(self, incident: Incident, entry: TimelineEntry) -> None:
            await super().post_timeline(incident, entry)
            if entry.kind == "sla.breach":
                with world.uow() as tx:
                    current = tx.incidents.get(incident.id)
                    acked = apply(current, IncidentAction.ACKNOWLEDGE, actor="U0BOB", now=301)
                    assert tx.incidents.save(acked, expected_version=current.version)
                    tx.commit()

    world.notifier = AckOnBreach()

    assert await world.replies_at(300) == [ACK_BREACHED]
    assert await world.replies_at(900) == ["50 % of the restore deadline passed (15 min left)"]
    with world.uow() as tx:
        assert [n.key for n in tx.notifications.sent(incident.id)] == [
            "incident:1:escalation:0:0",
            "incident:1:sla:P1:ack:100",
            "incident:1:sla:P1:restore:50",
        ]


async def test_the_escalation_policy_comes_from_the_incident_severity(world: World):
    world.open(Severity.P3)  # posted, never paged; ack in 1 h

    assert await world.replies_at(0) == []
    assert await world.replies_at(3600) == [ACK_BREACHED]
    assert await world.replies_at(7200) == []
    assert world.notifier.dms == []


async def test_p2_pages_the_next_level_after_15_minutes(world: World):
    world.open(Severity.P2)

    assert await world.replies_at(0) == [PAGE_1]
    assert PAGE_2 not in await world.replies_at(899)
    assert await world.replies_at(900) == [ACK_BREACHED, PAGE_2]


async def test_fire_due_returns_when_the_next_timer_falls_due(world: World):
    world.open(Severity.P1)

    assert await world.fire(0) == world.opened + 150  # the 50 % reminder of the ack deadline
    assert await world.fire(300) == world.opened + 600  # level 1, round 2
    assert await world.fire(10_000) is None  # every deadline passed, the chain is over


async def test_nothing_is_due_for_incidents_that_are_not_open(world: World):
    assert await world.fire(0) is None
    assert world.notifier.replies == []


async def test_a_failed_thread_reply_is_tried_again_later(world: World):
    world.open(Severity.P1)
    world.notifier.down = True
    assert await world.fire(0) is not None
    assert world.timeline() == []

    world.notifier.down = False
    assert await world.replies_at(5) == [PAGE_1]
    assert world.timeline() == ["escalation.page"]


async def test_a_failed_dm_is_recorded_and_not_repeated(world: World):
    world.open(Severity.P1)
    world.notifier.dm_down = True

    assert await world.replies_at(0) == [PAGE_1]
    world.notifier.dm_down = False
    assert await world.replies_at(5) == []
    assert world.notifier.dms == []
    with world.uow() as tx:
        (page,) = tx.notifications.sent(1)
    assert page.detail == "<@U0ALICE> (no DM: U0ALICE)"


async def test_two_runs_at_once_send_each_page_once(world: World):
    world.open(Severity.P1)
    world.clock.t = world.opened + 300

    async def run() -> None:
        await world.fire(300)

    await asyncio.gather(run(), run(), run())

    assert [text for _, text in world.notifier.replies] == [PAGE_1, ACK_BREACHED, PAGE_2]
    assert len(world.notifier.dms) == 2


async def test_nobody_on_call_is_said_in_the_thread(world: World):
    world.open(Severity.P2)
    nobody = Schedule("gpu-primary", ())
    world.clock.t = world.opened
    await fire_due(
        now=world.clock.now(),
        uow=world.uow,
        notifier=world.notifier,
        sla=CONFIG.sla,
        escalation=CONFIG.escalation,
        schedules={"gpu-primary": nobody},
    )

    assert world.notifier.replies == [(1, "Escalation level 1: nobody to page (no one is on call)")]
    assert world.notifier.dms == []
