"""The live SLA countdown: chat.update at most once a minute per open incident, frozen clock."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from typing import Any

import pytest

from bot.adapters.slack.countdown import CountdownPacer, refresh_countdowns
from bot.adapters.slack.notifier import SlackNotifier
from bot.adapters.slack.outbox import SlackOutbox
from bot.config.files import load_config
from bot.core.incidents import Incident, IncidentAction, IncidentStatus, Severity, apply
from storage.memory import InMemoryStore, InMemoryUnitOfWork
from tests.fakes import FrozenClock
from tests.unit.adapters.slack_fakes import FakeTime, failure, response, settle

CONFIG = load_config(None)
OPENED = 1_800_000_000.0


def incident(status: IncidentStatus = IncidentStatus.TRIGGERED, **changes: Any) -> Incident:
    return Incident(
        id=changes.pop("id", 1),
        title="vLLM on gpu-node-1 down",
        severity=Severity.P1,
        status=status,
        group_key="node:gpu-node-1",
        created_at=OPENED,
        updated_at=OPENED,
        slack_channel="C0GPUALERTS",
        slack_ts="1.000100",
        **changes,
    )


class TestPacer:
    def test_first_refresh_is_due_at_once_then_not_again_for_a_minute(self):
        pacer = CountdownPacer(every_s=60)
        assert pacer.due(incident(), now=OPENED, backlog=0, throttled=False)
        pacer.rendered(1, at=OPENED)
        assert not pacer.due(incident(), now=OPENED + 59.9, backlog=0, throttled=False)
        assert pacer.due(incident(), now=OPENED + 60, backlog=0, throttled=False)

    def test_any_render_of_the_message_restarts_the_minute(self):
        pacer = CountdownPacer(every_s=60)
        pacer.rendered(1, at=OPENED)
        pacer.rendered(1, at=OPENED + 50)  # an ack re-rendered it
        assert not pacer.due(incident(), now=OPENED + 100, backlog=0, throttled=False)
        assert pacer.due(incident(), now=OPENED + 110, backlog=0, throttled=False)

    @pytest.mark.parametrize("status", [IncidentStatus.RESOLVED, IncidentStatus.CLOSED])
    def test_never_due_for_a_finished_incident(self, status):
        assert not CountdownPacer().due(incident(status), now=OPENED, backlog=0, throttled=False)

    def test_never_due_before_the_root_message_exists(self):
        unposted = replace(incident(), slack_ts=None)
        assert not CountdownPacer().due(unposted, now=OPENED, backlog=0, throttled=False)

    def test_skipped_while_the_channel_is_backed_up_or_throttled(self):
        pacer = CountdownPacer(max_backlog=1)
        assert pacer.due(incident(), now=OPENED, backlog=1, throttled=False)
        assert not pacer.due(incident(), now=OPENED, backlog=2, throttled=False)
        assert not pacer.due(incident(), now=OPENED, backlog=0, throttled=True)


class FakeWebClient:
    """Just the Web API calls the notifier makes, answered at once (or with scripted errors)."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.updates: list[dict[str, Any]] = []
        self.errors: list[Exception] = []

    async def chat_update(self, **kwargs: Any) -> Any:
        if self.errors:
            raise self.errors.pop(0)
        self.updates.append({**kwargs, "at": self.clock.now()})
        return response({"ok": True, "channel": kwargs["channel"], "ts": kwargs["ts"]})


class World:
    def __init__(self) -> None:
        self.store = InMemoryStore()
        self.clock = FrozenClock(OPENED)
        self.time = FakeTime()
        self.client = FakeWebClient(self.clock)
        self.notifier = SlackNotifier(
            client=self.client,  # type: ignore[arg-type]
            channel="gpu-alerts",
            sla=CONFIG.sla,
            on_call=lambda _now: None,
            clock=self.clock,
            outbox=SlackOutbox(sleep=self.time.sleep, monotonic=self.time.monotonic),
        )

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)

    def open(self, title: str) -> Incident:
        with self.uow() as tx:
            created = tx.incidents.create(
                title=title, severity=Severity.P1, group_key=title, created_at=self.clock.now()
            )
            posted = replace(created, slack_channel="C0GPUALERTS", slack_ts=f"{created.id}.0")
            assert tx.incidents.save(posted, expected_version=created.version)
            tx.commit()
        return posted

    def resolve(self, current: Incident) -> Incident:
        with self.uow() as tx:
            done = apply(current, IncidentAction.RESOLVE, actor="U0ALICE", now=self.clock.now())
            assert tx.incidents.save(done, expected_version=current.version)
            tx.commit()
        return done

    async def tick(self, *, at: float) -> int:
        self.clock.t = OPENED + at
        return await refresh_countdowns(uow=self.uow, notifier=self.notifier)

    def updates_of(self, ts: str) -> list[str]:
        return [u["text"] for u in self.client.updates if u["ts"] == ts]


async def test_each_open_incident_is_updated_at_most_once_a_minute():
    world = World()
    world.open("vLLM down")
    world.clock.t += 20
    world.open("KV cache full")
    sent = [await world.tick(at=t) for t in range(0, 200, 15)]
    assert sum(sent) == len(world.client.updates)
    for ts in ("1.0", "2.0"):
        times = [u["at"] for u in _stamped(world, ts)]
        assert all(b - a >= 60 for a, b in itertools.pairwise(times))
        assert len(times) == 4  # t≈0/20, 60/90, 120/150, 180/...: one a minute, no more


def _stamped(world: World, ts: str) -> list[dict[str, Any]]:
    return [u for u in world.client.updates if u["ts"] == ts]


async def test_the_countdown_shows_the_time_left_and_then_the_breach():
    world = World()
    world.open("vLLM down")  # P1: ack in 5 min
    await world.tick(at=0)
    await world.tick(at=7 * 60)
    first, later = (str(u["blocks"]) for u in world.client.updates)
    assert "5 min left" in first
    assert "breached 2 min ago" in later


async def test_a_resolved_incident_is_not_refreshed_at_all():
    world = World()
    world.resolve(world.open("vLLM down"))
    assert [await world.tick(at=t) for t in (0, 60, 120)] == [0, 0, 0]
    assert world.client.updates == []


async def test_a_refresh_read_before_an_ack_never_puts_the_old_state_back():
    world = World()
    opened = world.open("vLLM down")
    acked = apply(opened, IncidentAction.ACKNOWLEDGE, actor="U0ALICE", now=OPENED + 5)
    await world.notifier.update_incident(acked, [])  # what the ack handler sends
    world.clock.t = OPENED + 70
    await world.notifier.refresh_countdown(opened, [])  # read from the database before the ack
    assert all("acknowledged" in text for text in world.updates_of("1.0"))


async def test_no_refresh_while_the_channel_sits_out_a_retry_after():
    world = World()
    world.open("vLLM down")
    world.client.errors.append(failure("ratelimited", status=429, retry_after="90"))
    first = asyncio.create_task(world.tick(at=0))
    await settle()
    assert world.notifier.outbox.throttled("C0GPUALERTS")
    assert await world.tick(at=60) == 0  # skipped, not queued behind the 429
    await world.time.advance(90)
    await first
    assert len(world.client.updates) == 1
