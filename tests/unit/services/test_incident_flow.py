"""Services against the in-memory unit of work and a fake notifier: the incident flow."""

from __future__ import annotations

import pytest

from bot.core.engine import AlertEngine, EngineConfig
from bot.core.errors import InvalidTransition, UserError
from bot.core.incidents import IncidentStatus
from bot.core.policy import AccessPolicy
from bot.core.signals import Sample, SeriesKey
from bot.core.thresholds import ThresholdRule
from bot.services.incidents import acknowledge, list_open
from bot.services.ingest import IngestBatch, ingest
from storage.memory import InMemoryStore, InMemoryUnitOfWork
from tests.fakes import FakeNotifier, FrozenClock

RULE = ThresholdRule(
    name="gpu_utilization_high",
    metric="util",
    warn=0.85,
    crit=0.95,
    recover=0.75,
    group_by=("node", "gpu"),
    summary="GPU {gpu} on {node} at {value:.0%}",
)
TTFT = ThresholdRule(
    name="ttft_p99_high",
    metric="ttft",
    warn=0.18,
    crit=0.25,
    recover=0.15,
    group_by=("node", "model_name"),
    summary="p99 TTFT of {model_name} on {node} is {value:.3f} s",
)
EVERYONE = AccessPolicy((("acknowledge", frozenset({"*"})),))


class Bot:
    def __init__(self) -> None:
        self.store = InMemoryStore()
        self.notifier = FakeNotifier()
        self.clock = FrozenClock()
        self.engine = AlertEngine(EngineConfig(thresholds=(RULE, TTFT)))
        self.batches = 0

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)

    async def push(
        self,
        node: str,
        gpu: str,
        value: float,
        *,
        batch_id: str | None = None,
        series: SeriesKey | None = None,
    ):
        self.batches += 1
        self.clock.advance(1)
        series = series or SeriesKey.of("util", {"node": node, "gpu": gpu})
        batch = IngestBatch(
            batch_id=batch_id or f"batch-{self.batches:04d}",
            node=node,
            agent_version="t",
            gpu_count=8,
            samples=(Sample(series, self.clock.now(), value),),
            events=(),
        )
        return await ingest(
            batch=batch,
            uow=self.uow,
            engine=self.engine,
            notifier=self.notifier,
            clock=self.clock,
        )

    async def ack(self, incident_id: int, user: str = "U0ALICE", access=EVERYONE):
        return await acknowledge(
            incident_id=incident_id,
            user=user,
            uow=self.uow,
            notifier=self.notifier,
            access=access,
            clock=self.clock,
        )

    def timeline(self, incident_id: int = 1) -> list[str]:
        with self.uow() as tx:
            return [e.kind for e in tx.timeline.list(incident_id)]


@pytest.fixture
def bot() -> Bot:
    return Bot()


async def test_first_alert_opens_an_incident_posts_it_and_replies_in_its_thread(bot: Bot):
    await bot.push("n1", "3", 0.97)
    (incident,) = list_open(uow=bot.uow)
    assert (incident.ref, incident.status, incident.slack_ts) == ("INC-1", "triggered", "1.000100")
    assert [i.ref for i in bot.notifier.posted] == ["INC-1"]
    assert bot.notifier.replies == [(1, "CRIT alert fired: GPU 3 on n1 at 97%")]
    assert bot.timeline() == ["incident.opened", "alert.fired"]


async def test_second_gpu_of_the_same_node_joins_the_open_incident(bot: Bot):
    await bot.push("n1", "3", 0.97)
    await bot.push("n1", "5", 0.99)
    await bot.push("n2", "0", 0.99)
    assert [i.ref for i in bot.notifier.posted] == ["INC-1", "INC-2"]
    assert [i.ref for i in bot.notifier.updated] == ["INC-1"]
    with bot.uow() as tx:
        assert len(tx.alerts.for_incident(1)) == 2


async def test_a_serving_regression_on_several_nodes_is_one_incident_of_its_model(bot: Bot):
    for node in ("n1", "n2", "n3"):
        ttft = SeriesKey.of("ttft", {"node": node, "model_name": "deepseek-v3", "engine": "vllm"})
        await bot.push(node, "", 0.4, series=ttft)
    await bot.push("n2", "0", 0.97)  # a GPU of one of those nodes: its own incident
    assert [(i.ref, i.group_key) for i in list_open(uow=bot.uow)] == [
        ("INC-2", "node:n2"),
        ("INC-1", "model:deepseek-v3"),
    ]
    with bot.uow() as tx:
        assert sorted(a.label("node") for a in tx.alerts.for_incident(1)) == ["n1", "n2", "n3"]


async def test_a_worse_alert_joining_an_open_incident_raises_its_severity_never_lowers_it():
    warn_p3_crit_p1 = ThresholdRule(
        name="serving_down_soon",
        metric="queue",
        warn=10,
        crit=100,
        recover=5,
        group_by=("node",),
        severity_warn="P3",
        severity_crit="P1",
    )
    bot = Bot()
    bot.engine = AlertEngine(EngineConfig(thresholds=(RULE, warn_p3_crit_p1)))
    queue = SeriesKey.of("queue", {"node": "n1"})
    await bot.push("n1", "3", 0.97)  # utilisation: P3
    await bot.push("n1", "", 20, series=queue)  # the second alert at warn: P3, nothing to raise
    await bot.push("n1", "", 500, series=queue)  # escalates to crit: P1
    await bot.push("n1", "", 20, series=queue)  # back to warn: P1 stays
    (incident,) = list_open(uow=bot.uow)
    assert incident.severity == "P1"
    assert bot.timeline().count("incident.severity") == 1
    assert any("P3 → P1" in text for _, text in bot.notifier.replies)


async def test_recovery_of_every_alert_asks_the_owner_but_does_not_resolve(bot: Bot):
    await bot.push("n1", "3", 0.97)
    await bot.push("n1", "3", 0.70)
    assert bot.timeline() == ["incident.opened", "alert.fired", "alert.resolved", "incident.clear"]
    (incident,) = list_open(uow=bot.uow)
    assert incident.status is IncidentStatus.TRIGGERED


async def test_slack_outage_loses_nothing_and_the_message_is_posted_later(bot: Bot):
    bot.notifier.down = True
    await bot.push("n1", "3", 0.90)  # warn has no `for` here: fires at once
    assert bot.timeline() == ["incident.opened", "alert.fired"]
    assert list_open(uow=bot.uow)[0].slack_ts is None
    bot.notifier.down = False
    await bot.push("n1", "3", 0.97)  # escalates: the root message is posted now
    assert [i.ref for i in bot.notifier.posted] == ["INC-1"]
    assert list_open(uow=bot.uow)[0].slack_ts == "1.000100"


async def test_a_resent_batch_is_counted_once(bot: Bot):
    first = await bot.push("n1", "3", 0.97, batch_id="same-batch-id")
    again = await bot.push("n1", "3", 0.97, batch_id="same-batch-id")
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.accepted_samples == 0


async def test_acknowledge_once_then_a_repeat_is_refused_and_records_nothing(bot: Bot):
    await bot.push("n1", "3", 0.97)
    acked = await bot.ack(1)
    assert (acked.status, acked.acknowledged_by) == ("acknowledged", "U0ALICE")
    assert bot.notifier.updated[-1].status is IncidentStatus.ACKNOWLEDGED
    with pytest.raises(InvalidTransition, match="INC-1 is acknowledged"):
        await bot.ack(1, user="U0BOB")
    assert bot.timeline().count("incident.acknowledged") == 1
    with bot.uow() as tx:
        assert [(a.actor, a.action) for a in tx.audit.list()] == [
            ("U0ALICE", "incident.acknowledge")
        ]


async def test_acknowledge_is_refused_to_users_without_permission(bot: Bot):
    await bot.push("n1", "3", 0.97)
    only_bob = AccessPolicy((("acknowledge", frozenset({"U0BOB"})),))
    with pytest.raises(UserError, match="not allowed to acknowledge"):
        await bot.ack(1, user="U0ALICE", access=only_bob)
    assert "incident.acknowledged" not in bot.timeline()
