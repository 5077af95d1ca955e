"""Exporting an incident's timeline as a file: Markdown, JSON, CSV, or HTML with a chart.

The chart shows the triggering alert's metric from :data:`~bot.core.export.CHART_LEAD_S` before
the incident to shortly after its end. With a metric history (Prometheus) the points come from
a range query; otherwise, or when it has nothing, they are the values the bot recorded at the
alert's transitions, and the chart's caption says which it is and why.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot import messages
from bot.core import export, postmortem
from bot.core.alerts import Alert
from bot.core.errors import AdapterError, UserError
from bot.core.export import Chart, ExportFormat
from bot.core.incidents import Incident, TimelineEntry
from bot.core.ports import MetricHistory, UnitOfWorkFactory
from bot.core.thresholds import ThresholdRule

log = logging.getLogger(__name__)
CHART_MIN_POINTS = 2  # fewer from the history: draw the transitions' values instead
CHART_POINTS = 240  # a range query asks for about this many points


@dataclass(frozen=True, slots=True)
class ExportFile:
    """One exported file, ready to be written, uploaded or served."""

    incident: Incident
    format: ExportFormat
    content: str

    @property
    def filename(self) -> str:
        """``INC-42-timeline.html``."""
        return self.format.filename(self.incident.ref)

    @property
    def data(self) -> bytes:
        """The content as UTF-8."""
        return self.content.encode()


def parse_format(text: str) -> ExportFormat:
    """``md``, ``json``, ``csv``, ``html`` or ``postmortem`` (any case); else a UserError."""
    try:
        return ExportFormat(text.strip().lower())
    except ValueError:
        choices = ", ".join(f.value for f in ExportFormat)
        raise UserError(messages.BAD_EXPORT_FORMAT.format(text=text, formats=choices)) from None


async def export_incident(
    *,
    incident_id: int,
    fmt: ExportFormat,
    uow: UnitOfWorkFactory,
    rules: Mapping[str, ThresholdRule],
    history: MetricHistory | None,
    now: float,
) -> ExportFile:
    """The incident's export in ``fmt``, as of ``now``; raises NotFound for an unknown id."""
    with uow() as tx:
        incident = tx.incidents.get(incident_id)
        timeline = tx.timeline.list(incident_id)
        alerts = tx.alerts.for_incident(incident_id)
    if fmt is ExportFormat.POSTMORTEM:
        report = postmortem.draft(incident, timeline, alerts)
        return ExportFile(incident, fmt, postmortem.to_markdown(incident, report))
    doc = export.build(incident, timeline, alerts)
    chart = None
    if fmt is ExportFormat.HTML:
        chart = await chart_for(
            incident=incident,
            timeline=timeline,
            alerts=alerts,
            rules=rules,
            history=history,
            now=now,
        )
    return ExportFile(incident, fmt, export.render(doc, fmt, chart=chart))


async def chart_for(
    *,
    incident: Incident,
    timeline: Sequence[TimelineEntry],
    alerts: Sequence[Alert],
    rules: Mapping[str, ThresholdRule],
    history: MetricHistory | None,
    now: float,
) -> Chart | None:
    """The triggering alert's metric around the incident; None when there is nothing to draw."""
    alert = export.triggering_alert(alerts)
    if alert is None:
        return None
    rule = rules.get(alert.rule)
    metric = rule.metric if rule is not None else alert.rule
    lines = () if rule is None else (("warn", rule.warn), ("crit", rule.crit))
    why = messages.CHART_NO_HISTORY
    if history is not None and rule is not None:
        query = rule.query or export.selector(rule.metric, alert.labels)
        start, end = export.chart_window(incident, now=now)
        try:
            series = await history.query_range(
                query, start=start, end=end, step_s=(end - start) / CHART_POINTS
            )
        except AdapterError as exc:
            log.warning("no chart from %s for %s: %s", history.source, incident.ref, exc)
            why = messages.CHART_HISTORY_FAILED.format(source=history.source, error=exc)
        else:
            points = export.matching_series(series, alert.labels)
            if len(points) >= CHART_MIN_POINTS:
                source = messages.CHART_FROM_HISTORY.format(source=history.source, query=query)
                return Chart(metric, points, lines, source)
            why = messages.CHART_HISTORY_EMPTY.format(source=history.source, query=query)
            if points:  # a single point draws no line: the transitions say more
                why = messages.CHART_HISTORY_SPARSE.format(source=history.source, query=query)
    points = export.observed_points(timeline, alert.fingerprint)
    if not points:
        return None
    return Chart(metric, points, lines, messages.CHART_FROM_TRANSITIONS.format(why=why))
