import csv
import io
import json
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import export
from bot.core.alerts import Alert, AlertState, Level
from bot.core.incidents import Incident, IncidentStatus, Severity, TimelineEntry

SCHEMA_FILE = Path(__file__).parents[3] / "docs" / "schemas" / "incident-export.schema.json"
OPENED = 1767862800.0  # 2026-01-08T09:00Z
TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "table", "tr", "th", "td"}
TAGS |= {"figure", "figcaption"}
SVG_TAGS = {"svg", "rect", "line", "text", "polyline", "circle"}


def incident(title: str = "vLLM <down> on n1 | p99") -> Incident:
    return Incident(
        42,
        title,
        Severity.P1,
        IncidentStatus.RESOLVED,
        "node:n1",
        OPENED,
        OPENED + 900,
        acknowledged_by="U0ALICE",
        acknowledged_at=OPENED + 120,
        resolved_at=OPENED + 900,
    )


def timeline(note: str = 'Failed over, "standby", ok\nnext: RCA') -> list[TimelineEntry]:
    return [
        TimelineEntry(42, OPENED, "incident.opened", "INC-42 opened (P1)"),
        TimelineEntry(42, OPENED + 120, "incident.acknowledged", "Acknowledged", "U0ALICE"),
        TimelineEntry(42, OPENED + 600, "note", note, "U0BOB", (("step", "failover"),)),
    ]


ALERT = Alert(
    "ab12",
    "serving_down",
    (("node", "n1"), ("deployment", "deepseek")),
    AlertState.RESOLVED,
    Level.CRIT,
    0.0,
    OPENED - 30,
    summary="vLLM on n1 answers no requests",
    fired_at=OPENED,
    resolved_at=OPENED + 850,
)


def doc(title: str = "vLLM <down> on n1 | p99", note: str = "ok") -> export.Export:
    return export.build(incident(title), timeline(note), [ALERT])


KINDS = {"object": dict, "array": list, "string": str, "number": (int, float), "null": type(None)}


def type_ok(value: object, types: str | list[str]) -> bool:
    names = [types] if isinstance(types, str) else types
    if isinstance(value, bool):
        return False
    return any(isinstance(value, int if name == "integer" else KINDS[name]) for name in names)


def violations(value: object, schema: dict, path: str = "$") -> list[str]:
    """A small JSON Schema check: type, const, enum, format date-time, objects and arrays."""
    if "type" in schema and not type_ok(value, schema["type"]):
        return [f"{path}: expected {schema['type']}, got {value!r}"]
    errors = []
    if value != schema.get("const", value) or value not in schema.get("enum", [value]):
        errors.append(f"{path}: {value!r} is not allowed")
    if schema.get("format") == "date-time" and isinstance(value, str):
        datetime.fromisoformat(value)
    if isinstance(value, dict):
        errors += object_violations(value, schema, path)
    if isinstance(value, list):
        for index, item in enumerate(value):
            errors += violations(item, schema.get("items", {}), f"{path}[{index}]")
    return errors


def object_violations(value: dict, schema: dict, path: str) -> list[str]:
    errors = [f"{path}: missing {k}" for k in schema.get("required", []) if k not in value]
    properties, extra = schema.get("properties", {}), schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            errors += violations(item, properties[key], f"{path}.{key}")
        elif extra is False:
            errors.append(f"{path}: unexpected {key}")
        elif isinstance(extra, dict):
            errors += violations(item, extra, f"{path}.{key}")
    return errors


def test_markdown_has_a_heading_the_fields_and_a_row_per_timeline_entry_and_alert():
    text = export.to_markdown(doc())
    assert text.startswith("# INC-42: vLLM \\<down\\> on n1 \\| p99\n")
    assert "| severity | P1 |" in text
    assert "| acknowledged_at | 2026-01-08T09:02:00+00:00 |" in text
    assert "| 2026-01-08T09:10:00+00:00 | note | U0BOB | ok | step=failover |" in text
    assert "| ab12 | serving_down | resolved | crit | 0 | vLLM on n1 answers no requests |" in text
    assert text.count("\n## ") == 2


def test_markdown_keeps_a_multiline_note_in_one_table_row():
    text = export.to_markdown(doc(note="first | line\nsecond"))
    assert "| first \\| line second |" in text


def test_json_has_stable_field_names_and_validates_against_the_schema():
    record = json.loads(export.to_json(doc()))
    assert violations(record, export.schema()) == []
    assert list(record) == ["format", "incident", "timeline", "alerts"]
    assert record["incident"]["ref"] == "INC-42"
    assert record["incident"]["resolved_at"] == "2026-01-08T09:15:00+00:00"
    assert record["timeline"][2]["data"] == {"step": "failover"}
    assert record["alerts"][0]["labels"] == {"node": "n1", "deployment": "deepseek"}


def test_the_schema_check_catches_a_wrong_document():
    record = json.loads(export.to_json(doc()))
    del record["incident"]["severity"]
    record["timeline"][0]["at"] = 5
    record["extra"] = True
    assert len(violations(record, export.schema())) == 3


def test_json_writes_a_non_finite_alert_value_as_null():
    nan_alert = Alert("x", "r", (), AlertState.FIRING, Level.WARN, float("nan"), OPENED)
    record = json.loads(export.to_json(export.build(incident(), [], [nan_alert])))
    assert record["alerts"][0]["value"] is None
    assert violations(record, export.schema()) == []


def test_published_schema_file_matches_the_module():
    expected = json.dumps(export.schema(), indent=2) + "\n"
    if not SCHEMA_FILE.exists() or SCHEMA_FILE.read_text(encoding="utf-8") != expected:
        SCHEMA_FILE.parent.mkdir(parents=True, exist_ok=True)
        SCHEMA_FILE.write_text(expected, encoding="utf-8")
        pytest.fail(f"{SCHEMA_FILE} was out of date; it has been regenerated: commit it")


def test_csv_parses_back_to_the_timeline():
    note = 'Failed over, "standby", ok\nnext: RCA'
    rows = list(csv.reader(io.StringIO(export.to_csv(doc(note=note)), newline="")))
    assert rows[0] == ["incident", "at", "kind", "actor", "text", "data"]
    assert rows[3] == [
        "INC-42",
        "2026-01-08T09:10:00+00:00",
        "note",
        "U0BOB",
        note,
        "step=failover",
    ]
    assert len(rows) == 4


def test_csv_lines_end_with_crlf_as_rfc_4180_says():
    assert export.to_csv(doc()).endswith("\r\n")


class Page(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


SERIES = [(OPENED - 600 + 60 * i, 0.5 + (i % 7) / 10) for i in range(30)]


def chart(*thresholds: tuple[str, float], source: str = "from Prometheus") -> export.Chart:
    return export.Chart("gpu_util", tuple(SERIES), thresholds, source)


def test_html_is_self_contained_and_escapes_what_it_shows():
    page = export.to_html(doc(), chart=chart(("crit <0.95>", 0.95)))
    assert "vLLM &lt;down&gt; on n1 | p99" in page
    assert "crit &lt;0.95&gt;" in page
    assert "<down>" not in page
    assert not any(word in page for word in ("http", "src=", "href=", "url(", "<script", "<link"))


def test_html_charts_the_series_with_the_incident_shaded_and_thresholds_drawn():
    page = Page(export.to_html(doc(), chart=chart(("crit", 0.95), ("warn", 0.85))))
    attrs = {tag: a for tag, a in page.tags if tag in SVG_TAGS}
    points = attrs["polyline"]["points"] or ""
    assert len(points.split()) == len(SERIES)
    assert [tag for tag, _ in page.tags].count("circle") == len(SERIES)
    assert float(attrs["rect"]["width"] or 0) > 0
    assert [tag for tag, _ in page.tags].count("line") == 2
    assert "gpu_util — from Prometheus" in page.text


def test_html_leaves_the_chart_out_without_a_series():
    assert "<svg" not in export.to_html(doc())
    assert "<svg" not in export.to_html(doc(), chart=export.Chart("m", ()))


printable = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)


@given(title=printable, note=printable, label=printable)
def test_arbitrary_text_never_breaks_out_of_the_html_escaping(title, note, label):
    page = Page(export.to_html(doc(title, note), chart=chart((label, 0.9), source=label)))
    assert {tag for tag, _ in page.tags} <= TAGS | SVG_TAGS
    assert title in page.text
    assert note in page.text
    assert label in page.text


@given(note=printable)
def test_arbitrary_text_survives_the_csv_round_trip(note):
    rows = list(csv.reader(io.StringIO(export.to_csv(doc(note=note)), newline="")))
    assert rows[3][4] == note


def test_json_validates_against_the_published_schema_file_with_jsonschema():
    validator = jsonschema.Draft202012Validator(
        json.loads(SCHEMA_FILE.read_text(encoding="utf-8")),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    record = json.loads(export.to_json(doc()))
    assert list(validator.iter_errors(record)) == []
    record["incident"]["severity"] = "P4"
    assert [e.json_path for e in validator.iter_errors(record)] == ["$.incident.severity"]


@pytest.mark.parametrize(
    ("fmt", "starts"),
    [
        (export.ExportFormat.MARKDOWN, "# INC-42"),
        (export.ExportFormat.JSON, "{"),
        (export.ExportFormat.CSV, "incident,at,"),
        (export.ExportFormat.HTML, "<!DOCTYPE html>"),
    ],
)
def test_render_picks_the_renderer_of_each_format(fmt, starts):
    assert export.render(doc(), fmt).startswith(starts)
    assert fmt.filename("INC-42") == f"INC-42-timeline.{fmt.value}"


def test_only_html_draws_the_chart():
    assert "<svg" in export.render(doc(), export.ExportFormat.HTML, chart=chart())
    assert "<svg" not in export.render(doc(), export.ExportFormat.MARKDOWN, chart=chart())


def test_observed_values_round_trip_through_the_timeline():
    fired = Alert("fp1", "gpu_util", (), AlertState.FIRING, Level.CRIT, 0.97, OPENED)
    recovered = Alert("fp1", "gpu_util", (), AlertState.RESOLVED, Level.CRIT, 0.7, OPENED)
    other = Alert("fp2", "gpu_util", (), AlertState.FIRING, Level.WARN, 0.9, OPENED)
    entries = [
        TimelineEntry(42, OPENED + 300, "alert.resolved", "", data=export.observed(recovered)),
        TimelineEntry(42, OPENED, "alert.fired", "", data=export.observed(fired)),
        TimelineEntry(42, OPENED + 10, "alert.fired", "", data=export.observed(other)),
        TimelineEntry(42, OPENED + 20, "note", "no data"),
    ]
    assert export.observed_points(entries, "fp1") == ((OPENED, 0.97), (OPENED + 300, 0.7))


def test_a_non_finite_value_is_not_recorded():
    nan = Alert("fp1", "r", (), AlertState.FIRING, Level.WARN, float("nan"), OPENED)
    assert export.observed(nan) == (("fingerprint", "fp1"),)


def test_the_triggering_alert_is_the_first_to_fire_else_the_first_to_start():
    late = Alert("a", "r", (), AlertState.FIRING, Level.WARN, 1.0, OPENED - 60, fired_at=OPENED)
    early = Alert("b", "r", (), AlertState.FIRING, Level.WARN, 1.0, OPENED, fired_at=OPENED - 5)
    pending = Alert("c", "r", (), AlertState.PENDING, Level.WARN, 1.0, OPENED - 90)
    assert export.triggering_alert([late, early, pending]) == early
    assert export.triggering_alert([pending]) == pending
    assert export.triggering_alert([]) is None


def test_the_chart_window_runs_from_before_the_incident_to_after_its_end():
    resolved = incident()  # resolved 900 s after opening
    assert export.chart_window(resolved, now=OPENED + 99_999) == (OPENED - 900, OPENED + 1200)
    open_one = Incident(1, "t", Severity.P2, IncidentStatus.TRIGGERED, "node:n1", OPENED, OPENED)
    assert export.chart_window(open_one, now=OPENED + 60) == (OPENED - 900, OPENED + 60)


def test_selector_escapes_label_values_and_matching_series_picks_by_labels():
    labels = (("node", 'n"1'), ("gpu", "3"))
    assert export.selector("gpu_util", labels) == 'gpu_util{node="n\\"1",gpu="3"}'
    assert export.selector("gpu_util", ()) == "gpu_util"
    series = [
        ({"node": "n2", "gpu": "3"}, [(2.0, 0.1)]),
        ({"node": 'n"1', "gpu": "3", "instance": "x"}, [(2.0, 0.9), (1.0, 0.8)]),
    ]
    assert export.matching_series(series, labels) == ((1.0, 0.8), (2.0, 0.9))
    assert export.matching_series(series, (("node", "n9"),)) == ()
