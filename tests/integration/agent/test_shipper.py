"""The shipper against a real HTTP server on loopback (short waits via backoff parameters)."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest
from prometheus_client import CollectorRegistry

from agent.backlog import MemoryBacklog
from agent.shipper import Backoff, Shipper
from agent.simulate import Fleet
from agent.wire import HEARTBEAT, INGEST_PATH, Batch, NodeEvent

from .conftest import ACCEPTED, ScriptedBot

TOKEN = "integration-token"
FAST = Backoff(base_s=0.02, cap_s=0.05)


def _batch(node: str = "gpu-node-1", gpus: int = 2) -> Batch:
    now = time.time()
    (source,) = [n for n in Fleet(nodes=2, gpus_per_node=gpus, seed=3).nodes if n.node == node]
    readings, _ = source.collect(now)
    return Batch(
        node=node,
        gpu_count=gpus,
        sent_at=now,
        samples=tuple(r for r in readings if "gpu" in r.labels),  # 6 per GPU
        events=(NodeEvent(kind=HEARTBEAT, ts=now, attrs={"interval_s": 2.0}),),
    )


def _shipper(url: str, registry: CollectorRegistry, **kwargs) -> Shipper:
    kwargs.setdefault("backoff", FAST)
    return Shipper(url + INGEST_PATH, TOKEN, registry=registry, timeout=2.0, **kwargs)


def _metric(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def _error(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    return status, headers or {}, json.dumps(body or {"detail": "unavailable"}).encode()


def test_two_503s_then_202_deliver_the_batch_intact_under_one_id(bot: ScriptedBot, registry):
    bot.script = [_error(503), _error(503), ACCEPTED]
    batch = _batch()

    with _shipper(bot.url, registry) as shipper:
        shipper.submit(batch)
        assert shipper.flush(deadline=time.time() + 5)

    assert len(bot.received) == 3
    for received in bot.received:
        assert received.path == INGEST_PATH
        assert received.headers["Authorization"] == f"Bearer {TOKEN}"
        assert received.headers["Content-Type"] == "application/json"
    payloads = bot.payloads()
    assert {p["batch_id"] for p in payloads} == {batch.batch_id}
    delivered = payloads[-1]
    assert delivered["sent_at"] >= batch.sent_at
    assert {**delivered, "sent_at": batch.sent_at} == batch.to_payload()
    assert len(delivered["samples"]) == 2 * 6
    assert _metric(registry, "gpuwarden_agent_sent_batches_total") == 1
    assert _metric(registry, "gpuwarden_agent_sent_samples_total") == 12
    assert _metric(registry, "gpuwarden_agent_retries_total", reason="server_error") == 2
    assert _metric(registry, "gpuwarden_agent_queue_batches") == 0


def test_422_is_not_retried_and_is_counted_with_the_bots_reason_logged(
    bot: ScriptedBot, registry, caplog
):
    detail = {"detail": [{"loc": ["body", "samples", 0, "value"], "msg": "value is not a number"}]}
    bot.script = [_error(422, detail), ACCEPTED]
    bad, good = _batch("gpu-node-1"), _batch("gpu-node-2")

    with _shipper(bot.url, registry) as shipper, caplog.at_level(logging.ERROR):
        shipper.submit(bad)
        shipper.submit(good)
        assert shipper.flush(deadline=time.time() + 5)

    assert [p["batch_id"] for p in bot.payloads()] == [bad.batch_id, good.batch_id]
    assert _metric(registry, "gpuwarden_agent_rejected_batches_total", status="422") == 1
    assert _metric(registry, "gpuwarden_agent_sent_batches_total") == 1
    assert _metric(registry, "gpuwarden_agent_retries_total", reason="server_error") is None
    (record,) = caplog.records
    assert "HTTP 422" in record.getMessage()
    assert '"loc":["body","samples",0,"value"]' in record.getMessage().replace(" ", "")


def test_queue_overflow_drops_the_oldest_counts_them_then_delivers_the_rest(
    bot: ScriptedBot, registry, caplog
):
    bot.script = [_error(503), ACCEPTED]
    batches = [_batch() for _ in range(5)]  # 12 samples + 1 heartbeat = 13 records each
    backlog = MemoryBacklog(capacity=3 * 13)

    with (
        _shipper(bot.url, registry, backlog=backlog) as shipper,
        caplog.at_level(logging.WARNING),
    ):
        for batch in batches:
            shipper.submit(batch)
        assert shipper.pending == 3
        assert shipper.flush(deadline=time.time() + 5)

    assert _metric(registry, "gpuwarden_agent_dropped_samples_total") == 2 * 12
    assert _metric(registry, "gpuwarden_agent_dropped_batches_total") == 2
    attempted = [p["batch_id"] for p in bot.payloads()]
    assert attempted == [b.batch_id for b in [batches[2], *batches[2:]]]  # 503, then 3 x 202
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if m.startswith("queue full")]) == 1
    assert "queue overflow over: 24 samples were dropped" in messages


def test_429_retry_after_is_honoured_over_backoff(bot: ScriptedBot, registry):
    bot.script = [_error(429, headers={"Retry-After": "1"}), ACCEPTED]

    with _shipper(bot.url, registry, backoff=Backoff(base_s=30.0, cap_s=30.0)) as shipper:
        shipper.submit(_batch())
        assert shipper.flush(deadline=time.time() + 5)

    first, second = bot.received
    assert 0.95 <= second.at - first.at < 3.0
    assert _metric(registry, "gpuwarden_agent_retries_total", reason="throttled") == 1


def test_connection_refused_keeps_the_batch_for_later(registry):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with _shipper(f"http://127.0.0.1:{port}", registry) as shipper:
        shipper.submit(_batch())
        assert not shipper.flush(deadline=time.time() + 0.3)

        assert shipper.pending == 1
    assert _metric(registry, "gpuwarden_agent_retries_total", reason="connection") >= 2
