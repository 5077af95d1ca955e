"""Incident export: an incident, its timeline and its alerts as Markdown, JSON, CSV or HTML.

:func:`build` extracts every field once, from the column tables below; each renderer formats
that one :class:`Export`, and :func:`schema` (the published JSON schema) is generated from the
same tables, so the formats cannot drift apart. Renderers return text and never touch files.

The HTML page charts the triggering metric around the incident (:class:`Chart`). Its points
come from one of two places, and the chart says which: a range query of the metrics store
(Prometheus) when one is configured, or else the values the bot itself observed at the alert's
transitions, which :func:`observed` records on the timeline (and :func:`observed_points` reads
back). The bot keeps no sample history of its own, so without Prometheus the chart shows those
few recorded points and nothing in between: nothing is interpolated or invented.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Generic, TypeVar

from bot.core.alerts import Alert, AlertState, Level
from bot.core.incidents import Incident, IncidentStatus, Severity, TimelineEntry

FORMAT = "gpuwarden.incident-export/1"
CHART_LEAD_S = 900.0  # the chart starts this long before the incident opened
CHART_TAIL_S = 300.0  # and ends this long after it was resolved (or at the export's time)


class ExportFormat(StrEnum):
    """The formats an incident can be exported in, by their file extension."""

    MARKDOWN = "md"
    JSON = "json"
    CSV = "csv"
    HTML = "html"
    POSTMORTEM = "postmortem"  # a Markdown postmortem draft (bot.core.postmortem)

    @property
    def media_type(self) -> str:
        """The HTTP content type of this format."""
        return _MEDIA_TYPES[self]

    def filename(self, ref: str) -> str:
        """``INC-42-timeline.md`` (``INC-42-postmortem.md`` for the postmortem draft)."""
        if self is ExportFormat.POSTMORTEM:
            return f"{ref}-postmortem.md"
        return f"{ref}-timeline.{self.value}"


_MEDIA_TYPES = {
    ExportFormat.MARKDOWN: "text/markdown; charset=utf-8",
    ExportFormat.JSON: "application/json",
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.HTML: "text/html; charset=utf-8",
    ExportFormat.POSTMORTEM: "text/markdown; charset=utf-8",
}

Cell = str | int | float | Mapping[str, str] | None
Row = tuple[Cell, ...]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Column(Generic[_T]):
    name: str
    schema: Mapping[str, object]
    value: Callable[[_T], Cell]


def _iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, tz=UTC).isoformat()


def _enum(values: Iterable[str]) -> Mapping[str, object]:
    return {"type": "string", "enum": [str(v) for v in values]}


_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

_INCIDENT: tuple[_Column[Incident], ...] = (
    _Column("id", {"type": "integer"}, lambda i: i.id),
    _Column("ref", _STR, lambda i: i.ref),
    _Column("title", _STR, lambda i: i.title),
    _Column("severity", _enum(Severity), lambda i: i.severity.value),
    _Column("status", _enum(IncidentStatus), lambda i: i.status.value),
    _Column("group_key", _STR, lambda i: i.group_key),
    _Column("created_at", _TIME, lambda i: _iso(i.created_at)),
    _Column("acknowledged_at", _TIME_OR_NULL, lambda i: _iso(i.acknowledged_at)),
    _Column("acknowledged_by", _STR_OR_NULL, lambda i: i.acknowledged_by),
    _Column("resolved_at", _TIME_OR_NULL, lambda i: _iso(i.resolved_at)),
)
_TIMELINE: tuple[_Column[TimelineEntry], ...] = (
    _Column("at", _TIME, lambda e: _iso(e.at)),
    _Column("kind", _STR, lambda e: e.kind),
    _Column("actor", _STR, lambda e: e.actor),
    _Column("text", _STR, lambda e: e.text),
    _Column("data", _MAP, lambda e: dict(e.data)),
)
_ALERTS: tuple[_Column[Alert], ...] = (
    _Column("fingerprint", _STR, lambda a: a.fingerprint),
    _Column("rule", _STR, lambda a: a.rule),
    _Column("state", _enum(AlertState), lambda a: a.state.value),
    _Column("level", _enum(Level), lambda a: a.level.value),
    _Column(
        "value", {"type": ["number", "null"]}, lambda a: a.value if math.isfinite(a.value) else None
    ),
    _Column("summary", _STR, lambda a: a.summary),
    _Column("labels", _MAP, lambda a: dict(a.labels)),
    _Column("started_at", _TIME, lambda a: _iso(a.started_at)),
    _Column("fired_at", _TIME_OR_NULL, lambda a: _iso(a.fired_at)),
    _Column("resolved_at", _TIME_OR_NULL, lambda a: _iso(a.resolved_at)),
)


@dataclass(frozen=True, slots=True)
class Table:
    """Column names and rows of cells."""

    columns: tuple[str, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Export:
    """Everything an export shows, extracted once."""

    ref: str
    title: str
    opened_at: float
    resolved_at: float | None
    incident: tuple[tuple[str, Cell], ...]  # (field, value)
    timeline: Table
    alerts: Table

    @property
    def heading(self) -> str:
        """``INC-42: title``."""
        return f"{self.ref}: {self.title}"

    @property
    def sections(self) -> tuple[tuple[str, Table], ...]:
        """The tables under the incident's fields, with their headings."""
        return (("Timeline", self.timeline), ("Alerts", self.alerts))


@dataclass(frozen=True, slots=True)
class Chart:
    """The triggering metric around an incident: its points, threshold lines and their source."""

    metric: str
    points: tuple[tuple[float, float], ...]  # (unix time, value), oldest first
    thresholds: tuple[tuple[str, float], ...] = ()  # (label, value), e.g. ("crit", 0.95)
    source: str = ""  # where the points come from, shown under the chart


def observed(alert: Alert) -> tuple[tuple[str, str], ...]:
    """Timeline data recording the value the bot observed at one of ``alert``'s transitions."""
    value = () if not math.isfinite(alert.value) else (("value", repr(alert.value)),)
    return (("fingerprint", alert.fingerprint), *value)


def observed_points(
    timeline: Iterable[TimelineEntry], fingerprint: str
) -> tuple[tuple[float, float], ...]:
    """The (time, value) points :func:`observed` recorded for one alert, oldest first."""
    points = []
    for entry in timeline:
        data = dict(entry.data)
        if data.get("fingerprint") == fingerprint and "value" in data:
            try:
                points.append((entry.at, float(data["value"])))
            except ValueError:
                continue
    return tuple(sorted(points))


def triggering_alert(alerts: Iterable[Alert]) -> Alert | None:
    """The alert that opened the incident: the first to fire, else the first to start."""
    every = list(alerts)
    fired = [a for a in every if a.fired_at is not None]
    if fired:
        return min(fired, key=lambda a: (a.fired_at or 0.0, a.started_at))
    return min(every, key=lambda a: a.started_at, default=None)


def chart_window(incident: Incident, *, now: float) -> tuple[float, float]:
    """From :data:`CHART_LEAD_S` before the incident to :data:`CHART_TAIL_S` after its end."""
    start = incident.created_at - CHART_LEAD_S
    if incident.is_open:
        return start, now
    ended = incident.resolved_at if incident.resolved_at is not None else incident.updated_at
    return start, min(now, ended + CHART_TAIL_S)


def selector(metric: str, labels: Iterable[tuple[str, str]]) -> str:
    """A PromQL instant-vector selector: ``metric{k="v",…}`` with the values escaped."""
    matchers = ",".join(f'{k}="{_promql_string(v)}"' for k, v in labels)
    return f"{metric}{{{matchers}}}" if matchers else metric


def matching_series(
    series: Iterable[tuple[Mapping[str, str], Sequence[tuple[float, float]]]],
    labels: Iterable[tuple[str, str]],
) -> tuple[tuple[float, float], ...]:
    """Points of the first series whose labels include all of ``labels`` (empty if none does)."""
    wanted = tuple(labels)
    for series_labels, points in series:
        if all(series_labels.get(k) == v for k, v in wanted):
            return tuple(sorted(points))
    return ()


def _promql_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def build(incident: Incident, timeline: Sequence[TimelineEntry], alerts: Sequence[Alert]) -> Export:
    """Extract the fields of an incident, its timeline and its alerts."""
    return Export(
        ref=incident.ref,
        title=incident.title,
        opened_at=incident.created_at,
        resolved_at=None if incident.is_open else incident.resolved_at,
        incident=tuple((c.name, c.value(incident)) for c in _INCIDENT),
        timeline=_table(_TIMELINE, timeline),
        alerts=_table(_ALERTS, alerts),
    )


def schema() -> dict[str, object]:
    """The published JSON schema of :func:`to_json`'s output."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "gpuwarden incident export",
        "type": "object",
        "required": ["format", "incident", "timeline", "alerts"],
        "additionalProperties": False,
        "properties": {
            "format": {"const": FORMAT},
            "incident": _object_schema(_INCIDENT),
            "timeline": {"type": "array", "items": _object_schema(_TIMELINE)},
            "alerts": {"type": "array", "items": _object_schema(_ALERTS)},
        },
    }


def to_json(doc: Export) -> str:
    """JSON with stable field names, as described by :func:`schema`."""
    record = {
        "format": FORMAT,
        "incident": dict(doc.incident),
        "timeline": _records(doc.timeline),
        "alerts": _records(doc.alerts),
    }
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def to_markdown(doc: Export) -> str:
    """A Markdown document: the incident's fields, its timeline and its alerts as tables."""
    lines = [f"# {_md(doc.heading)}", "", *_md_table(("field", "value"), doc.incident)]
    for name, table in doc.sections:
        lines += ["", f"## {name}", "", *_md_table(table.columns, table.rows)]
    return "\n".join(lines) + "\n"


def to_csv(doc: Export) -> str:
    """The timeline as RFC 4180 CSV, one entry a row, led by the incident's reference."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("incident", *doc.timeline.columns))
    writer.writerows((doc.ref, *map(_text, row)) for row in doc.timeline.rows)
    return out.getvalue()


def to_html(doc: Export, *, chart: Chart | None = None) -> str:
    """A self-contained page; ``chart``'s points are drawn with the incident shaded."""
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{_h(doc.heading)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_h(doc.heading)}</h1>",
        _html_table(("field", "value"), doc.incident),
        "" if chart is None else _figure(chart, (doc.opened_at, doc.resolved_at)),
    ]
    for name, table in doc.sections:
        parts += [f"<h2>{_h(name)}</h2>", _html_table(table.columns, table.rows)]
    return "\n".join([*parts, "</body></html>\n"])


def render(doc: Export, fmt: ExportFormat, *, chart: Chart | None = None) -> str:
    """``doc`` in ``fmt``; only HTML draws ``chart``."""
    if fmt is ExportFormat.HTML:
        return to_html(doc, chart=chart)
    return {
        ExportFormat.MARKDOWN: to_markdown,
        ExportFormat.JSON: to_json,
        ExportFormat.CSV: to_csv,
    }[fmt](doc)


def _table(columns: Sequence[_Column[_T]], items: Iterable[_T]) -> Table:
    return Table(
        tuple(c.name for c in columns), tuple(tuple(c.value(i) for c in columns) for i in items)
    )


def _object_schema(columns: Sequence[_Column[_T]]) -> dict[str, object]:
    return {
        "type": "object",
        "required": [c.name for c in columns],
        "additionalProperties": False,
        "properties": {c.name: dict(c.schema) for c in columns},
    }


def _records(table: Table) -> list[dict[str, Cell]]:
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, Mapping):
        return ", ".join(f"{k}={v}" for k, v in cell.items())
    return f"{cell:g}" if isinstance(cell, float) else str(cell)


_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


def _md_table(columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> list[str]:
    lines = ["| " + " | ".join(map(_md, columns)) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(_md(_text(c)) for c in row) + " |" for row in rows]


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _html_table(columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    head = "".join(f"<th>{_h(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_h(_text(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


_CSS = (
    "body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f4f4f4}figure{margin:1em 0}figcaption{color:#555}"
    "svg{display:block;width:100%;max-width:720px;height:auto;border:1px solid #eee}"
    ".window{fill:#fde2e2}.series{fill:none;stroke:#2f6fce;stroke-width:2}"
    ".point{fill:#2f6fce}.threshold{stroke:#c0392b;stroke-dasharray:4 3}"
    "svg text{font-size:11px;fill:#c0392b}svg text.axis{fill:#555}"
)
_W, _H, _PAD = 720.0, 240.0, 24.0


def _figure(chart: Chart, window: tuple[float, float | None]) -> str:
    svg = _chart(chart.points, chart.thresholds, window)
    if not svg:
        return ""
    caption = chart.metric + (f" — {chart.source}" if chart.source else "")
    return f"<figure>{svg}<figcaption>{_h(caption)}</figcaption></figure>"


def _chart(
    series: Sequence[tuple[float, float]],
    thresholds: Sequence[tuple[str, float]],
    window: tuple[float, float | None],
) -> str:
    points = [(t, v) for t, v in series if math.isfinite(t) and math.isfinite(v)]
    if not points:
        return ""
    lines = [(label, v) for label, v in thresholds if math.isfinite(v)]
    times = [t for t, _ in points]
    x = _scale(min(times), max(times), _PAD, _W - _PAD)
    values = [v for _, v in points] + [v for _, v in lines]
    y = _scale(min(values), max(values), _H - _PAD, _PAD)
    begin = x(max(window[0], min(times)))
    end = x(min(max(times) if window[1] is None else window[1], max(times)))
    parts = [
        f'<rect class="window" x="{begin:.1f}" y="{_PAD}" width="{max(0.0, end - begin):.1f}"'
        f' height="{_H - 2 * _PAD}"/>',
        *(_threshold(label, y(v)) for label, v in lines),
        '<polyline class="series" points="'
        + " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        + '"/>',
        *(f'<circle class="point" cx="{x(t):.1f}" cy="{y(v):.1f}" r="3"/>' for t, v in points),
        _axis(_W - _PAD, _H - 6, "end", _iso(max(times)) or ""),
        _axis(_PAD, _H - 6, "start", _iso(min(times)) or ""),
        _axis(_W - _PAD, _PAD - 6, "end", f"max {max(values):g}"),
        _axis(_W - _PAD, _H - _PAD - 4, "end", f"min {min(values):g}"),
    ]
    return f'<svg viewBox="0 0 {_W:g} {_H:g}" role="img">{"".join(parts)}</svg>'


def _axis(x: float, y: float, anchor: str, label: str) -> str:
    return f'<text class="axis" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{_h(label)}</text>'


def _threshold(label: str, height: float) -> str:
    return (
        f'<line class="threshold" x1="{_PAD}" x2="{_W - _PAD}" y1="{height:.1f}"'
        f' y2="{height:.1f}"/><text x="{_PAD}" y="{height - 3:.1f}">{_h(label)}</text>'
    )


def _scale(low: float, high: float, start: float, end: float) -> Callable[[float], float]:
    span = high - low or 1.0
    return lambda value: start + (value - low) / span * (end - start)
