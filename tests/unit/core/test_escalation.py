from dataclasses import replace
from datetime import date, time

import pytest

from bot.core.errors import NotFound
from bot.core.escalation import (
    EscalationLevel,
    EscalationPolicy,
    PagerAction,
    Target,
    TargetKind,
    due,
    next_manual,
    outside_pages,
    pager_key,
    plan,
    recipients,
)
from bot.core.incidents import Incident, IncidentStatus, Severity
from bot.core.oncall import Layer, Schedule

PRIMARY = Target(TargetKind.SCHEDULE, "gpu-primary")
LEADS = Target(TargetKind.GROUP, "sre-leads")
OWNER = Target(TargetKind.USER, "U0OWNER")
POLICY = EscalationPolicy(
    "p1",
    (
        EscalationLevel((PRIMARY,), 300),
        EscalationLevel((OWNER,), 600),
        EscalationLevel((LEADS, OWNER), 900),
    ),
    repeats=1,
)
OPENED = 1000.0


def due_at(now: float, **kwargs: object) -> list[tuple[int, int]]:
    steps = due(POLICY, incident_id=42, opened_at=OPENED, now=OPENED + now, **kwargs)
    return [(s.level, s.repeat) for s in steps]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (0, [(0, 0)]),
        (299, [(0, 0)]),
        (300, [(0, 0), (1, 0)]),
        (900, [(0, 0), (1, 0), (2, 0)]),
        (1799, [(0, 0), (1, 0), (2, 0)]),
        (1800, [(0, 0), (1, 0), (2, 0), (0, 1)]),  # the chain repeats after the last wait
        (2700, [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]),
        (99999, [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]),  # repeats exhausted
    ],
)
def test_levels_fall_due_after_the_waits_of_the_levels_before_them(now, expected):
    assert due_at(now) == expected


@pytest.mark.parametrize(
    ("acked", "expected"),
    [
        (100, [(0, 0)]),
        (300, [(0, 0)]),  # an ack at the very moment a level falls due wins
        (301, [(0, 0), (1, 0)]),
        (2000, [(0, 0), (1, 0), (2, 0), (0, 1)]),
    ],
)
def test_an_acknowledgement_stops_every_later_step(acked, expected):
    assert due_at(99999, acknowledged_at=OPENED + acked) == expected


def test_manual_escalation_pages_the_next_level_now_and_brings_the_rest_forward():
    escalated = (OPENED + 60,)
    assert due_at(60, escalated_at=escalated) == [(0, 0), (1, 0)]
    assert due_at(659, escalated_at=escalated) == [(0, 0), (1, 0)]
    assert due_at(660, escalated_at=escalated) == [(0, 0), (1, 0), (2, 0)]
    steps = plan(POLICY, incident_id=42, opened_at=OPENED, escalated_at=escalated)
    assert [s.manual for s in steps[:3]] == [False, True, False]


def test_each_manual_escalation_moves_one_level_on():
    escalated = (OPENED + 70, OPENED + 60)
    assert due_at(70, escalated_at=escalated) == [(0, 0), (1, 0), (2, 0)]


def test_manual_escalation_after_an_ack_pages_only_the_next_level():
    kwargs = {"acknowledged_at": OPENED + 100, "escalated_at": (OPENED + 200,)}
    assert due_at(99999, **kwargs) == [(0, 0), (1, 0)]


def test_manual_escalation_past_the_last_step_changes_nothing():
    assert due_at(99999, escalated_at=(OPENED + 99999,)) == due_at(99999)


def test_idempotency_keys_are_unique_and_stable_across_replans_and_manual_escalation():
    timed = plan(POLICY, incident_id=42, opened_at=OPENED)
    jumped = plan(POLICY, incident_id=42, opened_at=OPENED, escalated_at=(OPENED + 10,))
    assert [s.key for s in timed] == [s.key for s in jumped]
    assert len({s.key for s in timed}) == 6
    assert timed[4].key == "incident:42:escalation:1:1"
    assert plan(POLICY, incident_id=43, opened_at=OPENED)[0].key == "incident:43:escalation:0:0"


def test_steps_carry_their_levels_targets():
    steps = plan(POLICY, incident_id=42, opened_at=OPENED)
    assert [s.targets for s in steps[:3]] == [(PRIMARY,), (OWNER,), (LEADS, OWNER)]


def office_hours() -> Schedule:
    layer = Layer(("U0ALICE",), 7, time(9), "UTC", date(2026, 1, 5))
    return Schedule("gpu-primary", (layer,))


def test_recipients_resolve_schedules_to_the_user_on_call_at_that_moment():
    now = 1767862800.0  # 2026-01-08T09:00Z
    resolved = recipients((PRIMARY, LEADS), schedules={"gpu-primary": office_hours()}, now=now)
    assert resolved == (Target(TargetKind.USER, "U0ALICE"), LEADS)


def test_recipients_drop_a_schedule_with_nobody_on_call():
    before_start = 1767000000.0  # December 2025, before the layer starts
    assert recipients((PRIMARY,), schedules={"gpu-primary": office_hours()}, now=before_start) == ()


def test_recipients_refuse_an_unknown_schedule():
    with pytest.raises(NotFound, match="gpu-primary"):
        recipients((PRIMARY,), schedules={}, now=0.0)


def next_by_hand(now: float, *escalated: float) -> tuple[int, int] | None:
    step = next_manual(
        POLICY,
        incident_id=42,
        opened_at=OPENED,
        now=OPENED + now,
        escalated_at=[OPENED + e for e in escalated],
    )
    return None if step is None else (step.level, step.repeat)


@pytest.mark.parametrize(
    ("now", "escalated", "expected"),
    [
        (10, (), (1, 0)),  # level 1 paged at once: escalating pages level 2
        (300, (), (2, 0)),  # level 2 was paged on time: the next is level 3
        (20, (10,), (2, 0)),  # after one escalation by hand the next goes on from it
        (1799, (), (0, 1)),  # the next round starts over
        (99999, (), None),  # nothing left
    ],
)
def test_escalating_by_hand_names_the_first_step_not_yet_due(now, escalated, expected):
    assert next_by_hand(now, *escalated) == expected


def test_an_escalation_by_hand_continues_from_its_level_instead_of_repaging():
    step = next_by_hand(10)
    assert step == (1, 0)
    later = due_at(10 + 600, escalated_at=(OPENED + 10,))
    assert later == [(0, 0), (1, 0), (2, 0)]  # level 3 follows level 2's wait, level 2 not again


def incident(**changes: object) -> Incident:
    base = Incident(
        7, "vLLM down", Severity.P1, IncidentStatus.TRIGGERED, "node:gpu-a1", 1000.0, 1000.0
    )
    return replace(base, **changes)


def pages(inc: Incident, *sent: PagerAction, paging: bool = True) -> list[PagerAction]:
    keys = frozenset(pager_key(inc.id, action) for action in sent)
    return [p.action for p in outside_pages(inc, pages=paging, sent=keys)]


def test_a_paging_incident_is_triggered_once_with_its_ref_as_dedup_key():
    (trigger,) = outside_pages(incident(), pages=True, sent=frozenset())
    assert (trigger.action, trigger.dedup_key, trigger.severity) == (
        PagerAction.TRIGGER,
        "INC-7",
        "critical",
    )
    assert trigger.summary == "INC-7 (P1): vLLM down"
    assert trigger.key == "incident:7:pager:trigger"
    assert pages(incident(), PagerAction.TRIGGER) == []


def test_an_incident_that_does_not_page_is_never_sent():
    assert pages(incident(severity=Severity.P3), paging=False) == []


def test_the_acknowledgement_follows_the_trigger_even_in_one_run():
    acked = incident(status=IncidentStatus.ACKNOWLEDGED, acknowledged_at=1100.0)
    assert pages(acked) == [PagerAction.TRIGGER, PagerAction.ACKNOWLEDGE]
    assert pages(acked, PagerAction.TRIGGER) == [PagerAction.ACKNOWLEDGE]
    assert pages(acked, PagerAction.TRIGGER, PagerAction.ACKNOWLEDGE) == []


def test_a_resolved_incident_is_resolved_at_the_pager_only_if_it_was_triggered():
    resolved = incident(status=IncidentStatus.RESOLVED, acknowledged_at=1100.0, resolved_at=1200.0)
    assert pages(resolved) == []
    assert pages(resolved, PagerAction.TRIGGER) == [PagerAction.RESOLVE]
    assert pages(resolved, PagerAction.TRIGGER, PagerAction.RESOLVE) == []
    (resolve,) = outside_pages(
        resolved, pages=True, sent=frozenset({pager_key(7, PagerAction.TRIGGER)})
    )
    assert resolve.at == 1200.0


def test_escalating_after_an_ack_pages_the_level_after_the_last_one_paged():
    acked = OPENED + 100  # stopped level 2, due at 300, before it was paged
    step = next_manual(
        POLICY, incident_id=42, opened_at=OPENED, now=OPENED + 400, acknowledged_at=acked
    )
    assert step is not None
    assert (step.level, step.repeat, step.due) == (1, 0, 300 + OPENED)
    assert due_at(99999, acknowledged_at=acked, escalated_at=(OPENED + 400,)) == [(0, 0), (1, 0)]
    again = due_at(99999, acknowledged_at=acked, escalated_at=(OPENED + 400, OPENED + 500))
    assert again == [(0, 0), (1, 0), (2, 0)]
