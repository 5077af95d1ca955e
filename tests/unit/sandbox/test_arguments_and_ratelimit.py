"""Argument coercion, cursor pagination and the per-method rate limiter."""

from __future__ import annotations

import pytest

from sandbox.slack.arguments import Args
from sandbox.slack.errors import SlackError
from sandbox.slack.ratelimit import RateLimiter


def test_paginates_with_opaque_cursors_until_exhausted() -> None:
    items = list(range(5))
    first, cursor = Args({"limit": "2"}).paginate(items, default=100, maximum=1000)
    second, cursor = Args({"limit": 2, "cursor": cursor}).paginate(items, default=100, maximum=1000)
    third, cursor = Args({"limit": 2, "cursor": cursor}).paginate(items, default=100, maximum=1000)
    assert (first, second, third, cursor) == ([0, 1], [2, 3], [4], "")


@pytest.mark.parametrize("cursor", ["garbage!", "b2Zmc2V0Oi0x", "aGVsbG8="])
def test_rejects_foreign_cursors(cursor: str) -> None:
    with pytest.raises(SlackError, match="invalid_cursor"):
        Args({"cursor": cursor}).paginate([1], default=1, maximum=1)


def test_limit_is_clamped_to_the_method_maximum() -> None:
    assert Args({"limit": "5000"}).limit(default=100, maximum=1000) == 1000
    assert Args({}).limit(default=100, maximum=1000) == 100


def test_required_argument_missing_is_invalid_arguments() -> None:
    with pytest.raises(SlackError) as caught:
        Args({"channel": ""}).required("channel")
    assert caught.value.code == "invalid_arguments"
    assert "channel" in caught.value.messages[0]


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("1", True), (True, True), ("0", False)]
)
def test_flags_read_form_and_json_booleans(value: object, expected: bool) -> None:
    assert Args({"inclusive": value}).flag("inclusive") is expected


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_is_off_by_default() -> None:
    limiter = RateLimiter()
    assert all(limiter.acquire("chat.postMessage") is None for _ in range(1000))


def test_rate_limiter_counts_each_method_and_names_the_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock)
    assert limiter.acquire("chat.postMessage") is None
    clock.now += 10
    assert limiter.acquire("chat.postMessage") is None
    assert limiter.acquire("chat.update") is None
    assert limiter.acquire("chat.postMessage") == 50
    clock.now += 50
    assert limiter.acquire("chat.postMessage") is None
