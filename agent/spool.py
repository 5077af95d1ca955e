"""A `Backlog` on disk: batches survive an outage of the bot and a restart of the agent.

Layout of the spool directory::

    000000000042-137.json.gz   one batch: sequence 42 (replay order), 137 records; the body is
                               exactly what is POSTed (gzip'd JSON), written to a temporary file,
                               fsync'd and renamed into place
    corrupt/                   files that could not be read back, set aside and counted
    .lock                      held (flock) while an agent uses the directory

Past `max_bytes` the oldest batches are deleted and returned to the shipper, which counts them
in ``gpuwarden_agent_dropped_*_total``. A batch that cannot be written is dropped the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import logging
import os
import re
import zlib
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, NamedTuple, Self

from prometheus_client import CollectorRegistry

from agent.errors import ConfigError
from agent.self_metrics import SpoolMetrics
from agent.wire import Batch, NodeEvent, Reading

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 256 * 1024**2
CORRUPT_DIR = "corrupt"
_NAME = re.compile(r"(?P<seq>\d{12})-(?P<records>\d+)\.json\.gz")
_TEMP_SUFFIX = ".tmp"
_UNREADABLE = (OSError, EOFError, zlib.error, ValueError, KeyError, TypeError)


class _Entry(NamedTuple):
    seq: int
    path: Path
    size: int
    records: int


def _decode(body: bytes) -> Batch:
    payload: dict[str, Any] = json.loads(gzip.decompress(body))
    return Batch(
        node=payload["node"],
        gpu_count=int(payload["gpu_count"]),
        sent_at=float(payload["sent_at"]),
        samples=tuple(
            Reading(s["metric"], s["labels"], float(s["ts"]), float(s["value"]))
            for s in payload["samples"]
        ),
        events=tuple(NodeEvent(**e) for e in payload["events"]),
        batch_id=payload["batch_id"],
        agent_version=payload["agent_version"],
    )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DiskSpool:
    """Batches as files in `directory`, oldest first, holding at most `max_bytes` of them."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if max_bytes < 1:
            raise ValueError(f"spool max_bytes must be at least 1, got {max_bytes}")
        self.directory = directory
        self.max_bytes = max_bytes
        self._lock = self._take(directory)
        self._entries: deque[_Entry] = deque(self._scan())
        self._bytes = sum(e.size for e in self._entries)
        self._records = sum(e.records for e in self._entries)
        self._next_seq = self._entries[-1].seq + 1 if self._entries else 1
        self._head: tuple[int, Batch] | None = None
        self._write_failing = False
        self._metrics = SpoolMetrics(registry or CollectorRegistry(), lambda: self.size_bytes)
        if self._entries:
            logger.info(
                "spool %s holds %d batches (%d records) from before; replaying them first",
                directory,
                len(self._entries),
                self._records,
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def records(self) -> int:
        """Return how many records (samples plus events) are waiting."""
        return self._records

    @property
    def size_bytes(self) -> int:
        """Return how many bytes the waiting batches take on disk."""
        return self._bytes

    def append(self, batch: Batch) -> list[Batch]:
        """Write `batch` last; return the oldest batches dropped to stay under `max_bytes`."""
        try:
            entry = self._write(batch)
        except OSError as exc:
            if not self._write_failing:
                logger.error("cannot write to spool %s (%s); dropping batches", self.directory, exc)
            self._write_failing = True
            return [batch]
        if self._write_failing:
            logger.info("spool %s writable again", self.directory)
            self._write_failing = False
        self._entries.append(entry)
        self._bytes += entry.size
        self._records += entry.records
        evicted: list[Batch] = []
        while self._bytes > self.max_bytes and len(self._entries) > 1:
            oldest = self._remove_head()
            dropped = self._read(oldest)  # read back so the shipper can count its samples
            self._unlink(oldest)
            if dropped is not None:
                evicted.append(dropped)
        return evicted

    def peek(self) -> Batch | None:
        """Return the oldest readable batch, setting unreadable files aside; None when empty."""
        while self._entries:
            entry = self._entries[0]
            if self._head is not None and self._head[0] == entry.seq:
                return self._head[1]
            batch = self._read(entry)
            if batch is not None:
                self._head = (entry.seq, batch)
                return batch
            self._remove_head()
        return None

    def pop(self) -> Batch:
        """Remove and return the oldest batch (after it was delivered or rejected)."""
        batch = self.peek()
        if batch is None:
            raise IndexError("pop from an empty spool")
        self._unlink(self._remove_head())
        return batch

    def close(self) -> None:
        """Release the directory for the next agent; the files stay for it."""
        self._lock.close()

    @staticmethod
    def _take(directory: Path) -> BinaryIO:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            lock = (directory / ".lock").open("wb")
        except OSError as exc:
            raise ConfigError(f"--spool-dir {str(directory)!r} is not usable: {exc}") from exc
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise ConfigError(
                f"--spool-dir {str(directory)!r} is in use by another agent"
            ) from None
        return lock

    def _scan(self) -> list[_Entry]:
        entries = []
        for path in self.directory.iterdir():
            if path.name.endswith(_TEMP_SUFFIX):
                logger.warning("removing %s, a batch whose write was cut short", path)
                path.unlink(missing_ok=True)
            elif match := _NAME.fullmatch(path.name):
                seq, records = int(match["seq"]), int(match["records"])
                entries.append(_Entry(seq, path, path.stat().st_size, records))
        return sorted(entries)

    def _write(self, batch: Batch) -> _Entry:
        seq = self._next_seq
        self._next_seq += 1
        path = self.directory / f"{seq:012d}-{batch.size}.json.gz"
        temp = self.directory / f".{path.name}{_TEMP_SUFFIX}"
        body = batch.to_gzip_bytes()
        try:
            with temp.open("wb") as file:
                file.write(body)
                file.flush()
                os.fsync(file.fileno())
            temp.replace(path)
        finally:
            temp.unlink(missing_ok=True)
        _fsync_dir(self.directory)
        return _Entry(seq, path, len(body), batch.size)

    def _read(self, entry: _Entry) -> Batch | None:
        try:
            return _decode(entry.path.read_bytes())
        except _UNREADABLE as exc:
            self._set_aside(entry, exc)
            return None

    def _set_aside(self, entry: _Entry, error: Exception) -> None:
        self._metrics.corrupt_files.inc()
        logger.warning("spool file %s is unreadable (%r); moving it aside", entry.path, error)
        aside = self.directory / CORRUPT_DIR
        with contextlib.suppress(OSError):
            aside.mkdir(exist_ok=True)
            entry.path.replace(aside / entry.path.name)

    def _remove_head(self) -> _Entry:
        entry = self._entries.popleft()
        self._bytes -= entry.size
        self._records -= entry.records
        self._head = None
        return entry

    def _unlink(self, entry: _Entry) -> None:
        try:
            entry.path.unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("cannot remove spool file %s: %s", entry.path, exc)
