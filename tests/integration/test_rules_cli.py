"""``gpuwarden rules export`` as an operator meets it: help, output, and configuration errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml


def gpuwarden(*args: str, config_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUWARDEN_")}
    if config_dir is not None:
        env["GPUWARDEN_CONFIG_DIR"] = str(config_dir)
    return subprocess.run(
        [sys.executable, "-m", "gpuwarden", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_explains_the_export():
    top = gpuwarden("--help")
    assert "rules" in top.stdout
    result = gpuwarden("rules", "export", "--help")
    assert result.returncode == 0
    assert "--format {prometheus}" in result.stdout
    assert "promtool check rules" in result.stdout


def test_the_shipped_rules_export_to_standard_output():
    result = gpuwarden("rules", "export", "--format", "prometheus")
    assert result.returncode == 0, result.stderr
    (group,) = yaml.safe_load(result.stdout)["groups"]
    assert [r["alert"] for r in group["rules"]] == [
        f"{name}_{level}"
        for name in (
            "gpu_utilization_high",
            "gpu_memory_leak",
            "ttft_p99_high",
            "kv_cache_saturation",
            "model_unavailable",
            "driver_cuda_incompatible",
            "param_sync_slow",
            "cpu_wait_high",
        )
        for level in ("warn", "crit")
    ]
    # rules on a signal PromQL cannot compute are named in the header instead
    assert "#   output_distribution_drift: watches a kl_divergence signal" in result.stdout
    leak = group["rules"][2]["expr"]  # a derived signal is computed in PromQL
    assert "deriv(gpuwarden_gpu_process_memory_used_bytes[10m]) * 60" in leak
    assert group["rules"][0]["annotations"]["runbook_url"] == (
        "https://runbooks.example.com/gpuwarden/gpu_utilization_high"
    )


def test_a_bad_rules_file_is_one_line_naming_the_file_and_the_key(tmp_path: Path):
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - {name: r, type: threshold, metric: m, warn: 1, crit: 2, recover: 0,"
        " query: ''}\n"
    )
    result = gpuwarden("rules", "export", "--format", "prometheus", config_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"gpuwarden: configuration error: {tmp_path / 'rules.yaml'}: rules[0].query: "
        "expected: rule 'r': a non-empty PromQL expression (got '')"
    ]
    assert result.stdout == ""
