"""Threshold rules with a PromQL ``query`` in rules.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.files import load_engine_config
from bot.core.errors import ConfigError

RULE = """
rules:
  - name: kv_cache_full
    type: threshold
    metric: vllm_kv_cache_usage_ratio
    warn: 0.9
    crit: 0.98
    recover: 0.8
"""


def write(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "rules.yaml").write_text(RULE + extra)
    return tmp_path


def test_a_query_rule_carries_its_promql(tmp_path: Path):
    (rule,) = load_engine_config(
        write(tmp_path, '    query: "max by (node) (vllm:gpu_cache_usage_perc)"\n')
    ).thresholds
    assert rule.query == "max by (node) (vllm:gpu_cache_usage_perc)"
    assert rule.metric == "vllm_kv_cache_usage_ratio"


def test_rules_without_a_query_stay_agent_rules(tmp_path: Path):
    (rule,) = load_engine_config(write(tmp_path, "")).thresholds
    assert rule.query is None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('    query: "  "\n', "rule 'kv_cache_full': a non-empty PromQL expression"),
        (
            '    match: {model: llama}\n    query: "up"\n',
            "rule 'kv_cache_full': no `match` beside `query`",
        ),
    ],
    ids=["empty", "with-match"],
)
def test_a_bad_query_names_the_file_the_rule_and_the_field(tmp_path: Path, extra, expected):
    with pytest.raises(ConfigError) as caught:
        load_engine_config(write(tmp_path, extra))
    assert caught.value.source == str(tmp_path / "rules.yaml")
    assert caught.value.key == "rules[0].query"
    assert expected in caught.value.expected
