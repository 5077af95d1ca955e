"""A disk spool behind a one-batch memory front: the disk is touched only once batches queue up."""

from pathlib import Path

import httpx
import pytest

from agent.backlog import SpillingBacklog
from agent.shipper import Shipper
from agent.spool import DiskSpool
from agent.wire import GPU_UTILIZATION, Batch, Reading

from .conftest import FakeBot, FakeClock


def _batch(samples: int = 3) -> Batch:
    readings = tuple(Reading(GPU_UTILIZATION, {"gpu": "0"}, float(i), 0.5) for i in range(samples))
    return Batch(node="gpu-node-1", gpu_count=8, sent_at=0.0, samples=readings)


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".json.gz"))


def test_while_each_batch_leaves_before_the_next__nothing_touches_the_disk(tmp_path):
    with DiskSpool(tmp_path) as spool:
        backlog = SpillingBacklog(spool)
        for _ in range(5):
            batch = _batch()
            backlog.append(batch)
            assert backlog.peek() is batch
            assert backlog.pop() is batch

        assert _files(tmp_path) == []
        assert (len(backlog), backlog.records) == (0, 0)


def test_once_batches_queue_up__all_go_to_disk_in_order_until_it_is_empty(tmp_path):
    with DiskSpool(tmp_path) as spool:
        backlog = SpillingBacklog(spool)
        batches = [_batch(samples=n) for n in (1, 2, 3)]
        for batch in batches:
            assert backlog.append(batch) == []

        assert len(_files(tmp_path)) == 3
        assert (len(backlog), backlog.records) == (3, 6)
        assert [backlog.pop() for _ in batches] == batches

        fresh = _batch()
        backlog.append(fresh)  # the spool is empty again: held in memory
        assert _files(tmp_path) == []
        assert backlog.pop() is fresh


def test_close_spills_the_held_batch__the_next_agent_replays_it(tmp_path):
    held = _batch(samples=4)
    with DiskSpool(tmp_path) as spool:
        backlog = SpillingBacklog(spool)
        backlog.append(held)
        backlog.close()

    with DiskSpool(tmp_path) as spool:
        backlog = SpillingBacklog(spool)
        later = _batch()
        backlog.append(later)  # the spool has batches from before: this one queues behind
        assert [backlog.pop(), backlog.pop()] == [held, later]


def test_hold_must_be_at_least_one_batch(tmp_path):
    with DiskSpool(tmp_path) as spool, pytest.raises(ValueError, match="hold"):
        SpillingBacklog(spool, hold=0)


def test_shipper_spools_only_while_the_bot_is_down__and_delivers_in_order(tmp_path):
    clock = FakeClock()
    bot = FakeBot(httpx.Response(503), httpx.Response(503), httpx.Response(202, json={}))
    with (
        DiskSpool(tmp_path) as spool,
        Shipper(
            "http://bot.test/api/v1/ingest",
            "t",
            backlog=SpillingBacklog(spool),
            clock=clock,
            transport=httpx.MockTransport(bot),
        ) as shipper,
    ):
        batches = [_batch() for _ in range(3)]
        for batch in batches:
            shipper.submit(batch)
            shipper.pump(until=clock.now + 1)
            clock.advance(1)
        spooled = _files(tmp_path)
        assert shipper.flush(deadline=clock.now + 120)

    assert len(spooled) == 3
    assert _files(tmp_path) == []
    delivered = [p["batch_id"] for p in bot.payloads()[2:]]
    assert delivered == [b.batch_id for b in batches]
