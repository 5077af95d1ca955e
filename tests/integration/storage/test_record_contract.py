"""Contract of the timeline, alert, node, audit and ingest repositories, on every implementation."""

import pytest

from bot.core.alerts import Alert, AlertState, Level, fingerprint
from bot.core.errors import NotFound
from bot.core.incidents import AuditEntry, Incident, Node, Severity, TimelineEntry
from bot.core.ports import UnitOfWorkFactory


def _incident(new_uow: UnitOfWorkFactory, group_key: str = "node/gpu-a1") -> Incident:
    with new_uow() as uow:
        incident = uow.incidents.create(
            title="XID 79", severity=Severity.P1, group_key=group_key, created_at=1000.0
        )
        uow.commit()
    return incident


def _alert(
    name: str = "gpu-a1",
    *,
    state: AlertState = AlertState.FIRING,
    started_at: float = 1000.0,
    value: float = 91.5,
) -> Alert:
    labels = (("node", name), ("gpu", "3"))
    return Alert(
        fingerprint=fingerprint("gpu_temp", labels),
        rule="gpu_temp",
        labels=labels,
        state=state,
        level=Level.CRIT,
        value=value,
        started_at=started_at,
        summary="GPU 3 at 91.5 °C",
        fired_at=started_at + 60.0,
    )


# ---------------------------------------------------------------- timeline


def test_timeline_lists_entries_oldest_first(new_uow: UnitOfWorkFactory) -> None:
    incident = _incident(new_uow)
    with new_uow() as uow:
        late = uow.timeline.append(TimelineEntry(incident.id, at=30.0, kind="note", text="c"))
        early = uow.timeline.append(TimelineEntry(incident.id, at=10.0, kind="note", text="a"))
        same_time = uow.timeline.append(TimelineEntry(incident.id, at=10.0, kind="note", text="b"))
        uow.commit()

    with new_uow() as uow:
        assert uow.timeline.list(incident.id) == [early, same_time, late]


def test_timeline_append_assigns_an_id_and_keeps_actor_and_data(
    new_uow: UnitOfWorkFactory,
) -> None:
    incident = _incident(new_uow)
    entry = TimelineEntry(
        incident.id,
        at=12.5,
        kind="remediation",
        text="Scaled vllm-deepseek to 4 replicas",
        actor="U42",
        data=(("replicas", "4"), ("deployment", "vllm-deepseek")),
    )
    with new_uow() as uow:
        stored = uow.timeline.append(entry)
        uow.commit()

    assert stored.id is not None
    with new_uow() as uow:
        assert uow.timeline.list(incident.id) == [stored]
    assert stored.data == entry.data
    assert stored.actor == "U42"


def test_timeline_keeps_each_incident_apart(new_uow: UnitOfWorkFactory) -> None:
    first, second = _incident(new_uow, "a"), _incident(new_uow, "b")
    with new_uow() as uow:
        mine = uow.timeline.append(TimelineEntry(first.id, at=1.0, kind="note", text="mine"))
        uow.timeline.append(TimelineEntry(second.id, at=1.0, kind="note", text="theirs"))
        uow.commit()

    with new_uow() as uow:
        assert uow.timeline.list(first.id) == [mine]


def test_timeline_append_raises_not_found__for_an_unknown_incident(
    new_uow: UnitOfWorkFactory,
) -> None:
    with new_uow() as uow, pytest.raises(NotFound, match="77"):
        uow.timeline.append(TimelineEntry(77, at=1.0, kind="note", text="lost"))


# ---------------------------------------------------------------- alerts


def test_alert_upsert_then_get_returns_the_same_alert(new_uow: UnitOfWorkFactory) -> None:
    alert = _alert()
    with new_uow() as uow:
        uow.alerts.upsert(alert)
        uow.commit()

    with new_uow() as uow:
        assert uow.alerts.get(alert.fingerprint) == alert


def test_alert_upsert_replaces_the_alert_with_the_same_fingerprint(
    new_uow: UnitOfWorkFactory,
) -> None:
    resolved = _alert(state=AlertState.RESOLVED, value=70.0)
    with new_uow() as uow:
        uow.alerts.upsert(_alert())
        uow.commit()
    with new_uow() as uow:
        uow.alerts.upsert(resolved)
        uow.commit()

    with new_uow() as uow:
        assert uow.alerts.get(resolved.fingerprint) == resolved


def test_alert_get_raises_not_found_naming_the_fingerprint(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow, pytest.raises(NotFound, match="deadbeef"):
        uow.alerts.get("deadbeef")


def test_list_firing_returns_only_firing_alerts_by_fingerprint(
    new_uow: UnitOfWorkFactory,
) -> None:
    firing = [_alert("gpu-a1"), _alert("gpu-a2"), _alert("gpu-a3")]
    with new_uow() as uow:
        for alert in firing:
            uow.alerts.upsert(alert)
        uow.alerts.upsert(_alert("gpu-b1", state=AlertState.PENDING))
        uow.alerts.upsert(_alert("gpu-b2", state=AlertState.RESOLVED))
        uow.commit()

    with new_uow() as uow:
        assert uow.alerts.list_firing() == sorted(firing, key=lambda a: a.fingerprint)


def test_incident_of_tells_which_incident_an_alert_is_attached_to(
    new_uow: UnitOfWorkFactory,
) -> None:
    incident = _incident(new_uow)
    attached, loose = _alert("gpu-a1"), _alert("gpu-a2")
    with new_uow() as uow:
        uow.alerts.upsert(attached, incident_id=incident.id)
        uow.alerts.upsert(loose)
        uow.commit()

    with new_uow() as uow:
        assert uow.alerts.incident_of(attached.fingerprint) == incident.id
        assert uow.alerts.incident_of(loose.fingerprint) is None
        assert uow.alerts.incident_of("unknown") is None


def test_alert_upsert_without_incident_keeps_the_incident_it_had(
    new_uow: UnitOfWorkFactory,
) -> None:
    incident = _incident(new_uow)
    with new_uow() as uow:
        uow.alerts.upsert(_alert(), incident_id=incident.id)
        uow.commit()
    resolved = _alert(state=AlertState.RESOLVED)
    with new_uow() as uow:
        uow.alerts.upsert(resolved)
        uow.commit()

    with new_uow() as uow:
        assert uow.alerts.incident_of(resolved.fingerprint) == incident.id
        assert uow.alerts.get(resolved.fingerprint) == resolved


def test_alerts_for_incident_are_oldest_first(new_uow: UnitOfWorkFactory) -> None:
    incident, other = _incident(new_uow, "a"), _incident(new_uow, "b")
    late, early = _alert("gpu-a1", started_at=200.0), _alert("gpu-a2", started_at=100.0)
    with new_uow() as uow:
        uow.alerts.upsert(late, incident_id=incident.id)
        uow.alerts.upsert(early, incident_id=incident.id)
        uow.alerts.upsert(_alert("gpu-b1"), incident_id=other.id)
        uow.alerts.upsert(_alert("gpu-c1"))
        uow.commit()

    with new_uow() as uow:
        assert uow.alerts.for_incident(incident.id) == [early, late]


def test_alert_upsert_raises_not_found__for_an_unknown_incident(
    new_uow: UnitOfWorkFactory,
) -> None:
    with new_uow() as uow, pytest.raises(NotFound, match="55"):
        uow.alerts.upsert(_alert(), incident_id=55)


# ---------------------------------------------------------------- nodes


def test_node_touch_inserts_then_updates(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        uow.nodes.touch(Node(name="gpu-b", last_seen=10.0, agent_version="0.1.0", gpu_count=8))
        uow.nodes.touch(Node(name="gpu-a", last_seen=11.0, agent_version="0.1.0", gpu_count=8))
        uow.commit()
    updated = Node(name="gpu-b", last_seen=25.0, agent_version="0.2.0", gpu_count=7)
    with new_uow() as uow:
        uow.nodes.touch(updated)
        uow.commit()

    with new_uow() as uow:
        assert uow.nodes.list() == [
            Node(name="gpu-a", last_seen=11.0, agent_version="0.1.0", gpu_count=8),
            updated,
        ]


# ---------------------------------------------------------------- audit


def test_audit_lists_newest_first_and_honours_the_limit(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        old = uow.audit.append(AuditEntry(at=1.0, actor="U1", action="ack", target="INC-1"))
        new = uow.audit.append(
            AuditEntry(at=3.0, actor="U2", action="approve", target="INC-1", detail="scale 4")
        )
        middle = uow.audit.append(AuditEntry(at=2.0, actor="U1", action="note", target="INC-1"))
        uow.commit()

    assert None not in {old.id, new.id, middle.id}
    with new_uow() as uow:
        assert uow.audit.list() == [new, middle, old]
        assert uow.audit.list(limit=1) == [new]


# ---------------------------------------------------------------- ingest ledger


def test_ingest_ledger_refuses_a_batch_id_recorded_before(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        assert uow.ingest.record("b-1", node="gpu-a1", received_at=1.0) is True
        uow.commit()

    with new_uow() as uow:
        assert uow.ingest.record("b-1", node="gpu-a1", received_at=2.0) is False
        assert uow.ingest.record("b-2", node="gpu-a1", received_at=2.0) is True


def test_ingest_duplicate_in_the_same_unit_of_work_spoils_none_of_its_other_writes(
    new_uow: UnitOfWorkFactory,
) -> None:
    with new_uow() as uow:
        assert uow.ingest.record("b-1", node="gpu-a1", received_at=1.0) is True
        uow.nodes.touch(Node(name="gpu-a1", last_seen=1.0))
        assert uow.ingest.record("b-1", node="gpu-a1", received_at=1.0) is False
        uow.audit.append(AuditEntry(at=1.0, actor="gpuwarden", action="ingest", target="b-1"))
        uow.commit()

    with new_uow() as uow:
        assert [n.name for n in uow.nodes.list()] == ["gpu-a1"]
        assert [e.target for e in uow.audit.list()] == ["b-1"]
        assert uow.ingest.record("b-1", node="gpu-a1", received_at=3.0) is False
