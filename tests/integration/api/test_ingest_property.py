"""Property: whatever body is posted to ``/api/v1/ingest``, the bot never answers 5xx."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.api.inprocess import INGEST_TOKEN, NOW, running_bot

HEADERS = {"Authorization": f"Bearer {INGEST_TOKEN}", "Content-Type": "application/json"}
RAW = "__raw__"  # a string replaced by a raw JSON token (NaN, Infinity, 1e999) after dumping
_batch_ids = itertools.count()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from([RAW, 10**30, -(10**30), 1e308, 2**63, NOW * 1000]),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)
timestamps = (
    st.sampled_from(
        [NOW, NOW + 3599, NOW + 3601, NOW - 7 * 86400 + 1, NOW - 7 * 86400 - 1, 0, -1, 1e20, 2**64]
    )
    | st.floats()
)
fields = st.sampled_from(
    [
        ("batch_id",),
        ("node",),
        ("agent_version",),
        ("gpu_count",),
        ("sent_at",),
        ("samples",),
        ("events",),
        ("unknown_key",),
        ("samples", 0, "metric"),
        ("samples", 0, "labels"),
        ("samples", 0, "labels", "gpu"),
        ("samples", 0, "labels", "node"),
        ("samples", 0, "ts"),
        ("samples", 0, "value"),
        ("samples", 0, "extra"),
        ("events", 0, "kind"),
        ("events", 0, "ts"),
        ("events", 0, "attrs"),
        ("events", 0, "attrs", "code"),
    ]
)


def valid_batch() -> dict[str, Any]:
    return {
        "batch_id": f"property-{next(_batch_ids):08d}",
        "node": "gpu-node-1",
        "agent_version": "0.1.0",
        "gpu_count": 8,
        "sent_at": NOW,
        "samples": [
            {
                "metric": "gpuwarden_gpu_utilization_ratio",
                "labels": {"gpu": "0"},
                "ts": NOW,
                "value": 0.5,
            }
        ],
        "events": [{"kind": "xid", "ts": NOW, "labels": {"gpu": "0"}, "attrs": {"code": 79}}],
    }


def body(value: Any, raw_token: str) -> bytes:
    return json.dumps(value).replace(json.dumps(RAW), raw_token).encode()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with running_bot(Path(tmp_path_factory.mktemp("ingest-property"))) as client:
        yield client


def post(client: TestClient, content: bytes) -> int:
    return client.post("/api/v1/ingest", content=content, headers=HEADERS).status_code


raw_tokens = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" * 400])
common = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(value=json_values, raw_token=raw_tokens)
def test_arbitrary_json_never_gets_a_5xx(client: TestClient, value: Any, raw_token: str):
    assert post(client, body(value, raw_token)) < 500


@common
@given(
    mutations=st.lists(
        st.tuples(fields, st.one_of(json_values, timestamps, st.just(KeyError))), max_size=4
    ),
    raw_token=raw_tokens,
)
def test_a_mutated_batch_never_gets_a_5xx(
    client: TestClient, mutations: list[tuple[tuple[Any, ...], Any]], raw_token: str
):
    batch = valid_batch()
    for path, replacement in mutations:
        mutate(batch, path, replacement)
    status = post(client, body(batch, raw_token))
    assert status < 500
    if not mutations:
        assert status == 202


def mutate(batch: dict[str, Any], path: tuple[Any, ...], replacement: Any) -> None:
    """Replace (or delete, for KeyError) the value at ``path`` when its parents still exist."""
    target: Any = batch
    for key in path[:-1]:
        try:
            target = target[key]
        except (KeyError, IndexError, TypeError):
            return
    if not isinstance(target, dict):
        return
    if replacement is KeyError:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = replacement


@pytest.mark.parametrize(
    ("ts", "status"), [(NOW + 30, 202), (NOW + 7200, 422), (NOW - 8 * 86400, 422)]
)
def test_a_sample_timestamp_far_from_the_bots_clock_is_refused_naming_it(
    client: TestClient, ts: float, status: int
):
    batch = valid_batch()
    batch["samples"][0]["ts"] = ts
    answer = client.post("/api/v1/ingest", json=batch, headers=HEADERS)
    assert answer.status_code == status
    if status == 422:
        assert answer.json()["error"].startswith("invalid batch: samples[0].ts: expected")
