"""export_incident against the in-memory unit of work and a fake metric history."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import pytest

from bot.core.alerts import Alert, AlertState, Level
from bot.core.errors import AdapterError, NotFound, UserError
from bot.core.export import ExportFormat, observed
from bot.core.incidents import Severity, TimelineEntry
from bot.core.ports import RangeSeries
from bot.core.signals import Sample, SeriesKey
from bot.core.thresholds import ThresholdRule
from bot.services.exports import export_incident, parse_format
from bot.services.history import SampleHistory
from storage.memory import InMemoryStore, InMemoryUnitOfWork

OPENED = 1_800_000_000.0
RULE = ThresholdRule("gpu_util_high", "gpu_util", warn=0.85, crit=0.95, recover=0.75)
RULES = {RULE.name: RULE}
LABELS = (("node", "n1"), ("gpu", "3"))


@dataclass
class FakeMetricHistory:
    """Answers range queries with canned series, or raises ``error``."""

    series: list[RangeSeries] = field(default_factory=list)
    error: Exception | None = None
    source: str = "Prometheus"
    asked: list[tuple[str, float, float]] = field(default_factory=list)

    async def query_range(
        self, promql: str, *, start: float, end: float, step_s: float
    ) -> list[RangeSeries]:
        assert step_s > 0
        self.asked.append((promql, start, end))
        if self.error is not None:
            raise self.error
        return self.series


@pytest.fixture
def store() -> InMemoryStore:
    store = InMemoryStore()
    fired = Alert(
        "fp1", RULE.name, LABELS, AlertState.FIRING, Level.CRIT, 0.97, OPENED - 5, fired_at=OPENED
    )
    with InMemoryUnitOfWork(store) as tx:
        incident = tx.incidents.create(
            title="GPU 3 on n1 at 97 %",
            severity=Severity.P2,
            group_key="node:n1",
            created_at=OPENED,
        )
        tx.alerts.upsert(fired, incident_id=incident.id)
        for at, value in ((OPENED, 0.97), (OPENED + 120, 0.99)):
            alert = Alert("fp1", RULE.name, LABELS, AlertState.FIRING, Level.CRIT, value, OPENED)
            tx.timeline.append(TimelineEntry(1, at, "alert.fired", "fired", data=observed(alert)))
        tx.commit()
    return store


async def export(store: InMemoryStore, fmt: ExportFormat, history=None):
    return await export_incident(
        incident_id=1,
        fmt=fmt,
        uow=lambda: InMemoryUnitOfWork(store),
        rules=RULES,
        history=history,
        now=OPENED + 600,
    )


async def test_each_format_renders_the_incident_under_its_file_name(store):
    for fmt in ExportFormat:
        file = await export(store, fmt)
        expected = f"INC-1-timeline.{fmt.value}"
        if fmt is ExportFormat.POSTMORTEM:
            expected = "INC-1-postmortem.md"
        assert file.filename == expected
        assert "INC-1" in file.content
    record = json.loads((await export(store, ExportFormat.JSON)).content)
    assert record["timeline"][0]["data"] == {"fingerprint": "fp1", "value": "0.97"}
    rows = list(csv.reader(io.StringIO((await export(store, ExportFormat.CSV)).content)))
    assert len(rows) == 3


async def test_without_history_the_chart_shows_the_values_observed_at_transitions(store):
    page = (await export(store, ExportFormat.HTML)).content
    assert page.count('<circle class="point"') == 2
    assert "values the bot observed at the alert&#x27;s transitions" in page
    assert "no metric history is configured" in page


async def test_with_history_the_chart_shows_the_range_query_of_the_alert_series(store):
    history = FakeMetricHistory(
        series=[
            ({"node": "n2", "gpu": "3"}, [(OPENED, 0.1)]),
            (
                {"node": "n1", "gpu": "3", "job": "agent"},
                [(OPENED + t, 0.9) for t in range(0, 60, 5)],
            ),
        ]
    )
    page = (await export(store, ExportFormat.HTML, history)).content
    assert history.asked == [('gpu_util{node="n1",gpu="3"}', OPENED - 900, OPENED + 600)]
    assert page.count('<circle class="point"') == 12
    assert "from Prometheus" in page


async def test_without_prometheus_the_bot_charts_its_recent_samples(store):
    recent = SampleHistory()
    for t in range(-300, 120, 5):  # one sample per 5 s kept: 84 points in the window
        for node in ("n1", "n2"):
            key = SeriesKey.of("gpu_util", {"node": node, "gpu": "3"})
            recent.record([Sample(key, OPENED + t, 0.5 if t < 0 else 0.97)])
    page = (await export(store, ExportFormat.HTML, recent)).content
    assert page.count('<circle class="point"') == 84
    assert "from the bot&#x27;s recent samples" in page or "from the bot's recent samples" in page


async def test_the_bots_own_history_answers_plain_selectors_only():
    recent = SampleHistory()
    with pytest.raises(AdapterError, match="plain selectors only"):
        await recent.query_range("max(gpu_util)", start=0, end=1, step_s=1)
    with pytest.raises(AdapterError, match="plain selectors only"):
        await recent.query_range("rate(gpu_util[5m])", start=0, end=1, step_s=1)


@pytest.mark.parametrize(
    ("history", "why"),
    [
        (FakeMetricHistory(), "Prometheus has no data for"),
        (FakeMetricHistory([(dict(LABELS), [(OPENED, 0.9)])]), "Prometheus has a single point"),
        (FakeMetricHistory(error=AdapterError("connection refused")), "connection refused"),
    ],
)
async def test_when_history_has_nothing_the_chart_falls_back_and_says_why(store, history, why):
    page = (await export(store, ExportFormat.HTML, history)).content
    assert page.count('<circle class="point"') == 2
    assert why in page


async def test_only_html_asks_the_history(store):
    history = FakeMetricHistory()
    await export(store, ExportFormat.MARKDOWN, history)
    assert history.asked == []


async def test_an_unknown_incident_is_not_found(store):
    with pytest.raises(NotFound):
        await export_incident(
            incident_id=7,
            fmt=ExportFormat.MARKDOWN,
            uow=lambda: InMemoryUnitOfWork(store),
            rules=RULES,
            history=None,
            now=OPENED,
        )


def test_formats_parse_in_any_case_and_a_bad_one_lists_the_choices():
    assert parse_format("HTML") is ExportFormat.HTML
    with pytest.raises(UserError, match="md, json, csv, html"):
        parse_format("pdf")
