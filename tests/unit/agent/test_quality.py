import json
from collections.abc import Iterator

import httpx
import pytest

from agent.quality import QualityEndpoint, SignalError, parse_signal
from agent.wire import Reading

from .conftest import FakeClock

TS = 1_700_000_000.0


def _body(payload: object) -> bytes:
    return json.dumps(payload).encode()


def test_an_output_histogram_becomes_one_ratio_per_bucket_plus_the_count():
    body = _body({"model_name": "deepseek-v3", "buckets": {"neg": 1, "neutral": 3, "pos": 4}})

    readings = parse_signal("/v1/output-histogram", body, TS)

    assert readings == [
        Reading(
            "gpuwarden_model_output_bucket_ratio",
            {"model_name": "deepseek-v3", "bucket": "neg"},
            TS,
            0.125,
        ),
        Reading(
            "gpuwarden_model_output_bucket_ratio",
            {"model_name": "deepseek-v3", "bucket": "neutral"},
            TS,
            0.375,
        ),
        Reading(
            "gpuwarden_model_output_bucket_ratio",
            {"model_name": "deepseek-v3", "bucket": "pos"},
            TS,
            0.5,
        ),
        Reading("gpuwarden_model_output_observations", {"model_name": "deepseek-v3"}, TS, 8),
    ]


@pytest.mark.parametrize(
    ("path", "payload", "expected"),
    [
        (
            "/v1/train-loss",
            {"job": "sft-7", "value": 1.25},
            Reading("gpuwarden_train_loss", {"job": "sft-7"}, TS, 1.25),
        ),
        (
            "/v1/topk-recall",
            {"model_name": "ranker", "k": 10, "value": 0.93},
            Reading(
                "gpuwarden_model_topk_recall_ratio", {"model_name": "ranker", "k": "10"}, TS, 0.93
            ),
        ),
        (
            "/v1/param-sync",
            {"job": "pretrain", "seconds": 0.082},
            Reading("gpuwarden_train_param_sync_seconds", {"job": "pretrain"}, TS, 0.082),
        ),
    ],
)
def test_scalar_signals_become_one_reading_each(path, payload, expected):
    assert parse_signal(path, _body(payload), TS) == [expected]


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/v1/loss", b"{}", 404, "unknown path '/v1/loss'; expected one of: /v1/output-histogram"),
        ("/v1/train-loss", b"{not json", 400, "expected a JSON object as the request body"),
        ("/v1/train-loss", b"[1, 2]", 400, "expected a JSON object as the request body"),
        (
            "/v1/train-loss",
            _body({"job": "j"}),
            422,
            "missing field 'value'; /v1/train-loss takes: job, value",
        ),
        (
            "/v1/train-loss",
            _body({"job": "j", "value": 1, "step": 3}),
            422,
            "unknown field 'step'; /v1/train-loss takes: job, value",
        ),
        (
            "/v1/train-loss",
            _body({"job": "", "value": 1}),
            422,
            "field 'job': expected a non-empty string",
        ),
        (
            "/v1/train-loss",
            _body({"job": "j", "value": "1.5"}),
            422,
            "field 'value': expected a finite number, got '1.5'",
        ),
        (
            "/v1/train-loss",
            _body({"job": "j", "value": True}),
            422,
            "field 'value': expected a finite number, got true",
        ),
        (
            "/v1/train-loss",
            b'{"job": "j", "value": NaN}',
            422,
            "field 'value': expected a finite number, got NaN",
        ),
        (
            "/v1/topk-recall",
            _body({"model_name": "m", "k": 0, "value": 0.5}),
            422,
            "field 'k': expected a whole number of at least 1, got 0",
        ),
        (
            "/v1/topk-recall",
            _body({"model_name": "m", "k": 5, "value": 1.5}),
            422,
            "field 'value': expected a ratio from 0 to 1, got 1.5",
        ),
        (
            "/v1/param-sync",
            _body({"job": "j", "seconds": -0.1}),
            422,
            "field 'seconds': expected a number of seconds, at least 0, got -0.1",
        ),
        (
            "/v1/output-histogram",
            _body({"model_name": "m", "buckets": []}),
            422,
            "field 'buckets': expected an object of 1-256 bucket: count pairs, got []",
        ),
        (
            "/v1/output-histogram",
            _body({"model_name": "m", "buckets": {"a": 1, "b": -2}}),
            422,
            "field \"buckets['b']\": expected a count of at least 0, got -2",
        ),
        (
            "/v1/output-histogram",
            _body({"model_name": "m", "buckets": {"a": 0}}),
            422,
            "field 'buckets': expected at least one count above 0",
        ),
        (
            "/v1/output-histogram",
            _body({"model_name": "m", "buckets": {"": 1}}),
            422,
            "field 'buckets': expected a non-empty string",
        ),
    ],
)
def test_bad_signals_are_refused_with_a_status_and_a_message_naming_the_field(
    path, body, status, message
):
    with pytest.raises(SignalError) as refused:
        parse_signal(path, body, TS)

    assert refused.value.status == status
    assert str(refused.value).startswith(message)


def test_pushed_readings_leave_with_the_next_collection_once():
    clock = FakeClock(TS)
    endpoint = QualityEndpoint(node="gpu-node-1", clock=clock)
    assert endpoint.accept("/v1/train-loss", _body({"job": "j", "value": 2.0})) == 1
    clock.advance(0.5)
    endpoint.accept("/v1/train-loss", _body({"job": "j", "value": 1.9}))

    readings, events = endpoint.collect(TS + 1)

    assert [(r.ts, r.value) for r in readings] == [(TS, 2.0), (TS + 0.5, 1.9)]
    assert events == []
    assert endpoint.collect(TS + 2) == ([], [])


def test_too_many_waiting_readings_are_refused_with_503():
    endpoint = QualityEndpoint(node="n", max_pending=3)
    endpoint.accept("/v1/output-histogram", _body({"model_name": "m", "buckets": {"a": 1}}))

    with pytest.raises(SignalError, match="2 readings wait for the next push") as refused:
        endpoint.accept("/v1/output-histogram", _body({"model_name": "m", "buckets": {"a": 1}}))

    assert refused.value.status == 503


@pytest.fixture
def served() -> Iterator[tuple[QualityEndpoint, str]]:
    endpoint = QualityEndpoint(node="gpu-node-1")
    port = endpoint.start(host="127.0.0.1", port=0)
    yield endpoint, f"http://127.0.0.1:{port}"
    endpoint.close()


def test_over_http_a_valid_post_is_accepted_with_202(served):
    endpoint, url = served

    response = httpx.post(f"{url}/v1/param-sync", json={"job": "j", "seconds": 0.05})

    assert (response.status_code, response.json()) == (202, {"accepted": 1})
    assert [r.metric for r in endpoint.collect(TS)[0]] == ["gpuwarden_train_param_sync_seconds"]


def test_over_http_errors_come_back_as_json_with_their_status(served):
    _, url = served

    bad = httpx.post(f"{url}/v1/topk-recall", json={"model_name": "m", "k": "5", "value": 1})
    big = httpx.post(f"{url}/v1/train-loss", content=b" " * (1024**2 + 1))

    assert bad.status_code == 422
    assert bad.json() == {"error": "field 'k': expected a whole number of at least 1, got '5'"}
    assert big.status_code == 413
