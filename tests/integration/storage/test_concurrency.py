"""Two transactions at once, on the real databases: the second waits, then loses cleanly."""

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

from bot.core.incidents import IncidentAction, Severity, apply
from bot.core.ports import UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")


def _in_new_unit(new_uow: UnitOfWorkFactory, work: Callable[[UnitOfWork], T]) -> T:
    with new_uow() as uow:
        result = work(uow)
        uow.commit()
    return result


def _race(
    new_uow: UnitOfWorkFactory, first: Callable[[UnitOfWork], T], second: Callable[[UnitOfWork], T]
) -> tuple[T, bool, T]:
    """Run ``first`` in an open transaction, start ``second`` beside it, then commit ``first``.

    Returns the first result, whether the second was still waiting when the first committed,
    and the second result.
    """
    with ThreadPoolExecutor(max_workers=1) as pool, new_uow() as uow:
        first_result = first(uow)
        pending: Future[T] = pool.submit(_in_new_unit, new_uow, second)
        done, _ = wait([pending], timeout=0.5)
        uow.commit()
        return first_result, not done, pending.result(timeout=30)


def test_second_of_two_concurrent_saves_is_refused(new_sql_uow: UnitOfWorkFactory) -> None:
    incident = _in_new_unit(
        new_sql_uow,
        lambda uow: uow.incidents.create(
            title="KV cache full", severity=Severity.P2, group_key="vllm", created_at=1.0
        ),
    )
    acked = apply(incident, IncidentAction.ACKNOWLEDGE, actor="U1", now=2.0)
    resolved = apply(incident, IncidentAction.RESOLVE, actor="U2", now=2.0)

    first, second_waited, second = _race(
        new_sql_uow,
        lambda uow: uow.incidents.save(acked, expected_version=1),
        lambda uow: uow.incidents.save(resolved, expected_version=1),
    )

    assert (first, second_waited, second) == (True, True, False)
    assert _in_new_unit(new_sql_uow, lambda uow: uow.incidents.get(incident.id)) == acked


def test_second_of_two_concurrent_records_of_one_batch_is_refused(
    new_sql_uow: UnitOfWorkFactory,
) -> None:
    first, second_waited, second = _race(
        new_sql_uow,
        lambda uow: uow.ingest.record("b-7", node="gpu-a1", received_at=1.0),
        lambda uow: uow.ingest.record("b-7", node="gpu-a2", received_at=1.0),
    )

    assert (first, second_waited, second) == (True, True, False)


def test_second_of_two_concurrent_claims_of_one_key_waits_and_loses(
    new_sql_uow: UnitOfWorkFactory,
) -> None:
    incident = _in_new_unit(
        new_sql_uow,
        lambda uow: uow.incidents.create(
            title="vLLM down", severity=Severity.P1, group_key="vllm", created_at=1.0
        ),
    )

    def claim(uow: UnitOfWork) -> bool:
        key = f"incident:{incident.id}:escalation:0:0"
        return uow.notifications.claim(
            key, incident_id=incident.id, kind="page", due_at=1.0, now=2.0
        )

    first, second_waited, second = _race(new_sql_uow, claim, claim)

    assert (first, second_waited, second) == (True, True, False)
