"""Watched levels: bands, crossings, the bot's answer, the poller, the loop shipping at once."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx
import pytest

from agent.runner import AgentLoop, StopFlag
from agent.watch import Level, LevelPoller, LevelsError, WatchedLevels, parse_levels
from agent.wire import GPU_UTILIZATION, NodeEvent, Reading

from .conftest import FakeBot, FakeClock
from .test_runner import _shipper

UTIL = Level("gpu_utilization_high", GPU_UTILIZATION, (), warn=0.85, crit=0.95, recover=0.75)
TTFT = Level(
    "ttft_p99_high",
    "gpuwarden_serving_time_to_first_token_seconds",
    (("percentile", "99"),),
    warn=0.18,
    crit=0.25,
    recover=0.15,
)
ANSWER = {
    "levels": [
        {
            "rule": "gpu_utilization_high",
            "metric": GPU_UTILIZATION,
            "match": {},
            "warn": 0.85,
            "crit": 0.95,
            "recover": 0.75,
        }
    ],
    "refresh_s": 30.0,
}


def _util(value: float, gpu: str = "0", ts: float = 0.0) -> Reading:
    return Reading(GPU_UTILIZATION, {"gpu": gpu}, ts, value)


@pytest.mark.parametrize(
    ("values", "bands"),
    [
        ([0.5, 0.9, 0.97, 0.9, 0.8, 0.7], [0, 1, 2, 1, 1, 0]),  # 0.8: still warn (hysteresis)
        ([0.5, 0.99, 0.76, 0.75], [0, 2, 1, 0]),  # recover is inclusive, as the bot's
        ([0.8, 0.84, 0.8], [0, 0, 0]),  # between recover and warn without having fired
    ],
)
def test_band_follows_warn_crit_and_recover_like_the_bots_hysteresis(values, bands):
    seen, band = [], 0
    for value in values:
        band = UTIL.band(value, band)
        seen.append(band)

    assert seen == bands


SERVING_UP = Level("model_unavailable", "gpuwarden_serving_up", (), warn=0.5, crit=0.5, recover=1)
HIT_RATE = Level("cache_hits_low", "hit_ratio", (), warn=0.6, crit=0.4, recover=0.7)


@pytest.mark.parametrize(
    ("level", "values", "bands"),
    [
        (SERVING_UP, [1, 0, 0, 1], [0, 2, 2, 0]),
        # mirrored: 0.65 is between warn and recover, so a warn keeps; recover is inclusive
        (HIT_RATE, [0.8, 0.55, 0.3, 0.5, 0.65, 0.7], [0, 1, 2, 1, 1, 0]),
        (HIT_RATE, [0.65, 0.62, 0.9], [0, 0, 0]),  # between warn and recover without having fired
    ],
)
def test_a_level_whose_recover_is_above_warn_is_for_a_signal_where_lower_is_worse(
    level, values, bands
):
    seen, band = [], 0
    for value in values:
        band = level.band(value, band)
        seen.append(band)

    assert level.lower_is_worse
    assert not UTIL.lower_is_worse
    assert seen == bands


def test_check_reports_each_crossing_once_per_series():
    levels = WatchedLevels([UTIL])

    assert levels.check("n1", [_util(0.5), _util(0.5, "1")]) == []
    crossed = levels.check("n1", [_util(0.96), _util(0.5, "1")])
    assert [(c.reading.labels["gpu"], c.before, c.after) for c in crossed] == [("0", 0, 2)]
    assert levels.check("n1", [_util(0.97)]) == []  # same band: nothing new
    assert [(c.before, c.after) for c in levels.check("n1", [_util(0.7)])] == [(2, 0)]
    assert [c.after for c in levels.check("n2", [_util(0.96)])] == [2]  # another node's series


def test_a_level_with_matchers_watches_only_matching_series():
    levels = WatchedLevels([TTFT])
    p95 = Reading(TTFT.metric, {"percentile": "95"}, 0.0, 0.4)
    p99 = Reading(TTFT.metric, {"percentile": "99"}, 0.0, 0.4)

    assert [c.reading for c in levels.check("n1", [p95, p99])] == [p99]
    assert levels.metrics == {TTFT.metric}


def test_replacing_levels_keeps_the_band_of_a_level_that_stays():
    levels = WatchedLevels([UTIL])
    levels.check("n1", [_util(0.96)])

    levels.replace([UTIL, TTFT])
    assert levels.check("n1", [_util(0.97)]) == []
    levels.replace([TTFT])
    assert levels.metrics == {TTFT.metric}
    assert levels.check("n1", [_util(0.97)]) == []


def test_parses_the_bots_answer():
    levels, refresh = parse_levels(ANSWER)

    assert levels == (UTIL,)
    assert refresh == 30.0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "expected an object with a list 'levels'"),
        ({"levels": [], "refresh_s": 0}, "'refresh_s' must be a number of seconds > 0, got 0"),
        ({"levels": [{"rule": "r"}]}, "level 0: expected an object with rule, metric, match"),
        (
            {"levels": [{**ANSWER["levels"][0], "warn": "high"}]},
            "level 0: 'warn' must be a finite number, got 'high'",
        ),
        (
            {"levels": [{**ANSWER["levels"][0], "match": {"gpu": 1}}]},
            "level 0: 'match' must map label names to strings",
        ),
    ],
)
def test_refuses_a_malformed_answer_naming_what_is_wrong(payload, message):
    with pytest.raises(LevelsError, match=message):
        parse_levels(payload)


def test_poller_puts_the_levels_in_force_and_keeps_them_when_the_bot_is_away(caplog):
    answers = [httpx.Response(200, json=ANSWER), httpx.Response(503), httpx.Response(503)]
    seen: list[httpx.Request] = []

    def bot(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    levels = WatchedLevels()
    with (
        LevelPoller(
            "http://bot.test/api/v1/agent/watch", "tok", levels, transport=httpx.MockTransport(bot)
        ) as poller,
        caplog.at_level(logging.INFO),
    ):
        assert poller.fetch() == 30.0
        assert levels.metrics == {GPU_UTILIZATION}
        assert poller.fetch() == 5.0
        assert poller.fetch() == 5.0

    assert levels.metrics == {GPU_UTILIZATION}
    assert seen[0].headers["Authorization"] == "Bearer tok"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "keeping the 1 metric(s) watched" in warnings[0].getMessage()


class SteppedSource:
    """One node, one GPU whose utilisation steps to `high` at `step_at`; counts collections."""

    node = "gpu-node-1"
    gpu_count = 1

    def __init__(self, clock: FakeClock, step_at: float, high: float = 0.99) -> None:
        self._clock, self._step_at, self._high = clock, step_at, high
        self.collections = 0

    def _value(self, now: float) -> float:
        return self._high if now >= self._step_at else 0.5

    def collect(self, now: float) -> tuple[Sequence[Reading], Sequence[NodeEvent]]:
        self.collections += 1
        return [_util(self._value(now), ts=now)], []

    def sample(self, now: float, metrics: frozenset[str]) -> Sequence[Reading]:
        return [_util(self._value(now), ts=now)] if GPU_UTILIZATION in metrics else []


def _run(clock: FakeClock, source, *, watched, until: float) -> FakeBot:
    bot = FakeBot()
    stop = StopFlag()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now >= until:
            stop.request("test")

    with _shipper(bot, clock) as shipper:
        AgentLoop(
            sources=[source],
            shipper=shipper,
            stop=stop,
            interval_s=5.0,
            watched=watched,
            watch_interval_s=0.25,
            clock=clock,
            sleep=sleep,
        ).run()
    return bot


def test_a_crossing_between_ticks_leaves_at_the_next_sample_not_the_next_tick(clock):
    start = clock.now
    source = SteppedSource(clock, step_at=start + 1.1)

    bot = _run(clock, source, watched=WatchedLevels([UTIL]), until=start + 6)

    sent = [(p["sent_at"] - start, [s["value"] for s in p["samples"]]) for p in bot.payloads()]
    assert sent[0] == (0.0, [0.5])  # the tick at 0
    assert sent[1] == (pytest.approx(1.25), [0.99])  # the crossing, alone, at the next sample
    assert sent[2] == (5.0, [0.99])  # the tick at 5 as usual
    assert bot.payloads()[1]["events"] == []  # no heartbeat: the tick's batch carries it
    assert source.collections == 2


def test_without_watched_levels_the_step_waits_for_the_tick(clock):
    start = clock.now
    bot = _run(clock, SteppedSource(clock, step_at=start + 1.1), watched=None, until=start + 6)

    assert [p["sent_at"] - start for p in bot.payloads()] == [0.0, 5.0]
