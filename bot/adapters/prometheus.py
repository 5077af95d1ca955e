"""Prometheus through prometheus-api-client: a metrics source and a metric history.

Instant queries (:class:`~bot.core.ports.MetricsSource`) feed ``query:`` rules; range queries
(:class:`~bot.core.ports.MetricHistory`) feed the chart of an incident export.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Any

from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from requests import RequestException
from urllib3.util.retry import Retry

from bot.core.errors import AdapterError
from bot.core.ports import RangeSeries
from bot.core.signals import Sample, SeriesKey


class _VectorElement(BaseModel):
    """One element of an instant vector: ``{"metric": {...}, "value": [ts, "1.5"]}``."""

    model_config = ConfigDict(extra="ignore")

    metric: dict[str, str]
    value: tuple[float, float]


_VECTOR = TypeAdapter(list[_VectorElement])


class _MatrixElement(BaseModel):
    """One series of a range vector: ``{"metric": {...}, "values": [[ts, "1.5"], ...]}``."""

    model_config = ConfigDict(extra="ignore")

    metric: dict[str, str]
    values: list[tuple[float, float]]


_MATRIX = TypeAdapter(list[_MatrixElement])


def samples_from_vector(result: Any) -> list[Sample]:
    """Samples from the ``data.result`` of an instant query; NaN and infinite values are skipped.

    Raises AdapterError for anything but an instant vector (a scalar, a string, a range).
    """
    try:
        elements = _VECTOR.validate_python(result)
    except ValidationError as exc:
        msg = f"expected an instant vector from Prometheus, got {str(result)[:200]}"
        raise AdapterError(msg) from exc
    samples = []
    for element in elements:
        ts, value = element.value
        if math.isfinite(value):
            labels = dict(element.metric)
            metric = labels.pop("__name__", "")
            samples.append(Sample(SeriesKey.of(metric, labels), ts, value))
    return samples


def series_from_matrix(result: Any) -> list[RangeSeries]:
    """Series from the ``data.result`` of a range query; NaN and infinite values are skipped.

    Raises AdapterError for anything but a range vector.
    """
    try:
        elements = _MATRIX.validate_python(result)
    except ValidationError as exc:
        msg = f"expected a range vector from Prometheus, got {str(result)[:200]}"
        raise AdapterError(msg) from exc
    return [(dict(e.metric), [(t, v) for t, v in e.values if math.isfinite(v)]) for e in elements]


class PrometheusMetricsSource:
    """Instant and range PromQL queries; the blocking client runs in a worker thread."""

    source = "Prometheus"

    def __init__(self, *, url: str, timeout_s: float = 10.0) -> None:
        # no client-side retries: the poller asks again at its next interval
        self._client = PrometheusConnect(url=url.rstrip("/"), retry=Retry(0), timeout=timeout_s)

    async def query(self, promql: str) -> list[Sample]:
        """One sample per element of the instant vector ``promql`` evaluates to now."""
        try:
            result = await asyncio.to_thread(self._client.custom_query, promql)
        except (RequestException, PrometheusApiClientException, ValueError, KeyError) as exc:
            msg = f"Prometheus query failed: {exc}"
            raise AdapterError(msg) from exc
        return samples_from_vector(result)

    async def query_range(
        self, promql: str, *, start: float, end: float, step_s: float
    ) -> list[RangeSeries]:
        """Every series ``promql`` evaluates to from ``start`` to ``end``, every ``step_s``."""
        try:
            result = await asyncio.to_thread(
                self._client.custom_query_range,
                promql,
                start_time=datetime.fromtimestamp(start, tz=UTC),
                end_time=datetime.fromtimestamp(end, tz=UTC),
                step=f"{max(step_s, 1.0):g}s",
            )
        except (RequestException, PrometheusApiClientException, ValueError, KeyError) as exc:
            msg = f"Prometheus range query failed: {exc}"
            raise AdapterError(msg) from exc
        return series_from_matrix(result)
