"""Mitigating or resolving an incident records on its timeline whether the SLA was met."""

from __future__ import annotations

from dataclasses import replace

from bot.config.files import load_config
from bot.core.incidents import Incident, IncidentStatus, Severity
from bot.services import incidents
from bot.services.incidents import Deps
from storage.memory import InMemoryStore, InMemoryUnitOfWork
from tests.fakes import FakeNotifier, FrozenClock

CONFIG = load_config(None)  # the shipped sla.yaml: P1 restore within 30 min, P2 mitigate in 1 h


class World:
    def __init__(self) -> None:
        self.store = InMemoryStore()
        self.notifier = FakeNotifier()
        self.clock = FrozenClock()
        self.deps = Deps(self.uow, self.notifier, CONFIG.access, self.clock, CONFIG.sla)

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)

    def open(self, severity: Severity) -> Incident:
        with self.uow() as tx:
            created = tx.incidents.create(
                title="DeepSeek-V3 does not answer",
                severity=severity,
                group_key="model:deepseek-ai/DeepSeek-V3",
                created_at=self.clock.now(),
            )
            posted = replace(created, slack_channel="C0GPUALERTS", slack_ts="1.0001")
            assert tx.incidents.save(posted, expected_version=created.version)
            tx.commit()
        return posted

    def entries(self, incident_id: int) -> list[tuple[str, str, dict[str, str]]]:
        with self.uow() as tx:
            return [(e.kind, e.text, dict(e.data)) for e in tx.timeline.list(incident_id)]


async def test_a_p1_mitigated_in_four_minutes_says_the_sla_was_met_in_the_thread():
    world = World()
    incident = world.open(Severity.P1)
    world.clock.advance(4 * 60 + 10)

    await incidents.mitigate(deps=world.deps, incident_id=incident.id, user="U0ALICE")
    await incidents.resolve(deps=world.deps, incident_id=incident.id, user="U0ALICE")

    entries = world.entries(incident.id)
    assert [kind for kind, _, _ in entries] == [
        "incident.mitigated",
        "sla.met",
        "incident.resolved",
    ]
    _, text, data = entries[1]
    assert text == "SLA met: restore within 30 min (P1) took 4 min, 25 min to spare"
    assert data == {"goal": "restore", "met": "true", "took_s": "250"}
    assert (incident.id, text) in world.notifier.replies


async def test_a_p2_resolved_after_its_hour_says_the_sla_was_missed():
    world = World()
    incident = world.open(Severity.P2)
    world.clock.advance(75 * 60)

    await incidents.resolve(deps=world.deps, incident_id=incident.id, user="U0BOB")

    kinds_texts = [(kind, text) for kind, text, _ in world.entries(incident.id)]
    assert kinds_texts[-1] == (
        "sla.missed",
        "SLA missed: mitigate within 1 h (P2) took 1 h 15 min, 15 min late",
    )
    with world.uow() as tx:
        assert tx.incidents.get(incident.id).status is IncidentStatus.RESOLVED


async def test_without_an_sla_policy_nothing_is_recorded_about_it():
    world = World()
    world.deps = replace(world.deps, sla=None)
    incident = world.open(Severity.P1)

    await incidents.mitigate(deps=world.deps, incident_id=incident.id, user="U0ALICE")

    assert [kind for kind, _, _ in world.entries(incident.id)] == ["incident.mitigated"]
