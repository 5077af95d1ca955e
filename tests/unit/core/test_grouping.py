"""Where an alert is: the label precedence shared by notification groups and incidents."""

from __future__ import annotations

import pytest

from bot.core.grouping import Grouper, incident_key, scope
from tests.unit.core.test_noise import fired, make_alert


def labels(text: str) -> dict[str, str]:
    """``"a=1 b=2"`` → ``{"a": "1", "b": "2"}``."""
    return dict(pair.split("=", 1) for pair in text.split())


@pytest.mark.parametrize(
    ("text", "key"),
    [
        # GPU hardware stays per node, even when a GPU's series name its model or a pod
        ("alertname=gpu_utilization_high node=n1 gpu=3", "node:n1"),
        ("alertname=gpu_temperature_anomaly node=n1 gpu=0 model_name=H100-80GB", "node:n1"),
        ("alertname=gpu_memory_leak node=n1 gpu=2 pod=vllm-n1 namespace=llm", "node:n1"),
        ("alertname=node_not_reporting node=n1", "node:n1"),
        # serving signals: the deployment, else the served model, whichever node
        ("alertname=ttft_p99_high node=n1 model_name=deepseek-v3", "model:deepseek-v3"),
        ("alertname=ttft_p99_high node=n2 model_name=deepseek-v3", "model:deepseek-v3"),
        (
            "alertname=KVCacheFull node=n1 namespace=llm deployment=ds model_name=m",
            "deployment:llm/ds",
        ),
        ("alertname=QueueBacklog pod=ds-7c9f-abcde deployment=ds", "deployment:ds"),
        ("alertname=QueueBacklog namespace=llm deployment=", "rule:QueueBacklog"),
        # nothing says where: the rule
        ("alertname=possible_network_partition scope=fleet", "rule:possible_network_partition"),
        ("", "rule:"),
    ],
)
def test_incident_key(text, key):
    assert incident_key(labels(text)) == key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("node=n1 gpu=0 deployment=d", (("node", "n1"),)),
        ("node=n1 namespace=llm deployment=d", (("namespace", "llm"), ("deployment", "d"))),
        ("node=n1 model_name=m", (("model_name", "m"),)),
        ("alertname=r node=", (("alertname", "r"),)),
    ],
)
def test_scope(text, expected):
    assert scope(labels(text)) == expected


def test_a_regression_on_several_nodes_replicas_is_one_notification__gpu_alerts_stay_per_node():
    grouper = Grouper(group_wait_s=5.0, group_interval_s=30.0)
    ttft = [make_alert("ttft_p99_high", node=n, model_name="deepseek-v3") for n in ("n1", "n2")]
    gpus = [make_alert("gpu_utilization_high", node=n, gpu="0") for n in ("n1", "n2")]
    for at, alert in enumerate([ttft[0], gpus[0], ttft[1], gpus[1]]):
        grouper.add(fired(alert, float(at)), float(at))
    groups = grouper.tick(10.0)
    assert [(g.key, [t.alert.label("node") for t in g.transitions]) for g in groups] == [
        ((("model_name", "deepseek-v3"),), ["n1", "n2"]),
        ((("node", "n1"),), ["n1"]),
        ((("node", "n2"),), ["n2"]),
    ]
