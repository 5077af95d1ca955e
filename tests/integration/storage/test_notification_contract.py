"""Contract of the notification ledger (claim, mark sent, release), on every implementation."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.core.errors import NotFound
from bot.core.incidents import Incident, NotificationState, Severity
from bot.core.ports import UnitOfWorkFactory

KEY = "incident:1:sla:P1:ack:100"


def _incident(new_uow: UnitOfWorkFactory) -> Incident:
    with new_uow() as uow:
        incident = uow.incidents.create(
            title="vLLM down", severity=Severity.P1, group_key="node:gpu-a1", created_at=1000.0
        )
        uow.commit()
    return incident


def _claim(new_uow: UnitOfWorkFactory, incident: Incident, key: str = KEY) -> bool:
    with new_uow() as uow:
        won = uow.notifications.claim(
            key, incident_id=incident.id, kind="breach", due_at=1300.0, now=1301.0
        )
        uow.commit()
    return won


def test_a_key_is_claimed_once(new_uow: UnitOfWorkFactory) -> None:
    incident = _incident(new_uow)

    assert _claim(new_uow, incident) is True
    assert _claim(new_uow, incident) is False
    assert _claim(new_uow, incident, key="incident:1:escalation:0:0") is True


def test_a_claim_within_one_unit_is_refused_the_second_time(new_uow: UnitOfWorkFactory) -> None:
    incident = _incident(new_uow)
    with new_uow() as uow:
        first = uow.notifications.claim(
            KEY, incident_id=incident.id, kind="breach", due_at=1300.0, now=1301.0
        )
        second = uow.notifications.claim(
            KEY, incident_id=incident.id, kind="breach", due_at=1300.0, now=1301.0
        )
        uow.commit()
    assert (first, second) == (True, False)


def test_a_rolled_back_claim_leaves_the_key_free(new_uow: UnitOfWorkFactory) -> None:
    incident = _incident(new_uow)
    with new_uow() as uow:
        assert uow.notifications.claim(
            KEY, incident_id=incident.id, kind="breach", due_at=1300.0, now=1301.0
        )  # no commit

    assert _claim(new_uow, incident) is True


def test_sent_lists_only_what_was_marked_sent_in_order(new_uow: UnitOfWorkFactory) -> None:
    incident = _incident(new_uow)
    for key in ("b", "a", "c"):
        assert _claim(new_uow, incident, key=key)
    with new_uow() as uow:
        uow.notifications.mark_sent("b", 1310.0, detail="<@U0ALICE>")
        uow.notifications.mark_sent("a", 1320.0)
        uow.commit()

    with new_uow() as uow:
        sent = uow.notifications.sent(incident.id)
    assert [(n.key, n.state, n.sent_at, n.detail) for n in sent] == [
        ("b", NotificationState.SENT, 1310.0, "<@U0ALICE>"),
        ("a", NotificationState.SENT, 1320.0, ""),
    ]
    assert (sent[0].incident_id, sent[0].kind, sent[0].due_at) == (incident.id, "breach", 1300.0)


def test_a_released_claim_can_be_claimed_again_but_a_sent_one_cannot(
    new_uow: UnitOfWorkFactory,
) -> None:
    incident = _incident(new_uow)
    assert _claim(new_uow, incident, key="failed")
    assert _claim(new_uow, incident, key="done")
    with new_uow() as uow:
        uow.notifications.release("failed")
        uow.notifications.mark_sent("done", 1302.0)
        uow.notifications.release("done")  # sent: stays
        uow.commit()

    assert _claim(new_uow, incident, key="failed") is True
    assert _claim(new_uow, incident, key="done") is False


def test_claims_need_an_existing_incident(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow, pytest.raises(NotFound):
        uow.notifications.claim(KEY, incident_id=999, kind="page", due_at=1.0, now=1.0)


def test_marking_an_unclaimed_key_sent_raises(new_uow: UnitOfWorkFactory) -> None:
    _incident(new_uow)
    with new_uow() as uow, pytest.raises(NotFound):
        uow.notifications.mark_sent("never-claimed", 1.0)


def test_of_two_concurrent_claims_exactly_one_wins(new_uow: UnitOfWorkFactory) -> None:
    incident = _incident(new_uow)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: _claim(new_uow, incident), range(8)))

    assert sorted(results) == [False] * 7 + [True]


def test_a_side_effect_of_no_incident_is_claimed_once_and_marked_sent(
    new_uow: UnitOfWorkFactory,
) -> None:
    def claim() -> bool:  # the weekly report: claimed by its ISO week, with no incident
        with new_uow() as uow:
            won = uow.notifications.claim(
                "report:2026-W48", incident_id=None, kind="report", due_at=1300.0, now=1301.0
            )
            uow.commit()
        return won

    assert claim() is True
    assert claim() is False
    with new_uow() as uow:
        uow.notifications.mark_sent("report:2026-W48", 1302.0, detail="3 incidents")
        uow.commit()
    assert claim() is False
