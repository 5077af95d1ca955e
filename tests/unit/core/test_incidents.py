from dataclasses import replace

import pytest

from bot.core.errors import InvalidTransition, UserError
from bot.core.incidents import (
    TRANSITIONS,
    Incident,
    IncidentAction,
    IncidentStatus,
    Severity,
    apply,
    assign,
    change_severity,
    merge,
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


# The lifecycle as the issue draws it, written out: any change to TRANSITIONS must change this.
LIFECYCLE = {
    (S.TRIGGERED, A.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.TRIGGERED, A.MITIGATE): S.MITIGATED,
    (S.TRIGGERED, A.RESOLVE): S.RESOLVED,
    (S.TRIGGERED, A.MERGE): S.CLOSED,
    (S.ACKNOWLEDGED, A.MITIGATE): S.MITIGATED,
    (S.ACKNOWLEDGED, A.RESOLVE): S.RESOLVED,
    (S.ACKNOWLEDGED, A.MERGE): S.CLOSED,
    (S.MITIGATED, A.RESOLVE): S.RESOLVED,
    (S.MITIGATED, A.REOPEN): S.TRIGGERED,
    (S.MITIGATED, A.MERGE): S.CLOSED,
    (S.RESOLVED, A.CLOSE): S.CLOSED,
    (S.RESOLVED, A.REOPEN): S.TRIGGERED,
}


def test_the_transition_table_is_the_documented_lifecycle():
    assert TRANSITIONS == LIFECYCLE


@pytest.mark.parametrize("status", list(S))
def test_closed_is_final__and_only_open_statuses_can_be_merged(status):
    allowed = {a for (s, a) in LIFECYCLE if s is status}
    if status is S.CLOSED:
        assert allowed == set()
    assert (A.MERGE in allowed) == (status in {S.TRIGGERED, S.ACKNOWLEDGED, S.MITIGATED})


def test_acknowledge_makes_the_acknowledger_owner__unless_someone_already_owns_it():
    assert apply(incident(), A.ACKNOWLEDGE, actor="U0ALICE", now=130.0).owner == "U0ALICE"
    owned = replace(incident(), owner="U0BOB")
    assert apply(owned, A.ACKNOWLEDGE, actor="U0ALICE", now=130.0).owner == "U0BOB"


@pytest.mark.parametrize(
    ("status", "action", "field"),
    [
        (S.ACKNOWLEDGED, A.MITIGATE, "mitigated_at"),
        (S.MITIGATED, A.RESOLVE, "resolved_at"),
        (S.RESOLVED, A.CLOSE, "closed_at"),
        (S.TRIGGERED, A.MERGE, "closed_at"),
    ],
)
def test_each_status_records_when_it_was_reached(status, action, field):
    assert getattr(apply(incident(status), action, actor="U1", now=400.0), field) == 400.0


def test_reopen_forgets_mitigation_and_resolution_times():
    resolved = apply(
        apply(incident(), A.MITIGATE, actor="U1", now=200.0), A.RESOLVE, actor="U1", now=300.0
    )
    reopened = apply(resolved, A.REOPEN, actor="U1", now=400.0)
    assert (reopened.status, reopened.mitigated_at, reopened.resolved_at) == (
        S.TRIGGERED,
        None,
        None,
    )


def test_merge_closes_the_duplicate_pointing_at_the_survivor():
    duplicate, survivor = incident(S.ACKNOWLEDGED), replace(incident(), id=3)
    merged = merge(duplicate, survivor, actor="U1", now=500.0)
    assert (merged.status, merged.merged_into, merged.closed_at) == (S.CLOSED, 3, 500.0)
    assert merged.version == duplicate.version + 1


def test_merge_into_itself_is_refused():
    with pytest.raises(UserError, match="INC-7 cannot be merged into itself"):
        merge(incident(), incident(), actor="U1", now=500.0)


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED])
def test_merge_into_an_incident_that_is_not_open_is_refused(status):
    with pytest.raises(UserError, match=f"INC-3 is {status}; merge into an open incident"):
        merge(incident(), replace(incident(status), id=3), actor="U1", now=500.0)


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED])
def test_a_duplicate_that_is_no_longer_open_cannot_be_merged(status):
    with pytest.raises(InvalidTransition, match=f"INC-7 is {status}"):
        merge(incident(status), replace(incident(), id=3), actor="U1", now=500.0)


def test_severity_change_keeps_the_open_time_and_bumps_the_version():
    changed = change_severity(incident(), Severity.P1, now=250.0)
    assert (changed.severity, changed.created_at, changed.updated_at) == (Severity.P1, 100.0, 250.0)
    assert changed.version == 2


def test_severity_change_to_the_same_level_is_refused():
    with pytest.raises(UserError, match="INC-7 is already P3"):
        change_severity(incident(), Severity.P3, now=250.0)


@pytest.mark.parametrize("status", [s for s in S if s is not S.CLOSED])
def test_severity_and_owner_change_in_every_status_but_closed(status):
    assert change_severity(incident(status), Severity.P2, now=250.0).severity is Severity.P2
    assert assign(incident(status), "U0BOB", now=250.0).owner == "U0BOB"


def test_a_closed_incident_keeps_its_severity_and_owner():
    with pytest.raises(InvalidTransition, match="INC-7 is closed; it is too late"):
        change_severity(incident(S.CLOSED), Severity.P1, now=250.0)
    with pytest.raises(InvalidTransition, match="INC-7 is closed; it is too late"):
        assign(incident(S.CLOSED), "U0BOB", now=250.0)


def test_assigning_the_current_owner_again_is_refused():
    with pytest.raises(UserError, match="already owns INC-7"):
        assign(replace(incident(), owner="U0BOB"), "U0BOB", now=250.0)
