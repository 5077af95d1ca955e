"""Socket Mode against the sandbox with slack_bolt's real aiohttp client, and Slack's retries.

The bot gets an app-level token, opens ``apps.connections.open`` on the sandbox and connects its
websocket; from then on the sandbox sends commands and clicks as envelopes over it, and the
bot's ack payload comes back as Slack would show it. Redeliveries (``retry_attempt`` over the
socket, ``X-Slack-Retry-Num`` over HTTP) and double clicks never acknowledge twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.slack_delivery.conftest import APP_TOKEN, DeliveryWorld, wait_for

pytestmark = pytest.mark.postgres


def _socket_connected(world: DeliveryWorld) -> bool:
    opened = [c for c in world.calls("apps.connections.open") if c["error"] is None]
    return bool(opened) and "Socket Mode connected" in world.bot.output()


def _open_incident(world: DeliveryWorld) -> dict:
    world.push("gpu-node-1", 0, 0.97, at=time.time())
    return wait_for(world.messages, timeout_s=20, what="the incident root")[0]


def _acks_in_thread(world: DeliveryWorld) -> int:
    return sum("Acknowledged by" in r["text"] for r in world.messages()[0]["replies"])


def test_commands_and_clicks_arrive_over_socket_mode_and_retries_change_nothing(
    slack_world: Callable[..., DeliveryWorld],
) -> None:
    # with the access log on, a delivery over HTTP would show as a POST /slack/events line
    world = slack_world(GPUWARDEN_SLACK_APP_TOKEN=APP_TOKEN, GPUWARDEN_ACCESS_LOG="true")
    wait_for(lambda: _socket_connected(world), timeout_s=30, what="the Socket Mode connection")
    root = _open_incident(world)
    assert "POST /api/v1/ingest" in world.bot.output()  # the access log is on

    listed = world.act(
        "command", user="U0BOB", channel="gpu-alerts", command="/incident", text="list"
    )
    assert listed["status"] == 200
    assert "INC-1" in str(listed["ephemeral"])  # the ack payload, shown as Slack shows it
    assert "/slack/events" not in world.bot.output()  # nothing came over HTTP

    click = {"user": "U0ALICE", "channel": "gpu-alerts", "ts": root["ts"]}
    answer = world.act("click", action_id="incident.acknowledge", redeliveries=2, **click)
    assert answer["status"] == 200
    assert [r["status"] for r in answer["redeliveries"]] == [200, 200]
    wait_for(lambda: _acks_in_thread(world), timeout_s=10, what="the ack in the thread")
    time.sleep(1)
    assert _acks_in_thread(world) == 1
    kinds = [e["kind"] for e in world.timeline(1)]
    assert kinds.count("incident.acknowledged") == 1


def test_slack_retries_over_http_and_double_clicks_acknowledge_once(
    slack_world: Callable[..., DeliveryWorld],
) -> None:
    world = slack_world()  # no app token: HTTP mode, signed deliveries
    root = _open_incident(world)
    click = {"user": "U0ALICE", "channel": "gpu-alerts", "ts": root["ts"]}
    with ThreadPoolExecutor(2) as pool:  # a double click, and Slack retrying each delivery
        answers = list(
            pool.map(
                lambda _: world.act(
                    "click", action_id="incident.acknowledge", redeliveries=1, **click
                ),
                range(2),
            )
        )
    statuses = [a["status"] for a in answers] + [
        r["status"] for a in answers for r in a["redeliveries"]
    ]
    assert statuses == [200, 200, 200, 200]
    wait_for(lambda: _acks_in_thread(world), timeout_s=10, what="the ack in the thread")
    time.sleep(1)
    assert _acks_in_thread(world) == 1
    assert [e["kind"] for e in world.timeline(1)].count("incident.acknowledged") == 1
    assert "X-Slack-Retry-Num" not in world.bot.output()  # no error logged for the retries
