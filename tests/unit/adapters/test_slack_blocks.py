"""The pure Block Kit renderers, checked against Slack's limits as the sandbox enforces them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from slack_sdk.models.blocks import Block

from bot.adapters.slack.blocks import (
    clock_time,
    incident_details,
    incident_list,
    incident_message,
    timeline_text,
)
from bot.config.files import load_config
from bot.core.alerts import Alert, AlertState, Level
from bot.core.incidents import Incident, IncidentStatus, Severity, TimelineEntry
from sandbox.slack.blocks import parse_blocks

SLA = load_config(None).sla
OPENED = 1_800_000_000.0  # 2027-01-15 08:00 UTC
INCIDENT = Incident(
    id=3,
    title="GPU 3 on gpu-node-2 at 97% utilisation",
    severity=Severity.P3,
    status=IncidentStatus.TRIGGERED,
    group_key="node:gpu-node-2",
    created_at=OPENED,
    updated_at=OPENED,
)
ALERT = Alert(
    fingerprint="f",
    rule="gpu_utilization_high",
    labels=(("node", "gpu-node-2"), ("gpu", "3")),
    state=AlertState.FIRING,
    level=Level.CRIT,
    value=0.97,
    started_at=OPENED,
    summary="GPU 3 on gpu-node-2 at 97% utilisation",
    fired_at=OPENED,
)


def fields(blocks: list[dict]) -> str:
    return str([b for b in blocks if b["type"] == "section"])


def within_slack_limits(blocks: list[dict]) -> bool:
    """slack_sdk's models accept every block unchanged, and so does the sandbox's validator."""
    for block in blocks:
        model = Block.parse(block)
        assert model is not None
        model.validate_json()  # raises SlackObjectFormationError over a limit
        assert model.to_dict() == block
    return parse_blocks(blocks) == blocks


def elements(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_triggered_incident_has_the_ack_button_deadlines_and_on_call_owner():
    text, blocks = incident_message(INCIDENT, [ALERT], sla=SLA, on_call="U0BOB")
    assert text.startswith(":rotating_light: INC-3 [P3] triggered")
    assert within_slack_limits(blocks)
    assert [e["action_id"] for e in elements(blocks)] == [
        "incident.acknowledge",
        "incident.escalate",
        "incident.resolve",
        "incident.severity",
    ]
    assert [e["value"] for e in elements(blocks)[:3]] == ["3", "3", "3"]
    assert "*On call*\\n<@U0BOB>" in fields(blocks)
    assert "*Ack by*\\n09:00 UTC" in fields(blocks)  # P3: acknowledge within 1 h
    assert "*Root-cause by*\\nSat 16 Jan 08:00 UTC" in fields(blocks)  # 24 h later: dated


def test_resolve_asks_for_confirmation_and_the_select_shows_the_current_severity():
    _, blocks = incident_message(INCIDENT, [ALERT], sla=SLA, on_call=None)
    resolve, select = elements(blocks)[2:]
    assert resolve["style"] == "danger"
    assert resolve["confirm"]["title"]["text"] == "Resolve INC-3?"
    assert resolve["confirm"]["confirm"]["text"] == "Resolve"
    assert select["type"] == "static_select"
    assert [o["value"] for o in select["options"]] == ["P1", "P2", "P3"]
    assert select["initial_option"]["value"] == "P3"


def test_the_root_message_names_what_is_affected_and_the_description():
    other = replace(ALERT, fingerprint="g", labels=(("node", "gpu-node-2"), ("gpu", "5")))
    serving = replace(
        ALERT, fingerprint="h", labels=(("node", "gpu-node-4"), ("model_name", "ds-v3"))
    )
    described = replace(INCIDENT, description="Declared after 503s from the gateway")
    _, blocks = incident_message(described, [ALERT, other, serving], sla=SLA, on_call=None)
    assert within_slack_limits(blocks)
    assert "*Affected*\\nNodes: `gpu-node-2`, `gpu-node-4`" in fields(blocks)
    assert "GPUs: `gpu-node-2/3`, `gpu-node-2/5`" in fields(blocks)
    assert "Deployments: `ds-v3`" in fields(blocks)
    assert "Declared after 503s from the gateway" in fields(blocks)


def test_an_owner_set_by_assignment_is_shown_before_anyone_acknowledged():
    owned = replace(INCIDENT, owner="U0CAROL")
    _, blocks = incident_message(owned, [ALERT], sla=SLA, on_call="U0BOB")
    assert "*Owner*\\n<@U0CAROL>" in fields(blocks)


def test_acknowledged_incident_drops_the_ack_button_and_the_met_ack_deadline():
    acked = replace(INCIDENT, status=IncidentStatus.ACKNOWLEDGED, acknowledged_by="U0ALICE")
    _, blocks = incident_message(acked, [ALERT], sla=SLA, on_call="U0BOB")
    assert [e["action_id"] for e in elements(blocks)] == [
        "incident.escalate",
        "incident.resolve",
        "incident.severity",
    ]
    assert "Ack by" not in fields(blocks)
    assert "*Owner*\\n<@U0ALICE>" in fields(blocks)


def test_resolved_incident_shows_no_deadlines_and_recovered_alerts_struck_through():
    done = replace(INCIDENT, status=IncidentStatus.RESOLVED)
    recovered = replace(ALERT, state=AlertState.RESOLVED)
    _, blocks = incident_message(done, [recovered], sla=SLA, on_call=None)
    assert elements(blocks) == []  # nothing left to click
    assert " by*" not in fields(blocks)
    assert "~gpu_utilization_high~" in fields(blocks)
    assert "*On call*\\nnobody" in fields(blocks)


def test_a_flood_of_alerts_stays_within_block_kit_limits():
    many = [replace(ALERT, fingerprint=str(i), summary="x" * 400) for i in range(200)]
    _, blocks = incident_message(INCIDENT, many, sla=SLA, on_call=None)
    assert within_slack_limits(blocks)


@pytest.mark.parametrize(
    ("ts", "since", "shown"),
    [
        (OPENED, OPENED, "08:00 UTC"),
        (OPENED + 86400, OPENED, "Sat 16 Jan 08:00 UTC"),
        (OPENED, None, "08:00 UTC"),
    ],
)
def test_clock_time(ts, since, shown):
    assert clock_time(ts, since=since) == shown


def test_incident_list_names_each_open_incident_and_its_owner():
    acked = replace(INCIDENT, id=4, status=IncidentStatus.ACKNOWLEDGED, acknowledged_by="U0ALICE")
    text = incident_list([acked, INCIDENT])
    assert text.splitlines()[0] == "*Open incidents (2)*"
    assert "*INC-4* P3 · acknowledged" in text
    assert "<@U0ALICE>" in text
    assert incident_list([]) == "No open incidents. :white_check_mark:"


def entry(i: int) -> TimelineEntry:
    return TimelineEntry(3, OPENED + 60 * i, "incident.note", f"Note from <@U0BOB>: step {i}")


def test_timeline_text_lists_the_entries_given_with_the_total():
    text = timeline_text(INCIDENT, [entry(1), entry(2)], total=9)
    assert text.splitlines() == [
        "*Timeline of INC-3* (latest 2 of 9)",
        "`08:01 UTC` Note from <@U0BOB>: step 1",
        "`08:02 UTC` Note from <@U0BOB>: step 2",
    ]
    assert timeline_text(INCIDENT, [], total=0) == "INC-3 has no timeline entries yet."


def test_incident_details_show_the_facts_and_entries_without_buttons():
    _, blocks = incident_details(INCIDENT, [ALERT], [entry(1)], total=1, sla=SLA, now=OPENED + 600)
    assert within_slack_limits(blocks)
    assert elements(blocks) == []
    assert "step 1" in fields(blocks)
    assert "50 min left" in fields(blocks)  # P3 ack in 1 h, 10 min in
