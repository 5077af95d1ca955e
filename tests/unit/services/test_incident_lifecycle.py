"""The incident use cases on the in-memory unit of work, a fake notifier and a frozen clock."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.config.files import load_config
from bot.core.alerts import Alert, AlertState, Level
from bot.core.errors import InvalidTransition, UserError
from bot.core.incidents import Incident, IncidentStatus, Severity
from bot.core.policy import AccessPolicy
from bot.services import incidents
from bot.services.incidents import Deps
from bot.services.timers import fire_due
from storage.memory import InMemoryStore, InMemoryUnitOfWork
from tests.fakes import FakeNotifier, FrozenClock

CONFIG = load_config(None)
EVERYONE = CONFIG.access  # the shipped rbac.yaml: every action for every member
ONLY_ALICE = AccessPolicy(tuple((grant, frozenset({"U0ALICE"})) for grant, _ in EVERYONE.grants))


class World:
    def __init__(self, access: AccessPolicy = EVERYONE) -> None:
        self.store = InMemoryStore()
        self.notifier = FakeNotifier()
        self.clock = FrozenClock()
        self.deps = Deps(self.uow, self.notifier, access, self.clock)

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)

    def open(self, severity: Severity = Severity.P3, *, node: str = "gpu-node-1") -> Incident:
        """An alert's incident, already posted to Slack, with one firing alert."""
        with self.uow() as tx:
            created = tx.incidents.create(
                title=f"GPU hot on {node}",
                severity=severity,
                group_key=f"node:{node}",
                created_at=self.clock.now(),
            )
            posted = replace(created, slack_channel="C0GPUALERTS", slack_ts=f"{created.id}.0001")
            assert tx.incidents.save(posted, expected_version=created.version)
            tx.alerts.upsert(alert(node), incident_id=created.id)
            tx.commit()
        return posted

    def get(self, incident_id: int) -> Incident:
        with self.uow() as tx:
            return tx.incidents.get(incident_id)

    def kinds(self, incident_id: int) -> list[str]:
        with self.uow() as tx:
            return [e.kind for e in tx.timeline.list(incident_id)]

    def audit(self) -> list[tuple[str, str, str]]:
        with self.uow() as tx:
            return [(a.actor, a.action, a.target) for a in reversed(tx.audit.list())]

    async def fire(self) -> list[str]:
        before = len(self.notifier.replies)
        await fire_due(
            now=self.clock.now(),
            uow=self.uow,
            notifier=self.notifier,
            sla=CONFIG.sla,
            escalation={},
            schedules={},
        )
        return [text for _, text in self.notifier.replies[before:]]


def alert(node: str) -> Alert:
    return Alert(
        fingerprint=f"hot-{node}",
        rule="gpu_temperature_high",
        labels=(("node", node), ("gpu", "0")),
        state=AlertState.FIRING,
        level=Level.CRIT,
        value=91.0,
        started_at=1_800_000_000.0,
        summary=f"GPU 0 on {node} at 91 °C",
    )


@pytest.fixture
def world() -> World:
    return World()


async def test_mitigate_then_resolve_with_a_note_then_close(world: World):
    incident = world.open()
    world.clock.advance(60)
    await incidents.mitigate(deps=world.deps, incident_id=incident.id, user="U0ALICE")
    world.clock.advance(60)
    await incidents.resolve(
        deps=world.deps, incident_id=incident.id, user="U0BOB", note="rolled back vLLM 0.6.4"
    )
    world.clock.advance(60)
    closed = await incidents.close(deps=world.deps, incident_id=incident.id, user="U0BOB")

    assert closed.status is IncidentStatus.CLOSED
    assert (closed.mitigated_at, closed.closed_at) == (incident.created_at + 60, world.clock.t)
    assert world.kinds(incident.id) == [
        "incident.mitigated",
        "incident.resolved",
        "incident.closed",
    ]
    assert [text for _, text in world.notifier.replies] == [
        "Mitigated by <@U0ALICE>",
        "Resolved by <@U0BOB>: rolled back vLLM 0.6.4",
        "Closed by <@U0BOB>",
    ]
    assert [i.status for i in world.notifier.updated] == ["mitigated", "resolved", "closed"]
    assert [a[1] for a in world.audit()] == [
        "incident.mitigate",
        "incident.resolve",
        "incident.close",
    ]


async def test_a_refused_transition_says_why_and_records_nothing(world: World):
    incident = world.open()
    with pytest.raises(InvalidTransition, match="INC-1 is triggered; it cannot be closed"):
        await incidents.close(deps=world.deps, incident_id=incident.id, user="U0ALICE")
    assert world.kinds(incident.id) == []
    assert world.notifier.updated == []


async def test_an_unknown_incident_is_a_user_error_that_points_to_list(world: World):
    with pytest.raises(UserError, match=r"There is no INC-99\. `/incident list`"):
        await incidents.mitigate(deps=world.deps, incident_id=99, user="U0ALICE")


@pytest.mark.parametrize(
    ("change", "verb"),
    [
        (lambda d: incidents.mitigate(deps=d, incident_id=1, user="U0CAROL"), "mitigate"),
        (lambda d: incidents.resolve(deps=d, incident_id=1, user="U0CAROL"), "resolve"),
        (
            lambda d: incidents.add_note(deps=d, incident_id=1, user="U0CAROL", text="hi"),
            "add notes to",
        ),
        (
            lambda d: incidents.change_severity(
                deps=d, incident_id=1, user="U0CAROL", severity=Severity.P1
            ),
            "change the severity of",
        ),
        (
            lambda d: incidents.declare(
                deps=d, user="U0CAROL", title="serving down", severity=Severity.P1
            ),
            "declare",
        ),
    ],
)
async def test_a_user_without_the_grant_is_refused_naming_the_action(change, verb):
    world = World(access=ONLY_ALICE)
    world.open()
    with pytest.raises(UserError, match=f"not allowed to {verb} incidents"):
        await change(world.deps)
    assert world.kinds(1) == []


async def test_severity_change_replans_the_sla_timers_from_the_open_time(world: World):
    incident = world.open(Severity.P3)
    world.clock.advance(20 * 60)  # P3 acks within 1 h: nothing due yet
    assert await world.fire() == []

    await incidents.change_severity(
        deps=world.deps, incident_id=incident.id, user="U0BOB", severity=Severity.P1
    )
    assert world.notifier.replies[-1] == (
        incident.id,
        "Severity P3 → P1 by <@U0BOB>; SLA deadlines re-planned",
    )
    # P1: ack in 5 min, restore in 30 min — both planned from the open time 20 min ago
    replies = await world.fire()
    assert replies == [
        "Ack deadline breached — escalating",
        "50 % of the restore deadline passed (10 min left)",
    ]
    assert world.get(incident.id).created_at == incident.created_at


async def test_resolving_stops_reminders_and_breaches(world: World):
    incident = world.open(Severity.P1)
    await incidents.resolve(deps=world.deps, incident_id=incident.id, user="U0ALICE")
    world.clock.advance(3600)
    assert await world.fire() == []


async def test_assign_sets_the_owner_and_the_root_message_shows_it(world: World):
    incident = world.open()
    assigned = await incidents.assign(
        deps=world.deps, incident_id=incident.id, user="U0ALICE", owner="U0BOB"
    )
    assert assigned.owner == "U0BOB"
    assert world.notifier.updated[-1].owner == "U0BOB"
    assert world.notifier.replies[-1] == (1, "Owner is now <@U0BOB> (set by <@U0ALICE>)")


async def test_a_note_sent_twice_by_one_request_is_added_once(world: World):
    incident = world.open()
    for _ in range(2):  # Slack retried the command
        await incidents.add_note(
            deps=world.deps,
            incident_id=incident.id,
            user="U0BOB",
            text="  draining gpu-node-1  ",
            request="trigger-1",
        )
    await incidents.add_note(
        deps=world.deps, incident_id=incident.id, user="U0BOB", text="drained", request="trigger-2"
    )
    assert world.kinds(incident.id) == ["incident.note", "incident.note"]
    assert [t for _, t in world.notifier.replies] == [
        "Note from <@U0BOB>: draining gpu-node-1",
        "Note from <@U0BOB>: drained",
    ]


async def test_two_changes_at_once_have_one_effect(world: World):
    incident = world.open()

    class SlowNotifier(FakeNotifier):
        async def update_incident(self, incident, alerts):
            await asyncio.sleep(0)
            await super().update_incident(incident, alerts)

    world.deps = replace(world.deps, notifier=SlowNotifier())
    outcomes = await asyncio.gather(
        incidents.mitigate(deps=world.deps, incident_id=incident.id, user="U0ALICE"),
        incidents.mitigate(deps=world.deps, incident_id=incident.id, user="U0BOB"),
        return_exceptions=True,
    )
    assert sum(isinstance(o, Incident) for o in outcomes) == 1
    assert world.kinds(incident.id) == ["incident.mitigated"]


async def test_merge_closes_the_duplicate_and_moves_its_alerts(world: World):
    survivor, duplicate = world.open(node="gpu-node-1"), world.open(node="gpu-node-2")
    await incidents.merge(
        deps=world.deps, duplicate_id=duplicate.id, into_id=survivor.id, user="U0ALICE"
    )

    merged = world.get(duplicate.id)
    assert (merged.status, merged.merged_into) == (IncidentStatus.CLOSED, survivor.id)
    with world.uow() as tx:
        assert [a.fingerprint for a in tx.alerts.for_incident(survivor.id)] == [
            "hot-gpu-node-1",
            "hot-gpu-node-2",
        ]
        assert tx.alerts.for_incident(duplicate.id) == []
    assert world.kinds(duplicate.id) == ["incident.merged"]
    assert world.kinds(survivor.id) == ["incident.merged_in"]
    assert (2, "Merged into INC-1 by <@U0ALICE> as a duplicate") in world.notifier.replies
    assert (
        1,
        "INC-2 merged into this incident by <@U0ALICE> (1 alerts moved here)",
    ) in world.notifier.replies


async def test_declare_opens_a_triggered_incident_owned_by_who_declared_it(world: World):
    declared = await incidents.declare(
        deps=world.deps,
        user="U0BOB",
        title="  DeepSeek-V3   returns 503s ",
        severity=Severity.P1,
        description="since the 14:00 rollout",
    )
    assert (declared.status, declared.owner, declared.declared_by) == (
        IncidentStatus.TRIGGERED,
        "U0BOB",
        "U0BOB",
    )
    assert declared.title == "DeepSeek-V3 returns 503s"
    assert declared.slack_ts is not None  # posted
    assert world.get(declared.id).description == "since the 14:00 rollout"
    assert world.notifier.replies == [
        (declared.id, "INC-1 declared (P1) by <@U0BOB>: DeepSeek-V3 returns 503s")
    ]


@pytest.mark.parametrize("title", ["", "  ab  ", "x" * 141])
async def test_declare_refuses_a_title_too_short_or_too_long(world: World, title: str):
    with pytest.raises(UserError, match="title"):
        await incidents.declare(deps=world.deps, user="U0BOB", title=title, severity=Severity.P2)
    assert world.notifier.posted == []


def test_view_returns_the_newest_entries_and_the_total(world: World):
    incident = world.open()
    asyncio.run(_notes(world, incident, 4))
    seen = incidents.view(uow=world.uow, incident_id=incident.id, entries=3)
    assert seen.total_entries == 4
    assert [e.text for e in seen.entries] == [f"Note from <@U0BOB>: n{i}" for i in (1, 2, 3)]
    assert [a.fingerprint for a in seen.alerts] == ["hot-gpu-node-1"]


async def _notes(world: World, incident: Incident, count: int) -> None:
    for i in range(count):
        await incidents.add_note(
            deps=world.deps, incident_id=incident.id, user="U0BOB", text=f"n{i}"
        )
