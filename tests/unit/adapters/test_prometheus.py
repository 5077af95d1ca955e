"""Prometheus query results as samples, and failures as AdapterError."""

from __future__ import annotations

import pytest

from bot.adapters.prometheus import (
    PrometheusMetricsSource,
    samples_from_vector,
    series_from_matrix,
)
from bot.core.errors import AdapterError
from bot.core.signals import Sample, SeriesKey
from tests.processes import free_port


def test_an_instant_vector_becomes_samples_named_by_their_metric():
    result = [
        {
            "metric": {"__name__": "gpuwarden_gpu_utilization_ratio", "node": "n1", "gpu": "0"},
            "value": [1800000000.123, "0.97"],
        },
        {"metric": {"node": "n2"}, "value": [1800000000.123, "1e-3"]},
        {"metric": {"node": "n3"}, "value": [1800000000.123, "NaN"]},
        {"metric": {"node": "n4"}, "value": [1800000000.123, "+Inf"]},
    ]
    assert samples_from_vector(result) == [
        Sample(
            SeriesKey.of("gpuwarden_gpu_utilization_ratio", {"node": "n1", "gpu": "0"}),
            1800000000.123,
            0.97,
        ),
        Sample(SeriesKey.of("", {"node": "n2"}), 1800000000.123, 0.001),
    ]


@pytest.mark.parametrize(
    "result",
    [
        [1800000000.0, "1"],  # a scalar
        [{"metric": {}, "values": [[1800000000.0, "1"]]}],  # a range vector
        [{"metric": {"node": "n1"}, "value": [1800000000.0, "hot"]}],
        None,
    ],
    ids=["scalar", "matrix", "not-a-number", "nothing"],
)
def test_anything_but_an_instant_vector_is_an_adapter_error(result):
    with pytest.raises(AdapterError, match="expected an instant vector"):
        samples_from_vector(result)


async def test_an_unreachable_prometheus_is_an_adapter_error():
    source = PrometheusMetricsSource(url=f"http://127.0.0.1:{free_port()}", timeout_s=2)
    with pytest.raises(AdapterError, match="Prometheus query failed"):
        await source.query("up")


def test_a_range_vector_becomes_series_of_points_without_non_finite_values():
    result = [
        {
            "metric": {"__name__": "gpu_util", "node": "n1"},
            "values": [[1.0, "0.5"], [2.0, "NaN"], [3.0, "0.9"]],
        }
    ]
    assert series_from_matrix(result) == [
        ({"__name__": "gpu_util", "node": "n1"}, [(1.0, 0.5), (3.0, 0.9)])
    ]


def test_anything_but_a_range_vector_is_an_adapter_error():
    with pytest.raises(AdapterError, match="expected a range vector"):
        series_from_matrix([{"metric": {}, "value": [1.0, "1"]}])
