from __future__ import annotations

import gzip
import logging
import os
import signal
import threading
import time
from collections.abc import Sequence

import httpx
import pytest
from prometheus_client import CollectorRegistry

from agent.exporter import Snapshot
from agent.runner import AgentLoop, StopFlag
from agent.shipper import Backoff, Shipper
from agent.simulate import Fleet
from agent.urgent import UrgentEvents
from agent.wire import GPU_UTILIZATION, Batch, NodeEvent, Reading

from .conftest import FakeBot, FakeClock


def _shipper(bot: FakeBot, clock: FakeClock) -> Shipper:
    return Shipper(
        "http://bot.test/api/v1/ingest",
        "t",
        registry=CollectorRegistry(),
        clock=clock,
        sleep=clock.sleep,
        backoff=Backoff(base_s=1.0, cap_s=1.0),
        transport=httpx.MockTransport(bot),
    )


def _stop_at(clock: FakeClock, stop: StopFlag, when: float):
    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now >= when:
            stop.request("test")

    return sleep


def _loop(sources, shipper, clock, *, stop_after: float, interval_s: float = 5.0) -> AgentLoop:
    stop = StopFlag()
    return AgentLoop(
        sources=sources,
        shipper=shipper,
        stop=stop,
        interval_s=interval_s,
        clock=clock,
        sleep=_stop_at(clock, stop, clock.now + stop_after),
    )


def test_ships_one_batch_per_node_each_interval_with_a_heartbeat(clock):
    start = clock.now
    fleet = Fleet(nodes=2, gpus_per_node=2, seed=0)
    bot = FakeBot()
    with _shipper(bot, clock) as shipper:
        _loop(fleet.nodes, shipper, clock, stop_after=12).run()

    payloads = bot.payloads()
    assert [(p["node"], p["sent_at"] - start) for p in payloads] == [
        ("gpu-node-1", 0.0),
        ("gpu-node-2", 0.0),
        ("gpu-node-1", 5.0),
        ("gpu-node-2", 5.0),
        ("gpu-node-1", 10.0),
        ("gpu-node-2", 10.0),
    ]
    for payload in payloads:
        assert payload["gpu_count"] == 2
        assert len([s for s in payload["samples"] if "gpu" in s["labels"]]) == 2 * 6
        assert payload["events"] == [
            {
                "kind": "heartbeat",
                "ts": payload["sent_at"],
                "labels": {},
                "message": "",
                "attrs": {"interval_s": 5.0},
            }
        ]


def test_retries_between_ticks_when_the_bot_fails(clock):
    start = clock.now
    bot = FakeBot(httpx.Response(503), httpx.Response(202, json={}))
    with _shipper(bot, clock) as shipper:
        _loop(Fleet(nodes=1, gpus_per_node=1).nodes, shipper, clock, stop_after=4).run()

    sent = [p["sent_at"] - start for p in bot.payloads()]
    assert len(sent) == 2
    assert sent[0] == 0.0
    assert 0.5 <= sent[1] <= 1.0


class BrokenSource:
    node = "gpu-node-9"
    gpu_count = 8

    def collect(self, now: float) -> tuple[Sequence[Reading], Sequence[NodeEvent]]:
        raise RuntimeError("NVML went away")


def test_a_failing_source_still_sends_its_heartbeat(clock, caplog):
    bot = FakeBot()
    with _shipper(bot, clock) as shipper, caplog.at_level(logging.ERROR):
        _loop([BrokenSource()], shipper, clock, stop_after=1).run()

    (payload,) = bot.payloads()
    assert payload["node"] == "gpu-node-9"
    assert payload["samples"] == []
    assert [e["kind"] for e in payload["events"]] == ["heartbeat"]
    assert "collecting from gpu-node-9 failed" in caplog.text


def test_on_stop_flushes_within_the_grace_period_then_returns(clock):
    bot = FakeBot(httpx.Response(503))
    with _shipper(bot, clock) as shipper:
        stop = StopFlag()
        stop.request("SIGTERM")
        loop = AgentLoop(
            sources=Fleet(nodes=1, gpus_per_node=1).nodes,
            shipper=shipper,
            stop=stop,
            grace_s=3.0,
            clock=clock,
            sleep=clock.sleep,
        )
        shipper.submit(Batch(node="gpu-node-1", gpu_count=1, sent_at=clock.now))
        start = clock.now
        loop.run()

        assert clock.now - start <= 3.0
        assert len(bot.requests) >= 2
        assert shipper.pending == 1


def test_refuses_a_non_positive_interval(clock):
    with _shipper(FakeBot(), clock) as shipper, pytest.raises(ValueError, match="interval_s"):
        AgentLoop(sources=[], shipper=shipper, stop=StopFlag(), interval_s=0)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_flag_turns_sigterm_and_sigint_into_a_stop_request(sig):
    before = signal.getsignal(sig)
    stop = StopFlag()
    restore = stop.install()
    try:
        os.kill(os.getpid(), sig)
    finally:
        restore()

    assert stop.requested
    assert stop.reason == sig.name
    assert signal.getsignal(sig) is before


class FixedSource:
    def __init__(self, node: str, gpu_count: int, *readings: Reading) -> None:
        self.node = node
        self.gpu_count = gpu_count
        self.readings = readings

    def collect(self, now: float) -> tuple[Sequence[Reading], Sequence[NodeEvent]]:
        return [Reading(r.metric, r.labels, now, r.value) for r in self.readings], []


def test_sources_of_one_node_ship_together_with_one_heartbeat_and_fill_the_snapshot(clock):
    gpu = FixedSource("gpu-node-1", 8, Reading(GPU_UTILIZATION, {"gpu": "0"}, 0, 0.5))
    serving = FixedSource("gpu-node-1", 0, Reading("gpuwarden_serving_up", {}, 0, 1.0))
    other = FixedSource("gpu-node-2", 4)
    snapshot = Snapshot(clock=clock)
    bot = FakeBot()
    with _shipper(bot, clock) as shipper:
        stop = StopFlag()
        loop = AgentLoop(
            sources=[gpu, other, serving],
            shipper=shipper,
            stop=stop,
            snapshot=snapshot,
            clock=clock,
            sleep=_stop_at(clock, stop, clock.now + 0.5),
        )
        loop.run()

    first, second = bot.payloads()
    assert (first["node"], first["gpu_count"]) == ("gpu-node-1", 8)
    assert [s["metric"] for s in first["samples"]] == [GPU_UTILIZATION, "gpuwarden_serving_up"]
    assert [e["kind"] for e in first["events"]] == ["heartbeat"]
    assert (second["node"], second["gpu_count"], second["samples"]) == ("gpu-node-2", 4, [])
    assert sorted(r.metric for _, r in snapshot.latest()) == [
        GPU_UTILIZATION,
        "gpuwarden_serving_up",
    ]


def test_the_default_push_interval_is_one_second(clock):
    bot = FakeBot()
    with _shipper(bot, clock) as shipper:
        stop = StopFlag()
        AgentLoop(
            sources=[FixedSource("n", 1)],
            shipper=shipper,
            stop=stop,
            clock=clock,
            sleep=_stop_at(clock, stop, clock.now + 2.5),
        ).run()

    assert [p["events"][0]["attrs"] for p in bot.payloads()] == [{"interval_s": 1.0}] * 3


def _xid(ts: float) -> NodeEvent:
    return NodeEvent(kind="xid", ts=ts, labels={"gpu": "3"}, attrs={"xid": 79})


def test_an_urgent_event_ships_at_once_in_its_own_batch_not_at_the_next_tick(clock):
    start = clock.now
    urgent = UrgentEvents()
    stop = StopFlag()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now - start == pytest.approx(2.2):
            urgent.put("gpu-node-1", _xid(clock.now))
        if clock.now - start >= 7:
            stop.request("test")

    bot = FakeBot()
    with _shipper(bot, clock) as shipper:
        AgentLoop(
            sources=[FixedSource("gpu-node-1", 8)],
            shipper=shipper,
            stop=stop,
            interval_s=5.0,
            urgent=urgent,
            clock=clock,
            sleep=sleep,
        ).run()

    sent = [(p["sent_at"] - start, [e["kind"] for e in p["events"]]) for p in bot.payloads()]
    assert sent == [
        (0.0, ["heartbeat"]),
        (pytest.approx(2.2), ["xid"]),
        (5.0, ["heartbeat"]),
    ]
    assert bot.payloads()[1]["gpu_count"] == 8


def test_an_urgent_event_from_another_thread_wakes_a_sleeping_loop():
    urgent = UrgentEvents()
    stop = StopFlag()
    delivered = threading.Event()

    def bot(request: httpx.Request) -> httpx.Response:
        if b"xid" in gzip.decompress(request.content):
            delivered.set()
        return httpx.Response(202, json={})

    shipper = Shipper("http://bot.test/i", "t", transport=httpx.MockTransport(bot))
    loop = AgentLoop(
        sources=[FixedSource("n", 1)], shipper=shipper, stop=stop, interval_s=60.0, urgent=urgent
    )
    runner = threading.Thread(target=loop.run)
    runner.start()
    try:
        time.sleep(0.3)
        put_at = time.monotonic()
        urgent.put("n", _xid(time.time()))
        assert delivered.wait(timeout=5)
        assert time.monotonic() - put_at < 0.5
    finally:
        stop.request("test")
        runner.join(timeout=5)
        shipper.close()


def test_a_failing_source_is_logged_once_per_episode(clock, caplog):
    source = BrokenSource()
    bot = FakeBot()
    with _shipper(bot, clock) as shipper, caplog.at_level(logging.INFO):
        loop = AgentLoop(sources=[source], shipper=shipper, stop=StopFlag(), clock=clock)
        loop.tick(clock.now)
        loop.tick(clock.now + 1)
        source.collect = lambda now: ([], [])  # type: ignore[method-assign]
        loop.tick(clock.now + 2)

    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if m.startswith("collecting from gpu-node-9 failed")]) == 1
    assert "collecting from gpu-node-9 (BrokenSource) works again" in messages
