"""Per-channel, in-order delivery of Web API calls that honours Slack's rate limits.

Every channel (a DM's user id counts as a channel) has a queue and at most one worker: its calls
leave one at a time in the order they were submitted, so a thread's replies keep their order and
an update never overtakes an earlier post. A caller awaits its own call's answer (``send``
returns the :class:`AsyncSlackResponse`, so ``post_incident`` still gets its ``ts``).

What a failure does to a call::

    HTTP 429 / "ratelimited" / "rate_limited"   sleep Retry-After, send the same call again;
                                                 the channel waits, other channels go on
    network error, timeout, HTTP 5xx,            retried ``attempts`` times in all, with
    internal_error / fatal_error / …             exponential backoff
    anything else (channel_not_found,            permanent: logged as an error naming the call
    invalid_auth, msg_too_long, invalid_blocks)  and the channel; the caller gets AdapterError
                                                 and the queue moves on

A call that has waited ``give_up_after_s`` in all fails with AdapterError rather than holding the
queue forever. slack_sdk's own retry handlers must be off on the client (``retry_handlers=[]``):
this queue is the one place that retries, so a 429 is never slept on twice and a retried call
never goes out of order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.core.errors import AdapterError

log = logging.getLogger(__name__)

Call = Callable[[], Awaitable[AsyncSlackResponse]]
Sleep = Callable[[float], Awaitable[None]]

RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})
TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
_NETWORK = (ClientError, TimeoutError, ConnectionError)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the outbox tries: ``attempts`` for transient errors, then gives up."""

    attempts: int = 4
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    give_up_after_s: float = 900.0

    def backoff(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure in a row (1, 2, 4 … capped)."""
        return float(min(self.max_backoff_s, self.backoff_s * 2 ** (failures - 1)))


@dataclass
class _Item:
    what: str
    call: Call
    key: str | None
    futures: list[asyncio.Future[AsyncSlackResponse]] = field(default_factory=list)


@dataclass
class _Channel:
    queue: deque[_Item] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None
    sending: _Item | None = None
    throttled_until: float = 0.0


class SlackOutbox:
    """Queues Web API calls per channel and sends each channel's calls one at a time, in order."""

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._monotonic = monotonic
        self._channels: dict[str, _Channel] = {}

    async def send(
        self, channel: str, what: str, call: Call, *, replaces: str | None = None
    ) -> AsyncSlackResponse:
        """Queue ``call`` behind the channel's earlier calls; return Slack's answer.

        ``what`` names the call in logs and errors. With ``replaces`` (say ``update:<ts>``), a
        queued, not yet sent call with the same key is replaced by this one, which takes its
        place in the queue and answers both callers: stale re-renders never pile up.

        Raises:
            AdapterError: Slack refused the call for good, or it kept failing.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AsyncSlackResponse] = loop.create_future()
        future.add_done_callback(_observed)
        state = self._channels.setdefault(channel, _Channel())
        queued = self._queued(state, replaces)
        if queued is not None:
            queued.what, queued.call = what, call
            queued.futures.append(future)
        else:
            state.queue.append(_Item(what, call, replaces, [future]))
        if state.worker is None:
            state.worker = loop.create_task(self._work(channel, state), name=f"outbox {channel}")
        # the call goes out even if the caller stops waiting: nothing queued is dropped
        return await asyncio.shield(future)

    def backlog(self, channel: str) -> int:
        """Calls waiting or in flight for ``channel``."""
        state = self._channels.get(channel)
        if state is None:
            return 0
        return len(state.queue) + (state.sending is not None)

    def throttled(self, channel: str) -> bool:
        """Whether the channel is sitting out a Retry-After right now."""
        state = self._channels.get(channel)
        return state is not None and state.throttled_until > self._monotonic()

    async def drain(self, *, within_s: float) -> None:
        """Wait until every queued call has been sent or has failed, ``within_s`` at most."""
        workers = [state.worker for state in self._channels.values() if state.worker is not None]
        if not workers:
            return
        _, unfinished = await asyncio.wait(workers, timeout=within_s)
        if unfinished:
            left = sum(self.backlog(channel) for channel in self._channels)
            log.warning("%d Slack calls still queued after %gs; dropped", left, within_s)

    @staticmethod
    def _queued(state: _Channel, key: str | None) -> _Item | None:
        if key is None:
            return None
        return next((item for item in state.queue if item.key == key), None)

    async def _work(self, channel: str, state: _Channel) -> None:
        try:
            while state.queue:
                item = state.sending = state.queue.popleft()
                try:
                    outcome: AsyncSlackResponse | AdapterError = await self._deliver(
                        channel, state, item
                    )
                except AdapterError as exc:
                    outcome = exc
                finally:
                    state.sending = None
                _settle(item, outcome)
        finally:
            state.worker = None

    async def _deliver(self, channel: str, state: _Channel, item: _Item) -> AsyncSlackResponse:
        """Send one call until it succeeds, fails for good, or has waited too long."""
        started = self._monotonic()
        failures = 0
        while True:
            try:
                return await item.call()
            except SlackApiError as exc:
                error, wait = _classify(exc, self._policy, failures + 1)
            except _NETWORK as exc:
                error, wait = f"{type(exc).__name__}: {exc}", self._policy.backoff(failures + 1)
            except SlackClientError as exc:  # bad arguments and the like: never retried
                error, wait = str(exc), None
            if wait is None:
                log.error("Slack refused %s in %s: %s; dropped", item.what, channel, error)
                raise AdapterError(f"{item.what} failed: {error}")
            if error not in RATE_LIMITED:
                failures += 1
                if failures >= self._policy.attempts:
                    log.error("%s in %s failed %d times: %s", item.what, channel, failures, error)
                    raise AdapterError(f"{item.what} failed {failures} times: {error}")
            if self._monotonic() - started + wait > self._policy.give_up_after_s:
                log.error("%s in %s gave up after %s: still %s", item.what, channel, wait, error)
                raise AdapterError(f"{item.what} gave up waiting: {error}")
            log.warning("%s in %s: %s; retrying in %.1fs", item.what, channel, error, wait)
            state.throttled_until = self._monotonic() + wait if error in RATE_LIMITED else 0.0
            await self._sleep(wait)


def _classify(exc: SlackApiError, policy: RetryPolicy, failures: int) -> tuple[str, float | None]:
    """Slack's error code and how long to wait before sending again (None: never)."""
    response = exc.response
    status = response.status_code
    error = str(response.get("error", "")) if isinstance(response.data, dict) else ""
    if status == HTTPStatus.TOO_MANY_REQUESTS or error in RATE_LIMITED:
        return error or "ratelimited", _retry_after(response.headers, policy.backoff(failures))
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR or error in TRANSIENT:
        return error or f"HTTP {status}", policy.backoff(failures)
    return error or f"HTTP {status}", None


def _retry_after(headers: Mapping[str, Any], default: float) -> float:
    """Slack's ``Retry-After`` in seconds (header names are case-insensitive)."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


def _settle(item: _Item, outcome: AsyncSlackResponse | AdapterError) -> None:
    for future in item.futures:
        if future.done():
            continue
        if isinstance(outcome, AdapterError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _observed(future: asyncio.Future[AsyncSlackResponse]) -> None:
    """Mark a failure seen: a caller that stopped waiting must not leave a loud warning."""
    if not future.cancelled():
        future.exception()
