import time

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agent.bootstrap import CATALOGUE
from agent.exporter import GPU_METRICS, ReadingsCollector, Snapshot, serve_metrics
from agent.wire import GPU_TEMPERATURE, GPU_UTILIZATION, Reading
from tests.processes import free_port

from .conftest import FakeClock

GPU0 = {"gpu": "0", "uuid": "GPU-0", "model_name": "NVIDIA H100 80GB HBM3"}


def _render(snapshot: Snapshot) -> dict[str, tuple[str, str, list[tuple[dict[str, str], float]]]]:
    registry = CollectorRegistry()
    registry.register(ReadingsCollector(snapshot, CATALOGUE))
    text = generate_latest(registry).decode()
    return {
        family.name: (
            family.type,
            family.documentation,
            [(s.labels, s.value) for s in family.samples],
        )
        for family in text_string_to_metric_families(text)
    }


def test_renders_the_latest_readings_typed_from_the_catalogue_with_the_node_label(clock):
    snapshot = Snapshot(clock=clock)
    snapshot.update("gpu-node-1", [Reading(GPU_UTILIZATION, GPU0, clock.now, 0.25)])
    snapshot.update("gpu-node-1", [Reading(GPU_UTILIZATION, GPU0, clock.now, 0.5)])
    snapshot.update("gpu-node-2", [Reading(GPU_TEMPERATURE, GPU0, clock.now, 61.0)])
    snapshot.update(
        "gpu-node-2",
        [Reading("gpuwarden_serving_preemptions_total", {"engine": "vllm"}, clock.now, 7.0)],
    )

    families = _render(snapshot)

    assert families[GPU_UTILIZATION] == (
        "gauge",
        "Share of time the GPU was busy (0-1).",
        [({**GPU0, "node": "gpu-node-1"}, 0.5)],
    )
    assert families[GPU_TEMPERATURE][2] == [({**GPU0, "node": "gpu-node-2"}, 61.0)]
    assert families["gpuwarden_serving_preemptions"] == (
        "counter",
        "Requests preempted (SGLang: retracted).",
        [({"engine": "vllm", "node": "gpu-node-2"}, 7.0)],
    )


def test_unknown_names_are_gauges_or_by_their_total_suffix_counters(clock):
    snapshot = Snapshot(clock=clock)
    snapshot.update(
        "n",
        [
            Reading("gpuwarden_gpu_up", GPU0, clock.now, 1.0),
            Reading("gpuwarden_gpu_xid_errors_total", {"xid": "79"}, clock.now, 2.0),
        ],
    )

    families = _render(snapshot)

    assert families["gpuwarden_gpu_up"][:2] == (
        "gauge",
        "gpuwarden reading without a catalogue entry.",
    )
    assert families["gpuwarden_gpu_xid_errors"][0] == "counter"


def test_series_of_one_metric_with_different_labels_share_one_family(clock):
    snapshot = Snapshot(clock=clock)
    snapshot.update(
        "n",
        [
            Reading("gpuwarden_serving_requests_running", {"engine_index": "0"}, clock.now, 1.0),
            Reading("gpuwarden_serving_requests_running", {"model_name": "m"}, clock.now, 2.0),
        ],
    )

    (_, _, samples) = _render(snapshot)["gpuwarden_serving_requests_running"]

    assert samples == [
        ({"engine_index": "0", "model_name": "", "node": "n"}, 1.0),
        ({"engine_index": "", "model_name": "m", "node": "n"}, 2.0),
    ]


def test_a_series_not_refreshed_within_stale_after_disappears(clock: FakeClock):
    snapshot = Snapshot(stale_after_s=30, clock=clock)
    snapshot.update("n", [Reading(GPU_UTILIZATION, GPU0, clock.now, 0.5)])
    clock.advance(20)
    snapshot.update("n", [Reading(GPU_TEMPERATURE, GPU0, clock.now, 50.0)])
    clock.advance(15)

    assert [reading.metric for _, reading in snapshot.latest()] == [GPU_TEMPERATURE]


@pytest.mark.parametrize(("name", "info"), sorted(CATALOGUE.items()))
def test_catalogue_names_follow_the_prometheus_conventions(name, info):
    assert name.startswith("gpuwarden_")
    assert name.endswith("_total") == (info.kind == "counter")
    assert name.removesuffix("_total").endswith(f"_{info.unit}" if info.unit else "")
    assert info.help.endswith(".")


def test_the_catalogue_covers_every_simulated_metric():
    assert set(GPU_METRICS) <= set(CATALOGUE)


def test_serves_the_registry_over_http_until_stopped():
    registry = CollectorRegistry()
    snapshot = Snapshot()
    registry.register(ReadingsCollector(snapshot, CATALOGUE))
    snapshot.update("n", [Reading(GPU_UTILIZATION, GPU0, time.time(), 0.5)])
    port = free_port()
    stop = serve_metrics(registry, port=port, host="127.0.0.1")
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    finally:
        stop()

    assert response.status_code == 200
    assert 'gpuwarden_gpu_utilization_ratio{gpu="0"' in response.text
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)


def test_readings_that_are_also_self_metrics_are_exposed_once(clock):
    from prometheus_client import Gauge

    registry = CollectorRegistry()
    Gauge("gpuwarden_collect_stale", "Stale.", ["collector"], registry=registry).labels("nvml")
    snapshot = Snapshot(clock=clock)
    snapshot.update("n1", [Reading("gpuwarden_collect_stale", {"collector": "nvml"}, clock.now, 0)])
    snapshot.update("n1", [Reading(GPU_UTILIZATION, GPU0, clock.now, 0.5)])
    registry.register(ReadingsCollector.beside(registry, snapshot, CATALOGUE))

    text = generate_latest(registry).decode()

    assert text.count("# HELP gpuwarden_collect_stale ") == 1
    assert f"# HELP {GPU_UTILIZATION} " in text
