"""Delivers batches to the bot's `POST /api/v1/ingest`, at least once, never dropping silently.

Outcomes of one delivery attempt::

    202 (or any 2xx)            delivered; a re-sent batch id comes back `duplicate: true`
    408, 429, 5xx, timeout,     kept at the head of the queue and retried after exponential
    connection error            backoff with jitter (429: after its Retry-After)
    other 4xx (401, 413, 422)   rejected for good: the bot's error body is logged, not retried

The queue is bounded; on overflow the oldest batches go, counted and logged once per episode.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Self

import httpx
from prometheus_client import CollectorRegistry

from agent.backlog import Backlog, MemoryBacklog
from agent.self_metrics import ShipperMetrics
from agent.wire import AGENT_VERSION, Batch

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 429})
MAX_RETRY_AFTER_S = 600.0
_ERROR_BODY_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff with jitter: retry n waits d/2..d, d = min(cap, base*2^(n-1))."""

    base_s: float = 1.0
    cap_s: float = 60.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Return how long to wait before retry number `attempt` (1-based)."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** max(0, attempt - 1))
        return rng.uniform(ceiling / 2.0, ceiling)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Return the seconds a Retry-After header asks for (delta seconds or HTTP date), or None."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            return None
    if not math.isfinite(seconds):
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


class Shipper:
    """Queues batches and pushes them gzip'd to the bot with a bearer token.

    Self-metrics go on `registry` (a fresh one when none is given; never the global one).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        registry: CollectorRegistry | None = None,
        max_batch_samples: int = 2000,
        timeout: float = 5.0,
        backlog: Backlog | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_batch_samples < 1:
            raise ValueError(f"max_batch_samples must be at least 1, got {max_batch_samples}")
        self.url = url
        self._max_batch_samples = max_batch_samples
        self._timeout = timeout
        self._backlog: Backlog = backlog if backlog is not None else MemoryBacklog()
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.registry = registry if registry is not None else CollectorRegistry()
        self._metrics = ShipperMetrics(self.registry, self._backlog)
        self._client = httpx.Client(
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "User-Agent": f"gpuwarden-agent/{AGENT_VERSION}",
            },
            timeout=timeout,
            transport=transport,
        )
        self._failures = 0
        self._retry_at: float | None = None
        self._overflow_dropped: int | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Return how many batches wait for delivery."""
        return len(self._backlog)

    @property
    def retry_at(self) -> float | None:
        """Return when the next retry is due while backing off with batches queued, else None."""
        return self._retry_at if len(self._backlog) else None

    def submit(self, batch: Batch) -> None:
        """Queue `batch` (cut to `max_batch_samples`); on overflow the oldest batches go."""
        for part in batch.split(self._max_batch_samples):
            evicted = self._backlog.append(part)
            if evicted:
                self._count_dropped(evicted)

    def pump(self, *, until: float) -> None:
        """Send queued batches while the bot takes them, stopping at `until` or on a failure."""
        while len(self._backlog) and self._may_send(now := self._clock()) and now < until:
            self._send_head(self._timeout)

    def flush(self, *, deadline: float) -> bool:
        """Deliver everything queued, waiting out backoff, until `deadline`; True if all went."""
        while len(self._backlog):
            now = self._clock()
            start = max(now, self._retry_at or now)
            if start >= deadline:
                break
            if start > now:
                self._sleep(start - now)
            self._send_head(min(self._timeout, deadline - start))
        return not len(self._backlog)

    def close(self) -> None:
        """Close the HTTP client; log what is left undelivered (a disk spool keeps it)."""
        if len(self._backlog):
            logger.warning(
                "exiting with %d batches (%d records) undelivered to %s",
                len(self._backlog),
                self._backlog.records,
                self.url,
            )
        self._client.close()

    def _may_send(self, now: float) -> bool:
        return self._retry_at is None or now >= self._retry_at

    def _send_head(self, timeout: float) -> None:
        batch = self._backlog.peek()
        if batch is None:
            return
        body = replace(batch, sent_at=self._clock()).to_gzip_bytes()
        try:
            response = self._client.post(self.url, content=body, timeout=timeout)
        except httpx.TimeoutException as exc:
            self._retry_later(batch, "timeout", f"timed out: {exc!r}", None)
        except httpx.TransportError as exc:
            self._retry_later(batch, "connection", f"connection failed: {exc!r}", None)
        else:
            self._handle(batch, response)

    def _handle(self, batch: Batch, response: httpx.Response) -> None:
        status = response.status_code
        if response.is_success:
            self._delivered(batch, response)
        elif status == httpx.codes.TOO_MANY_REQUESTS:
            hint = parse_retry_after(response.headers.get("Retry-After"), now=self._clock())
            self._retry_later(batch, "throttled", "HTTP 429", hint)
        elif status in RETRYABLE_STATUS:
            self._retry_later(batch, "timeout", f"HTTP {status}", None)
        elif status >= httpx.codes.INTERNAL_SERVER_ERROR:
            self._retry_later(batch, "server_error", f"HTTP {status}", None)
        else:
            self._rejected(batch, response)

    def _delivered(self, batch: Batch, response: httpx.Response) -> None:
        self._backlog.pop()
        self._metrics.sent_batches.inc()
        self._metrics.sent_samples.inc(len(batch.samples))
        self._metrics.last_success.set(self._clock())
        self._reachable()
        if self._overflow_dropped is not None:
            logger.warning("queue overflow over: %d samples were dropped", self._overflow_dropped)
            self._overflow_dropped = None
        logger.debug("batch %s from %s delivered: %s", batch.batch_id, batch.node, response.text)

    def _retry_later(self, batch: Batch, reason: str, what: str, hint: float | None) -> None:
        self._failures += 1
        delay = hint if hint is not None else self._backoff.delay(self._failures, self._rng)
        self._retry_at = self._clock() + delay
        self._metrics.retries.labels(reason=reason).inc()
        logger.warning(
            "delivering batch %s from %s to %s failed (%s); retry %d in %.2fs, %d batches queued",
            batch.batch_id,
            batch.node,
            self.url,
            what,
            self._failures,
            delay,
            len(self._backlog),
        )

    def _reachable(self) -> None:
        if self._failures:
            logger.info("bot at %s reachable again after %d failures", self.url, self._failures)
        self._failures = 0
        self._retry_at = None

    def _rejected(self, batch: Batch, response: httpx.Response) -> None:
        self._backlog.pop()
        self._reachable()
        self._metrics.rejected_batches.labels(status=str(response.status_code)).inc()
        logger.error(
            "bot rejected batch %s from %s (%d samples, %d events) with HTTP %d; not retried: %s",
            batch.batch_id,
            batch.node,
            len(batch.samples),
            len(batch.events),
            response.status_code,
            response.text[:_ERROR_BODY_LIMIT],
        )

    def _count_dropped(self, evicted: list[Batch]) -> None:
        samples = sum(len(b.samples) for b in evicted)
        self._metrics.dropped_samples.inc(samples)
        self._metrics.dropped_batches.inc(len(evicted))
        if self._overflow_dropped is None:
            self._overflow_dropped = 0
            logger.warning(
                "queue full (%d records): dropping the oldest batches until the bot at %s "
                "accepts again; see gpuwarden_agent_dropped_samples_total",
                self._backlog.records,
                self.url,
            )
        self._overflow_dropped += samples
