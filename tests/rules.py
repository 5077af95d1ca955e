"""rules.yaml text for tests: the seed's GPU utilisation rule, with the timings a test wants."""

from __future__ import annotations


def utilisation_rule(*, warn_for: str = "2s", crit_for: str = "1s", severity: str = "P3") -> str:
    """One ``rules:`` item: utilisation warn 0.85, crit 0.95, recover 0.75, per node and GPU."""
    return f"""\
  - name: gpu_utilization_high
    type: threshold
    metric: gpuwarden_gpu_utilization_ratio
    warn: 0.85
    crit: 0.95
    recover: 0.75
    for: {{warn: {warn_for}, crit: {crit_for}}}
    group_by: [node, gpu]
    severity: {{warn: {severity}, crit: {severity}}}
    summary: "GPU {{gpu}} on {{node}} at {{value:.0%}} utilisation"
"""


def rules_yaml(*items: str) -> str:
    """A whole rules.yaml holding ``items`` (default: the utilisation rule as above)."""
    return "rules:\n" + "".join(items or (utilisation_rule(),))
