"""The pure Block Kit renderers, checked against Slack's limits as the sandbox enforces them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.adapters.slack.blocks import clock_time, incident_list, incident_message
from bot.config.files import load_config
from bot.core.alerts import Alert, AlertState, Level
from bot.core.incidents import Incident, IncidentStatus, Severity
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


def test_triggered_incident_has_the_ack_button_deadlines_and_on_call_owner():
    text, blocks = incident_message(INCIDENT, [ALERT], sla=SLA, on_call="U0BOB")
    assert text.startswith(":rotating_light: INC-3 [P3] triggered")
    assert parse_blocks(blocks) == blocks  # within Slack's Block Kit limits
    actions = [b for b in blocks if b["type"] == "actions"]
    assert actions[0]["elements"][0]["action_id"] == "incident.acknowledge"
    assert actions[0]["elements"][0]["value"] == "3"
    assert "*On call*\\n<@U0BOB>" in fields(blocks)
    assert "*Ack by*\\n09:00 UTC" in fields(blocks)  # P3: acknowledge within 1 h
    assert "*Root-cause by*\\nSat 16 Jan 08:00 UTC" in fields(blocks)  # 24 h later: dated


def test_acknowledged_incident_drops_the_button_and_the_met_ack_deadline():
    acked = replace(INCIDENT, status=IncidentStatus.ACKNOWLEDGED, acknowledged_by="U0ALICE")
    _, blocks = incident_message(acked, [ALERT], sla=SLA, on_call="U0BOB")
    assert not [b for b in blocks if b["type"] == "actions"]
    assert "Ack by" not in fields(blocks)
    assert "*Owner*\\n<@U0ALICE>" in fields(blocks)


def test_resolved_incident_shows_no_deadlines_and_recovered_alerts_struck_through():
    done = replace(INCIDENT, status=IncidentStatus.RESOLVED)
    recovered = replace(ALERT, state=AlertState.RESOLVED)
    _, blocks = incident_message(done, [recovered], sla=SLA, on_call=None)
    assert " by*" not in fields(blocks)
    assert "~gpu_utilization_high~" in fields(blocks)
    assert "*On call*\\nnobody" in fields(blocks)


def test_a_flood_of_alerts_stays_within_block_kit_limits():
    many = [replace(ALERT, fingerprint=str(i), summary="x" * 400) for i in range(200)]
    _, blocks = incident_message(INCIDENT, many, sla=SLA, on_call=None)
    assert parse_blocks(blocks) == blocks


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
