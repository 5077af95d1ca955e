"""Tail the kernel log for XID lines: `/dev/kmsg`, or a log file (fixtures, syslog, journal export).

Reading starts at the end, so old XIDs are not reported again after a restart.

- `/dev/kmsg` hands out one record per `read` (``6,1234,5678901,-;NVRM: Xid …``); when the
  ring buffer overwrote records we had not read, `read` fails once with EPIPE and goes on.
- A file is followed by name: when it is replaced (rotation: a new inode) the rest of the old
  one is read first, then the new one from its start; when it shrinks (copytruncate) reading
  starts over from its beginning. A file that does not exist yet is waited for.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path

from agent.collectors.xid import Xid, parse_xid_line
from agent.errors import ConfigError

logger = logging.getLogger(__name__)

DEV_KMSG = Path("/dev/kmsg")
_CHUNK = 64 * 1024
_RECORD = 8192  # /dev/kmsg records are at most this long


def record_text(record: bytes) -> str:
    """Return the text of a `/dev/kmsg` record ``6,1234,5678901,-;text`` (no KEY=value lines)."""
    header, _, message = record.decode(errors="replace").partition(";")
    return message.split("\n", 1)[0] if message else header


class KmsgReader:
    """Reads XIDs from the kernel log at `path` without blocking; an `XidReader`."""

    source = "kmsg"

    def __init__(self, path: Path = DEV_KMSG, *, poll_s: float = 1.0) -> None:
        self.path = path
        self.idle_wait_s = poll_s
        self._fd: int | None = None
        self._inode: int | None = None
        self._device = False
        self._partial = b""
        self._open(at_end=True)

    def read(self) -> list[Xid]:
        """Return the XIDs in the lines written since the last call."""
        return [xid for line in self.lines() if (xid := parse_xid_line(line)) is not None]

    def lines(self) -> list[str]:
        """Return the complete lines (or records) written since the last call."""
        if self._fd is None:
            self._open(at_end=False)
        if self._fd is None:
            return []
        if self._device:
            return self._records()
        return self._file_lines()

    def close(self) -> None:
        """Close the log."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self, *, at_end: bool) -> None:
        try:
            info = self.path.stat()
            self._device = stat.S_ISCHR(info.st_mode)
            self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            if self.path == DEV_KMSG:
                raise ConfigError(f"--kmsg-path {self.path}: no such device") from None
            return
        except PermissionError as exc:
            raise ConfigError(
                f"--kmsg-path {self.path}: {exc.strerror}; run the agent with read access to "
                "the kernel log (CAP_SYSLOG) or point --kmsg-path at a log file"
            ) from None
        self._inode = info.st_ino
        self._partial = b""
        if at_end:
            os.lseek(self._fd, 0, os.SEEK_END)

    def _records(self) -> list[str]:
        assert self._fd is not None
        lines: list[str] = []
        while True:
            try:
                record = os.read(self._fd, _RECORD)
            except BlockingIOError:
                return lines
            except OSError as exc:
                if exc.errno != errno.EPIPE:
                    raise
                logger.warning("kernel log records were overwritten before they were read")
                continue
            if not record:
                return lines
            lines.append(record_text(record))

    def _file_lines(self) -> list[str]:
        lines = self._split(self._drain())
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return lines
        if info.st_ino != self._inode:
            logger.info("%s was rotated; reading the new file from its start", self.path)
            if self._partial:
                lines.append(self._partial.decode(errors="replace"))
            self.close()
            self._open(at_end=False)
            lines += self._split(self._drain())
        elif self._fd is not None and info.st_size < os.lseek(self._fd, 0, os.SEEK_CUR):
            logger.info("%s was truncated; reading it again from its start", self.path)
            os.lseek(self._fd, 0, os.SEEK_SET)
            self._partial = b""
            lines += self._split(self._drain())
        return lines

    def _drain(self) -> bytes:
        if self._fd is None:
            return b""
        chunks = []
        while chunk := os.read(self._fd, _CHUNK):
            chunks.append(chunk)
        return b"".join(chunks)

    def _split(self, data: bytes) -> list[str]:
        *complete, self._partial = (self._partial + data).split(b"\n")
        return [line.decode(errors="replace") for line in complete if line]
