"""Injected faults, uploaded files and the change feed."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.slack.changes import Changes
from sandbox.slack.errors import NotFound, SlackError
from sandbox.slack.faults import Fault, Faults
from sandbox.slack.files import Files


def test_faults_fire_count_times_in_order_per_method() -> None:
    faults = Faults()
    faults.add(Fault("chat.postMessage", "ratelimited", count=2, retry_after=3))
    faults.add(Fault("chat.postMessage", "internal_error", count=1, http_status=500))
    fired = [faults.take("chat.postMessage") for _ in range(4)]
    assert [(f.error, f.status) if f else None for f in fired] == [
        ("ratelimited", 429),
        ("ratelimited", 429),
        ("internal_error", 500),
        None,
    ]
    assert faults.take("auth.test") is None


def test_pending_faults_are_listed_and_cleared() -> None:
    faults = Faults()
    faults.add(Fault("auth.test", "token_revoked", count=3))
    faults.take("auth.test")
    assert [fault.to_json()["count"] for fault in faults.pending()] == [2]
    faults.clear()
    assert faults.pending() == []


def test_files_complete_only_after_their_bytes_arrive() -> None:
    files = Files()
    file = files.reserve(name="t.md", length=2, created=1, user="U0GPUWARDEN", base_url="http://x")
    with pytest.raises(SlackError, match="file_not_found"):
        files.complete(file.id, "Timeline")
    with pytest.raises(SlackError, match="file_not_found"):
        files.get(file.id)
    files.receive(file.id, b"hi")
    assert files.complete(file.id, None).title == "t.md"
    assert files.get(file.id).to_api()["url_private"] == f"http://x/_sandbox/files/{file.id}/t.md"
    with pytest.raises(NotFound):
        files.receive(file.id, b"again")


def test_a_bump_wakes_a_waiting_stream() -> None:
    async def scenario() -> tuple[int, int]:
        changes = Changes()
        waiting = asyncio.ensure_future(changes.wait(0, within=5))
        await asyncio.sleep(0)
        changes.bump("message")
        woke = await waiting
        idle = await changes.wait(woke, within=0.01)
        return woke, idle

    assert asyncio.run(scenario()) == (1, 1)
