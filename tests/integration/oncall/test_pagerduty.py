"""The PagerDuty pager against a local Events API v2 stand-in that checks events as PagerDuty does.

The stand-in answers 202 to a valid event and 400 ("invalid event", with its errors) to one
PagerDuty would refuse; failures to inject (503, 429) are queued per test. The end-to-end case
runs :func:`page_outside` on a migrated SQLite database: a failed send is retried on the next
run, and nothing is ever sent twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.adapters.pagerduty import PagerDutyPager
from bot.config.files import load_config
from bot.core.errors import AdapterError
from bot.core.escalation import OutsidePage, PagerAction
from bot.core.incidents import Incident, IncidentAction, Severity, apply
from bot.services.escalation import page_outside
from sandbox.serving import ServerThread
from storage.engine import create_engine_for, default_sqlite_url
from storage.migrate import upgrade
from storage.repositories import SqlUnitOfWork
from tests.fakes import FakeNotifier

ROUTING_KEY = "R0UT1NGKEY0123456789ABCDEFGHIJKL"  # 32 characters, as PagerDuty issues them
SEVERITIES = {"critical", "error", "warning", "info"}
ACTIONS = {"trigger", "acknowledge", "resolve"}


class EventsApi:
    """What PagerDuty's ``POST /v2/enqueue`` accepts, and what it received."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.fail_next: list[int] = []  # status codes to answer instead, in order
        self.app = FastAPI()
        self.app.post("/v2/enqueue")(self.enqueue)

    async def enqueue(self, request: Request) -> JSONResponse:
        if self.fail_next:
            status = self.fail_next.pop(0)
            return JSONResponse({"status": "throttled", "message": "try again"}, status)
        try:
            event = await request.json()
        except ValueError:
            return _invalid(["Body is not valid JSON"])
        errors = _problems(event) if isinstance(event, dict) else ["Event must be an object"]
        if errors:
            return _invalid(errors)
        self.accepted.append(event)
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]},
            202,
        )


def _invalid(errors: list[str]) -> JSONResponse:
    return JSONResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors}, 400
    )


def _problems(event: dict[str, Any]) -> list[str]:
    errors = []
    if not re.fullmatch(r"[A-Za-z0-9]{32}", str(event.get("routing_key", ""))):
        errors.append("'routing_key' is invalid")
    if event.get("event_action") not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    dedup = event.get("dedup_key")
    if event.get("event_action") != "trigger" and not dedup:
        errors.append("'dedup_key' is missing")
    if dedup is not None and not (isinstance(dedup, str) and 0 < len(dedup) <= 255):
        errors.append("'dedup_key' is invalid")
    if event.get("event_action") == "trigger":
        errors += _payload_problems(event.get("payload"))
    return errors


def _payload_problems(payload: object) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing"]
    errors = []
    summary = payload.get("summary")
    if not (isinstance(summary, str) and 0 < len(summary) <= 1024):
        errors.append("'payload.summary' is missing or too long")
    if not payload.get("source"):
        errors.append("'payload.source' is missing")
    if payload.get("severity") not in SEVERITIES:
        errors.append("'payload.severity' is invalid")
    if "timestamp" in payload:
        try:
            datetime.fromisoformat(str(payload["timestamp"]))
        except ValueError:
            errors.append("'payload.timestamp' is not ISO 8601")
    return errors


@pytest.fixture
def events() -> Iterator[tuple[EventsApi, str]]:
    api = EventsApi()
    with ServerThread(api.app) as server:
        yield api, server.url


def _page(action: PagerAction, summary: str = "INC-1 (P1): vLLM down") -> OutsidePage:
    return OutsidePage(1, action, "INC-1", summary, "critical", 1_800_000_000.0)


async def test_trigger_acknowledge_and_resolve_have_the_shape_pagerduty_accepts(events):
    api, url = events
    pager = PagerDutyPager(routing_key=ROUTING_KEY, url=url)
    for action in PagerAction:
        receipt = await pager.send(_page(action))
        assert receipt.accepted, receipt.detail

    trigger, ack, resolve = api.accepted
    assert trigger["payload"] == {
        "summary": "INC-1 (P1): vLLM down",
        "source": "gpuwarden",
        "severity": "critical",
        "timestamp": "2027-01-15T08:00:00+00:00",
        "class": "incident",
        "custom_details": {"incident": "INC-1"},
    }
    assert ack == {"routing_key": ROUTING_KEY, "event_action": "acknowledge", "dedup_key": "INC-1"}
    assert resolve["event_action"] == "resolve"


async def test_an_event_pagerduty_refuses_comes_back_with_its_reasons(events):
    _, url = events
    pager = PagerDutyPager(routing_key="not-a-key", url=url)
    receipt = await pager.send(_page(PagerAction.TRIGGER, summary=""))
    assert not receipt.accepted
    assert receipt.detail.startswith("Event object is invalid: 'routing_key' is invalid")
    assert "'payload.summary' is missing" in receipt.detail


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_throttling_and_server_errors_are_failures_to_retry(events, status: int):
    api, url = events
    api.fail_next = [status]
    with pytest.raises(AdapterError, match=f"HTTP {status}"):
        await PagerDutyPager(routing_key=ROUTING_KEY, url=url).send(_page(PagerAction.TRIGGER))


async def test_an_unreachable_pagerduty_is_a_failure_to_retry():
    pager = PagerDutyPager(routing_key=ROUTING_KEY, url="http://127.0.0.1:9", timeout_s=2)
    with pytest.raises(AdapterError, match="PagerDuty trigger for INC-1"):
        await pager.send(_page(PagerAction.TRIGGER))


async def test_an_incident_reaches_pagerduty_once_per_event_despite_an_outage(
    events, tmp_path: Path
):
    api, url = events
    database = default_sqlite_url(tmp_path / "data")
    upgrade(database)
    engine = create_engine_for(database)
    pager = PagerDutyPager(routing_key=ROUTING_KEY, url=url)
    notifier = FakeNotifier()
    escalation = load_config(None).escalation

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine)

    async def run(now: float) -> None:
        await page_outside(now=now, uow=uow, pager=pager, notifier=notifier, escalation=escalation)

    def change(incident: Incident, action: IncidentAction, now: float) -> Incident:
        with uow() as tx:
            changed = apply(incident, action, actor="U0ALICE", now=now)
            assert tx.incidents.save(changed, expected_version=incident.version)
            tx.commit()
        return changed

    try:
        with uow() as tx:
            incident = tx.incidents.create(
                title="vLLM down", severity=Severity.P1, group_key="node:a", created_at=1000.0
            )
            tx.commit()
        api.fail_next = [503]
        await run(1000.0)  # PagerDuty is down: nothing recorded as sent
        await run(1002.0)
        await run(1004.0)
        incident = change(incident, IncidentAction.ACKNOWLEDGE, 1010.0)
        await run(1010.0)
        change(incident, IncidentAction.RESOLVE, 1020.0)
        await run(1020.0)
        await run(1022.0)
        with uow() as tx:
            kinds = [e.kind for e in tx.timeline.list(incident.id)]
    finally:
        engine.dispose()

    assert [(e["event_action"], e["dedup_key"]) for e in api.accepted] == [
        ("trigger", "INC-1"),
        ("acknowledge", "INC-1"),
        ("resolve", "INC-1"),
    ]
    assert kinds == ["pager.trigger", "pager.acknowledge", "pager.resolve"]
    assert notifier.replies == []
