"""The report's Block Kit stays within Slack's limits, however many services there are."""

from __future__ import annotations

from bot.adapters.slack.report_blocks import MAX_SERVICES, report_blocks
from bot.config.files import load_config
from bot.core.incidents import Incident, IncidentStatus, Severity
from bot.core.reports import compare
from tests.unit.adapters.test_slack_blocks import within_slack_limits

SLA = load_config(None).sla
NOW = 1_800_000_000.0


def incidents(count: int) -> list[Incident]:
    return [
        Incident(
            i,
            f"incident {i}",
            Severity.P1,
            IncidentStatus.RESOLVED,
            f"deployment:model-{i:03d}-" + "x" * 60,
            NOW - 3600 * i,
            NOW - 3600 * i,
            acknowledged_at=NOW - 3600 * i + 120,
            resolved_at=NOW - 3600 * i + 900,
        )
        for i in range(1, count + 1)
    ]


def test_a_report_is_valid_block_kit_with_its_figures():
    blocks = report_blocks(
        compare(incidents(3), policy=SLA, days=7, now=NOW), sla=SLA, title="Incident report"
    )
    assert within_slack_limits(blocks)
    text = str(blocks)
    assert "*Mean time to acknowledge*\\n2 min (n/a)" in text
    assert "*P1*: 3 incidents" in text


def test_many_services_are_cut_to_a_readable_list_within_the_limits():
    blocks = report_blocks(
        compare(incidents(120), policy=SLA, days=7, now=NOW), sla=SLA, title="x" * 300
    )
    assert within_slack_limits(blocks)
    services = blocks[4]["text"]["text"]
    assert services.count("\n• ") == MAX_SERVICES
    assert services.endswith("… and 100 more services")
    assert len(services) <= 3000
    assert len(blocks[0]["text"]["text"]) == 150
