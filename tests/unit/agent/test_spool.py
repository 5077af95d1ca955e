import logging
import shutil
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from agent.backlog import Backlog, MemoryBacklog, SpillingBacklog
from agent.errors import ConfigError
from agent.shipper import Shipper
from agent.spool import DiskSpool
from agent.wire import GPU_UTILIZATION, HEARTBEAT, Batch, NodeEvent, Reading

from .conftest import FakeBot, FakeClock


def _batch(samples: int = 3, node: str = "gpu-node-1") -> Batch:
    readings = tuple(
        Reading(GPU_UTILIZATION, {"gpu": str(i), "uuid": f"GPU-{i}"}, 1e9 + i, 0.5)
        for i in range(samples)
    )
    event = NodeEvent(kind=HEARTBEAT, ts=1e9, attrs={"interval_s": 1.0, "ok": True})
    return Batch(node=node, gpu_count=8, sent_at=1e9, samples=readings, events=(event,))


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.json.gz"))


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture(params=["memory", "disk", "spilling"])
def backlog(request, spool_dir):
    if request.param == "memory":
        yield MemoryBacklog()
    else:
        with DiskSpool(spool_dir) as spool:
            yield spool if request.param == "disk" else SpillingBacklog(spool)


def test_every_backlog_gives_batches_back_oldest_first_intact(backlog: Backlog):
    batches = [_batch(samples=n) for n in (1, 2, 3)]
    for batch in batches:
        assert backlog.append(batch) == []

    assert (len(backlog), backlog.records) == (3, 2 + 3 + 4)
    assert backlog.peek() == batches[0]
    assert [backlog.pop() for _ in batches] == batches
    assert backlog.peek() is None
    assert (len(backlog), backlog.records) == (0, 0)


def test_each_batch_is_one_gzip_file_named_by_sequence_and_records(spool_dir):
    with DiskSpool(spool_dir) as spool:
        spool.append(_batch(samples=2))
        spool.append(_batch(samples=5))

        assert _files(spool_dir) == ["000000000001-3.json.gz", "000000000002-6.json.gz"]
        assert spool.size_bytes == sum(p.stat().st_size for p in spool_dir.glob("*.json.gz"))
        spool.pop()
        assert _files(spool_dir) == ["000000000002-6.json.gz"]


def test_a_restarted_agent_replays_what_is_on_disk_first(spool_dir, caplog):
    old = [_batch(), _batch()]
    with DiskSpool(spool_dir) as spool:
        for batch in old:
            spool.append(batch)
    new = _batch()

    with caplog.at_level(logging.INFO), DiskSpool(spool_dir) as spool:
        assert (len(spool), spool.records) == (2, 8)
        spool.append(new)
        replayed = [spool.pop() for _ in range(3)]

    assert replayed == [*old, new]
    assert "holds 2 batches (8 records) from before; replaying them first" in caplog.text


def test_past_the_cap_the_oldest_batches_are_dropped_and_counted_by_the_shipper(spool_dir, caplog):
    registry = CollectorRegistry()
    clock = FakeClock()
    bot = FakeBot(httpx.Response(503))
    size = len(_batch().to_gzip_bytes())
    with (
        DiskSpool(spool_dir, max_bytes=3 * size + size // 2, registry=registry) as spool,
        Shipper(
            "http://bot.test/api/v1/ingest",
            "t",
            registry=registry,
            backlog=spool,
            clock=clock,
            transport=httpx.MockTransport(bot),
        ) as shipper,
        caplog.at_level(logging.WARNING),
    ):
        batches = [_batch() for _ in range(5)]
        for batch in batches:
            shipper.submit(batch)
        kept = [spool.pop() for _ in range(len(spool))]

    assert kept == batches[2:]
    assert registry.get_sample_value("gpuwarden_agent_dropped_batches_total") == 2
    assert registry.get_sample_value("gpuwarden_agent_dropped_samples_total") == 2 * 3
    assert len([r for r in caplog.records if r.getMessage().startswith("queue full")]) == 1


def test_a_batch_larger_than_the_cap_alone_is_still_kept(spool_dir):
    with DiskSpool(spool_dir, max_bytes=10) as spool:
        first, second = _batch(), _batch()
        assert spool.append(first) == []
        assert spool.append(second) == [first]
        assert spool.peek() == second


def test_a_corrupt_file_is_moved_aside_counted_and_skipped(spool_dir, caplog):
    registry = CollectorRegistry()
    batches = [_batch(), _batch(), _batch()]
    with DiskSpool(spool_dir) as spool:
        for batch in batches:
            spool.append(batch)
    (spool_dir / "000000000002-4.json.gz").write_bytes(b"\x1f\x8b not really gzip")

    with DiskSpool(spool_dir, registry=registry) as spool, caplog.at_level(logging.WARNING):
        assert spool.pop() == batches[0]
        assert spool.pop() == batches[2]
        assert spool.peek() is None
        assert spool.records == 0

    assert registry.get_sample_value("gpuwarden_agent_spool_corrupt_files_total") == 1
    assert _files(spool_dir / "corrupt") == ["000000000002-4.json.gz"]
    assert "spool file" in caplog.text
    assert "moving it aside" in caplog.text


def test_a_write_cut_short_by_a_crash_is_removed_at_start(spool_dir):
    with DiskSpool(spool_dir) as spool:
        spool.append(_batch())
    (spool_dir / ".000000000002-4.json.gz.tmp").write_bytes(b"half")

    with DiskSpool(spool_dir) as spool:
        assert len(spool) == 1
        spool.append(_batch())

    assert not list(spool_dir.glob("*.tmp"))
    assert _files(spool_dir) == ["000000000001-4.json.gz", "000000000002-4.json.gz"]


def test_a_batch_that_cannot_be_written_is_dropped_and_logged_once(spool_dir, caplog):
    with DiskSpool(spool_dir) as spool, caplog.at_level(logging.INFO):
        shutil.rmtree(spool_dir)
        lost = [_batch(), _batch()]
        assert [spool.append(b) for b in lost] == [[lost[0]], [lost[1]]]
        spool_dir.mkdir()
        assert spool.append(_batch()) == []

    assert len([r for r in caplog.records if r.getMessage().startswith("cannot write")]) == 1
    assert "writable again" in caplog.text


def test_two_agents_cannot_share_a_spool_directory(spool_dir):
    with DiskSpool(spool_dir), pytest.raises(ConfigError, match="in use by another agent"):
        DiskSpool(spool_dir)


def test_an_unusable_directory_is_a_config_error(tmp_path):
    (tmp_path / "file").write_text("")

    with pytest.raises(ConfigError, match=r"--spool-dir '.*file/spool' is not usable"):
        DiskSpool(tmp_path / "file" / "spool")


def test_pop_from_an_empty_spool_raises(spool_dir):
    with DiskSpool(spool_dir) as spool, pytest.raises(IndexError):
        spool.pop()
