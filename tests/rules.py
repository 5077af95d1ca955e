"""rules.yaml text for tests: the seed's GPU utilisation rule, with the timings a test wants."""

from __future__ import annotations


def utilisation_rule(
    *, warn_for: str = "2s", crit_for: str = "1s", severity: str = "P3", crit_severity: str = ""
) -> str:
    """One ``rules:`` item: utilisation warn 0.85, crit 0.95, recover 0.75, per node and GPU.

    Both levels open ``severity`` incidents unless ``crit_severity`` names another for crit.
    """
    return f"""\
  - name: gpu_utilization_high
    type: threshold
    metric: gpuwarden_gpu_utilization_ratio
    warn: 0.85
    crit: 0.95
    recover: 0.75
    for: {{warn: {warn_for}, crit: {crit_for}}}
    group_by: [node, gpu]
    severity: {{warn: {severity}, crit: {crit_severity or severity}}}
    summary: "GPU {{gpu}} on {{node}} at {{value:.0%}} utilisation"
"""


def memory_leak_rules(*, growth: str = "gpu_process_memory_growth", group_by: str = "") -> str:
    """Two ``rules:`` items: the process memory growth the bot derives, and a leak rule on it.

    The derived series is named ``growth``; the leak warns at 10 MiB/min, is critical at
    50 MiB/min and recovers under 5 MiB/min, grouped by ``group_by`` (labels) if given.
    """
    grouped = f"    group_by: [{group_by}]\n" if group_by else ""
    return f"""\
  - name: {growth}
    type: derived
    kind: leak_rate
    metric: gpuwarden_gpu_process_memory_used_bytes
    output: gpuwarden_gpu_process_memory_growth_bytes_per_minute
  - name: gpu_memory_leak
    type: threshold
    metric: gpuwarden_gpu_process_memory_growth_bytes_per_minute
    warn: 10485760
    crit: 52428800
    recover: 5242880
{grouped}"""


def rules_yaml(*items: str) -> str:
    """A whole rules.yaml holding ``items`` (default: the utilisation rule as above)."""
    return "rules:\n" + "".join(items or (utilisation_rule(),))
