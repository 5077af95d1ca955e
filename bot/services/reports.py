"""Incident reports: on request (Slack, CLI, API) and posted weekly to the alerts channel.

The weekly post is due every Monday at 09:00 UTC and covers the 7 days before. Each wake-up
works out the latest due time and claims its ISO week's key (``report:2026-W48``) in the
notification ledger, so a restart neither skips the post (a bot that was down at 09:00 posts
when it comes back) nor repeats it (the key is claimed once). Only the latest due week is ever
posted: a bot down for several weeks posts one report when it returns, not a backlog.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot import messages
from bot.core.errors import AdapterError, UserError
from bot.core.incidents import OPEN_STATUSES
from bot.core.policy import SlaPolicy
from bot.core.ports import ReportSink, UnitOfWorkFactory
from bot.core.reports import (
    DAY_S,
    Comparison,
    compare,
    duration_text,
    service_of,
    share_text,
)

log = logging.getLogger(__name__)
WINDOWS = (7, 30)  # the report windows people can ask for, in days
MAX_INCIDENTS = 5000  # a report reads at most this many incidents, newest first
WEEKLY_DAYS = 7
WEEKLY_WEEKDAY, WEEKLY_HOUR = 0, 9  # Monday 09:00 UTC


def parse_window(text: str) -> int:
    """``7d``, ``30d`` (or ``7``, ``30``) as days; a UserError names the choices."""
    word = text.strip().lower().removesuffix("d")
    if word.isdigit() and int(word) in WINDOWS:
        return int(word)
    choices = ", ".join(f"{days}d" for days in WINDOWS)
    raise UserError(messages.BAD_REPORT_WINDOW.format(text=text, windows=choices))


def build_report(*, uow: UnitOfWorkFactory, sla: SlaPolicy, days: int, now: float) -> Comparison:
    """The last ``days`` days up to ``now`` beside the ``days`` before.

    Reads the newest :data:`MAX_INCIDENTS` incidents; the result says when older incidents that
    the windows reach were left out.
    """
    since = now - 2 * days * DAY_S
    with uow() as tx:
        incidents = tx.incidents.list(limit=MAX_INCIDENTS)
        relevant = [
            i
            for i in incidents
            if i.created_at >= since or i.status in OPEN_STATUSES or (i.resolved_at or 0) >= since
        ]
        services = {i.id: service_of(i, tx.alerts.for_incident(i.id)) for i in relevant}
    complete = len(incidents) < MAX_INCIDENTS or incidents[-1].created_at < since
    return compare(relevant, policy=sla, days=days, now=now, services=services, complete=complete)


def weekly_due(now: float) -> tuple[str, float]:
    """The latest weekly due time at or before ``now``, with its idempotency key."""
    at = datetime.fromtimestamp(now, tz=UTC)
    due = (at - timedelta(days=(at.weekday() - WEEKLY_WEEKDAY) % 7)).replace(
        hour=WEEKLY_HOUR, minute=0, second=0, microsecond=0
    )
    if due > at:
        due -= timedelta(days=7)
    year, week, _ = due.isocalendar()
    return f"report:{year}-W{week:02d}", due.timestamp()


class WeeklyReport:
    """Posts the weekly report once per ISO week; ``run`` is called on every scheduler wake-up.

    A week is reported only if the bot has history from before its due time (an incident opened
    earlier), so a fresh installation does not post an empty report of the days before it
    existed. Which week was last decided is remembered, so most wake-ups touch no table.
    """

    def __init__(self, *, uow: UnitOfWorkFactory, sla: SlaPolicy, sink: ReportSink) -> None:
        self._uow = uow
        self._sla = sla
        self._sink = sink
        self._decided: str | None = None

    async def run(self, *, now: float) -> str | None:
        """Post the report that fell due last, unless decided before; its key if posted."""
        key, due = weekly_due(now)
        if key == self._decided:
            return None
        with self._uow() as tx:
            newest = tx.incidents.list(limit=MAX_INCIDENTS)
        if len(newest) < MAX_INCIDENTS and all(i.created_at >= due for i in newest):
            self._decided = key  # no history before the due time: nothing to report on
            return None
        with self._uow() as tx:
            claimed = tx.notifications.claim(
                key, incident_id=None, kind="report", due_at=due, now=now
            )
            tx.commit()
        if not claimed:
            self._decided = key  # posted before (or by a process that died while posting)
            return None
        comparison = build_report(uow=self._uow, sla=self._sla, days=WEEKLY_DAYS, now=due)
        try:
            await self._sink.post_report(comparison)
        except AdapterError:
            log.exception("could not post the weekly report %s; trying again later", key)
            with self._uow() as tx:
                tx.notifications.release(key)
                tx.commit()
            return None
        with self._uow() as tx:
            count = comparison.current.overall.count
            tx.notifications.mark_sent(key, now, detail=f"{count} incidents")
            tx.commit()
        self._decided = key
        return key


@dataclass(frozen=True, slots=True)
class ReportView:
    """A comparison as words, chat-neutral: Slack blocks and the CLI's text both show this."""

    window: str
    figures: tuple[tuple[str, str, str], ...]  # (name, now, the window before)
    severities: tuple[str, ...]
    services: tuple[str, ...]
    notes: tuple[str, ...]


def view(comparison: Comparison, *, sla: SlaPolicy) -> ReportView:
    """The words of a report: headline figures, one line per severity and per service."""
    na = messages.REPORT_NOT_APPLICABLE
    now, before = comparison.current, comparison.previous
    figures = (
        (messages.REPORT_INCIDENTS, str(now.overall.count), str(before.overall.count)),
        (
            messages.REPORT_MTTA,
            duration_text(now.overall.mtta_s, none=na),
            duration_text(before.overall.mtta_s, none=na),
        ),
        (
            messages.REPORT_MTTR,
            duration_text(now.overall.mttr_s, none=na),
            duration_text(before.overall.mttr_s, none=na),
        ),
        (
            messages.REPORT_FLEET,
            share_text(now.fleet_availability, none=na, digits=2),
            share_text(before.fleet_availability, none=na, digits=2),
        ),
    )
    severities = tuple(
        messages.REPORT_SEVERITY.format(
            severity=severity,
            count=item.count,
            ack=share_text(item.ack_met, none=na),
            goal=sla.of(severity).resolve_goal,
            met=share_text(item.resolve_met, none=na),
        )
        for severity, item in now.by_severity
    )
    earlier = dict(before.availability)
    services = tuple(
        messages.REPORT_SERVICE.format(
            service=service,
            value=share_text(ratio, none=na, digits=2),
            previous=share_text(earlier.get(service), none=na, digits=2),
        )
        for service, ratio in sorted(now.availability, key=lambda item: (item[1], item[0]))
    )
    window = messages.REPORT_WINDOW.format(
        start=_day(now.start), end=_day(now.end), days=comparison.days
    )
    notes = () if comparison.complete else (messages.REPORT_TRUNCATED.format(limit=MAX_INCIDENTS),)
    return ReportView(window, figures, severities, services, notes)


def to_text(comparison: Comparison, *, sla: SlaPolicy) -> str:
    """The report as plain text for a terminal."""
    shown = view(comparison, sla=sla)
    lines = [messages.REPORT_TITLE.format(days=comparison.days), shown.window, ""]
    lines += [f"{name}: {value} ({previous})" for name, value, previous in shown.figures]
    lines += ["", *(line.replace("*", "") for line in shown.severities)]
    if shown.services:
        lines += ["", messages.REPORT_SERVICES.replace("*", ""), *shown.services]
    lines += list(shown.notes)
    return "\n".join(lines) + "\n"


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
