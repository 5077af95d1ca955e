"""kubectl itself against the stand-in: discovery, server-side tables, the scale subresource and
the ReplicaSet history that ``rollout history`` reads."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.kube.conftest import TOKEN, KubeServer


@pytest.fixture
def kubectl(kube: KubeServer, tmp_path: Path) -> list[str]:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl is not installed (optional: only this test needs it)")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: sandbox
  cluster: {{server: "{kube.url}", certificate-authority: "{kube.ca_cert}"}}
users:
- name: bot
  user: {{token: "{TOKEN}"}}
contexts:
- name: sandbox
  context: {{cluster: sandbox, user: bot, namespace: serving}}
current-context: sandbox
"""
    )
    return [path, "--kubeconfig", str(kubeconfig)]


def run(kubectl: list[str], *args: str) -> str:
    done = subprocess.run(
        [*kubectl, *args], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_get_deployments_shows_the_serving_cluster(kubectl: list[str]) -> None:
    lines = run(kubectl, "get", "deployments").splitlines()
    assert lines[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert lines[1].split()[:4] == ["deepseek-v3-blue", "4/4", "4", "4"]
    assert lines[2].split()[:2] == ["deepseek-v3-green", "2/2"]


def test_scale_changes_the_replicas(kubectl: list[str], kube: KubeServer) -> None:
    out = run(kubectl, "scale", "deployment/deepseek-v3-blue", "--replicas=5")
    assert "deployment.apps/deepseek-v3-blue scaled" in out
    assert kube.deployment("deepseek-v3-blue")["replicas"] == 5


def test_rollout_history_lists_revisions_with_their_change_causes(kubectl: list[str]) -> None:
    out = run(kubectl, "rollout", "history", "deployment/deepseek-v3-blue")
    rows = [line.split(None, 1) for line in out.splitlines()[2:] if line.strip()]
    assert rows == [
        ["1", "deploy DeepSeek-V3 on vLLM v0.8.4"],
        ["2", "upgrade vLLM to v0.8.5"],
        ["3", "raise --max-num-seqs to 384"],
    ]
