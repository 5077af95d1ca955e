"""Incident export: an incident, its timeline and its alerts as Markdown, JSON, CSV or HTML.

:func:`build` extracts every field once, from the column tables below; each renderer formats
that one :class:`Export`, and :func:`schema` (the published JSON schema) is generated from the
same tables, so the formats cannot drift apart. Renderers return text and never touch files.
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
from typing import Generic, TypeVar

from bot.core.alerts import Alert, AlertState, Level
from bot.core.incidents import Incident, IncidentStatus, Severity, TimelineEntry

FORMAT = "gpuwarden.incident-export/1"

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


def to_html(
    doc: Export,
    *,
    series: Sequence[tuple[float, float]] = (),
    thresholds: Sequence[tuple[str, float]] = (),
) -> str:
    """A self-contained page; ``series`` (time, value) is charted with the incident shaded."""
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{_h(doc.heading)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_h(doc.heading)}</h1>",
        _html_table(("field", "value"), doc.incident),
        _chart(series, thresholds, (doc.opened_at, doc.resolved_at)),
    ]
    for name, table in doc.sections:
        parts += [f"<h2>{_h(name)}</h2>", _html_table(table.columns, table.rows)]
    return "\n".join([*parts, "</body></html>\n"])


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
    "th{background:#f4f4f4}.window{fill:#fde2e2}.series{fill:none;stroke:#2f6fce;stroke-width:2}"
    ".threshold{stroke:#c0392b;stroke-dasharray:4 3}svg text{font-size:11px;fill:#c0392b}"
)
_W, _H, _PAD = 720.0, 240.0, 24.0


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
    ]
    return f'<svg viewBox="0 0 {_W:g} {_H:g}" role="img">{"".join(parts)}</svg>'


def _threshold(label: str, height: float) -> str:
    return (
        f'<line class="threshold" x1="{_PAD}" x2="{_W - _PAD}" y1="{height:.1f}"'
        f' y2="{height:.1f}"/><text x="{_PAD}" y="{height - 3:.1f}">{_h(label)}</text>'
    )


def _scale(low: float, high: float, start: float, end: float) -> Callable[[float], float]:
    span = high - low or 1.0
    return lambda value: start + (value - low) / span * (end - start)
