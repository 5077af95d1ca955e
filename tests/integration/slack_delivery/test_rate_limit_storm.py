"""A 429 storm while incidents open and change: nothing is lost, every thread stays in order.

Bot and Slack sandbox run as processes on PostgreSQL. The sandbox answers many
``chat.postMessage`` and ``chat.update`` calls with HTTP 429 + Retry-After while several nodes'
agents push at once; the bot's per-channel outbox must wait each storm out and send every root
message, update and thread reply, each thread in the order of the incident's timeline.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.slack_delivery.conftest import DeliveryWorld, wait_for

pytestmark = pytest.mark.postgres

NODES = ("gpu-node-1", "gpu-node-2", "gpu-node-3", "gpu-node-4")
GPUS = (0, 1, 2)
TIME_PREFIX = re.compile(r"^`[^`]+` ")
COUNTDOWN_EVERY_S = 3.0


def _push_all(world: DeliveryWorld, value: float, *, at: float) -> None:
    """Every GPU of every node reports at once, as a fleet's agents do."""
    with ThreadPoolExecutor(len(NODES) * len(GPUS)) as pool:
        pushes = [
            pool.submit(world.push, node, gpu, value, at=at) for node in NODES for gpu in GPUS
        ]
        for push in pushes:
            push.result()


def _thread_entries(world: DeliveryWorld) -> dict[str, list[str]]:
    """Each incident root's thread replies, without their time prefix, by incident ref."""
    threads = {}
    for message in world.messages():
        ref = re.search(r"INC-\d+", message["text"])
        assert ref, message["text"]
        assert ref.group() not in threads, f"{ref.group()} was posted twice"
        threads[ref.group()] = [TIME_PREFIX.sub("", r["text"]) for r in message["replies"]]
    return threads


def _timeline_in_slack(world: DeliveryWorld, incident_id: int) -> list[str]:
    """The timeline entries the bot shows in the thread (the opening is the root itself)."""
    return [
        entry["text"]
        for entry in world.timeline(incident_id)
        if entry["kind"] != "incident.opened" and not entry["kind"].endswith(".quiet")
    ]


def test_a_429_storm_loses_no_message_and_keeps_every_thread_in_order(
    slack_world: Callable[..., DeliveryWorld],
) -> None:
    world = slack_world(GPUWARDEN_SLACK_COUNTDOWN_INTERVAL=f"{COUNTDOWN_EVERY_S:g}s")
    # a short storm with a real wait, then a long one that asks for no wait at all
    world.fault("chat.postMessage", "ratelimited", count=2, retry_after=1)
    world.fault("chat.postMessage", "ratelimited", count=40, retry_after=0)
    world.fault("chat.update", "ratelimited", count=1, retry_after=1)
    world.fault("chat.update", "ratelimited", count=20, retry_after=0)

    now = time.time()
    _push_all(world, 0.97, at=now)  # every GPU fires: one incident per node
    _push_all(world, 0.50, at=now + 1)  # and recovers

    assert world.pending_faults() == []  # the whole storm was answered
    refused = [c for c in world.calls("chat.postMessage") if c["error"] == "ratelimited"]
    assert len(refused) == 42

    incidents = world.incidents()
    assert sorted(i["ref"] for i in incidents) == [f"INC-{n}" for n in range(1, len(NODES) + 1)]
    expected = {i["ref"]: _timeline_in_slack(world, i["id"]) for i in incidents}
    assert all(len(entries) >= 2 * len(GPUS) for entries in expected.values())
    threads = wait_for(
        lambda: (t := _thread_entries(world)) == expected and t,
        timeout_s=30,
        what="every timeline entry in its thread",
    )
    assert threads == expected  # nothing lost, nothing doubled, each thread in timeline order
    assert "recovered" in str(world.messages()[0]["blocks"])  # the last update won
    assert "retrying" in world.bot.output()
    _assert_countdown_refreshes_are_spaced(world)


def _assert_countdown_refreshes_are_spaced(world: DeliveryWorld) -> None:
    """Countdown refreshes come through chat.update no more than once per interval a message."""
    time.sleep(3 * COUNTDOWN_EVERY_S)
    updates = [c for c in world.calls("chat.update") if c["error"] is None]
    for root in world.messages():
        ts = root["ts"]
        last_change = max(c["at"] for c in world.calls("chat.postMessage") if c["thread_ts"] == ts)
        # the storm's own updates are done once its last reply is in; what follows is countdown
        refreshes = [c["at"] for c in updates if c["ts"] == ts and c["at"] > last_change]
        assert len(refreshes) >= 2, f"too few countdown refreshes of {root['text']}"
        gaps = [b - a for a, b in itertools.pairwise(refreshes)]
        assert all(gap >= COUNTDOWN_EVERY_S * 0.9 for gap in gaps), gaps
