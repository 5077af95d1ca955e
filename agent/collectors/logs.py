"""Tails serving logs in the seed's format into events and per-(level, component) line counters.

A line looks like ``[2024-03-15 14:30:22] [WARNING] [MODEL_INFER] [node_03]"Input tensor …"``.
WARNING, ERROR and CRITICAL lines become events of kind ``log`` (attrs: level, component, node,
message, logged_at); every parsed line counts in ``gpuwarden_log_lines_total{level,component}``,
every other line in ``gpuwarden_log_unparsed_lines_total{file}``. Files are read from their end
when the agent starts, at most `max_bytes` per file per cycle; a rotated file (new inode) is read
to its end before the new one is opened from the start, and a truncated one is read from the start.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from prometheus_client import CollectorRegistry

from agent.collectors.collect_metrics import CollectMetrics
from agent.exporter import MetricInfo
from agent.wire import NodeEvent, Reading

logger = logging.getLogger(__name__)

LOG_EVENT = "log"
LOG_LINES = "gpuwarden_log_lines_total"
UNPARSED_LINES = "gpuwarden_log_unparsed_lines_total"
EVENTS_DROPPED = "gpuwarden_log_events_dropped_total"
EVENT_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})
LOG_METRICS: Mapping[str, MetricInfo] = {
    LOG_LINES: MetricInfo("counter", "Log lines read, by level and component."),
    UNPARSED_LINES: MetricInfo("counter", "Log lines not in the expected format, by file."),
    EVENTS_DROPPED: MetricInfo("counter", "WARNING+ lines over the per-cycle event limit."),
}

_LINE = re.compile(
    r"\[(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\] "
    r"\[(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)\]"
    r" \[(?P<component>[A-Z_]+)\] \[(?P<node>[\w.-]+)\]\s*\"(?P<message>.*)\""
)
_MAX_LINE_BYTES = 64 * 1024
_MAX_MESSAGE_CHARS = 4000  # the bot refuses event messages over 4096 characters


class _Tail:
    """One followed file: an open handle, the bytes of a line not finished yet."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._partial = b""
        self._open(from_end=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def read_lines(self, limit: int) -> list[bytes]:
        """Return the complete lines appended since the last call, reading at most `limit` bytes."""
        file = self._file or self._open(from_end=False)
        if file is None:
            return []
        if os.fstat(file.fileno()).st_size < file.tell():
            logger.info("%s was truncated; reading it from the start", self.path)
            file.seek(0)
            self._partial = b""
        chunk = file.read(limit)
        if chunk or not self._replaced(file):
            return self._split(chunk)
        logger.info("%s was rotated; following the new file", self.path)
        rest = [self._partial] if self._partial else []
        self._partial = b""
        self.close()
        return rest + self.read_lines(limit)

    def _open(self, *, from_end: bool) -> BinaryIO | None:
        try:
            self._file = self.path.open("rb")
        except OSError:
            return None
        if from_end:
            self._file.seek(0, os.SEEK_END)
        return self._file

    def _replaced(self, file: BinaryIO) -> bool:
        try:
            now = self.path.stat()
        except OSError:
            return False  # moved away, the new file not there yet: keep the old one
        was = os.fstat(file.fileno())
        return (now.st_dev, now.st_ino) != (was.st_dev, was.st_ino)

    def _split(self, chunk: bytes) -> list[bytes]:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > _MAX_LINE_BYTES:
            lines.append(self._partial)
            self._partial = b""
        return lines


class LogTailer:
    """A `Source` following log files; its readings are cumulative counters since the start."""

    name = "logs"
    gpu_count = 0

    def __init__(
        self,
        paths: Iterable[Path],
        *,
        node: str,
        registry: CollectorRegistry | None = None,
        max_bytes: int = 1024**2,
        max_events: int = 200,
    ) -> None:
        self.node = node
        self._tails = [_Tail(path) for path in paths]
        self._max_bytes = max_bytes
        self._max_events = max_events
        self._metrics = CollectMetrics.on(registry or CollectorRegistry())
        self._lines: Counter[tuple[str, str]] = Counter()
        self._unparsed: Counter[str] = Counter({str(t.path): 0 for t in self._tails})
        self._dropped = 0
        self._storm: int | None = None  # events dropped in the storm going on, if any

    def close(self) -> None:
        """Close every followed file."""
        for tail in self._tails:
            tail.close()

    def collect(self, now: float) -> tuple[Sequence[Reading], Sequence[NodeEvent]]:
        """Return the counters and the events of the WARNING+ lines appended since last time."""
        with self._metrics.duration.labels(collector=self.name).time():
            events: list[NodeEvent] = []
            for tail in self._tails:
                for raw in tail.read_lines(self._max_bytes):
                    event = self._line(tail.path, raw.rstrip(b"\r").decode(errors="replace"), now)
                    if event is not None:
                        events.append(event)
            events = self._limit(events)
            return self._readings(now), events

    def _line(self, path: Path, line: str, now: float) -> NodeEvent | None:
        if not line.strip():
            return None
        match = _LINE.fullmatch(line)
        if match is None:
            self._unparsed[str(path)] += 1
            return None
        level, component = match["level"], match["component"]
        self._lines[(level, component)] += 1
        if level not in EVENT_LEVELS:
            return None
        message = match["message"][:_MAX_MESSAGE_CHARS]
        return NodeEvent(
            kind=LOG_EVENT,
            ts=now,
            message=message,
            attrs={
                "level": level,
                "component": component,
                "node": match["node"],
                "message": message,
                "logged_at": match["ts"],
            },
        )

    def _limit(self, events: list[NodeEvent]) -> list[NodeEvent]:
        over = len(events) - self._max_events
        if over <= 0:
            if self._storm is not None:
                logger.info("log event storm over: %d events were not sent", self._storm)
                self._storm = None
            return events
        if self._storm is None:
            self._storm = 0
            logger.warning(
                "over %d WARNING+ log lines in one cycle; the rest are counted in %s, not sent",
                self._max_events,
                EVENTS_DROPPED,
            )
        self._storm += over
        self._dropped += over
        return events[: self._max_events]

    def _readings(self, now: float) -> list[Reading]:
        readings = [
            Reading(LOG_LINES, {"level": level, "component": component}, now, float(count))
            for (level, component), count in sorted(self._lines.items())
        ]
        readings += [
            Reading(UNPARSED_LINES, {"file": path}, now, float(count))
            for path, count in sorted(self._unparsed.items())
        ]
        readings.append(Reading(EVENTS_DROPPED, {}, now, float(self._dropped)))
        return readings
