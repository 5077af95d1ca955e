from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config.files import load_config, parse_duration
from bot.core.errors import ConfigError
from bot.core.escalation import EscalationLevel, EscalationPolicy, Target, TargetKind
from bot.core.incidents import Severity
from bot.core.oncall import Layer, Schedule, on_call
from bot.core.thresholds import Direction


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


ESCALATION = """
severities:
  P1:
    repeats: 1
    levels:
      - notify: [{schedule: gpu-primary}]
        wait: 5m
      - notify: [{schedule: gpu-primary}, {group: gpu-oncall}, {user: U0LEAD}]
  P2:
    levels: [{notify: [{schedule: gpu-primary}]}]
  P3:
    levels: [{notify: [{schedule: gpu-primary}]}]
"""

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
            "schedules:\n  - {name: p, users: [U1], every: 36h, handoff: '09:00', "
            "start: 2026-01-05}\n",
            "schedules[0].every",
            "whole number of days",
        ),
        (
            "oncall.yaml",
            "schedules:\n  - {name: p, users: [U1], every: 7d}\n",
            "schedules[0]",
            "missing handoff, start",
        ),
        (
            "oncall.yaml",
            "schedules:\n  - name: p\n    users: [U1]\n    layers:\n"
            "      - {users: [U1], every: 1d, handoff: '09:00', start: 2026-01-05}\n",
            "schedules[0]",
            "not both",
        ),
        (
            "oncall.yaml",
            "schedules:\n  - name: p\n    layers:\n"
            "      - users: [U1]\n        every: 1d\n        handoff: '09:00'\n"
            "        start: 2026-01-05\n        restrictions: [{days: [funday], "
            "start: '09:00', end: '17:00'}]\n",
            "schedules[0].layers[0].restrictions[0].days[0]",
            "'mon'",
        ),
        (
            "escalation.yaml",
            "severities:\n  P1: {levels: [{notify: [{schedule: gpu-primary}]}]}\n",
            "severities",
            "missing P2, P3",
        ),
        (
            "escalation.yaml",
            ESCALATION.replace("{schedule: gpu-primary}", "{schedule: gpu-secondary}", 1),
            "severities.P1.levels[0].notify[0].schedule",
            "a schedule in oncall.yaml (got 'gpu-secondary')",
        ),
        (
            "escalation.yaml",
            ESCALATION.replace("{schedule: gpu-primary}", "{user: U1, group: g}", 1),
            "severities.P1.levels[0].notify[0]",
            "exactly one of user, schedule or group",
        ),
        (
            "escalation.yaml",
            ESCALATION.replace("wait: 5m", "wait: soon", 1),
            "severities.P1.levels[0].wait",
            "duration such as 30s",
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


def test_shipped_escalation_pages_p1_and_p2_at_once_and_never_pages_p3():
    config = load_config(None)
    p1, p2, p3 = (config.escalation[s] for s in (Severity.P1, Severity.P2, Severity.P3))
    primary = Target(TargetKind.SCHEDULE, "gpu-primary")
    group = Target(TargetKind.GROUP, "gpu-oncall")
    assert p1 == EscalationPolicy(
        "P1", (EscalationLevel((primary,), 300), EscalationLevel((primary, group), 300)), 2
    )
    assert [level.targets for level in p2.levels] == [(primary,), (primary, group)]
    assert p2.levels[0].wait_s == 900
    assert p2.repeats == 0
    assert p3 == EscalationPolicy("P3", (), 0)  # posted, never paged


def test_shipped_oncall_is_one_weekly_rotation_as_a_one_layer_schedule():
    (schedule,) = load_config(None).schedules
    assert schedule == Schedule(
        "gpu-primary", (Layer(("U0ALICE", "U0BOB"), 7, time(9), "UTC", date(2026, 1, 5)),)
    )
    monday = datetime(2026, 1, 12, 9, 0, tzinfo=UTC).timestamp()
    assert on_call(schedule, now=monday - 1) == "U0ALICE"
    assert on_call(schedule, now=monday) == "U0BOB"


def test_a_layered_schedule_with_restrictions_and_overrides(tmp_path: Path):
    (tmp_path / "oncall.yaml").write_text(
        """
schedules:
  - name: gpu-primary
    layers:
      - {users: [U0ALICE, U0BOB], every: 7d, handoff: "09:00", timezone: Europe/Berlin,
         start: "2026-01-05"}
      - users: [U0CAROL]
        every: 1d
        handoff: "09:00"
        timezone: Europe/Berlin
        start: "2026-01-05"
        restrictions: [{days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}]
    overrides:
      - {user: U0DAVE, start: "2026-01-06T12:00:00+01:00", end: "2026-01-06T13:00:00+01:00"}
"""
    )
    (schedule,) = load_config(tmp_path).schedules
    berlin = ZoneInfo("Europe/Berlin")

    def at(text: str) -> float:
        return datetime.fromisoformat(text).replace(tzinfo=berlin).timestamp()

    assert schedule.layers[1].restrictions[0].weekdays == frozenset(range(5))
    assert on_call(schedule, now=at("2026-01-06T08:00")) == "U0ALICE"
    assert on_call(schedule, now=at("2026-01-06T10:00")) == "U0CAROL"
    assert on_call(schedule, now=at("2026-01-06T12:30")) == "U0DAVE"
    assert on_call(schedule, now=at("2026-01-10T10:00")) == "U0ALICE"  # Saturday


def test_an_escalation_file_given_is_used(tmp_path: Path):
    (tmp_path / "escalation.yaml").write_text(ESCALATION)
    policy = load_config(tmp_path).escalation[Severity.P1]
    assert policy.repeats == 1
    assert policy.levels[1].targets[-1] == Target(TargetKind.USER, "U0LEAD")


BELOW = """
rules:
  - name: model_unavailable
    type: threshold
    metric: gpuwarden_serving_up
    direction: below
    warn: 0.5
    crit: {crit}
    recover: {recover}
"""


def test_a_rule_where_lower_is_worse_loads_with_its_direction(tmp_path: Path):
    (tmp_path / "rules.yaml").write_text(BELOW.format(crit=0.5, recover=1))
    (rule,) = load_config(tmp_path).rules
    assert (rule.direction, rule.warn, rule.crit, rule.recover) == (Direction.BELOW, 0.5, 0.5, 1)


@pytest.mark.parametrize(
    ("crit", "recover", "key", "expected"),
    [
        (
            0.6,
            1,
            "rules[0].crit",
            "expected crit <= warn < recover (direction: below), got crit=0.6",
        ),
        (0, 0.5, "rules[0].recover", "got recover=0.5 with warn=0.5"),
    ],
)
def test_values_out_of_order_name_the_rule_and_the_field(
    tmp_path: Path, crit, recover, key, expected
):
    (tmp_path / "rules.yaml").write_text(BELOW.format(crit=crit, recover=recover))
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)
    assert raised.value.key == key
    assert "rule 'model_unavailable'" in raised.value.expected
    assert expected in raised.value.expected


def test_an_up_down_rule_without_direction_is_told_to_set_it(tmp_path: Path):
    (tmp_path / "rules.yaml").write_text(
        BELOW.format(crit=0.5, recover=1).replace("    direction: below\n", "")
    )
    with pytest.raises(ConfigError, match="set `direction: below` where lower is worse"):
        load_config(tmp_path)
