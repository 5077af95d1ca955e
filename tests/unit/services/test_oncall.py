"""On-call use cases against the in-memory store, a frozen clock and fake user groups."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.core.errors import NotFound, UserError
from bot.core.oncall import Layer, OverrideKind, Schedule, ScheduleOverride, Shift, UserGroup
from bot.core.policy import AccessPolicy
from bot.services import oncall
from storage.memory import InMemoryStore, InMemoryUnitOfWork
from tests.fakes import FakeUserGroups, FrozenClock

MONDAY = datetime(2026, 1, 5, 9, tzinfo=UTC).timestamp()
HOUR = 3600.0
WEEK = 7 * 24 * HOUR
PRIMARY = Schedule(
    "gpu-primary", (Layer(("U0ALICE", "U0BOB", "U0CAROL"), 7, time(9), "UTC", date(2026, 1, 5)),)
)
BACKUP = Schedule("gpu-backup", (Layer(("U0DAVE",), 7, time(9), "UTC", date(2026, 1, 5)),))
EVERYONE = AccessPolicy((("oncall", frozenset({"*"})),))
ONLY_CAROL = AccessPolicy((("oncall", frozenset({"U0CAROL"})),))


class World:
    def __init__(self, *schedules: Schedule) -> None:
        self.store = InMemoryStore()
        self.clock = FrozenClock(MONDAY + 27 * HOUR)  # Tuesday 12:00: alice's week
        self.schedules = schedules or (PRIMARY,)

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)

    def override(
        self,
        user: str,
        hours: float,
        *,
        actor: str = "U0CAROL",
        schedule: str | None = None,
        access: AccessPolicy = EVERYONE,
    ) -> ScheduleOverride:
        return oncall.override(
            actor=actor,
            user=user,
            duration_s=hours * HOUR,
            schedule=schedule,
            uow=self.uow,
            schedules=self.schedules,
            access=access,
            clock=self.clock,
        )

    def swap(self, first: str, second: str, *, access: AccessPolicy = EVERYONE):
        return oncall.swap(
            actor="U0CAROL",
            first=first,
            second=second,
            schedule=None,
            uow=self.uow,
            schedules=self.schedules,
            access=access,
            clock=self.clock,
        )

    def now(self) -> list[oncall.OnCall]:
        return oncall.who_is_on_call(uow=self.uow, schedules=self.schedules, now=self.clock.now())


@pytest.fixture
def world() -> World:
    return World()


def test_who_is_on_call_names_the_person_now_until_the_handoff_and_the_next_shift(world: World):
    (row,) = world.now()
    now = world.clock.now()
    assert row == oncall.OnCall(
        "gpu-primary",
        Shift("U0ALICE", now, MONDAY + WEEK),
        Shift("U0BOB", MONDAY + WEEK, MONDAY + 2 * WEEK),
    )


def test_an_override_puts_someone_on_call_from_now_and_is_stored_and_audited(world: World):
    placed = world.override("U0DAVE", 2)

    now = world.clock.now()
    assert placed.id is not None
    assert placed.override.start == now
    assert placed.override.end == now + 2 * HOUR
    assert placed.kind is OverrideKind.OVERRIDE
    (row,) = world.now()
    assert row.current == Shift("U0DAVE", now, now + 2 * HOUR)
    assert row.next == Shift("U0ALICE", now + 2 * HOUR, MONDAY + WEEK)
    with world.uow() as tx:
        (audit,) = tx.audit.list()
    assert (audit.actor, audit.action, audit.target) == (
        "U0CAROL",
        "oncall.override",
        "gpu-primary",
    )


def test_the_incident_card_lookup_sees_overrides(world: World):
    lookup = oncall.on_call_lookup(uow=world.uow, schedule=PRIMARY)
    now = world.clock.now()
    assert lookup(now) == "U0ALICE"

    world.override("U0DAVE", 2)

    assert lookup(now) == "U0DAVE"
    assert lookup(now + 3 * HOUR) == "U0ALICE"
    assert oncall.on_call_lookup(uow=world.uow, schedule=None)(now) is None


def test_an_override_ends_by_itself(world: World):
    world.override("U0DAVE", 2)
    world.clock.advance(2 * HOUR)
    (row,) = world.now()
    assert row.current is not None
    assert row.current.user == "U0ALICE"


@pytest.mark.parametrize("hours", [0.0, 0.01, 24 * 31])
def test_an_override_too_short_or_too_long_is_refused(world: World, hours: float):
    with pytest.raises(UserError, match="1 minute to 30 days"):
        world.override("U0DAVE", hours)


def test_overriding_needs_the_oncall_permission(world: World):
    with pytest.raises(UserError, match="not allowed to change who is on call"):
        world.override("U0DAVE", 2, actor="U0BOB", access=ONLY_CAROL)
    with world.uow() as tx:
        assert tx.overrides.list(ending_after=0.0) == []


def test_several_schedules_must_be_named_and_an_unknown_name_is_refused():
    world = World(PRIMARY, BACKUP)
    with pytest.raises(UserError, match="name one at the end"):
        world.override("U0DAVE", 2)
    with pytest.raises(NotFound, match="`gpu-primary`, `gpu-backup`"):
        world.override("U0DAVE", 2, schedule="gpu-nope")
    placed = world.override("U0ALICE", 2, schedule="gpu-backup")
    rows = {row.schedule: row for row in world.now()}
    assert rows["gpu-backup"].current is not None
    assert rows["gpu-backup"].current.user == "U0ALICE"
    assert rows["gpu-primary"].current is not None
    assert rows["gpu-primary"].current.user == "U0ALICE"
    assert placed.schedule == "gpu-backup"


def test_a_swap_hands_the_current_shift_over_and_takes_the_others_next_one(world: World):
    to_bob, to_alice = world.swap("U0ALICE", "U0BOB")

    now = world.clock.now()
    assert (to_bob.override.user, to_bob.override.start, to_bob.override.end) == (
        "U0BOB",
        now,
        MONDAY + WEEK,
    )
    assert (to_alice.override.user, to_alice.override.start, to_alice.override.end) == (
        "U0ALICE",
        MONDAY + WEEK,
        MONDAY + 2 * WEEK,
    )
    assert {to_bob.kind, to_alice.kind} == {OverrideKind.SWAP}
    (row,) = world.now()
    assert row.current == Shift("U0BOB", now, MONDAY + WEEK)
    assert row.next == Shift("U0ALICE", MONDAY + WEEK, MONDAY + 2 * WEEK)


def test_a_swap_sees_earlier_overrides(world: World):
    world.override("U0DAVE", 2)
    to_carol, _ = world.swap("U0DAVE", "U0CAROL")
    assert to_carol.override.user == "U0CAROL"
    assert to_carol.override.end == world.clock.now() + 2 * HOUR


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("U0ALICE", "U0ALICE", "two different people"),
        ("U0ALICE", "U0MALLORY", "U0MALLORY> has no shift in \\*gpu-primary\\*"),
    ],
)
def test_a_swap_that_cannot_be_made_says_why_and_stores_nothing(
    world: World, first: str, second: str, message: str
):
    with pytest.raises(UserError, match=message):
        world.swap(first, second)
    with world.uow() as tx:
        assert tx.overrides.list(ending_after=0.0) == []


def test_swapping_needs_the_oncall_permission(world: World):
    with pytest.raises(UserError, match="not allowed"):
        world.swap("U0ALICE", "U0BOB", access=AccessPolicy(()))


def test_no_schedules_is_said(world: World):
    with pytest.raises(UserError, match=r"oncall\.yaml"):
        oncall.who_is_on_call(uow=world.uow, schedules=(), now=0.0)


@pytest.fixture
def groups() -> FakeUserGroups:
    return FakeUserGroups({"S0GPUONCALL": UserGroup("S0GPUONCALL", "gpu-oncall", ("U0ZED",))})


async def test_the_group_sync_pushes_whoever_is_on_call_in_any_schedule(groups: FakeUserGroups):
    world = World(PRIMARY, BACKUP)
    group = oncall.OncallGroup("gpu-oncall", groups)

    pushed, users = await group.sync(
        uow=world.uow, schedules=world.schedules, now=world.clock.now()
    )

    assert pushed is not None
    assert pushed.id == "S0GPUONCALL"
    assert users == ("U0ALICE", "U0DAVE")
    assert groups.groups["S0GPUONCALL"].users == ("U0ALICE", "U0DAVE")


async def test_the_group_sync_pushes_only_changes_unless_forced(
    world: World, groups: FakeUserGroups
):
    group = oncall.OncallGroup("gpu-oncall", groups)
    await group.keep(uow=world.uow, schedules=world.schedules, now=world.clock.now())
    await group.keep(uow=world.uow, schedules=world.schedules, now=world.clock.now())
    assert groups.updates == [("S0GPUONCALL", ("U0ALICE",))]

    world.override("U0DAVE", 1)
    await group.keep(uow=world.uow, schedules=world.schedules, now=world.clock.now())
    await group.sync(uow=world.uow, schedules=world.schedules, now=world.clock.now(), force=True)
    assert groups.updates[1:] == [("S0GPUONCALL", ("U0DAVE",))] * 2


async def test_a_failed_group_sync_is_tried_again_next_time(world: World, groups: FakeUserGroups):
    group = oncall.OncallGroup("gpu-oncall", groups)
    groups.down = True
    await group.keep(uow=world.uow, schedules=world.schedules, now=world.clock.now())
    groups.down = False
    await group.keep(uow=world.uow, schedules=world.schedules, now=world.clock.now())
    assert groups.updates == [("S0GPUONCALL", ("U0ALICE",))]


async def test_nobody_on_call_leaves_the_group_alone(groups: FakeUserGroups):
    world = World(PRIMARY)
    group = oncall.OncallGroup("gpu-oncall", groups)
    pushed, users = await group.sync(uow=world.uow, schedules=world.schedules, now=0.0)
    assert (pushed, users, groups.updates) == (None, (), [])
