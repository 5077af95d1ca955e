"""The per-channel outbox: order, Retry-After, bounded retries, permanent errors, fake time."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import ClientConnectionError

from bot.adapters.slack.outbox import RetryPolicy, SlackOutbox
from bot.core.errors import AdapterError
from tests.unit.adapters.slack_fakes import FakeSlack, FakeTime, failure, settle


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


def outbox_on(time_: FakeTime, **policy: float) -> SlackOutbox:
    return SlackOutbox(
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
        sleep=time_.sleep,
        monotonic=time_.monotonic,
    )


async def test_sends_a_channels_calls_one_at_a_time_in_the_order_submitted(time_):
    slack, outbox = FakeSlack(), outbox_on(time_)
    texts = [f"entry {n}" for n in range(10)]
    answers = await asyncio.gather(*(outbox.send("C1", t, slack.post("C1", t)) for t in texts))
    assert slack.sent == [("C1", t) for t in texts]
    assert slack.most_in_flight == 1
    assert [a["ts"] for a in answers] == [f"{n}.0" for n in range(1, 11)]  # each gets its own


async def test_429_waits_retry_after_then_resends_the_same_call_while_other_channels_go_on(time_):
    slack, outbox = FakeSlack(), outbox_on(time_)
    slack.fail("C1", failure("ratelimited", status=429, retry_after="30"), times=2)
    first = asyncio.create_task(outbox.send("C1", "one", slack.post("C1", "one")))
    second = asyncio.create_task(outbox.send("C1", "two", slack.post("C1", "two")))
    await settle()
    assert outbox.throttled("C1")
    assert outbox.backlog("C1") == 2

    await outbox.send("C2", "elsewhere", slack.post("C2", "elsewhere"))  # not held up by C1
    assert slack.sent == [("C2", "elsewhere")]

    await time_.advance(29)
    assert slack.sent == [("C2", "elsewhere")]  # still waiting: Retry-After is honoured
    await time_.advance(1)
    await time_.advance(30)  # the second 429 asked for another 30 s
    await asyncio.gather(first, second)
    assert slack.sent == [("C2", "elsewhere"), ("C1", "one"), ("C1", "two")]
    assert slack.attempts.count(("C1", "one")) == 3
    assert time_.sleeps == [30.0, 30.0]
    assert not outbox.throttled("C1")
    assert outbox.backlog("C1") == 0


async def test_rate_limited_error_in_a_200_answer_is_waited_out_too(time_):
    slack, outbox = FakeSlack(), outbox_on(time_, backoff_s=2)
    slack.fail("C1", failure("rate_limited"))
    task = asyncio.create_task(outbox.send("C1", "x", slack.post("C1", "x")))
    await settle()
    await time_.advance(2)
    await task
    assert slack.sent == [("C1", "x")]
    assert time_.sleeps == [2.0]


@pytest.mark.parametrize(
    "transient",
    [
        failure("internal_error", status=500),
        failure("", status=503),
        failure("fatal_error"),
        ClientConnectionError("connection reset"),
        TimeoutError(),
    ],
    ids=["500", "503", "fatal_error", "connection-reset", "timeout"],
)
async def test_transient_errors_are_retried_with_exponential_backoff(time_, transient):
    slack, outbox = FakeSlack(), outbox_on(time_, attempts=4, backoff_s=1)
    slack.fail("C1", transient, times=3)
    task = asyncio.create_task(outbox.send("C1", "x", slack.post("C1", "x")))
    for wait in (1, 2, 4):
        await settle()
        await time_.advance(wait)
    await task
    assert time_.sleeps == [1.0, 2.0, 4.0]
    assert slack.sent == [("C1", "x")]


async def test_transient_errors_give_up_after_the_attempts_and_the_queue_moves_on(time_, caplog):
    slack, outbox = FakeSlack(), outbox_on(time_, attempts=3, backoff_s=1)
    slack.fail("C1", failure("internal_error", status=500), times=3)
    doomed = asyncio.create_task(outbox.send("C1", "doomed", slack.post("C1", "doomed")))
    after = asyncio.create_task(outbox.send("C1", "after", slack.post("C1", "after")))
    for wait in (1, 2):
        await settle()
        await time_.advance(wait)
    with pytest.raises(AdapterError, match="doomed failed 3 times: internal_error"):
        await doomed
    await after
    assert slack.sent == [("C1", "after")]
    assert "doomed in C1 failed 3 times" in caplog.text


@pytest.mark.parametrize(
    "error", ["channel_not_found", "invalid_auth", "msg_too_long", "invalid_blocks"]
)
async def test_permanent_error_is_logged_and_raised_at_once_and_the_queue_moves_on(
    time_, caplog, error
):
    slack, outbox = FakeSlack(), outbox_on(time_)
    slack.fail("C1", failure(error))
    caplog.set_level(logging.ERROR)
    bad = asyncio.create_task(outbox.send("C1", "reply for INC-1", slack.post("C1", "bad")))
    good = asyncio.create_task(outbox.send("C1", "next", slack.post("C1", "good")))
    with pytest.raises(AdapterError, match=f"reply for INC-1 failed: {error}"):
        await bad
    await good
    assert time_.sleeps == []  # never retried
    assert slack.attempts == [("C1", "bad"), ("C1", "good")]
    assert f"Slack refused reply for INC-1 in C1: {error}" in caplog.text


async def test_a_storm_that_never_ends_gives_up_after_the_time_limit(time_):
    slack, outbox = FakeSlack(), outbox_on(time_, give_up_after_s=100)
    slack.fail("C1", failure("ratelimited", status=429, retry_after="40"), times=10)
    task = asyncio.create_task(outbox.send("C1", "x", slack.post("C1", "x")))
    for _ in range(2):
        await settle()
        await time_.advance(40)
    with pytest.raises(AdapterError, match="gave up waiting: ratelimited"):
        await task
    assert time_.sleeps == [40.0, 40.0]  # a third wait would pass the 100 s limit


async def test_a_queued_update_of_the_same_message_is_replaced_not_piled_up(time_):
    slack, outbox = FakeSlack(), outbox_on(time_)
    slack.fail("C1", failure("ratelimited", status=429, retry_after="5"))
    reply = asyncio.create_task(outbox.send("C1", "reply", slack.post("C1", "reply")))
    await settle()
    updates = [
        asyncio.create_task(
            outbox.send("C1", f"update {n}", slack.post("C1", f"render {n}"), replaces="update:1")
        )
        for n in range(3)
    ]
    await settle()
    assert outbox.backlog("C1") == 2  # the reply in flight and one update
    await time_.advance(5)
    await asyncio.gather(reply, *updates)
    assert slack.sent == [("C1", "reply"), ("C1", "render 2")]


async def test_a_call_still_goes_out_when_its_caller_stops_waiting(time_):
    slack, outbox = FakeSlack(), outbox_on(time_)
    slack.fail("C1", failure("ratelimited", status=429, retry_after="1"))
    caller = asyncio.create_task(outbox.send("C1", "x", slack.post("C1", "x")))
    await settle()
    caller.cancel()
    await time_.advance(1)
    assert slack.sent == [("C1", "x")]


async def test_drain_waits_for_queued_calls_but_not_forever(time_, caplog):
    slack, outbox = FakeSlack(), outbox_on(time_)
    slack.fail("C1", failure("ratelimited", status=429, retry_after="60"))
    caller = asyncio.create_task(outbox.send("C1", "x", slack.post("C1", "x")))
    await settle()
    await outbox.drain(within_s=0.01)  # the 60 s Retry-After outlasts it
    assert outbox.backlog("C1") == 1
    assert "1 Slack calls still queued" in caplog.text
    await time_.advance(60)
    await outbox.drain(within_s=1)
    assert caller.done()
    assert slack.sent == [("C1", "x")]
