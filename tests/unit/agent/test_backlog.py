import pytest

from agent.backlog import MemoryBacklog
from agent.wire import GPU_UTILIZATION, Batch, Reading


def _batch(samples: int) -> Batch:
    readings = tuple(Reading(GPU_UTILIZATION, {}, float(i), 0.5) for i in range(samples))
    return Batch(node="gpu-node-1", gpu_count=8, sent_at=0.0, samples=readings)


def test_keeps_batches_oldest_first():
    backlog = MemoryBacklog(capacity=100)
    first, second = _batch(1), _batch(1)
    backlog.append(first)
    backlog.append(second)

    assert backlog.peek() is first
    assert backlog.pop() is first
    assert backlog.pop() is second
    assert backlog.peek() is None
    assert backlog.records == 0


def test_evicts_the_oldest_batches_when_over_capacity():
    backlog = MemoryBacklog(capacity=10)
    batches = [_batch(4) for _ in range(4)]

    evicted = [b for batch in batches for b in backlog.append(batch)]

    assert evicted == batches[:2]
    assert len(backlog) == 2
    assert backlog.records == 8


def test_keeps_the_newest_batch_even_if_alone_it_is_over_capacity():
    backlog = MemoryBacklog(capacity=3)
    old, big = _batch(1), _batch(5)
    backlog.append(old)

    assert backlog.append(big) == [old]
    assert backlog.peek() is big


def test_refuses_a_capacity_below_one():
    with pytest.raises(ValueError, match="at least 1"):
        MemoryBacklog(capacity=0)
