"""Pure Block Kit renderers: domain objects in, Slack message payloads out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot import messages
from bot.adapters.slack.ids import ActionId, BlockId
from bot.core.alerts import Alert, AlertState, Level
from bot.core.incidents import Incident, IncidentStatus, TimelineEntry
from bot.core.policy import SlaPolicy, deadlines

Block = dict[str, Any]

_STATUS_ICON = {
    IncidentStatus.TRIGGERED: ":rotating_light:",
    IncidentStatus.ACKNOWLEDGED: ":eyes:",
    IncidentStatus.MITIGATED: ":adhesive_bandage:",
    IncidentStatus.RESOLVED: ":white_check_mark:",
    IncidentStatus.CLOSED: ":lock:",
}


def clock_time(ts: float, *, since: float | None = None) -> str:
    """``22:35 UTC``, or ``Sat 28 Nov 22:35 UTC`` when not on the same UTC day as ``since``."""
    at = datetime.fromtimestamp(ts, tz=UTC)
    same_day = since is None or datetime.fromtimestamp(since, tz=UTC).date() == at.date()
    return at.strftime("%H:%M UTC" if same_day else "%a %d %b %H:%M UTC")


def incident_message(
    incident: Incident, alerts: Sequence[Alert], *, sla: SlaPolicy, on_call: str | None
) -> tuple[str, list[Block]]:
    """The root message of an incident: fallback text and blocks."""
    icon = _STATUS_ICON[incident.status]
    text = f"{icon} {incident.ref} [{incident.severity}] {incident.status}: {incident.title}"
    if incident.acknowledged_by:
        owner = f"*Owner*\n<@{incident.acknowledged_by}>"
    else:
        owner = f"*On call*\n<@{on_call}>" if on_call else "*On call*\nnobody"
    fields = [
        f"*Status*\n{incident.status.capitalize()}",
        f"*Severity*\n{incident.severity} — {sla.of(incident.severity).description}",
        owner,
        f"*Opened*\n{clock_time(incident.created_at)}",
    ]
    if incident.is_open:
        fields += [
            f"*{d.name.capitalize()} by*\n{clock_time(d.due, since=incident.created_at)}"
            for d in deadlines(sla, incident.severity, opened_at=incident.created_at)
            if d.name != "ack" or incident.status is IncidentStatus.TRIGGERED
        ]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if alerts:
        lines = "\n".join(_alert_line(a) for a in alerts[-10:])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": lines[:3000]}})
    if incident.status is IncidentStatus.TRIGGERED:
        blocks.append(_actions(incident))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Suggested: {sla.of(incident.severity).suggested_action} · "
                    f"group `{incident.group_key}`",
                }
            ],
        }
    )
    return text, blocks


def _alert_line(alert: Alert) -> str:
    if alert.state is AlertState.RESOLVED:
        return f":large_green_circle: ~{alert.rule}~ {alert.summary} (recovered)"
    icon = ":red_circle:" if alert.level is Level.CRIT else ":large_orange_circle:"
    return f"{icon} *{alert.level.upper()}* `{alert.rule}` {alert.summary}"


def _actions(incident: Incident) -> Block:
    return {
        "type": "actions",
        "block_id": BlockId.INCIDENT_ACTIONS,
        "elements": [
            {
                "type": "button",
                "action_id": ActionId.ACKNOWLEDGE,
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "style": "primary",
                "value": str(incident.id),
            }
        ],
    }


def timeline_reply(entry: TimelineEntry) -> str:
    """One short thread reply for a timeline entry."""
    return f"`{clock_time(entry.at)}` {entry.text}"


def incident_list(incidents: Sequence[Incident]) -> str:
    """The answer to ``/incident list``."""
    if not incidents:
        return messages.NO_OPEN_INCIDENTS
    lines = [messages.OPEN_INCIDENTS_HEADER.format(count=len(incidents))]
    for inc in incidents:
        owner = f" · <@{inc.acknowledged_by}>" if inc.acknowledged_by else ""
        lines.append(
            messages.INCIDENT_LINE.format(
                ref=inc.ref, severity=inc.severity, status=inc.status, title=inc.title, owner=owner
            )
        )
    return "\n".join(lines)
