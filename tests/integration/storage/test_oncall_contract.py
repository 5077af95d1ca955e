"""Contract of on-call overrides, manual escalations and the pager's ledger query, everywhere."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.core.errors import NotFound
from bot.core.escalation import ManualEscalation
from bot.core.incidents import Incident, Severity
from bot.core.oncall import Override, OverrideKind, ScheduleOverride
from bot.core.ports import UnitOfWorkFactory


def _incident(new_uow: UnitOfWorkFactory, title: str = "vLLM down") -> Incident:
    with new_uow() as uow:
        incident = uow.incidents.create(
            title=title, severity=Severity.P1, group_key=f"node:{title}", created_at=1000.0
        )
        uow.commit()
    return incident


def _override(
    user: str, start: float, end: float, schedule: str = "gpu-primary"
) -> ScheduleOverride:
    return ScheduleOverride(
        schedule, Override(user, start, end), OverrideKind.OVERRIDE, "U0CAROL", 900.0
    )


def test_overrides_come_back_with_ids_oldest_first_and_only_those_still_to_end(
    new_uow: UnitOfWorkFactory,
) -> None:
    with new_uow() as uow:
        first = uow.overrides.add(_override("U0BOB", 1000.0, 2000.0))
        uow.overrides.add(_override("U0ALICE", 100.0, 500.0))  # over before 1500
        third = uow.overrides.add(
            ScheduleOverride(
                "gpu-backup", Override("U0ALICE", 1000.0, 9000.0), OverrideKind.SWAP, "U0BOB", 950.0
            )
        )
        uow.commit()

    with new_uow() as uow:
        listed = uow.overrides.list(ending_after=1500.0)

    assert (first.id or 0) < (third.id or 0)
    assert listed == [first, third]
    assert listed[1].kind is OverrideKind.SWAP
    assert listed[1].created_by == "U0BOB"


def test_an_override_rolled_back_is_not_stored(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        uow.overrides.add(_override("U0BOB", 1000.0, 2000.0))  # no commit

    with new_uow() as uow:
        assert uow.overrides.list(ending_after=0.0) == []


def test_a_step_is_escalated_by_hand_once(new_uow: UnitOfWorkFactory) -> None:
    incident = _incident(new_uow)
    step = ManualEscalation(incident.id, 1, 0, 1010.0, "U0BOB")
    with new_uow() as uow:
        assert uow.escalations.record(step) is True
        assert uow.escalations.record(step) is False  # within one unit too
        uow.commit()
    with new_uow() as uow:
        assert (
            uow.escalations.record(ManualEscalation(incident.id, 1, 0, 1011.0, "U0ALICE")) is False
        )
        assert uow.escalations.record(ManualEscalation(incident.id, 2, 0, 1050.0, "U0ALICE"))
        uow.commit()

    with new_uow() as uow:
        listed = uow.escalations.list([incident.id, 999])
    assert listed == [step, ManualEscalation(incident.id, 2, 0, 1050.0, "U0ALICE")]


def test_manual_escalations_are_listed_per_incident(new_uow: UnitOfWorkFactory) -> None:
    one, two = _incident(new_uow, "one"), _incident(new_uow, "two")
    with new_uow() as uow:
        uow.escalations.record(ManualEscalation(two.id, 1, 0, 1020.0, "U0BOB"))
        uow.escalations.record(ManualEscalation(one.id, 1, 0, 1030.0, "U0BOB"))
        uow.commit()

    with new_uow() as uow:
        assert [e.incident_id for e in uow.escalations.list([one.id])] == [one.id]
        assert [e.incident_id for e in uow.escalations.list([one.id, two.id])] == [two.id, one.id]
        assert uow.escalations.list([]) == []


def test_escalating_an_unknown_incident_raises(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow, pytest.raises(NotFound):
        uow.escalations.record(ManualEscalation(999, 1, 0, 1.0, "U0BOB"))


def test_of_concurrent_presses_of_one_step_exactly_one_is_recorded(
    new_uow: UnitOfWorkFactory,
) -> None:
    incident = _incident(new_uow)

    def press(n: int) -> bool:
        with new_uow() as uow:
            won = uow.escalations.record(ManualEscalation(incident.id, 1, 0, 1010.0 + n, "U0BOB"))
            uow.commit()
        return won

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(press, range(8)))

    assert sorted(results) == [False] * 7 + [True]


def test_incidents_missing_lists_those_sent_one_kind_but_not_the_other(
    new_uow: UnitOfWorkFactory,
) -> None:
    resolved, open_, pending = (_incident(new_uow, t) for t in ("resolved", "open", "pending"))
    with new_uow() as uow:
        for incident in (resolved, open_, pending):
            key = f"incident:{incident.id}:pager:trigger"
            uow.notifications.claim(
                key, incident_id=incident.id, kind="pager.trigger", due_at=1.0, now=1.0
            )
            if incident is not pending:
                uow.notifications.mark_sent(key, 2.0)
        uow.notifications.claim(
            f"incident:{resolved.id}:pager:resolve",
            incident_id=resolved.id,
            kind="pager.resolve",
            due_at=3.0,
            now=3.0,
        )  # still sending: counts as there
        uow.commit()

    with new_uow() as uow:
        assert uow.notifications.incidents_missing(
            sent="pager.trigger", missing="pager.resolve"
        ) == [open_.id]
