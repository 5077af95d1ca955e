"""Pure Block Kit renderers: domain objects in, Slack message payloads out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot import messages
from bot.adapters.slack.ids import ActionId, BlockId
from bot.core import sla as sla_timers
from bot.core.alerts import Alert, AlertState, Level
from bot.core.incidents import Incident, IncidentStatus, Severity, TimelineEntry
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
    incident: Incident,
    alerts: Sequence[Alert],
    *,
    sla: SlaPolicy,
    on_call: str | None,
    now: float | None = None,
) -> tuple[str, list[Block]]:
    """The root message of an incident: fallback text and blocks.

    With ``now``, each open deadline shows a live countdown ("12 min left") beside its time.
    """
    icon = _STATUS_ICON[incident.status]
    text = f"{icon} {incident.ref} [{incident.severity}] {incident.status}: {incident.title}"
    lead = incident.owner or incident.acknowledged_by
    if lead:
        owner = f"*Owner*\n<@{lead}>"
    else:
        owner = f"*On call*\n<@{on_call}>" if on_call else "*On call*\nnobody"
    fields = [
        f"*Status*\n{incident.status.capitalize()}",
        f"*Severity*\n{incident.severity} — {sla.of(incident.severity).description}",
        owner,
        f"*Opened*\n{clock_time(incident.created_at)}",
    ]
    affected = _affected(alerts)
    if affected:
        fields.append(f"*Affected*\n{affected}"[:2000])
    if incident.is_open:
        fields += [
            f"*{d.name.capitalize()} by*\n{clock_time(d.due, since=incident.created_at)}"
            + (f" · {sla_timers.countdown(d.due, now=now)}" if now is not None else "")
            for d in deadlines(sla, incident.severity, opened_at=incident.created_at)
            if d.name != "ack" or incident.status is IncidentStatus.TRIGGERED
        ]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if incident.description:
        blocks.append(_section(incident.description))
    if alerts:
        lines = "\n".join(_alert_line(a) for a in alerts[-10:])
        blocks.append(_section(lines))
    if incident.is_open:
        blocks.append(_actions(incident))
    blocks.append(  # a read-in for whoever joins late (LLM triage)
        {
            **_section(messages.SUMMARY_PROMPT),
            "accessory": _button(ActionId.SUMMARY, "Summary", incident),
        }
    )
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


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


_AFFECTED_SHOWN = 8  # names per kind; the rest are counted


def _affected(alerts: Sequence[Alert]) -> str:
    """Nodes, GPUs and deployments named by the incident's firing alerts."""
    firing = [a for a in alerts if a.state is not AlertState.RESOLVED]
    kinds = (
        ("Nodes", {a.label("node") for a in firing} - {""}),
        ("GPUs", {f"{a.label('node')}/{a.label('gpu')}" for a in firing if a.label("gpu")}),
        ("Deployments", {a.label("deployment") or a.label("model_name") for a in firing} - {""}),
    )
    return "\n".join(f"{name}: " + _names(sorted(values)) for name, values in kinds if values)


def _names(values: list[str]) -> str:
    shown = ", ".join(f"`{v}`" for v in values[:_AFFECTED_SHOWN])
    more = len(values) - _AFFECTED_SHOWN
    return f"{shown} +{more} more" if more > 0 else shown


def _button(action_id: ActionId, label: str, incident: Incident, **extra: Any) -> Block:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": str(incident.id),
        **extra,
    }


def _severity_option(severity: Severity) -> Block:
    return {"text": {"type": "plain_text", "text": str(severity)}, "value": str(severity)}


def _actions(incident: Incident) -> Block:
    """Acknowledge (until acknowledged), Escalate, Resolve (confirmed), Change severity."""
    elements = (
        [_button(ActionId.ACKNOWLEDGE, "Acknowledge", incident, style="primary")]
        if incident.status is IncidentStatus.TRIGGERED
        else []
    )
    confirm = {
        "title": {
            "type": "plain_text",
            "text": messages.RESOLVE_CONFIRM_TITLE.format(ref=incident.ref),
        },
        "text": {"type": "plain_text", "text": messages.RESOLVE_CONFIRM_TEXT},
        "confirm": {"type": "plain_text", "text": messages.RESOLVE_CONFIRM_YES},
        "deny": {"type": "plain_text", "text": messages.RESOLVE_CONFIRM_NO},
    }
    elements += [
        _button(ActionId.ESCALATE, "Escalate", incident),
        _button(ActionId.RESOLVE, "Resolve", incident, style="danger", confirm=confirm),
        {
            "type": "static_select",
            "action_id": ActionId.SEVERITY,
            "placeholder": {"type": "plain_text", "text": messages.SEVERITY_PLACEHOLDER},
            "options": [_severity_option(s) for s in Severity],
            "initial_option": _severity_option(incident.severity),
        },
    ]
    return {"type": "actions", "block_id": BlockId.INCIDENT_ACTIONS, "elements": elements}


def timeline_reply(entry: TimelineEntry) -> str:
    """One short thread reply for a timeline entry."""
    return f"`{clock_time(entry.at)}` {entry.text}"


def incident_list(incidents: Sequence[Incident]) -> str:
    """The answer to ``/incident list``."""
    if not incidents:
        return messages.NO_OPEN_INCIDENTS
    lines = [messages.OPEN_INCIDENTS_HEADER.format(count=len(incidents))]
    for inc in incidents:
        lead = inc.owner or inc.acknowledged_by
        owner = f" · <@{lead}>" if lead else ""
        lines.append(
            messages.INCIDENT_LINE.format(
                ref=inc.ref, severity=inc.severity, status=inc.status, title=inc.title, owner=owner
            )
        )
    return "\n".join(lines)


def timeline_text(incident: Incident, entries: Sequence[TimelineEntry], *, total: int) -> str:
    """The answer to ``/incident timeline``: the newest entries, one short line each."""
    if not entries:
        return messages.TIMELINE_EMPTY.format(ref=incident.ref)
    lines = [messages.TIMELINE_HEADER.format(ref=incident.ref, count=len(entries), total=total)]
    lines += [f"`{clock_time(e.at, since=incident.created_at)}` {e.text}"[:300] for e in entries]
    return "\n".join(lines)[:3000]


def incident_details(
    incident: Incident,
    alerts: Sequence[Alert],
    entries: Sequence[TimelineEntry],
    *,
    total: int,
    sla: SlaPolicy,
    now: float,
) -> tuple[str, list[Block]]:
    """The answer to ``/incident show``: the root message's facts and the latest entries."""
    text, shown = incident_message(incident, alerts, sla=sla, on_call=None, now=now)
    details = [b for b in shown if b["type"] != "actions"]
    details.insert(-1, _section(timeline_text(incident, entries, total=total)))
    return text, details
