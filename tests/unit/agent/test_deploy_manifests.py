"""The agent's DaemonSet manifests give it what it needs, and nothing it does not."""

import re
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "agent"


def _docs() -> dict[str, dict]:
    docs = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            docs[doc["kind"]] = doc
    return docs


def test_the_daemonset_reads_kmsg_sees_host_pids_and_exposes_9840():
    docs = _docs()
    spec = docs["DaemonSet"]["spec"]["template"]["spec"]
    (container,) = spec["containers"]

    assert spec["hostPID"] is True
    assert spec["automountServiceAccountToken"] is False
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["kmsg"] == {"name": "kmsg", "mountPath": "/dev/kmsg", "readOnly": True}
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["SYSLOG"]}
    assert container["ports"] == [{"name": "metrics", "containerPort": 9840, "protocol": "TCP"}]
    annotations = docs["DaemonSet"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == "9840"
    assert "nvidia.com/gpu" not in str(container["resources"])  # takes no GPU from workloads
    env = {e["name"] for e in container["env"]}
    assert {"GPUWARDEN_NODE_NAME", "GPUWARDEN_INGEST_TOKEN", "NVIDIA_VISIBLE_DEVICES"} <= env


def test_every_variable_the_arguments_use_is_in_the_configmap():
    docs = _docs()
    (container,) = docs["DaemonSet"]["spec"]["template"]["spec"]["containers"]
    used = {v for arg in container["args"] for v in re.findall(r"\$\((\w+)\)", arg)}

    assert used <= set(docs["ConfigMap"]["data"])
    assert docs["ServiceMonitor"]["spec"]["endpoints"][0]["port"] == "metrics"


def test_kustomization_lists_every_manifest():
    listed = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["resources"]

    assert sorted(listed) == sorted(
        p.name for p in DEPLOY.glob("*.yaml") if p.stem != "kustomization"
    )
