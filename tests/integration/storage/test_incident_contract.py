"""Contract of IncidentRepository and of the unit of work, on every implementation."""

from dataclasses import replace

import pytest

from bot.core.alerts import Alert, AlertState, Level
from bot.core.errors import NotFound
from bot.core.incidents import (
    AuditEntry,
    Incident,
    IncidentAction,
    IncidentStatus,
    Node,
    Severity,
    TimelineEntry,
    apply,
)
from bot.core.ports import UnitOfWork, UnitOfWorkFactory


def _create(uow: UnitOfWork, *, group_key: str = "node/gpu-a1", at: float = 1000.0) -> Incident:
    return uow.incidents.create(
        title=f"GPU lost on {group_key}", severity=Severity.P1, group_key=group_key, created_at=at
    )


def _committed(new_uow: UnitOfWorkFactory, *, at: float = 1000.0) -> Incident:
    with new_uow() as uow:
        incident = _create(uow, at=at)
        uow.commit()
    return incident


def test_create_returns_a_triggered_incident_with_an_id(new_uow: UnitOfWorkFactory) -> None:
    incident = _committed(new_uow, at=1000.5)

    assert incident.id >= 1
    assert incident.status is IncidentStatus.TRIGGERED
    assert incident.version == 1
    assert (incident.created_at, incident.updated_at) == (1000.5, 1000.5)


def test_get_returns_the_created_incident__in_a_later_unit_of_work(
    new_uow: UnitOfWorkFactory,
) -> None:
    created = _committed(new_uow)

    with new_uow() as uow:
        assert uow.incidents.get(created.id) == created


def test_get_raises_not_found_naming_the_id__when_the_incident_does_not_exist(
    new_uow: UnitOfWorkFactory,
) -> None:
    with new_uow() as uow, pytest.raises(NotFound, match="4242"):
        uow.incidents.get(4242)


def test_list_is_newest_first_and_honours_the_limit(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        old = _create(uow, group_key="a", at=100.0)
        new = _create(uow, group_key="b", at=300.0)
        middle = _create(uow, group_key="c", at=200.0)
        uow.commit()

    with new_uow() as uow:
        assert [i.id for i in uow.incidents.list()] == [new.id, middle.id, old.id]
        assert [i.id for i in uow.incidents.list(limit=2)] == [new.id, middle.id]


def test_list_returns_only_the_statuses_asked_for(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        triggered = _create(uow, group_key="a", at=100.0)
        resolved = apply(
            _create(uow, group_key="b", at=200.0), IncidentAction.RESOLVE, actor="ana", now=250.0
        )
        assert uow.incidents.save(resolved, expected_version=1)
        uow.commit()

    with new_uow() as uow:
        only_resolved = uow.incidents.list(statuses=frozenset({IncidentStatus.RESOLVED}))
        only_triggered = uow.incidents.list(statuses=frozenset({IncidentStatus.TRIGGERED}))

    assert only_resolved == [resolved]
    assert only_triggered == [triggered]


def test_find_open_returns_the_newest_open_incident_of_the_group(
    new_uow: UnitOfWorkFactory,
) -> None:
    with new_uow() as uow:
        _create(uow, group_key="node/a", at=100.0)
        newest = _create(uow, group_key="node/a", at=200.0)
        _create(uow, group_key="node/b", at=300.0)
        uow.commit()

    with new_uow() as uow:
        assert uow.incidents.find_open(group_key="node/a") == newest


def test_find_open_returns_none__when_the_group_has_only_resolved_incidents(
    new_uow: UnitOfWorkFactory,
) -> None:
    with new_uow() as uow:
        incident = _create(uow, group_key="node/a")
        resolved = apply(incident, IncidentAction.RESOLVE, actor="ana", now=1100.0)
        uow.incidents.save(resolved, expected_version=incident.version)
        uow.commit()

    with new_uow() as uow:
        assert uow.incidents.find_open(group_key="node/a") is None
        assert uow.incidents.find_open(group_key="node/unknown") is None


def test_save_writes_every_field__when_the_version_matches(new_uow: UnitOfWorkFactory) -> None:
    incident = _committed(new_uow)
    acked = apply(incident, IncidentAction.ACKNOWLEDGE, actor="U123", now=1060.0)

    with new_uow() as uow:
        assert uow.incidents.save(acked, expected_version=1) is True
        uow.commit()

    with new_uow() as uow:
        stored = uow.incidents.get(incident.id)
    assert stored == acked
    assert (stored.version, stored.acknowledged_by) == (2, "U123")


def test_save_refuses_and_changes_nothing__when_the_version_is_stale(
    new_uow: UnitOfWorkFactory,
) -> None:
    incident = _committed(new_uow)
    acked = apply(incident, IncidentAction.ACKNOWLEDGE, actor="U1", now=1060.0)
    resolved_from_stale = apply(incident, IncidentAction.RESOLVE, actor="U2", now=1070.0)
    with new_uow() as uow:
        assert uow.incidents.save(acked, expected_version=1)
        uow.commit()

    with new_uow() as uow:
        assert uow.incidents.save(resolved_from_stale, expected_version=1) is False
        uow.commit()

    with new_uow() as uow:
        assert uow.incidents.get(incident.id) == acked


def test_save_refuses__when_the_incident_does_not_exist(new_uow: UnitOfWorkFactory) -> None:
    ghost = Incident(
        id=999,
        title="ghost",
        severity=Severity.P3,
        status=IncidentStatus.TRIGGERED,
        group_key="g",
        created_at=1.0,
        updated_at=1.0,
    )

    with new_uow() as uow:
        assert uow.incidents.save(ghost, expected_version=1) is False
        with pytest.raises(NotFound):
            uow.incidents.get(999)


def test_get_sees_a_save_made_earlier_in_the_same_unit_of_work(
    new_uow: UnitOfWorkFactory,
) -> None:
    with new_uow() as uow:
        incident = _create(uow)
        acked = apply(incident, IncidentAction.ACKNOWLEDGE, actor="U1", now=1060.0)
        assert uow.incidents.save(acked, expected_version=1)

        assert uow.incidents.get(incident.id) == acked
        assert uow.incidents.list() == [acked]


def test_leaving_without_commit_keeps_nothing(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        incident = _create(uow)
        uow.timeline.append(TimelineEntry(incident_id=incident.id, at=1.0, kind="k", text="t"))
        uow.alerts.upsert(
            Alert("fp", "rule", (), AlertState.FIRING, Level.CRIT, 1.0, 1.0),
            incident_id=incident.id,
        )
        uow.nodes.touch(Node(name="gpu-a1", last_seen=1.0))
        uow.audit.append(AuditEntry(at=1.0, actor="U1", action="ack", target="INC-1"))
        uow.ingest.record("batch-1", node="gpu-a1", received_at=1.0)

    with new_uow() as uow:
        assert uow.incidents.list() == []
        assert uow.timeline.list(incident.id) == []
        assert uow.alerts.list_firing() == []
        assert uow.nodes.list() == []
        assert uow.audit.list() == []
        assert uow.ingest.record("batch-1", node="gpu-a1", received_at=2.0) is True


def test_an_error_inside_the_unit_of_work_leaves_nothing_half_written(
    new_uow: UnitOfWorkFactory,
) -> None:
    incident = _committed(new_uow)
    acked = apply(incident, IncidentAction.ACKNOWLEDGE, actor="U1", now=1060.0)

    def acknowledge_then_fail() -> None:
        with new_uow() as uow:
            uow.incidents.save(acked, expected_version=1)
            uow.timeline.append(
                TimelineEntry(incident_id=incident.id, at=1060.0, kind="ack", text="acked")
            )
            raise RuntimeError("Slack is down")

    with pytest.raises(RuntimeError, match="Slack is down"):
        acknowledge_then_fail()

    with new_uow() as uow:
        assert uow.incidents.get(incident.id) == incident
        assert uow.timeline.list(incident.id) == []


def test_writes_after_a_commit_need_their_own_commit(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        first = _create(uow, group_key="a")
        uow.commit()
        _create(uow, group_key="b")

    with new_uow() as uow:
        assert uow.incidents.list() == [first]


def test_the_lifecycle_fields_round_trip__merge_pointing_at_another_incident(
    new_uow: UnitOfWorkFactory,
) -> None:
    with new_uow() as uow:
        survivor = _create(uow, group_key="a", at=100.0)
        duplicate = _create(uow, group_key="b", at=110.0)
        changed = replace(
            duplicate,
            status=IncidentStatus.CLOSED,
            owner="U0BOB",
            declared_by="U0ALICE",
            description="503s from the gateway\nsince 14:00",
            mitigated_at=120.0,
            closed_at=130.0,
            merged_into=survivor.id,
            version=duplicate.version + 1,
        )
        assert uow.incidents.save(changed, expected_version=duplicate.version)
        uow.commit()

    with new_uow() as uow:
        assert uow.incidents.get(duplicate.id) == changed
