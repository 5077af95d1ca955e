"""Which threshold levels the bot hands agents to watch."""

from bot.core.derived_rules import DerivedRule
from bot.core.engine import EngineConfig
from bot.core.thresholds import ThresholdRule
from bot.services.watch import watched_rules

UTIL = ThresholdRule("util", "gpuwarden_gpu_utilization_ratio", 0.85, 0.95, 0.75)
TTFT = ThresholdRule(
    "ttft",
    "gpuwarden_serving_time_to_first_token_seconds",
    0.18,
    0.25,
    0.15,
    match=(("percentile", "99"),),
)
PROMQL = ThresholdRule("qps", "model_qps", 10, 20, 5, query="sum(rate(x[1m]))")
LEAK = ThresholdRule("leak", "gpuwarden_gpu_process_memory_growth_bytes_per_minute", 10, 50, 5)
GROWTH = DerivedRule("growth", "leak_rate", "gpuwarden_gpu_process_memory_used_bytes", LEAK.metric)


def test_agents_watch_the_threshold_rules_on_what_they_read__in_rule_order():
    config = EngineConfig(thresholds=(UTIL, PROMQL, LEAK, TTFT), derived=(GROWTH,))

    assert watched_rules(config) == (UTIL, TTFT)


def test_no_threshold_rules_means_nothing_to_watch():
    assert watched_rules(EngineConfig()) == ()
