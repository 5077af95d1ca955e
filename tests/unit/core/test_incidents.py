import pytest

from bot.core.errors import InvalidTransition
from bot.core.incidents import (
    TRANSITIONS,
    Incident,
    IncidentAction,
    IncidentStatus,
    Severity,
    apply,
)

S, A = IncidentStatus, IncidentAction


def incident(status: IncidentStatus = S.TRIGGERED) -> Incident:
    return Incident(
        id=7,
        title="t",
        severity=Severity.P3,
        status=status,
        group_key="node:n1",
        created_at=100.0,
        updated_at=100.0,
    )


@pytest.mark.parametrize(("status", "action"), sorted(TRANSITIONS))
def test_every_allowed_transition_moves_to_its_target_and_bumps_version(status, action):
    after = apply(incident(status), action, actor="U1", now=200.0)
    assert after.status is TRANSITIONS[(status, action)]
    assert after.version == 2
    assert after.updated_at == 200.0


@pytest.mark.parametrize(
    ("status", "action"),
    [(s, a) for s in S for a in A if (s, a) not in TRANSITIONS],
)
def test_every_other_transition_is_refused_with_a_message(status, action):
    with pytest.raises(InvalidTransition, match="INC-7 is"):
        apply(incident(status), action, actor="U1", now=200.0)


def test_acknowledge_records_who_and_when():
    after = apply(incident(), A.ACKNOWLEDGE, actor="U0ALICE", now=130.0)
    assert (after.acknowledged_by, after.acknowledged_at) == ("U0ALICE", 130.0)


def test_resolve_records_when():
    assert apply(incident(), A.RESOLVE, actor="U1", now=300.0).resolved_at == 300.0


def test_open_statuses():
    assert incident(S.ACKNOWLEDGED).is_open
    assert not incident(S.RESOLVED).is_open
    assert incident().ref == "INC-7"
