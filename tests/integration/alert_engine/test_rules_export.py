"""The exported rule file passes promtool and loads into a real Prometheus as healthy rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import require_tool
from tests.integration.alert_engine.conftest import prometheus
from tests.processes import eventually
from tests.rules import memory_leak_rules, rules_yaml, utilisation_rule

RULES = rules_yaml(
    utilisation_rule(warn_for="30s", crit_for="10s", crit_severity="P2"),
    """\
  - name: gpu_temperature_high
    type: threshold
    metric: gpuwarden_gpu_temperature_celsius
    warn: 85
    crit: 95
    recover: 80
    match: {model: "llama-3"}
    summary: "{metric} {value:.1f} C on {labels}"
  - name: ttft_high
    type: threshold
    metric: model_ttft_p95_seconds
    query: >-
      histogram_quantile(0.95,
        sum by (le, model_name) (rate(vllm:time_to_first_token_seconds_bucket[5m])))
    warn: 0.18
    crit: 0.25
    recover: 0.15
    for: {warn: 3m, crit: 1.5s}
    group_by: [model_name]
    summary: "TTFT p95 of {model_name} at {value}s"
  - name: serving_down
    type: threshold
    metric: gpuwarden_serving_up
    direction: below
    warn: 0.5
    crit: 0.5
    recover: 1
    for: {crit: 30s}
    group_by: [node, target]
""",
    memory_leak_rules(growth="process_memory_growth", group_by="node, gpu"),
)


def export(tmp: Path) -> Path:
    (tmp / "rules.yaml").write_text(RULES)
    out = tmp / "gpuwarden.rules.yml"
    command = ["rules", "export", "--format", "prometheus", "--output", str(out)]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gpuwarden",
            *command,
            "--runbook-base-url",
            "https://runbooks.test/gpu/",
        ],
        env={"GPUWARDEN_CONFIG_DIR": str(tmp), "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=30,
    )
    return out


def test_promtool_accepts_the_exported_rules(tmp_path: Path):
    promtool = require_tool("promtool", "prometheus")
    checked = subprocess.run(
        [promtool, "check", "rules", str(export(tmp_path))],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 10 rules found" in checked.stdout


def test_prometheus_loads_and_evaluates_the_exported_rules(tmp_path: Path):
    config = {
        "global": {"evaluation_interval": "1s"},
        "rule_files": [str(export(tmp_path))],
    }
    with prometheus(tmp_path, config) as url:

        def evaluated() -> list[dict] | None:
            groups = httpx.get(f"{url}/api/v1/rules", timeout=5).json()["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return (
                rules if rules and all(r["lastEvaluation"][:4] != "0001" for r in rules) else None
            )

        rules = eventually(evaluated, timeout_s=15, what="a first evaluation of every rule")
    assert [(r["name"], r["health"]) for r in rules] == [
        (f"{name}_{level}", "ok")
        for name in (
            "gpu_utilization_high",
            "gpu_temperature_high",
            "ttft_high",
            "serving_down",
            "gpu_memory_leak",
        )
        for level in ("warn", "crit")
    ]
    crit = rules[1]
    assert crit["labels"] == {"severity": "critical", "gpuwarden_severity": "P2"}
    assert crit["annotations"]["runbook_url"] == "https://runbooks.test/gpu/gpu_utilization_high"
    assert crit["duration"] == 10
