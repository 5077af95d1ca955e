"""Reports and the weekly post against the in-memory unit of work and a fake sink."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from bot.config.files import load_config
from bot.core.errors import AdapterError, UserError
from bot.core.incidents import IncidentAction, Severity, apply
from bot.core.reports import Comparison
from bot.services.reports import (
    WeeklyReport,
    build_report,
    parse_window,
    to_text,
    weekly_due,
)
from storage.memory import InMemoryStore, InMemoryUnitOfWork

SLA = load_config(None).sla  # the shipped sla.yaml
MONDAY_9 = datetime(2026, 11, 23, 9, tzinfo=UTC).timestamp()  # ISO week 48 of 2026
DAY = 86400.0


@dataclass
class FakeReportSink:
    down: bool = False
    posted: list[Comparison] = field(default_factory=list)

    async def post_report(self, comparison: Comparison) -> None:
        if self.down:
            raise AdapterError("Slack is down")
        self.posted.append(comparison)


def open_incident(store: InMemoryStore, at: float, *, acked_after: float | None = None) -> None:
    with InMemoryUnitOfWork(store) as tx:
        incident = tx.incidents.create(
            title="t", severity=Severity.P2, group_key="deployment:deepseek", created_at=at
        )
        if acked_after is not None:
            acked = apply(incident, IncidentAction.ACKNOWLEDGE, actor="U1", now=at + acked_after)
            tx.incidents.save(acked, expected_version=incident.version)
        tx.commit()


@pytest.mark.parametrize(
    ("now", "key", "due"),
    [
        (MONDAY_9, "report:2026-W48", MONDAY_9),
        (MONDAY_9 - 1, "report:2026-W47", MONDAY_9 - 7 * DAY),
        (MONDAY_9 + 3.5 * DAY, "report:2026-W48", MONDAY_9),
        (datetime(2027, 1, 4, 9, tzinfo=UTC).timestamp(), "report:2027-W01", None),
    ],
)
def test_the_weekly_report_falls_due_on_monday_at_nine_utc(now, key, due):
    got_key, got_due = weekly_due(now)
    assert got_key == key
    assert got_due == (now if due is None else due)


async def test_the_weekly_report_is_posted_once_per_week_across_restarts():
    store, sink = InMemoryStore(), FakeReportSink()
    open_incident(store, MONDAY_9 - 3 * DAY, acked_after=480)

    def bot() -> WeeklyReport:  # a fresh process each time, as after a restart
        return WeeklyReport(uow=lambda: InMemoryUnitOfWork(store), sla=SLA, sink=sink)

    assert await bot().run(now=MONDAY_9 - 60) is None  # last week had nothing before it
    assert await bot().run(now=MONDAY_9 + 3600) == "report:2026-W48"  # down at 09:00: late
    again = bot()
    assert await again.run(now=MONDAY_9 + 7200) is None
    assert await again.run(now=MONDAY_9 + 7260) is None
    assert len(sink.posted) == 1
    assert sink.posted[0].current.end == MONDAY_9  # the week up to the due time
    assert sink.posted[0].current.overall.mtta_s == 480.0


async def test_a_failed_post_is_tried_again_at_the_next_wake_up():
    store, sink = InMemoryStore(), FakeReportSink(down=True)
    open_incident(store, MONDAY_9 - DAY)
    weekly = WeeklyReport(uow=lambda: InMemoryUnitOfWork(store), sla=SLA, sink=sink)
    assert await weekly.run(now=MONDAY_9) is None
    sink.down = False
    assert await weekly.run(now=MONDAY_9 + 60) == "report:2026-W48"
    assert len(sink.posted) == 1


async def test_a_fresh_installation_posts_no_report_of_the_days_before_it_existed():
    store, sink = InMemoryStore(), FakeReportSink()
    weekly = WeeklyReport(uow=lambda: InMemoryUnitOfWork(store), sla=SLA, sink=sink)
    assert await weekly.run(now=MONDAY_9 + 60) is None
    open_incident(store, MONDAY_9 + 120)  # after the due time: still nothing to report on
    assert await weekly.run(now=MONDAY_9 + 180) is None
    assert sink.posted == []


def test_the_report_compares_the_window_with_the_one_before_and_reads_as_text():
    store = InMemoryStore()
    open_incident(store, MONDAY_9 - 10 * DAY, acked_after=47 * 60)
    open_incident(store, MONDAY_9 - 2 * DAY, acked_after=8 * 60)
    comparison = build_report(uow=lambda: InMemoryUnitOfWork(store), sla=SLA, days=7, now=MONDAY_9)
    assert comparison.complete
    text = to_text(comparison, sla=SLA)
    assert "Mean time to acknowledge: 8 min (47 min)" in text
    assert "Incidents: 1 (1)" in text
    assert "P2: 1 incidents" in text
    assert "deepseek: 100.00 % (100.00 %)" in text


@pytest.mark.parametrize(("text", "days"), [("7d", 7), ("30D", 30), ("7", 7)])
def test_report_windows_parse(text, days):
    assert parse_window(text) == days


def test_a_bad_report_window_lists_the_choices():
    with pytest.raises(UserError, match="7d, 30d"):
        parse_window("1y")
