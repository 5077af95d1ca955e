"""Shipper behaviour against an in-memory bot speaking HTTP through httpx's mock transport."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
from prometheus_client import CollectorRegistry

from agent.backlog import MemoryBacklog
from agent.shipper import Backoff, Shipper, parse_retry_after
from agent.wire import GPU_UTILIZATION, HEARTBEAT, Batch, NodeEvent, Reading

from .conftest import FakeBot, FakeClock

URL = "http://bot.test/api/v1/ingest"


def _batch(samples: int = 3, node: str = "gpu-node-1") -> Batch:
    readings = tuple(Reading(GPU_UTILIZATION, {"gpu": str(i)}, 1.0, 0.5) for i in range(samples))
    return Batch(
        node=node,
        gpu_count=8,
        sent_at=1.0,
        samples=readings,
        events=(NodeEvent(kind=HEARTBEAT, ts=1.0),),
    )


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def _shipper(bot: FakeBot, clock: FakeClock, registry: CollectorRegistry, **kwargs) -> Shipper:
    kwargs.setdefault("backoff", Backoff(base_s=1.0, cap_s=8.0))
    return Shipper(
        URL,
        "s3cret",
        registry=registry,
        clock=clock,
        sleep=clock.sleep,
        rng=random.Random(0),
        transport=httpx.MockTransport(bot),
        **kwargs,
    )


def _metric(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_sends_gzipped_json_with_bearer_token(clock, registry):
    bot = FakeBot()
    batch = _batch()
    with _shipper(bot, clock, registry) as shipper:
        shipper.submit(batch)
        shipper.pump(until=clock.now + 5)

    (request,) = bot.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Content-Encoding"] == "gzip"
    assert bot.payloads() == [{**batch.to_payload(), "sent_at": clock.now}]
    assert _metric(registry, "gpuwarden_agent_sent_batches_total") == 1
    assert _metric(registry, "gpuwarden_agent_sent_samples_total") == 3
    assert _metric(registry, "gpuwarden_agent_last_success_timestamp_seconds") == clock.now
    assert _metric(registry, "gpuwarden_agent_queue_batches") == 0


def test_a_duplicate_answer_counts_as_delivered(clock, registry):
    bot = FakeBot(httpx.Response(202, json={"accepted_samples": 0, "duplicate": True}))
    with _shipper(bot, clock, registry) as shipper:
        shipper.submit(_batch())
        shipper.pump(until=clock.now + 5)

        assert shipper.pending == 0
    assert _metric(registry, "gpuwarden_agent_sent_batches_total") == 1


def test_server_error_keeps_the_batch_and_retries_after_backoff_with_the_same_id(clock, registry):
    bot = FakeBot(httpx.Response(503), httpx.Response(202, json={}))
    with _shipper(bot, clock, registry) as shipper:
        shipper.submit(_batch())
        shipper.pump(until=clock.now + 60)
        retry_at = shipper.retry_at

        assert retry_at is not None
        assert clock.now + 0.5 <= retry_at <= clock.now + 1.0
        clock.advance(retry_at - clock.now - 0.01)
        shipper.pump(until=clock.now + 60)
        assert len(bot.requests) == 1

        clock.advance(0.01)
        shipper.pump(until=clock.now + 60)

        assert shipper.pending == 0
    first, second = bot.payloads()
    assert first["batch_id"] == second["batch_id"]
    assert second["sent_at"] > first["sent_at"]
    assert _metric(registry, "gpuwarden_agent_retries_total", reason="server_error") == 1


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (httpx.ConnectError("refused"), "connection"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.Response(408), "timeout"),
        (httpx.Response(500), "server_error"),
    ],
)
def test_transient_failures_are_retried(clock, registry, failure, reason):
    calls = []

    def bot(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            if isinstance(failure, Exception):
                raise failure
            return failure
        return httpx.Response(202, json={})

    shipper = Shipper(
        URL,
        "t",
        registry=registry,
        clock=clock,
        sleep=clock.sleep,
        transport=httpx.MockTransport(bot),
    )
    with shipper:
        shipper.submit(_batch())

        assert shipper.flush(deadline=clock.now + 10)
    assert len(calls) == 2
    assert _metric(registry, "gpuwarden_agent_retries_total", reason=reason) == 1


def test_backoff_doubles_with_jitter_up_to_the_cap():
    backoff = Backoff(base_s=1.0, cap_s=8.0)
    rng = random.Random(1)

    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (30, 8)]:
        delays = [backoff.delay(attempt, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1


def test_consecutive_failures_back_off_exponentially_until_the_deadline(clock, registry):
    bot = FakeBot(httpx.Response(503))
    with _shipper(bot, clock, registry) as shipper:
        shipper.submit(_batch())

        assert not shipper.flush(deadline=clock.now + 30)

        assert shipper.pending == 1
    ceilings = [1, 2, 4, 8, 8, 8]
    assert len(clock.sleeps) >= 4
    assert all(c / 2 <= s <= c for s, c in zip(clock.sleeps, ceilings, strict=False))
    assert len(bot.requests) == len(clock.sleeps) + 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_other_client_errors_are_rejected_for_good_and_logged_with_the_bots_reason(
    clock, registry, caplog, status
):
    detail = {"detail": "samples[0].value: expected a number"}
    bot = FakeBot(httpx.Response(status, json=detail), httpx.Response(202, json={}))
    with _shipper(bot, clock, registry) as shipper, caplog.at_level(logging.ERROR):
        rejected, accepted = _batch(), _batch()
        shipper.submit(rejected)
        shipper.submit(accepted)
        shipper.pump(until=clock.now + 5)

        assert shipper.pending == 0
    assert [p["batch_id"] for p in bot.payloads()] == [rejected.batch_id, accepted.batch_id]
    assert _metric(registry, "gpuwarden_agent_rejected_batches_total", status=str(status)) == 1
    assert _metric(registry, "gpuwarden_agent_retries_total", reason="server_error") is None
    (record,) = caplog.records
    assert f"HTTP {status}" in record.getMessage()
    assert "samples[0].value: expected a number" in record.getMessage()
    assert rejected.batch_id in record.getMessage()


def test_429_waits_for_retry_after_seconds(clock, registry):
    bot = FakeBot(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(202, json={}))
    with _shipper(bot, clock, registry, backoff=Backoff(base_s=0.1, cap_s=0.1)) as shipper:
        start = clock.now
        shipper.submit(_batch())

        assert shipper.flush(deadline=start + 30)
    assert clock.sleeps == [7.0]
    assert _metric(registry, "gpuwarden_agent_retries_total", reason="throttled") == 1


def test_429_without_retry_after_falls_back_to_backoff(clock, registry):
    bot = FakeBot(httpx.Response(429), httpx.Response(202, json={}))
    with _shipper(bot, clock, registry) as shipper:
        shipper.submit(_batch())

        assert shipper.flush(deadline=clock.now + 30)
    (slept,) = clock.sleeps
    assert 0.5 <= slept <= 1.0


NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("5", 5.0),
        ("0.25", 0.25),
        ("-3", 0.0),
        ("99999", 600.0),
        (format_datetime(datetime(2025, 1, 1, 12, 0, 30, tzinfo=UTC), usegmt=True), 30.0),
        (format_datetime(datetime(2025, 1, 1, 11, 0, 0, tzinfo=UTC), usegmt=True), 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_retry_after_reads_seconds_or_http_dates(header, expected):
    assert parse_retry_after(header, now=NOW) == expected


def test_overflow_drops_the_oldest_batches_counts_them_and_logs_once_per_episode(
    clock, registry, caplog
):
    # each batch holds 3 samples + 1 heartbeat = 4 records, so 12 records hold 3 batches
    bot = FakeBot(httpx.Response(503), httpx.Response(202, json={}))
    backlog = MemoryBacklog(capacity=12)
    with (
        _shipper(bot, clock, registry, backlog=backlog) as shipper,
        caplog.at_level(logging.WARNING),
    ):
        batches = [_batch(samples=3) for _ in range(6)]
        for batch in batches:
            shipper.submit(batch)
        shipper.pump(until=clock.now + 1)

        clock.advance(10)
        shipper.pump(until=clock.now + 1)
        delivered = {p["batch_id"] for p in bot.payloads()}
        for _ in range(5):
            shipper.submit(_batch(samples=3))

    assert delivered == {b.batch_id for b in batches[3:]}
    assert _metric(registry, "gpuwarden_agent_dropped_samples_total") == 3 * 3 + 2 * 3
    assert _metric(registry, "gpuwarden_agent_dropped_batches_total") == 3 + 2
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if m.startswith("queue full")]) == 2
    assert "queue overflow over: 9 samples were dropped" in messages


def test_flush_gives_up_at_the_deadline_and_close_reports_what_is_left(clock, registry, caplog):
    bot = FakeBot(httpx.Response(503))
    shipper = _shipper(bot, clock, registry)
    shipper.submit(_batch())
    shipper.submit(_batch())

    with caplog.at_level(logging.WARNING):
        assert not shipper.flush(deadline=clock.now + 2)
        shipper.close()

    assert shipper.pending == 2
    assert "exiting with 2 batches (8 records) undelivered" in caplog.records[-1].getMessage()


def test_large_batches_are_cut_to_max_batch_samples(clock, registry):
    bot = FakeBot()
    with _shipper(bot, clock, registry, max_batch_samples=2) as shipper:
        shipper.submit(_batch(samples=5))
        shipper.pump(until=clock.now + 1)

    assert [len(p["samples"]) for p in bot.payloads()] == [2, 2, 1]
    assert [len(p["events"]) for p in bot.payloads()] == [1, 0, 0]
    assert _metric(registry, "gpuwarden_agent_sent_samples_total") == 5


def test_pump_stops_at_until(clock, registry):
    def slow_bot(request: httpx.Request) -> httpx.Response:
        clock.advance(1.0)
        return httpx.Response(202, json={})

    shipper = Shipper(
        URL, "t", registry=registry, clock=clock, transport=httpx.MockTransport(slow_bot)
    )
    with shipper:
        for _ in range(5):
            shipper.submit(_batch())
        shipper.pump(until=clock.now + 2.5)

        assert shipper.pending == 2
