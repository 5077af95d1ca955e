"""Alerts from Alertmanager through the incident flow, on the in-memory unit of work."""

from __future__ import annotations

import pytest

from bot.core.alerts import Level
from bot.core.incidents import Severity
from bot.services.external_alerts import (
    ExternalAlert,
    level_of,
    node_of,
    receive_alerts,
    severity_of,
)
from storage.memory import InMemoryStore, InMemoryUnitOfWork
from tests.fakes import FakeNotifier, FrozenClock


@pytest.mark.parametrize(
    ("labels", "level", "severity"),
    [
        ({"severity": "critical"}, Level.CRIT, Severity.P2),
        ({"severity": "page"}, Level.CRIT, Severity.P2),
        ({"severity": "Critical"}, Level.CRIT, Severity.P2),
        ({"severity": "warning"}, Level.WARN, Severity.P3),
        ({"severity": "info"}, Level.WARN, Severity.P3),
        ({}, Level.WARN, Severity.P3),
        ({"severity": "critical", "gpuwarden_severity": "P1"}, Level.CRIT, Severity.P1),
        ({"severity": "warning", "gpuwarden_severity": "p2"}, Level.WARN, Severity.P2),
        ({"severity": "critical", "gpuwarden_severity": "P9"}, Level.CRIT, Severity.P2),
    ],
)
def test_labels_give_the_level_and_the_incident_severity(labels, level, severity):
    assert level_of(labels) is level
    assert severity_of(labels, level) is severity


@pytest.mark.parametrize(
    ("labels", "node"),
    [
        ({"node": "gpu-node-1", "instance": "10.0.0.9:9840"}, "gpu-node-1"),
        ({"instance": "gpu-node-2:9840"}, "gpu-node-2"),
        ({"instance": "gpu-node-3"}, "gpu-node-3"),
        ({"instance": "[2001:db8::1]:9100"}, "2001:db8::1"),
        ({"instance": "2001:db8::1"}, "2001:db8::1"),
        ({"job": "vllm"}, ""),
    ],
)
def test_the_node_is_the_node_label_else_the_host_of_the_instance(labels, node):
    assert node_of(labels) == node


class World:
    def __init__(self) -> None:
        self.store = InMemoryStore()
        self.notifier = FakeNotifier()
        self.clock = FrozenClock()

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)

    async def send(self, *alerts: ExternalAlert):
        self.clock.advance(1)
        return await receive_alerts(
            alerts=alerts, uow=self.uow, notifier=self.notifier, clock=self.clock
        )

    def timeline(self, incident_id: int = 1) -> list[str]:
        with self.uow() as tx:
            return [e.kind for e in tx.timeline.list(incident_id)]


def alert(
    fingerprint: str = "0a1b2c3d4e5f6071",
    *,
    firing: bool = True,
    name: str = "VLLMDown",
    **labels: str,
) -> ExternalAlert:
    return ExternalAlert(
        fingerprint=fingerprint,
        firing=firing,
        labels={"alertname": name, "severity": "critical", **labels},
        annotations={"summary": f"{name} on {labels.get('instance', '?')}"},
        starts_at=1_799_999_000.0,
        ends_at=None if firing else 1_800_000_500.0,
    )


@pytest.fixture
def world() -> World:
    return World()


async def test_a_firing_alert_opens_an_incident_grouped_by_the_instance_host(world: World):
    result = await world.send(alert(instance="gpu-node-7:8000", job="vllm"))
    assert (result.fired, result.resolved, result.ignored) == (1, 0, 0)
    with world.uow() as tx:
        (incident,) = tx.incidents.list()
        (stored,) = tx.alerts.for_incident(incident.id)
    assert (incident.severity, incident.group_key) == (Severity.P2, "node:gpu-node-7")
    assert stored.fingerprint == "am:0a1b2c3d4e5f6071"
    assert stored.rule == "VLLMDown"
    assert stored.level is Level.CRIT
    assert stored.labels == (
        ("instance", "gpu-node-7:8000"),
        ("job", "vllm"),
        ("node", "gpu-node-7"),
    )
    assert stored.summary == "VLLMDown on gpu-node-7:8000"
    assert world.notifier.replies == [(1, "CRIT alert fired: VLLMDown on gpu-node-7:8000")]


async def test_repeats_and_retries_of_a_firing_alert_add_nothing(world: World):
    await world.send(alert(instance="gpu-node-7:8000"))
    again = await world.send(alert(instance="gpu-node-7:8000"))
    assert (again.fired, again.ignored) == (0, 1)
    assert world.timeline() == ["incident.opened", "alert.fired"]
    assert len(world.notifier.replies) == 1


async def test_resolved_alert_is_resolved_once_and_may_fire_again(world: World):
    await world.send(alert(instance="gpu-node-7:8000"))
    resolved = await world.send(alert(instance="gpu-node-7:8000", firing=False))
    repeat = await world.send(alert(instance="gpu-node-7:8000", firing=False))
    assert (resolved.resolved, repeat.ignored) == (1, 1)
    with world.uow() as tx:
        assert tx.alerts.get("am:0a1b2c3d4e5f6071").resolved_at == 1_800_000_500.0
    assert world.timeline() == [
        "incident.opened",
        "alert.fired",
        "alert.resolved",
        "incident.clear",
    ]
    refired = await world.send(alert(instance="gpu-node-7:8000"))
    assert refired.fired == 1
    assert world.timeline()[-1] == "alert.fired"


async def test_a_resolved_alert_the_bot_never_saw_is_ignored(world: World):
    result = await world.send(alert(firing=False, instance="gpu-node-7:8000"))
    assert (result.resolved, result.ignored) == (0, 1)
    with world.uow() as tx:
        assert tx.incidents.list() == []


async def test_alerts_of_one_node_share_an_incident_whatever_their_source(world: World):
    await world.send(
        alert("01", instance="gpu-node-7:8000"),
        alert("02", name="GPUXidFatal", node="gpu-node-7", gpuwarden_severity="P1"),
        alert("03", instance="gpu-node-8:8000"),
    )
    with world.uow() as tx:
        incidents = tx.incidents.list()
        assert sorted(i.group_key for i in incidents) == ["node:gpu-node-7", "node:gpu-node-8"]
        assert len(tx.alerts.for_incident(1)) == 2
