import logging
import math
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from agent.collectors.serving import ServingScraper, estimate_quantile, parse_exposition
from agent.exporter import describe
from agent.wire import Reading

from .conftest import NOW

FIXTURES = Path(__file__).parent / "fixtures"
URL = "http://127.0.0.1:8000/metrics"


class FakeEngine:
    """Serves the next of `bodies` on each scrape (the last one repeats), or fails as told."""

    def __init__(self, *bodies: str) -> None:
        self.bodies = list(bodies)
        self.fail: Exception | int | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if isinstance(self.fail, Exception):
            raise self.fail
        if isinstance(self.fail, int):
            return httpx.Response(self.fail)
        body = self.bodies.pop(0) if len(self.bodies) > 1 else self.bodies[0]
        return httpx.Response(200, text=body)


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def _scraper(engine: FakeEngine, registry, **kwargs) -> closing[ServingScraper]:
    kwargs.setdefault("interval_s", 1.0)
    transport = httpx.MockTransport(engine)
    return closing(
        ServingScraper([URL], node="gpu-node-1", registry=registry, transport=transport, **kwargs)
    )


def _table(readings) -> dict[tuple[str, ...], float]:
    return {
        (r.metric, *(f"{k}={v}" for k, v in sorted(r.labels.items()) if k == "percentile")): (
            r.value
        )
        for r in readings
    }


def _two_scrapes(registry, engine: str, seconds: float) -> list[Reading]:
    fake = FakeEngine(_fixture(f"{engine}_1.prom"), _fixture(f"{engine}_2.prom"))
    with _scraper(fake, registry) as scraper:
        scraper.collect(NOW)
        readings, events = scraper.collect(NOW + seconds)
    assert events == []
    return list(readings)


def test_vllm_signals_are_forwarded_under_gpuwarden_names_with_percentiles_of_the_window(registry):
    readings = _two_scrapes(registry, "vllm", seconds=10)

    assert _table(readings) == {
        ("gpuwarden_serving_up",): 1.0,
        ("gpuwarden_serving_requests_running",): 9.0,
        ("gpuwarden_serving_requests_waiting",): 2.0,
        ("gpuwarden_serving_kv_cache_usage_ratio",): 0.57,
        ("gpuwarden_serving_preemptions_total",): 6.0,
        ("gpuwarden_serving_generation_tokens_total",): 112_000.0,
        ("gpuwarden_serving_generation_tokens_per_second",): 1_200.0,
        ("gpuwarden_serving_first_tokens_per_second",): 10.0,
        ("gpuwarden_serving_time_to_first_token_seconds", "percentile=50"): pytest.approx(0.1),
        ("gpuwarden_serving_time_to_first_token_seconds", "percentile=95"): pytest.approx(0.375),
        ("gpuwarden_serving_time_to_first_token_seconds", "percentile=99"): pytest.approx(0.475),
        ("gpuwarden_serving_inter_token_intervals_per_second",): 0.0,
        ("gpuwarden_serving_finished_requests_per_second",): 0.0,
    }
    running = next(r for r in readings if r.metric == "gpuwarden_serving_requests_running")
    assert running.labels == {
        "engine": "vllm",
        "engine_index": "0",
        "model_name": "deepseek-ai/DeepSeek-V3",
        "target": URL,
    }
    assert all(r.ts == NOW + 10 for r in readings)


def test_sglang_signals_are_forwarded_under_the_same_names(registry):
    readings = _two_scrapes(registry, "sglang", seconds=5)

    assert _table(readings) == {
        ("gpuwarden_serving_up",): 1.0,
        ("gpuwarden_serving_requests_running",): 10.0,
        ("gpuwarden_serving_requests_waiting",): 4.0,
        ("gpuwarden_serving_kv_cache_usage_ratio",): 0.35,
        ("gpuwarden_serving_preemptions_total",): 1.0,
        ("gpuwarden_serving_generation_tokens_total",): 7_500.0,
        ("gpuwarden_serving_generation_tokens_per_second",): 500.0,
        ("gpuwarden_serving_first_tokens_per_second",): 20.0,
        ("gpuwarden_serving_time_to_first_token_seconds", "percentile=50"): pytest.approx(
            0.1 + 0.1 * 50 / 60
        ),
        ("gpuwarden_serving_time_to_first_token_seconds", "percentile=95"): pytest.approx(0.5),
        ("gpuwarden_serving_time_to_first_token_seconds", "percentile=99"): pytest.approx(0.58),
        ("gpuwarden_serving_inter_token_intervals_per_second",): 0.0,
        ("gpuwarden_serving_finished_requests_per_second",): 0.0,
    }
    waiting = next(r for r in readings if r.metric == "gpuwarden_serving_requests_waiting")
    assert waiting.labels == {
        "engine": "sglang",
        "model_name": "meta-llama/Llama-3.1-8B-Instruct",
        "target": URL,
    }


def test_the_first_scrape_has_values_but_no_rates_or_percentiles(registry):
    with _scraper(FakeEngine(_fixture("vllm_1.prom")), registry) as scraper:
        readings, _ = scraper.collect(NOW)

    assert {r.metric for r in readings} == {
        "gpuwarden_serving_up",
        "gpuwarden_serving_requests_running",
        "gpuwarden_serving_requests_waiting",
        "gpuwarden_serving_kv_cache_usage_ratio",
        "gpuwarden_serving_preemptions_total",
        "gpuwarden_serving_generation_tokens_total",
    }


def test_every_forwarded_name_is_in_the_catalogue_with_its_type():
    from agent.bootstrap import CATALOGUE

    assert describe("gpuwarden_serving_preemptions_total", CATALOGUE).kind == "counter"
    for engine in ("vllm", "sglang"):
        scrape = parse_exposition(_fixture(f"{engine}_2.prom"), URL)
        assert {metric for metric, _ in [*scrape.scalars, *scrape.histograms]} <= set(CATALOGUE)


def test_a_restarted_engine_counts_from_zero_instead_of_a_negative_rate(registry):
    with _scraper(FakeEngine(_fixture("vllm_2.prom"), _fixture("vllm_1.prom")), registry) as s:
        s.collect(NOW)
        readings, _ = s.collect(NOW + 10)

    rates = {r.metric: r.value for r in readings if r.metric.endswith("_per_second")}
    assert rates["gpuwarden_serving_generation_tokens_per_second"] == 100_000 / 10
    assert rates["gpuwarden_serving_first_tokens_per_second"] == 240 / 10


def test_scrapes_at_most_every_interval(registry):
    fake = FakeEngine(_fixture("vllm_1.prom"))
    with _scraper(fake, registry, interval_s=5.0) as scraper:
        counts = [len(scraper.collect(NOW + t)[0]) for t in (0, 1, 4.9, 5, 6)]

    assert [c > 0 for c in counts] == [True, False, False, True, False]


def test_the_old_vllm_cache_usage_name_is_read_too():
    text = '# TYPE vllm:gpu_cache_usage_perc gauge\nvllm:gpu_cache_usage_perc{model_name="m"} 0.8\n'

    scrape = parse_exposition(text, URL)

    assert scrape.scalars == {
        (
            "gpuwarden_serving_kv_cache_usage_ratio",
            (("engine", "vllm"), ("model_name", "m"), ("target", URL)),
        ): 0.8
    }


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (httpx.ConnectError("refused"), "connection"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (503, "http_status"),
    ],
)
def test_a_failed_scrape_reports_down_counts_and_logs_once_per_episode(
    registry, caplog, failure, reason
):
    fake = FakeEngine(_fixture("vllm_1.prom"))
    with _scraper(fake, registry) as scraper, caplog.at_level(logging.INFO):
        fake.fail = failure
        down = [scraper.collect(NOW + t)[0] for t in range(3)]
        fake.fail = None
        up, _ = scraper.collect(NOW + 3)

    assert down == [
        [Reading("gpuwarden_serving_up", {"target": URL}, NOW + t, 0.0)] for t in range(3)
    ]
    assert up[0] == Reading("gpuwarden_serving_up", {"target": URL}, NOW + 3, 1.0)
    labels = {"collector": "serving", "reason": reason}
    assert registry.get_sample_value("gpuwarden_collect_errors_total", labels) == 3
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if m.startswith(f"scraping {URL} failed")]) == 1
    assert f"scraping {URL} works again" in messages


def test_unparseable_exposition_counts_as_a_parse_failure(registry):
    with _scraper(FakeEngine("vllm:num_requests_running{ 1 2 3\n"), registry) as scraper:
        readings, _ = scraper.collect(NOW)

    assert [r.value for r in readings] == [0.0]
    labels = {"collector": "serving", "reason": "parse"}
    assert registry.get_sample_value("gpuwarden_collect_errors_total", labels) == 1


@pytest.mark.parametrize(
    ("buckets", "q", "expected"),
    [
        ([(0.1, 50.0), (0.25, 90.0), (0.5, 100.0), (math.inf, 100.0)], 0.5, 0.1),
        ([(0.1, 50.0), (0.25, 90.0), (0.5, 100.0), (math.inf, 100.0)], 0.95, 0.375),
        ([(1.0, 0.0), (2.0, 10.0), (math.inf, 10.0)], 0.5, 1.5),
        # the rank falls in the +Inf bucket: the highest finite bound, as PromQL answers
        ([(1.0, 5.0), (2.0, 6.0), (math.inf, 10.0)], 0.99, 2.0),
        # a bucket lower than the one before it (a scrape racing an update) is read as equal
        ([(1.0, 6.0), (2.0, 5.0), (3.0, 10.0), (math.inf, 10.0)], 0.7, 2.25),
        ([(1.0, 0.0), (math.inf, 0.0)], 0.5, None),
        ([(1.0, 3.0), (2.0, 4.0)], 0.5, None),
        ([], 0.5, None),
    ],
)
def test_estimate_quantile_interpolates_like_histogram_quantile(buckets, q, expected):
    assert estimate_quantile(q, buckets) == (None if expected is None else pytest.approx(expected))
