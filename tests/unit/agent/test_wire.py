import gzip
import json
import math
import uuid

import pytest

from agent.wire import AGENT_VERSION, GPU_UTILIZATION, HEARTBEAT, Batch, NodeEvent, Reading

LABELS = {"gpu": "3", "uuid": "GPU-0", "model_name": "NVIDIA H100 80GB HBM3"}


def _batch(samples: int = 2, events: int = 1) -> Batch:
    return Batch(
        node="gpu-node-1",
        gpu_count=8,
        sent_at=1_700_000_000.5,
        samples=tuple(
            Reading(GPU_UTILIZATION, LABELS, 1_700_000_000.0 + i, 0.5) for i in range(samples)
        ),
        events=tuple(NodeEvent(kind=HEARTBEAT, ts=1_700_000_000.0) for _ in range(events)),
    )


def test_gzip_body_decodes_to_the_ingest_contract():
    batch = _batch(samples=1)

    payload = json.loads(gzip.decompress(batch.to_gzip_bytes()))

    assert payload == {
        "batch_id": batch.batch_id,
        "node": "gpu-node-1",
        "agent_version": AGENT_VERSION,
        "gpu_count": 8,
        "sent_at": 1_700_000_000.5,
        "samples": [
            {"metric": GPU_UTILIZATION, "labels": LABELS, "ts": 1_700_000_000.0, "value": 0.5}
        ],
        "events": [
            {"kind": "heartbeat", "ts": 1_700_000_000.0, "labels": {}, "message": "", "attrs": {}}
        ],
    }


def test_json_bytes_are_compact_utf8():
    body = _batch().to_json_bytes()

    assert b": " not in body
    assert json.loads(body.decode("utf-8"))["node"] == "gpu-node-1"


def test_gzip_encoding_is_deterministic():
    batch = _batch()

    assert batch.to_gzip_bytes() == batch.to_gzip_bytes()


def test_batch_id_is_uuid4_hex_and_fresh_per_batch():
    first, second = _batch(), _batch()

    assert uuid.UUID(hex=first.batch_id).version == 4
    assert len(first.batch_id) == 32
    assert first.batch_id != second.batch_id


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_reading_refuses_non_finite_values(value):
    with pytest.raises(ValueError, match=r"gpuwarden_gpu_utilization_ratio.*value must be finite"):
        Reading(GPU_UTILIZATION, LABELS, 0.0, value)


def test_reading_refuses_metric_without_prefix():
    with pytest.raises(ValueError, match="must start with 'gpuwarden_'"):
        Reading("gpu_util", LABELS, 0.0, 1.0)


def test_size_counts_samples_and_events():
    assert _batch(samples=5, events=2).size == 7


def test_split_keeps_a_small_batch_whole():
    batch = _batch(samples=3)

    assert batch.split(3) == [batch]


def test_split_cuts_samples_and_sends_events_with_the_first_part():
    batch = _batch(samples=5, events=1)

    parts = batch.split(2)

    assert [len(p.samples) for p in parts] == [2, 2, 1]
    assert [len(p.events) for p in parts] == [1, 0, 0]
    assert [s for p in parts for s in p.samples] == list(batch.samples)
    assert len({p.batch_id for p in parts}) == 3
    assert {p.node for p in parts} == {"gpu-node-1"}


def test_split_refuses_zero():
    with pytest.raises(ValueError, match="at least 1"):
        _batch().split(0)
