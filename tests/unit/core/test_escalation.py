from datetime import date, time

import pytest

from bot.core.errors import NotFound
from bot.core.escalation import (
    EscalationLevel,
    EscalationPolicy,
    Target,
    TargetKind,
    due,
    plan,
    recipients,
)
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
