from pathlib import Path

import pytest

from bot.config.files import load_config, parse_duration
from bot.core.errors import ConfigError
from bot.core.incidents import Severity


def test_shipped_defaults_follow_the_seed():
    config = load_config(None)
    rule = config.rules[0]
    assert rule.name == "gpu_utilization_high"
    assert (rule.warn, rule.crit, rule.recover) == (0.85, 0.95, 0.75)
    p1 = config.sla.of(Severity.P1)
    assert (p1.ack_s, p1.resolve_s, p1.resolve_goal) == (300, 1800, "restore")
    assert config.sla.of(Severity.P2).resolve_s == 3600
    assert config.sla.of(Severity.P3).resolve_s == 86400
    assert config.sla.reminders == (0.5, 0.8)
    assert config.access.allows("U0ANYONE", "acknowledge")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("7d", 604800), (12, 12), ("250ms", 0.25)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


RULE = """
rules:
  - name: gpu_hot
    type: threshold
    metric: m
    warn: {warn}
    crit: 0.95
    recover: 0.75
"""


@pytest.mark.parametrize(
    ("name", "content", "key", "expected"),
    [
        ("rules.yaml", RULE.format(warn="high"), "rules[0].warn", "valid number"),
        ("rules.yaml", RULE.format(warn="0.99"), "rules", "recover < warn <= crit"),
        (
            "rules.yaml",
            RULE.format(warn="0.8") + "    colour: red\n",
            "rules[0].colour",
            "unknown key",
        ),
        (
            "rules.yaml",
            RULE.format(warn="0.8").replace("    metric: m\n", ""),
            "rules[0].metric",
            "required key is missing",
        ),
        (
            "rules.yaml",
            RULE.format(warn="0.8") + "    for: {warn: soon}\n",
            "rules[0].for.warn",
            "duration such as 30s",
        ),
        ("rules.yaml", "rules: [\n", "line", "valid YAML"),
        (
            "rules.yaml",
            "rules:\n  - {name: a, type: anomaly, metric: m, threshold: 1.5}\n",
            "rules[0].threshold",
            "less than 1",
        ),
        (
            "rules.yaml",
            "rules:\n  - {name: d, type: derived, kind: slope, metric: m, output: o}\n",
            "rules[0].kind",
            "leak_rate",
        ),
        (
            "rules.yaml",
            "rules:\n  - {name: d, type: magic, metric: m}\n",
            "rules[0]",
            "'threshold', 'anomaly', 'derived'",
        ),
        (
            "sla.yaml",
            "severities:\n  P1: {description: d, ack: 5m, resolve: 30m, goal: restore, "
            "action: a}\n",
            "severities",
            "missing P2, P3",
        ),
        (
            "oncall.yaml",
            "schedules:\n  - {name: p, users: [U1], every: 7d, handoff: '09:00', "
            "timezone: Mars/Olympus, start: 2026-01-05}\n",
            "schedules[0].timezone",
            "IANA time zone",
        ),
        (
            "oncall.yaml",
            "schedules:\n  - {name: p, users: [U1], every: 3d, handoff: '09:00', "
            "start: 2026-01-05}\n",
            "schedules[0].every",
            "'1d' or '7d'",
        ),
        ("rbac.yaml", "permissions:\n  destroy: ['*']\n", "permissions.destroy", "acknowledge"),
    ],
)
def test_bad_files_name_the_file_the_key_and_what_was_expected(
    tmp_path: Path, name, content, key, expected
):
    (tmp_path / name).write_text(content)
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)
    error = raised.value
    assert error.source.endswith(name)
    assert error.key.startswith(key)
    assert expected in error.expected
    assert str(error).startswith(f"{tmp_path / name}: {key}")


def test_a_file_given_overrides_only_itself(tmp_path: Path):
    (tmp_path / "rules.yaml").write_text(RULE.format(warn="0.8"))
    config = load_config(tmp_path)
    assert [r.name for r in config.rules] == ["gpu_hot"]
    assert config.sla.of(Severity.P1).ack_s == 300
