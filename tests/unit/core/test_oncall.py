from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import UserError
from bot.core.oncall import (
    Layer,
    Override,
    OverrideKind,
    Restriction,
    Schedule,
    ScheduleOverride,
    Shift,
    cover,
    current_shift,
    next_shift,
    on_call,
    shift_of,
    shifts,
    swap,
    swapped,
    with_overrides,
)

BERLIN = "Europe/Berlin"
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))


def at(text: str, zone: str = BERLIN) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def weekly(zone: str = BERLIN, users: tuple[str, ...] = ("alice", "bob", "carol")) -> Layer:
    return Layer(users, 7, time(9), zone, date(2026, 1, 5))  # Mondays at 09:00


def business_hours(user: str = "dave") -> Layer:
    return Layer((user,), 7, time(0), BERLIN, date(2026, 1, 5), (_hours(WEEKDAYS, 9, 17),))


def _hours(days: frozenset[int], start: int, end: int) -> Restriction:
    return Restriction(days, time(start), time(end))


def schedule(*layers: Layer, overrides: tuple[Override, ...] = ()) -> Schedule:
    return Schedule("gpu-primary", layers, overrides)


@pytest.mark.parametrize(
    ("local", "user"),
    [
        ("2026-01-05T08:59", None),  # before the layer starts
        ("2026-01-05T09:00", "alice"),
        ("2026-01-12T08:59", "alice"),
        ("2026-01-12T09:00", "bob"),
        ("2026-01-19T09:00", "carol"),
        ("2026-01-26T10:00", "alice"),  # wrapped around
    ],
)
def test_weekly_layer_hands_off_at_the_local_handoff_time(local, user):
    assert on_call(schedule(weekly()), now=at(local)) == user


@pytest.mark.parametrize(
    ("zone", "monday", "hours"),
    [
        (BERLIN, "2026-03-23", 167),  # clocks go forward on 29 March
        (BERLIN, "2026-10-19", 169),  # clocks go back on 25 October
        ("America/New_York", "2026-03-02", 167),  # forward on 8 March
        ("America/New_York", "2026-10-26", 169),  # back on 1 November
        ("UTC", "2026-03-23", 168),
    ],
)
def test_weekly_handoff_stays_at_local_09_00_across_daylight_saving_changes(zone, monday, hours):
    start = at(f"{monday}T09:00", zone)
    (shift,) = shifts(schedule(weekly(zone)), start=start, end=start + 3600)
    turn = next_shift(schedule(weekly(zone)), now=start)
    assert turn is not None
    assert datetime.fromtimestamp(turn.start, ZoneInfo(zone)).time() == time(9)
    assert turn.start - shift.start == hours * 3600


def test_a_handoff_in_the_spring_forward_gap_happens_at_the_shifted_wall_time():
    daily = Layer(("alice", "bob"), 1, time(2, 30), BERLIN, date(2026, 3, 28))
    assert on_call(schedule(daily), now=at("2026-03-29T03:29")) == "alice"
    assert on_call(schedule(daily), now=at("2026-03-29T03:30")) == "bob"


@pytest.mark.parametrize(
    ("local", "user"),
    [
        ("2026-01-06T08:59", "alice"),  # Tuesday, before business hours
        ("2026-01-06T09:00", "dave"),
        ("2026-01-06T16:59", "dave"),
        ("2026-01-06T17:00", "alice"),
        ("2026-01-10T12:00", "alice"),  # Saturday
    ],
)
def test_a_restricted_higher_layer_wins_only_inside_its_window(local, user):
    assert on_call(schedule(weekly(), business_hours()), now=at(local)) == user


@pytest.mark.parametrize(
    ("local", "user"),
    [
        ("2026-01-06T21:59", None),
        ("2026-01-06T22:00", "nina"),
        ("2026-01-07T05:59", "nina"),  # the window runs past midnight
        ("2026-01-07T06:00", None),
    ],
)
def test_a_restriction_that_ends_before_it_starts_runs_past_midnight(local, user):
    nights = Layer(("nina",), 7, time(0), BERLIN, date(2026, 1, 5), (_hours(EVERY_DAY, 22, 6),))
    assert on_call(schedule(nights), now=at(local)) == user


def test_restricted_windows_follow_local_time_across_daylight_saving():
    assert on_call(schedule(business_hours()), now=at("2026-03-30T09:00")) == "dave"
    assert on_call(schedule(business_hours()), now=at("2026-03-30T08:59")) is None


def test_overrides_win_over_layers_and_later_overrides_over_earlier_ones():
    overrides = (
        Override("erin", at("2026-01-06T12:00"), at("2026-01-06T14:00")),
        Override("frank", at("2026-01-06T13:00"), at("2026-01-06T13:30")),
    )
    plan = schedule(weekly(), business_hours(), overrides=overrides)
    assert [
        on_call(plan, now=at(f"2026-01-06T{hhmm}")) for hhmm in ("11:59", "12:00", "13:00")
    ] == [
        "dave",
        "erin",
        "frank",
    ]
    assert on_call(plan, now=at("2026-01-06T13:30")) == "erin"
    assert on_call(plan, now=at("2026-01-06T14:00")) == "dave"


def test_shifts_lists_who_is_on_call_merged_and_clipped_to_the_window():
    plan = schedule(weekly(), business_hours())
    listed = shifts(plan, start=at("2026-01-06T00:00"), end=at("2026-01-08T00:00"))
    assert listed == (
        Shift("alice", at("2026-01-06T00:00"), at("2026-01-06T09:00")),
        Shift("dave", at("2026-01-06T09:00"), at("2026-01-06T17:00")),
        Shift("alice", at("2026-01-06T17:00"), at("2026-01-07T09:00")),
        Shift("dave", at("2026-01-07T09:00"), at("2026-01-07T17:00")),
        Shift("alice", at("2026-01-07T17:00"), at("2026-01-08T00:00")),
    )


def test_an_override_for_the_user_already_on_call_merges_into_one_shift():
    plan = cover(
        schedule(weekly()), user="alice", start=at("2026-01-12T09:00"), end=at("2026-01-12T12:00")
    )
    listed = shifts(plan, start=at("2026-01-12T00:00"), end=at("2026-01-12T18:00"))
    assert listed == (
        Shift("alice", at("2026-01-12T00:00"), at("2026-01-12T12:00")),
        Shift("bob", at("2026-01-12T12:00"), at("2026-01-12T18:00")),
    )


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2026-01-06T12:00", ("bob", "2026-01-12T09:00", "2026-01-19T09:00")),
        ("2026-01-01T12:00", ("alice", "2026-01-05T09:00", "2026-01-12T09:00")),  # before start
    ],
)
def test_next_shift_names_the_next_user_and_the_whole_shift(local, expected):
    user, start, end = expected
    assert next_shift(schedule(weekly()), now=at(local)) == Shift(user, at(start), at(end))


def test_next_shift_inside_business_hours_is_the_evening_handback():
    plan = schedule(weekly(), business_hours())
    assert next_shift(plan, now=at("2026-01-06T12:00")) == Shift(
        "alice", at("2026-01-06T17:00"), at("2026-01-07T09:00")
    )


def test_next_shift_is_none_when_nobody_ever_takes_over():
    assert next_shift(schedule(), now=at("2026-01-06T12:00")) is None
    assert next_shift(schedule(weekly(users=("alice",))), now=at("2026-01-06T12:00")) is None


def test_swap_exchanges_two_shifts_with_two_overrides():
    plan = schedule(weekly())
    alices = Shift("alice", at("2026-01-05T09:00"), at("2026-01-12T09:00"))
    bobs = Shift("bob", at("2026-01-12T09:00"), at("2026-01-19T09:00"))
    swapped = swap(plan, first=alices, second=bobs)
    assert len(swapped.overrides) == 2
    assert on_call(swapped, now=at("2026-01-07T12:00")) == "bob"
    assert on_call(swapped, now=at("2026-01-14T12:00")) == "alice"
    assert on_call(swapped, now=at("2026-01-21T12:00")) == "carol"


def test_swap_with_oneself_and_empty_overrides_are_refused():
    shift = Shift("alice", at("2026-01-05T09:00"), at("2026-01-12T09:00"))
    with pytest.raises(UserError, match="two different users"):
        swap(schedule(weekly()), first=shift, second=shift)
    with pytest.raises(UserError, match="end after it starts"):
        cover(schedule(weekly()), user="bob", start=shift.end, end=shift.start)


def test_current_shift_runs_from_now_to_the_handoff_across_a_daylight_saving_change():
    now = at("2026-03-25T12:00")  # Wednesday; clocks go forward on Sunday 29 March
    assert current_shift(schedule(weekly()), now=now) == Shift("carol", now, at("2026-03-30T09:00"))
    assert at("2026-03-30T09:00") - now == (4 * 24 + 21 - 1) * 3600  # one hour less


def test_current_shift_is_none_when_nobody_covers_now():
    assert current_shift(schedule(business_hours()), now=at("2026-01-06T08:00")) is None


def test_a_rotation_of_one_is_on_call_until_the_furthest_look_ahead():
    now = at("2026-01-06T12:00")
    found = current_shift(schedule(weekly(users=("alice",))), now=now)
    assert found is not None
    assert found.user == "alice"
    assert found.end - now == 512 * 86400


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("alice", ("2026-01-06T12:00", "2026-01-12T09:00")),  # on call now: from now
        ("bob", ("2026-01-12T09:00", "2026-01-19T09:00")),  # the next turn
        ("carol", ("2026-01-19T09:00", "2026-01-26T09:00")),
    ],
)
def test_shift_of_a_user_is_the_one_going_on_or_their_next(user, expected):
    start, end = expected
    found = shift_of(schedule(weekly()), user=user, now=at("2026-01-06T12:00"))
    assert found == Shift(user, at(start), at(end))


def test_shift_of_someone_never_on_call_is_none():
    assert shift_of(schedule(weekly()), user="mallory", now=at("2026-01-06T12:00")) is None


def test_stored_overrides_lay_over_their_own_schedule_after_the_configured_ones():
    configured = Override("erin", at("2026-01-06T12:00"), at("2026-01-06T14:00"))
    plan = schedule(weekly(), overrides=(configured,))
    stored = [
        ScheduleOverride(
            "gpu-primary",
            Override("frank", at("2026-01-06T13:00"), at("2026-01-06T15:00")),
            OverrideKind.OVERRIDE,
            "U0CAROL",
            0.0,
        ),
        ScheduleOverride(
            "gpu-backup",
            Override("gina", at("2026-01-06T00:00"), at("2026-01-07T00:00")),
            OverrideKind.OVERRIDE,
            "U0CAROL",
            0.0,
        ),
    ]
    laid = with_overrides(plan, stored)
    assert laid.overrides == (configured, stored[0].override)
    assert on_call(laid, now=at("2026-01-06T13:30")) == "frank"
    assert on_call(laid, now=at("2026-01-06T15:00")) == "alice"
    assert with_overrides(plan, stored[1:]) is plan


def test_an_override_in_local_time_holds_across_the_autumn_change():
    # 02:00-03:00 happens twice on 25 October in Berlin: a 3-hour override is 3 real hours
    start = at("2026-10-25T01:00")
    plan = cover(schedule(weekly()), user="erin", start=start, end=start + 3 * 3600)
    assert on_call(plan, now=start + 3 * 3600 - 1) == "erin"
    assert on_call(plan, now=start + 3 * 3600) == "carol"
    assert datetime.fromtimestamp(start + 3 * 3600, ZoneInfo(BERLIN)).time() == time(3)


def test_swapping_the_shift_going_on_now_hands_over_the_rest_of_it():
    now = at("2026-01-06T12:00")
    plan = schedule(weekly())
    alices = shift_of(plan, user="alice", now=now)
    bobs = shift_of(plan, user="bob", now=now)
    assert alices is not None
    assert bobs is not None
    to_bob, to_alice = swapped(alices, bobs)
    laid = Schedule(plan.name, plan.layers, (to_bob, to_alice))
    assert on_call(laid, now=now) == "bob"
    assert on_call(laid, now=at("2026-01-06T11:59")) == "alice"  # before the swap: unchanged
    assert on_call(laid, now=at("2026-01-13T12:00")) == "alice"
    assert current_shift(laid, now=now) == Shift("bob", now, at("2026-01-12T09:00"))
