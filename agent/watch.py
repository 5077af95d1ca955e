"""Levels the bot watches, checked by the agent as it samples, so a crossing leaves at once.

The bot answers `GET /api/v1/agent/watch` with the levels of its threshold rules (metric, label
matchers, warn / crit / recover) and how long until the agent should ask again. `WatchedLevels`
keeps, per series and level, which band the last reading was in::

    band 2 (crit)   value >= crit
    band 1 (warn)   value >= warn, or above recover after having been in band 1 or 2
    band 0          otherwise (value <= recover ends bands 1 and 2: the bot's hysteresis)

A level whose `recover` is above its `warn` is for a signal where lower is worse (the rule's
``direction: below``, which the bot's rules order as crit <= warn < recover): every comparison
is mirrored (band 2 at crit or below, back to band 0 at recover or above).

A reading whose band differs from its series' previous one is a crossing, and the agent ships
it at once instead of at the next push. `LevelPoller` fetches the levels in a background thread
(on start, then every `refresh_s`); while the bot cannot be reached the agent keeps the levels it
has (none at first) and says so once.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from agent.errors import AgentError
from agent.polling import PollingThread
from agent.wire import AGENT_VERSION, LabelIdentities, Reading

logger = logging.getLogger(__name__)

WATCH_PATH = "/api/v1/agent/watch"
# Sampling every 0.5 s caps the wait for a crossing at half a push interval for a third of the
# CPU of 0.25 s (one sample between 1 s pushes instead of three): on an H100 the whole agent took
# 0.38 % of a core unwatched and 0.52 % at 0.25 s (bench/README.md).
DEFAULT_WATCH_INTERVAL_S = 0.5
DEFAULT_REFRESH_S = 30.0
RETRY_S = 5.0
_FIELDS = ("rule", "metric", "match", "warn", "crit", "recover")


class LevelsError(AgentError):
    """The bot's answer about watched levels is not what the agent expects."""


@dataclass(frozen=True, slots=True)
class Level:
    """One threshold rule's levels on one metric, for series whose labels match `match`."""

    rule: str
    metric: str
    match: tuple[tuple[str, str], ...]
    warn: float
    crit: float
    recover: float

    def applies(self, labels: Mapping[str, str]) -> bool:
        """Return whether a series with `labels` is watched by this level."""
        return all(labels.get(key) == value for key, value in self.match)

    @property
    def lower_is_worse(self) -> bool:
        """Return whether the level is for a signal where lower values are worse."""
        return self.recover > self.warn

    def band(self, value: float, previous: int) -> int:
        """Return the band of `value` after a series was in band `previous` (see module doc)."""
        if self.lower_is_worse:  # mirror the values, and with them every comparison
            return _band(-value, -self.warn, -self.crit, -self.recover, previous)
        return _band(value, self.warn, self.crit, self.recover, previous)


def _band(value: float, warn: float, crit: float, recover: float, previous: int) -> int:
    if value >= crit:
        return 2
    if value >= warn:
        return 1
    return 1 if previous and value > recover else 0


def parse_levels(payload: Any) -> tuple[tuple[Level, ...], float]:
    """Return the levels and refresh interval in the bot's answer; LevelsError if malformed."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("levels"), list):
        raise LevelsError("expected an object with a list 'levels'")
    refresh = payload.get("refresh_s", DEFAULT_REFRESH_S)
    if isinstance(refresh, bool) or not isinstance(refresh, int | float) or refresh <= 0:
        raise LevelsError(f"'refresh_s' must be a number of seconds > 0, got {refresh!r}")
    return tuple(_level(n, item) for n, item in enumerate(payload["levels"])), float(refresh)


def _level(number: int, item: object) -> Level:
    if not isinstance(item, Mapping) or any(key not in item for key in _FIELDS):
        raise LevelsError(f"level {number}: expected an object with {', '.join(_FIELDS)}")
    match = item["match"]
    if not isinstance(match, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in match.items()
    ):
        raise LevelsError(f"level {number}: 'match' must map label names to strings")
    values = []
    for key in ("warn", "crit", "recover"):
        value = item[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise LevelsError(f"level {number}: {key!r} must be a finite number, got {value!r}")
        values.append(float(value))
    if not isinstance(item["metric"], str) or not isinstance(item["rule"], str):
        raise LevelsError(f"level {number}: 'rule' and 'metric' must be strings")
    return Level(str(item["rule"]), item["metric"], tuple(sorted(match.items())), *values)


@dataclass(frozen=True, slots=True)
class Crossing:
    """A reading that moved its series from one band of a level to another."""

    level: Level
    reading: Reading
    before: int
    after: int


class WatchedLevels:
    """The levels in force, indexed by metric, and the band each watched series is in."""

    def __init__(self, levels: Iterable[Level] = ()) -> None:
        self._lock = threading.Lock()
        self._by_metric: dict[str, tuple[Level, ...]] = {}
        self._bands: dict[tuple[str, Level, tuple[tuple[str, str], ...]], int] = {}
        self.replace(levels)

    @property
    def metrics(self) -> frozenset[str]:
        """Return the metrics at least one level watches."""
        return frozenset(self._by_metric)

    def replace(self, levels: Iterable[Level]) -> None:
        """Put `levels` in force; series keep their band under a level that stays."""
        by_metric: dict[str, list[Level]] = {}
        for level in levels:
            by_metric.setdefault(level.metric, []).append(level)
        with self._lock:
            self._by_metric = {metric: tuple(found) for metric, found in by_metric.items()}
            kept = {level for found in by_metric.values() for level in found}
            self._bands = {key: band for key, band in self._bands.items() if key[1] in kept}

    def check(self, node: str, readings: Sequence[Reading]) -> list[Crossing]:
        """Note each watched reading's band; return those that moved their series across a level."""
        crossings: list[Crossing] = []
        by_metric = self._by_metric
        identities = LabelIdentities()
        with self._lock:
            for reading in readings:
                levels = by_metric.get(reading.metric)
                if not levels:
                    continue
                labels = identities.of(reading.labels)
                for level in levels:
                    if not level.applies(reading.labels):
                        continue
                    key = (node, level, labels)
                    before = self._bands.get(key, 0)
                    after = level.band(reading.value, before)
                    if after != before:
                        self._bands[key] = after
                        crossings.append(Crossing(level, reading, before, after))
        return crossings


class LevelPoller:
    """Fetches the watched levels from the bot in a background thread, into `levels`."""

    def __init__(
        self,
        url: str,
        token: str,
        levels: WatchedLevels,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.levels = levels
        self._client = httpx.Client(
            headers={
                "Authorization": f"Bearer {token}",
                "User-Agent": f"gpuwarden-agent/{AGENT_VERSION}",
            },
            timeout=timeout,
            transport=transport,
        )
        self._polling = PollingThread("watch-levels", self.fetch)
        self._failing = False
        self._announced = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Fetch now and then every `refresh_s` the bot asks for, in a daemon thread."""
        self._polling.start()

    def close(self) -> None:
        """Stop polling and close the HTTP client."""
        self._polling.stop()
        self._client.close()

    def fetch(self) -> float:
        """Fetch the levels once and put them in force; return seconds until the next fetch."""
        try:
            response = self._client.get(self.url)
            response.raise_for_status()
            levels, refresh_s = parse_levels(response.json())
        except (httpx.HTTPError, ValueError, LevelsError) as exc:
            if not self._failing:
                logger.warning(
                    "cannot read watched levels from %s (%s); keeping the %d metric(s) watched",
                    self.url,
                    exc,
                    len(self.levels.metrics),
                )
                self._failing = True
            return RETRY_S
        self.levels.replace(levels)
        if self._failing or not self._announced:
            logger.info(
                "watching %d level(s) on %d metric(s) from %s",
                len(levels),
                len(self.levels.metrics),
                self.url,
            )
        self._failing = False
        self._announced = True
        return refresh_s
