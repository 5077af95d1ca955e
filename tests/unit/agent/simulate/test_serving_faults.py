"""The serving replica of each simulated node, its node-wide faults, NVLink errors and placement."""

import statistics

import pytest

from agent.collectors.logs import LOG_EVENT
from agent.collectors.nvml_health import GPU_INFO, GPU_NVLINK_ERRORS, GPU_NVLINK_UP
from agent.collectors.serving import (
    ITL,
    KV_CACHE_USAGE,
    PREEMPTIONS,
    REQUESTS_RUNNING,
    REQUESTS_WAITING,
    SERVING_UP,
    TTFT,
)
from agent.quality import OUTPUT_BUCKET
from agent.simulate import Fleet, parse_schedule
from agent.simulate.fleet import Placement
from agent.simulate.serving import (
    CUDA_COMPAT_OK,
    DEFAULT_IMAGE,
    DEPLOY_EVENT,
    RELEASE_IMAGE,
    SERVING_INFO,
    image_version,
)
from agent.simulate.xid import XID_EVENT
from agent.wire import GPU_UTILIZATION, NodeEvent, Reading
from bot.core.derived import DistributionDrift

START = 1_700_000_000.0
STEP = 2.0
NODE = "gpu-node-1"


def _fleet(text: str = "", seed: int = 1, **kw) -> Fleet:
    return Fleet(nodes=2, gpus_per_node=4, seed=seed, schedule=parse_schedule(text), **kw)


def _ticks(fleet: Fleet, seconds: float, node: str = NODE):
    """(offset, readings, events) of one node, every STEP seconds."""
    out = []
    for tick in range(int(seconds / STEP)):
        for n in fleet.nodes:
            readings, events = n.collect(START + tick * STEP)
            if n.node == node:
                out.append((tick * STEP, list(readings), list(events)))
    return out


def _pick(readings: list[Reading], metric: str, **labels: str) -> list[Reading]:
    return [
        r
        for r in readings
        if r.metric == metric and all(r.labels.get(k) == v for k, v in labels.items())
    ]


def _value(readings: list[Reading], metric: str, **labels: str) -> float:
    (reading,) = _pick(readings, metric, **labels)
    return reading.value


def _mean(ticks, metric: str, since: float, until: float, **labels: str) -> float:
    return statistics.fmean(
        _value(readings, metric, **labels) for t, readings, _ in ticks if since <= t < until
    )


# --- the healthy replica -------------------------------------------------------------------


def test_gpus_of_a_node_move_together_and_nodes_independently():
    fleet = Fleet(nodes=2, gpus_per_node=4, seed=3)
    series: dict[tuple[str, str], list[float]] = {}
    for tick in range(600):
        for node in fleet.nodes:
            for r in node.collect(START + tick * 2.0)[0]:
                if r.metric == GPU_UTILIZATION:
                    series.setdefault((node.node, r.labels["gpu"]), []).append(r.value)

    same_node = statistics.correlation(series[(NODE, "0")], series[(NODE, "1")])
    other_node = statistics.correlation(series[(NODE, "0")], series[("gpu-node-2", "0")])
    assert same_node > 0.7
    assert abs(other_node) < 0.5


@pytest.mark.parametrize("seed", range(4))
def test_a_healthy_replica_stays_below_every_serving_warning(seed):
    ticks = _ticks(_fleet(seed=seed), 900)

    for _, readings, events in ticks:
        assert _value(readings, TTFT, percentile="99") < 0.15
        assert _value(readings, REQUESTS_WAITING) == 0
        assert _value(readings, KV_CACHE_USAGE) < 0.9
        assert max(r.value for r in _pick(readings, GPU_UTILIZATION)) < 0.85
        assert events == []
    assert _value(ticks[-1][1], PREEMPTIONS) == 0


def test_the_replica_reports_its_image_as_the_serving_collector_labels_it():
    (_, readings, _) = _ticks(_fleet(), STEP)[0]

    (info,) = _pick(readings, SERVING_INFO)
    assert info.labels["image"] == DEFAULT_IMAGE
    assert info.labels["version"] == "v0.8.4"
    assert {r.labels["percentile"] for r in _pick(readings, TTFT)} == {"50", "95", "99"}
    assert {r.labels["engine"] for r in _pick(readings, TTFT)} == {"vllm"}


@pytest.mark.parametrize(
    ("image", "version"),
    [("vllm/vllm-openai:v0.8.5", "v0.8.5"), ("registry:5000/ds/v3:1.2", "1.2"), ("v3", "latest")],
)
def test_image_version_is_the_tag(image, version):
    assert image_version(image) == version


# --- ttft_regression -----------------------------------------------------------------------


def test_a_deploy_changes_the_image_and_slows_the_first_token_until_rolled_back():
    ticks = _ticks(_fleet(f"ttft_regression@120s+120s:node={NODE},factor=2"), 360)

    before = _mean(ticks, TTFT, 0, 120, percentile="99")
    during = _mean(ticks, TTFT, 120, 240, percentile="99")
    after = _mean(ticks, TTFT, 240, 360, percentile="99")
    assert during / before == pytest.approx(2.0, rel=0.25)
    assert after == pytest.approx(before, rel=0.25)
    images = {t: _pick(r, SERVING_INFO)[0].labels["image"] for t, r, _ in ticks}
    assert {images[0.0], images[238.0]} == {DEFAULT_IMAGE, RELEASE_IMAGE}
    deploys = [(t, e) for t, _, events in ticks for e in events if e.kind == DEPLOY_EVENT]
    assert [(t, e.attrs["image"], e.attrs["previous_image"]) for t, e in deploys] == [
        (120.0, RELEASE_IMAGE, DEFAULT_IMAGE),
        (240.0, DEFAULT_IMAGE, RELEASE_IMAGE),
    ]


# --- traffic_surge -------------------------------------------------------------------------


def test_a_surge_queues_requests_fills_the_kv_cache_and_pushes_ttft_past_critical():
    ticks = _ticks(_fleet(f"traffic_surge@60s+5m:node={NODE},factor=2.2,ramp_s=20"), 240)
    top = [readings for t, readings, _ in ticks if 120 <= t < 240]

    assert all(_value(r, REQUESTS_WAITING) > 50 for r in top)
    assert all(_value(r, KV_CACHE_USAGE) > 0.95 for r in top)
    assert all(_value(r, TTFT, percentile="99") > 0.25 for r in top)
    assert all(min(x.value for x in _pick(r, GPU_UTILIZATION)) > 0.9 for r in top)
    assert _value(top[-1], PREEMPTIONS) > _value(top[0], PREEMPTIONS) > 0
    assert all(events == [] for _, _, events in ticks)  # the hardware stays clean


# --- nvlink_errors -------------------------------------------------------------------------


def test_nvlink_errors_climb_then_the_link_goes_down_with_xid_74():
    text = f"nvlink_errors@10s+10m:node={NODE},gpu=2,link=7,rate_per_s=20,down_after_s=60"
    ticks = _ticks(_fleet(text), 120)

    def crc(t: float) -> float:
        (readings,) = [r for at, r, _ in ticks if at == t]
        return _value(readings, GPU_NVLINK_ERRORS, gpu="2", link="7", type="crc_data")

    assert crc(20.0) < crc(40.0) < crc(68.0)
    assert crc(68.0) == pytest.approx(20 * 58, rel=0.05)
    up = {t: _value(r, GPU_NVLINK_UP, gpu="2", link="7") for t, r, _ in ticks if t >= 10}
    assert up[68.0] == 1.0
    assert up[70.0] == 0.0
    assert _pick(ticks[-1][1], GPU_NVLINK_ERRORS, gpu="2", link="7") == []  # as NVML: down
    assert len(_pick(ticks[-1][1], GPU_NVLINK_UP, gpu="2")) == 18
    assert _pick(ticks[-1][1], GPU_NVLINK_UP, gpu="1") == []
    xids = [(t, e.attrs["xid"]) for t, _, events in ticks for e in events if e.kind == XID_EVENT]
    assert xids == [(70.0, 74)]
    itl_before = _value(ticks[2][1], ITL, percentile="99")
    assert _value(ticks[-1][1], ITL, percentile="99") / itl_before == pytest.approx(5, rel=0.2)


# --- output_drift --------------------------------------------------------------------------


def test_output_drift_moves_the_histogram_past_kl_01_against_the_reference_the_bot_learns():
    ticks = _ticks(_fleet(f"output_drift@60s+5m:node={NODE},kl=0.16,ramp_s=30"), 200)
    drift = DistributionDrift(reference_window=10)
    divergence = {}
    for t, readings, _ in ticks:
        histogram = {r.labels["bucket"]: r.value for r in _pick(readings, OUTPUT_BUCKET)}
        divergence[t] = drift.update(START + t, histogram)

    assert all(divergence[t] is None for t in range(0, 20, 2))  # learning the reference
    assert max(divergence[t] for t in range(20, 60, 2)) < 0.01
    assert all(divergence[t] > 0.1 for t in range(100, 200, 2))
    assert divergence[198.0] == pytest.approx(0.16, abs=0.02)
    assert _pick(_ticks(_fleet(), STEP)[0][1], OUTPUT_BUCKET) == []  # only where scheduled


# --- driver_mismatch -----------------------------------------------------------------------


def test_a_driver_too_old_for_the_image_shows_in_gpu_info_compat_and_crash_logs():
    text = f"driver_mismatch@60s+5m:node={NODE},cuda_driver=12.2,cuda_required=12.8"
    ticks = _ticks(_fleet(text), 180)
    before, during = ticks[10][1], ticks[-1][1]

    assert {r.labels["driver_version"] for r in _pick(before, GPU_INFO)} == {"580.65.06"}
    assert {r.labels["cuda_driver_version"] for r in _pick(during, GPU_INFO)} == {"12.2"}
    assert {r.labels["driver_version"] for r in _pick(during, GPU_INFO)} == {"535.183.01"}
    assert len(_pick(during, GPU_INFO)) == 4
    assert (_value(before, CUDA_COMPAT_OK), _value(during, CUDA_COMPAT_OK)) == (1.0, 0.0)
    assert (_value(before, SERVING_UP), _value(during, SERVING_UP)) == (1.0, 0.0)  # crash-loops
    assert _value(during, REQUESTS_RUNNING) == 0
    assert max(r.value for r in _pick(during, GPU_UTILIZATION)) < 0.1
    logs = [(t, e) for t, _, events in ticks for e in events if e.kind == LOG_EVENT]
    assert [t for t, _ in logs] == [60.0, 90.0, 120.0, 150.0]
    assert "CUDA driver version is insufficient for CUDA runtime version" in logs[0][1].message
    assert logs[0][1].attrs["level"] == "ERROR"


# --- where the events go -------------------------------------------------------------------


def test_only_xids_and_lost_gpus_go_urgent_other_events_ride_with_the_batch():
    fleet = _fleet(f"ttft_regression@2s+1m:node={NODE};xid@2s+1m:node={NODE},gpu=1,xid=79")
    urgent: list[tuple[str, NodeEvent]] = []
    fleet.urgent = lambda node, event: urgent.append((node, event))

    ticks = _ticks(fleet, 6)

    assert sorted(e.kind for _, e in urgent) == ["gpu_lost", "xid"]
    assert [e.kind for _, _, events in ticks for e in events] == [DEPLOY_EVENT]


# --- placement (what a Kubernetes cluster runs on the node) --------------------------------


def test_a_node_without_a_serving_pod_goes_idle_and_runs_no_requests():
    fleet = _fleet()
    fleet.placement = lambda node: Placement(pods=0) if node == NODE else Placement()

    ticks = _ticks(fleet, 60)

    assert all(max(r.value for r in _pick(x, GPU_UTILIZATION)) < 0.05 for _, x, _ in ticks)
    assert all(_value(x, REQUESTS_RUNNING) == 0 for _, x, _ in ticks)


def test_more_replicas_share_the_traffic_less_load_and_a_faster_first_token():
    surge = f"traffic_surge@0s+1h:node={NODE},factor=2,ramp_s=0"
    alone, shared = _fleet(surge), _fleet(surge)
    shared.placement = lambda _node: Placement(load_scale=4 / 6)

    busy, calm = _ticks(alone, 120), _ticks(shared, 120)

    assert _mean(calm, GPU_UTILIZATION, 0, 120, gpu="0") < _mean(
        busy, GPU_UTILIZATION, 0, 120, gpu="0"
    )
    assert _mean(calm, TTFT, 0, 120, percentile="99") < 0.6 * _mean(
        busy, TTFT, 0, 120, percentile="99"
    )


def test_a_slow_image_from_the_cluster_slows_the_first_token():
    fast, slow = _fleet(), _fleet(slow_images={"ds:v2"})
    slow.placement = lambda _node: Placement(image="ds:v2")

    ratio = _mean(_ticks(slow, 120), TTFT, 0, 120, percentile="99") / _mean(
        _ticks(fast, 120), TTFT, 0, 120, percentile="99"
    )

    assert ratio == pytest.approx(2.0, rel=0.2)
