"""Scrapes local vLLM / SGLang `/metrics` and forwards the serving signals as gpuwarden readings.

Engine metric (vLLM / SGLang) → reading (``gpuwarden_serving_`` + …)::

    vllm:num_requests_running / sglang:num_running_reqs           requests_running
    vllm:num_requests_waiting / sglang:num_queue_reqs             requests_waiting
    vllm:kv_cache_usage_perc (gpu_cache_usage_perc before 0.9)    kv_cache_usage_ratio
        / sglang:token_usage
    vllm:num_preemptions_total                                    preemptions_total
        / sglang:num_retracted_requests_total
    *:generation_tokens_total                                     generation_tokens_total and
                                                                  generation_tokens_per_second
    *:time_to_first_token_seconds (histogram)                     time_to_first_token_seconds
    *:inter_token_latency_seconds (histogram)                     inter_token_latency_seconds
    *:e2e_request_latency_seconds (histogram)                     e2e_request_latency_seconds

A histogram becomes p50/p95/p99 estimates (label ``percentile``: 50, 95, 99; promtool keeps
``quantile`` for summaries), interpolated as PromQL's ``histogram_quantile`` does over the bucket
increase since the previous scrape, plus its rate of observations (``first_tokens``,
``inter_token_intervals``, ``finished_requests`` + ``_per_second``). Every reading carries
``engine`` (vllm|sglang), ``target`` (the URL) and the engine's own labels (``model_name`` …;
vLLM's DP index ``engine`` becomes ``engine_index``). ``gpuwarden_serving_up{target}`` says
whether the scrape worked; failures count in ``gpuwarden_collect_errors_total``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from agent.collectors.collect_metrics import CollectMetrics
from agent.exporter import MetricInfo
from agent.wire import NodeEvent, Reading

logger = logging.getLogger(__name__)

SERVING_UP = "gpuwarden_serving_up"
REQUESTS_RUNNING = "gpuwarden_serving_requests_running"
REQUESTS_WAITING = "gpuwarden_serving_requests_waiting"
KV_CACHE_USAGE = "gpuwarden_serving_kv_cache_usage_ratio"
PREEMPTIONS = "gpuwarden_serving_preemptions_total"
GENERATION_TOKENS = "gpuwarden_serving_generation_tokens_total"
GENERATION_THROUGHPUT = "gpuwarden_serving_generation_tokens_per_second"
TTFT = "gpuwarden_serving_time_to_first_token_seconds"
ITL = "gpuwarden_serving_inter_token_latency_seconds"
E2E = "gpuwarden_serving_e2e_request_latency_seconds"
STARTED_RATE = "gpuwarden_serving_first_tokens_per_second"
DECODE_STEP_RATE = "gpuwarden_serving_inter_token_intervals_per_second"
FINISHED_RATE = "gpuwarden_serving_finished_requests_per_second"
PERCENTILES = (50, 95, 99)

_SCALARS: Mapping[str, str] = {
    "vllm:num_requests_running": REQUESTS_RUNNING,
    "sglang:num_running_reqs": REQUESTS_RUNNING,
    "vllm:num_requests_waiting": REQUESTS_WAITING,
    "sglang:num_queue_reqs": REQUESTS_WAITING,
    "vllm:kv_cache_usage_perc": KV_CACHE_USAGE,
    "vllm:gpu_cache_usage_perc": KV_CACHE_USAGE,
    "sglang:token_usage": KV_CACHE_USAGE,
    "vllm:num_preemptions_total": PREEMPTIONS,
    "sglang:num_retracted_requests_total": PREEMPTIONS,
    "vllm:generation_tokens_total": GENERATION_TOKENS,
    "sglang:generation_tokens_total": GENERATION_TOKENS,
}
_HISTOGRAMS: Mapping[str, str] = {
    f"{engine}:{name}": metric
    for engine in ("vllm", "sglang")
    for name, metric in (
        ("time_to_first_token_seconds", TTFT),
        ("inter_token_latency_seconds", ITL),
        ("e2e_request_latency_seconds", E2E),
    )
}
_RATES: Mapping[str, str] = {
    GENERATION_TOKENS: GENERATION_THROUGHPUT,
    TTFT: STARTED_RATE,
    ITL: DECODE_STEP_RATE,
    E2E: FINISHED_RATE,
}

SERVING_METRICS: Mapping[str, MetricInfo] = {
    SERVING_UP: MetricInfo("gauge", "Whether the last scrape of the serving engine worked (0/1)."),
    REQUESTS_RUNNING: MetricInfo("gauge", "Requests in the engine's running batch."),
    REQUESTS_WAITING: MetricInfo("gauge", "Requests queued, waiting for the engine."),
    KV_CACHE_USAGE: MetricInfo("gauge", "Share of the KV cache in use (0-1).", "ratio"),
    PREEMPTIONS: MetricInfo("counter", "Requests preempted (SGLang: retracted)."),
    GENERATION_TOKENS: MetricInfo("counter", "Tokens generated."),
    GENERATION_THROUGHPUT: MetricInfo(
        "gauge", "Tokens generated per second since the last scrape."
    ),
    TTFT: MetricInfo("gauge", "Time to first token, percentile since the last scrape.", "seconds"),
    ITL: MetricInfo("gauge", "Inter-token latency, percentile since the last scrape.", "seconds"),
    E2E: MetricInfo(
        "gauge", "End-to-end request latency, percentile since the last scrape.", "seconds"
    ),
    STARTED_RATE: MetricInfo("gauge", "Requests that got their first token, per second."),
    DECODE_STEP_RATE: MetricInfo("gauge", "Inter-token intervals observed, per second."),
    FINISHED_RATE: MetricInfo("gauge", "Requests finished, per second since the last scrape."),
}

_Labels = tuple[tuple[str, str], ...]
_DROPPED_LABELS = frozenset({"le", "node"})


def estimate_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Return quantile `q` of cumulative (bound, count) buckets as histogram_quantile does."""
    if not buckets or not math.isinf(buckets[-1][0]) or buckets[-1][1] <= 0:
        return None  # no observations, or no +Inf bucket
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        cumulative = max(count, below)
        if cumulative >= rank:
            if math.isinf(upper):
                break
            return lower + (upper - lower) * (rank - below) / (cumulative - below)
        lower, below = upper, cumulative
    return lower


@dataclass
class _Histogram:
    buckets: dict[float, float] = field(default_factory=dict)
    count: float | None = None


@dataclass
class Scrape:
    """The serving signals of one scrape, keyed by (reading name, labels)."""

    scalars: dict[tuple[str, _Labels], float] = field(default_factory=dict)
    histograms: dict[tuple[str, _Labels], _Histogram] = field(default_factory=dict)

    def add(self, sample: Sample, target: str) -> None:
        """Keep `sample` if it is a serving signal (a value, a bucket or a count)."""
        if not math.isfinite(sample.value):
            return
        engine = sample.name.partition(":")[0]
        base, _, suffix = sample.name.rpartition("_")
        if sample.name in _SCALARS:
            self.scalars[(_SCALARS[sample.name], _labels(sample.labels, engine, target))] = (
                sample.value
            )
        elif base in _HISTOGRAMS and suffix in ("bucket", "count"):
            key = (_HISTOGRAMS[base], _labels(sample.labels, engine, target))
            histogram = self.histograms.setdefault(key, _Histogram())
            if suffix == "count":
                histogram.count = sample.value
            else:
                histogram.buckets[float(sample.labels["le"])] = sample.value


def _labels(raw: Mapping[str, str], engine: str, target: str) -> _Labels:
    labels = {
        ("engine_index" if name == "engine" else name): value
        for name, value in raw.items()
        if name not in _DROPPED_LABELS
    }
    return tuple(sorted({**labels, "engine": engine, "target": target}.items()))


def _reason(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.HTTPStatusError):
        return "http_status"
    return "connection" if isinstance(error, httpx.HTTPError) else "parse"


def parse_exposition(text: str, target: str) -> Scrape:
    """Return the serving signals found in Prometheus exposition `text` scraped from `target`."""
    scrape = Scrape()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            scrape.add(sample, target)
    return scrape


class ServingScraper:
    """A `Source` scraping local vLLM / SGLang `/metrics` URLs at most every `interval_s`."""

    name = "serving"
    gpu_count = 0

    def __init__(
        self,
        urls: Iterable[str],
        *,
        node: str,
        registry: CollectorRegistry | None = None,
        interval_s: float = 5.0,
        timeout_s: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.node = node
        self._urls = list(urls)
        self._interval_s = interval_s
        self._due = -math.inf
        self._metrics = CollectMetrics.on(registry or CollectorRegistry())
        self._client = httpx.Client(
            timeout=timeout_s,
            transport=transport,
            headers={"Accept": "text/plain;version=0.0.4"},
        )
        self._last: dict[tuple[str, _Labels], tuple[float, tuple[float, ...], list[float]]] = {}
        self._failing: set[str] = set()

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def collect(self, now: float) -> tuple[Sequence[Reading], Sequence[NodeEvent]]:
        """Scrape every URL when due; return the readings (none between scrapes)."""
        if now < self._due:
            return [], []
        self._due = now + self._interval_s
        with self._metrics.duration.labels(collector=self.name).time():
            return [r for url in self._urls for r in self._scrape(url, now)], []

    def _scrape(self, url: str, now: float) -> list[Reading]:
        try:
            response = self._client.get(url)
            response.raise_for_status()
            scrape = parse_exposition(response.text, url)
        except (httpx.HTTPError, ValueError) as exc:
            self._metrics.error(self.name, _reason(exc))
            if url not in self._failing:
                self._failing.add(url)
                logger.warning("scraping %s failed (%s); retrying every scrape", url, exc)
            return [Reading(SERVING_UP, {"target": url}, now, 0.0)]
        if url in self._failing:
            self._failing.discard(url)
            logger.info("scraping %s works again", url)
        readings = [Reading(SERVING_UP, {"target": url}, now, 1.0)]
        for (metric, labels), value in scrape.scalars.items():
            readings.append(Reading(metric, dict(labels), now, value))
            rate = _RATES.get(metric)
            window = self._since_last((metric, labels), now, (), [value]) if rate else None
            if rate and window:
                seconds, (increase,) = window
                readings.append(Reading(rate, dict(labels), now, increase / seconds))
        for key, histogram in scrape.histograms.items():
            readings.extend(self._histogram(key, histogram, now))
        return readings

    def _histogram(
        self, key: tuple[str, _Labels], histogram: _Histogram, now: float
    ) -> list[Reading]:
        metric, labels = key
        bounds = tuple(sorted(histogram.buckets))
        counts = [histogram.buckets[bound] for bound in bounds]
        total = histogram.count if histogram.count is not None else max(counts, default=0.0)
        window = self._since_last(key, now, bounds, [total, *counts])
        if window is None:
            return []
        seconds, (increase, *buckets) = window
        readings = [Reading(_RATES[metric], dict(labels), now, increase / seconds)]
        window_buckets = list(zip(bounds, buckets, strict=True))
        for percentile in PERCENTILES:
            estimate = estimate_quantile(percentile / 100, window_buckets)
            if estimate is not None:
                at = {**dict(labels), "percentile": str(percentile)}
                readings.append(Reading(metric, at, now, estimate))
        return readings

    def _since_last(
        self, key: tuple[str, _Labels], now: float, bounds: tuple[float, ...], values: list[float]
    ) -> tuple[float, list[float]] | None:
        """Return (seconds, increase of `values`) since the previous scrape; None at the first."""
        previous = self._last.get(key)
        self._last[key] = (now, bounds, values)
        if previous is None or now <= previous[0]:
            return None
        then, old_bounds, old = previous
        if old_bounds != bounds or any(v < o for v, o in zip(values, old, strict=True)):
            return now - then, values  # the engine restarted: its counters began again from zero
        return now - then, [v - o for v, o in zip(values, old, strict=True)]
