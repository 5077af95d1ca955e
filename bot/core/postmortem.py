"""The postmortem draft as an export: the template postmortem of an incident, as Markdown.

Deterministic, from the incident's record alone (its timeline, alerts and status): summary,
impact, timeline, root cause, what went well and badly, action items. An LLM-written draft
(``/incident postmortem``) is an entry on that same timeline, so it appears in the export too.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import messages
from bot.core.alerts import Alert
from bot.core.incidents import Incident, TimelineEntry
from bot.core.triage import Report, Task, template_report


def draft(incident: Incident, timeline: Sequence[TimelineEntry], alerts: Sequence[Alert]) -> Report:
    """The template postmortem of ``incident``."""
    return template_report(
        Task.POSTMORTEM,
        incident=incident,
        alerts=alerts,
        timeline=timeline,
        evidence=None,
        reason=messages.POSTMORTEM_EXPORTED,
    )


def to_markdown(incident: Incident, report: Report) -> str:
    """A Markdown document with one section per heading of ``report``."""
    lines = [messages.POSTMORTEM_TITLE.format(ref=incident.ref, title=incident.title), ""]
    for heading, text in report.sections:
        lines += [f"## {heading}", "", _unescape(text), ""]
    return "\n".join(lines)


def _unescape(text: str) -> str:
    """Slack's three escapes back to characters (Markdown shows them as written)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
