"""The postmortem draft export: every section, from the timeline alone."""

from __future__ import annotations

from bot.core.incidents import Incident, IncidentStatus, Severity, TimelineEntry
from bot.core.postmortem import draft, to_markdown

T0 = 1_800_000_000.0


def test_postmortem_markdown_has_every_section_and_the_whole_timeline() -> None:
    incident = Incident(
        3,
        "KV cache full",
        Severity.P2,
        IncidentStatus.RESOLVED,
        "node:n1",
        T0,
        T0 + 900,
        acknowledged_by="U0BOB",
        acknowledged_at=T0 + 60,
        resolved_at=T0 + 900,
    )
    timeline = [
        TimelineEntry(3, T0, "incident.opened", "INC-3 opened (P2)", id=1),
        TimelineEntry(3, T0 + 600, "sla.breach", "Mitigate deadline breached", id=2),
        TimelineEntry(3, T0 + 900, "incident.resolved", "Resolved: scaled 4 -> 6 & rolled", id=3),
    ]
    text = to_markdown(incident, draft(incident, timeline, []))
    assert text.startswith("# Postmortem draft: INC-3 KV cache full")
    for heading in ("Timeline", "Root cause", "What went well", "What went badly", "Action items"):
        assert f"## {heading}" in text
    assert "scaled 4 -> 6 & rolled [T3]" in text
    assert "Mitigate deadline breached [T2]" in text
