"""Which levels the agents watch themselves, so a crossing reaches the bot at once.

An agent samples the metrics of these levels faster than it pushes, and ships a reading that
crosses one (up past warn or crit, or down to recover) in its own batch straight away instead of
at the next push (`GET /api/v1/agent/watch`). The levels are those of the threshold rules fed by
agents: rules on a PromQL query, or on a signal the bot derives (a leak rate), are left out, since
no agent reads those values. A rule where lower is worse (``direction: below``) goes out with its
values as they are: its order, crit <= warn < recover, tells the agent to mirror its comparisons
(a recover above warn), with no further field on the wire.
"""

from __future__ import annotations

from bot.core.engine import EngineConfig
from bot.core.thresholds import ThresholdRule

WATCH_REFRESH_S = 30.0  # how often agents ask again (rules change only on a bot restart)


def watched_rules(config: EngineConfig) -> tuple[ThresholdRule, ...]:
    """Return the threshold rules whose metric an agent reads as it is, in rule order."""
    derived = {rule.output for rule in config.derived}
    return tuple(
        rule for rule in config.thresholds if rule.query is None and rule.metric not in derived
    )
