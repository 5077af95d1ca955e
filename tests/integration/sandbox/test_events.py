"""Live updates: server-sent events on every change, and a reset that starts over."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
from slack_sdk import WebClient

from tests.integration.sandbox.world import act, read


def events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


def test_every_change_is_pushed_as_an_event(web_client: WebClient, sandbox_url: str) -> None:
    with httpx.stream("GET", f"{sandbox_url}/_sandbox/events", timeout=5) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        feed = events(stream.iter_lines())
        first = next(feed)
        web_client.chat_postMessage(channel="general", text="GPU 3 hot")
        assert next(feed) == {"version": first["version"] + 1, "kind": "message"}
        web_client.usergroups_users_update(usergroup="S0GPUONCALL", users="U0CAROL")
        assert next(feed)["kind"] == "usergroup"


def test_reset_starts_over(web_client: WebClient, sandbox_url: str) -> None:
    web_client.chat_postMessage(channel="general", text="before")
    web_client.conversations_open(users="U0BOB")
    act(sandbox_url, "faults", method="auth.test", error="fatal_error")
    assert act(sandbox_url, "reset").json() == {"ok": True}
    assert read(sandbox_url, "messages", channel="general")["messages"] == []
    assert read(sandbox_url, "dm", user="bob")["channel"] is None
    assert web_client.auth_test()["ok"]
