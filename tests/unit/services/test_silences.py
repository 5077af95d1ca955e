"""Silences as the service makes them: validated, audited, ended early, applied to the engine."""

from __future__ import annotations

from datetime import time

import pytest

from bot.core.alerts import Level
from bot.core.engine import AlertEngine, EngineConfig
from bot.core.errors import NotFound, UserError
from bot.core.matchers import Matcher
from bot.core.ports import UnitOfWorkFactory
from bot.core.signals import Sample, SeriesKey
from bot.core.silences import MaintenanceWindow
from bot.core.thresholds import ThresholdRule
from bot.services import silences
from storage.memory import InMemoryStore, InMemoryUnitOfWork

NOW = 1_800_000_000.0


@pytest.fixture
def uow() -> UnitOfWorkFactory:
    store = InMemoryStore()
    return lambda: InMemoryUnitOfWork(store)


def _make(uow: UnitOfWorkFactory, *matchers: str, ends_at: float = NOW + 3600) -> str:
    return silences.create(
        uow=uow,
        matchers=matchers,
        ends_at=ends_at,
        created_by="alice",
        comment="draining gpu-node-2",
        now=NOW,
    ).id


def test_a_silence_is_stored_and_audited(uow: UnitOfWorkFactory) -> None:
    made = _make(uow, "node=gpu-node-2", 'alertname=~"gpu_.*"')

    (listed,) = silences.listed(uow=uow, now=NOW)
    assert listed.id == made
    assert [str(m) for m in listed.matchers] == ['node="gpu-node-2"', 'alertname=~"gpu_.*"']
    with uow() as tx:
        (audit,) = tx.audit.list()
    assert (audit.actor, audit.action, audit.target) == ("alice", "silence.create", made)


@pytest.mark.parametrize(
    ("matchers", "ends_at", "says"),
    [
        ((), NOW + 60, "at least one matcher"),
        (("node",), NOW + 60, "expected name=value"),
        (("node=~[",), NOW + 60, "regular expression"),
        (("node=~.*",), NOW + 60, "match every alert"),
        (("node=gpu-node-2",), NOW - 1, "in the past"),
        (("node=gpu-node-2",), NOW + 40 * 86400, "at most 30 days"),
    ],
)
def test_a_bad_silence_is_refused_with_what_was_wrong(
    uow: UnitOfWorkFactory, matchers: tuple[str, ...], ends_at: float, says: str
) -> None:
    with pytest.raises(UserError, match=says):
        _make(uow, *matchers, ends_at=ends_at)
    assert silences.listed(uow=uow, now=NOW, include_ended=True) == []


def test_expiring_ends_it_now_once(uow: UnitOfWorkFactory) -> None:
    made = _make(uow, "node=gpu-node-2")

    ended = silences.expire(uow=uow, silence_id=made, actor="bob", now=NOW + 60)
    again = silences.expire(uow=uow, silence_id=made, actor="bob", now=NOW + 120)

    assert ended.ends_at == again.ends_at == NOW + 60
    assert silences.listed(uow=uow, now=NOW + 60) == []
    assert [s.id for s in silences.listed(uow=uow, now=NOW + 60, include_ended=True)] == [made]
    with uow() as tx:
        assert [a.action for a in tx.audit.list()] == ["silence.expire", "silence.create"]
    with pytest.raises(NotFound):
        silences.expire(uow=uow, silence_id="nope", actor="bob", now=NOW)


def test_the_engine_mutes_what_a_silence_matches_until_it_ends(uow: UnitOfWorkFactory) -> None:
    rule = ThresholdRule(
        name="gpu_utilization_high",
        metric="gpu_util",
        warn=0.85,
        crit=0.95,
        recover=0.75,
        group_by=("node", "gpu"),
    )
    engine = AlertEngine(EngineConfig(thresholds=(rule,)))
    made = _make(uow, "node=gpu-node-2")
    silences.refresh(engine, uow=uow, windows=(), now=NOW)

    def hot(node: str, at: float) -> Sample:
        return Sample(SeriesKey.of("gpu_util", {"node": node, "gpu": "0"}), at, 0.99)

    out = engine.observe_samples([hot("gpu-node-2", NOW), hot("gpu-node-3", NOW)], now=NOW)
    notified = [dict(n.transition.alert.labels)["node"] for n in out.notify]
    assert notified == ["gpu-node-3"]
    reasons = [s.reason for s in out.suppressed]
    assert reasons == [f"silenced by silence {made} by alice: draining gpu-node-2"]

    silences.expire(uow=uow, silence_id=made, actor="bob", now=NOW + 30)
    silences.refresh(engine, uow=uow, windows=(), now=NOW + 30)
    later = engine.tick(NOW + 30)
    announced = [n.transition.alert for n in later.notify]
    assert [(dict(a.labels)["node"], a.level) for a in announced] == [("gpu-node-2", Level.CRIT)]


def test_maintenance_windows_join_the_stored_silences(uow: UnitOfWorkFactory) -> None:
    window = MaintenanceWindow(
        name="weekly",
        matchers=(Matcher("node", "gpu-node-1"),),
        weekdays=frozenset(range(7)),
        start=time(0, 0),
        end=time(23, 59),
        timezone="UTC",
    )
    _make(uow, "node=gpu-node-2")
    engine = AlertEngine(EngineConfig())

    current = silences.refresh(engine, uow=uow, windows=(window,), now=NOW)

    assert engine.noise.silences is current
    assert current.is_silenced({"node": "gpu-node-1"}, NOW)
    assert current.is_silenced({"node": "gpu-node-2"}, NOW)
    assert not current.is_silenced({"node": "gpu-node-3"}, NOW)
