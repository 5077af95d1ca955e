"""XID errors: the kernel-log line format, PCI bus ids, and the feed both sources write to.

The driver logs ``NVRM: Xid (PCI:0000:3b:00): 79, pid=0, name=, GPU has fallen off the bus.``;
NVML reports the same XIDs as events, but not all of them (79, 119 and 120 may never arrive), so
the agent reads both and `XidFeed` keeps one report per (PCI bus id, XID) within a short window.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

_XID_LINE = re.compile(
    r"NVRM: Xid \((?:PCI:)?(?P<pci>[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(?:\.\d)?)\):"
    r"\s*(?P<xid>\d+),\s*(?P<rest>.*)"
)
_PID_NAME = re.compile(r"^pid=(?P<pid>[^,]*),\s*(?:name=(?P<name>[^,]*),\s*)?")
_PCI_PARTS = 3
_PCI_WITHOUT_DOMAIN = 2


@dataclass(frozen=True, slots=True)
class Xid:
    """One XID report: code, GPU (normalised PCI bus id), where it came from, and details."""

    xid: int
    pci_bus_id: str
    source: str
    message: str = ""
    pid: int = 0
    process_name: str = ""


class XidReader(Protocol):
    """A source of XID reports that a background thread reads in a loop."""

    source: str
    idle_wait_s: float  # how long the thread waits after an empty read (0: `read` blocks)

    def read(self) -> list[Xid]:
        """Return the XIDs seen since the last call (may block up to a timeout)."""
        ...

    def close(self) -> None:
        """Release what the reader holds."""
        ...


def normalise_pci(bus_id: str) -> str:
    """Return `bus_id` as ``dddd:bb:dd`` (NVML's ``00000000:3B:00.0`` → ``0000:3b:00``)."""
    parts = bus_id.strip().lower().split(":")
    if len(parts) == _PCI_WITHOUT_DOMAIN:
        parts.insert(0, "0000")
    if len(parts) != _PCI_PARTS:
        return bus_id.strip().lower()
    domain, bus, device = parts
    device = device.split(".", 1)[0]
    return f"{domain[-4:].rjust(4, '0')}:{bus.rjust(2, '0')}:{device.rjust(2, '0')}"


def parse_xid_line(line: str) -> Xid | None:
    """Return the XID in a kernel-log line, or None when the line holds none."""
    match = _XID_LINE.search(line)
    if match is None:
        return None
    rest = match["rest"].strip()
    pid, name = 0, ""
    details = _PID_NAME.match(rest)
    if details is not None:
        raw_pid = details["pid"].strip("'\" ")
        pid = int(raw_pid) if raw_pid.isdigit() else 0
        name = (details["name"] or "").strip()
        rest = rest[details.end() :]
    return Xid(int(match["xid"]), normalise_pci(match["pci"]), "kmsg", rest, pid, name)


@dataclass(frozen=True, slots=True)
class XidArrival:
    """An XID as queued: the report and the unix time it arrived."""

    ts: float
    xid: Xid


class XidFeed:
    """Thread-safe queue of XIDs from every reader, deduplicated per (PCI bus id, XID)."""

    def __init__(
        self,
        *,
        window_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: list[XidArrival] = []
        self._last_seen: dict[tuple[str, int], float] = {}

    def add(self, xids: Iterable[Xid]) -> int:
        """Queue the XIDs not reported within the window; return how many were queued."""
        now = self._clock()
        queued = 0
        with self._lock:
            for xid in xids:
                key = (xid.pci_bus_id, xid.xid)
                seen = self._last_seen.get(key)
                if seen is not None and now - seen < self._window_s:
                    continue
                self._last_seen[key] = now
                self._pending.append(XidArrival(now, xid))
                queued += 1
        return queued

    def drain(self) -> list[XidArrival]:
        """Return and forget every queued XID, oldest first."""
        with self._lock:
            pending, self._pending = self._pending, []
            cutoff = self._clock() - self._window_s
            self._last_seen = {k: t for k, t in self._last_seen.items() if t >= cutoff}
        return pending
