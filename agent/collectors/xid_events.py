"""XID events from every reader (NVML event set, kernel log), as a `Source`.

Each reader runs in its own daemon thread and writes to one `XidFeed`. With an `urgent` hand-off
(e.g. `agent.urgent.UrgentEvents.put`), a new XID becomes an ``xid`` event in that thread at once,
so the loop ships it without waiting for its tick; without one, `collect` returns the events.
`collect` also returns two series per (GPU, XID): ``gpuwarden_gpu_xid_errors_total`` and
``gpuwarden_gpu_last_xid_timestamp_seconds``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from prometheus_client import CollectorRegistry

from agent.collectors.collect_metrics import CollectMetrics
from agent.collectors.workloads import WorkloadResolver
from agent.collectors.xid import XidArrival, XidFeed, XidReader
from agent.wire import AttrValue, NodeEvent, Reading

logger = logging.getLogger(__name__)

XID = "xid"
XID_ERRORS = "gpuwarden_gpu_xid_errors_total"
LAST_XID = "gpuwarden_gpu_last_xid_timestamp_seconds"
_NO_GPU = {"gpu": "", "uuid": "", "model_name": ""}
_JOIN_S = 5.0

GpuLookup = Callable[[], Mapping[str, Mapping[str, str]]]
UrgentHandOff = Callable[[str, NodeEvent], None]


def _no_gpus() -> Mapping[str, Mapping[str, str]]:
    return {}


class XidCollector:
    """XIDs from `readers`, deduplicated, mapped to GPUs by PCI bus id via `gpus_by_pci`."""

    name = XID
    gpu_count = 0

    def __init__(
        self,
        *,
        node: str,
        registry: CollectorRegistry,
        readers: Sequence[XidReader],
        gpus_by_pci: GpuLookup = _no_gpus,
        workloads: WorkloadResolver | None = None,
        window_s: float = 5.0,
        urgent: UrgentHandOff | None = None,
        clock: Callable[[], float] = time.time,
        error_backoff_s: float = 5.0,
    ) -> None:
        self.node = node
        self.feed = XidFeed(window_s=window_s, clock=clock)
        self._urgent = urgent
        self._error_backoff_s = error_backoff_s
        self._lock = threading.Lock()
        self._readers = list(readers)
        self._gpus_by_pci = gpus_by_pci
        self._workloads = workloads
        self._metrics = CollectMetrics.on(registry)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._totals: dict[tuple[str, int], tuple[dict[str, str], int, float]] = {}

    def start(self) -> None:
        """Start one reading thread per reader."""
        for reader in self._readers:
            thread = threading.Thread(
                target=self._follow, args=(reader,), name=f"xid-{reader.source}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def pump(self, reader: XidReader) -> int:
        """Read `reader` once; hand new XIDs over at once if urgent; return how many were new."""
        queued = self.feed.add(reader.read())
        if queued and self._urgent is not None:
            for event in self._events():
                self._urgent(self.node, event)
        return queued

    def collect(self, now: float) -> tuple[list[Reading], list[NodeEvent]]:
        """Return the XIDs queued since the last call as events, and the per-XID series."""
        events = self._events()
        with self._lock:
            totals = list(self._totals.values())
        readings = [
            reading
            for labels, count, last in totals
            for reading in (
                Reading(XID_ERRORS, labels, now, float(count)),
                Reading(LAST_XID, labels, now, last),
            )
        ]
        return readings, events

    def close(self) -> None:
        """Stop the threads, then close each reader whose thread has ended."""
        self._stop.set()
        threads = dict(zip(self._readers, self._threads, strict=False))
        for reader in self._readers:
            thread = threads.get(reader)
            if thread is not None:
                thread.join(_JOIN_S)
                if thread.is_alive():
                    logger.warning("XID reader %s did not stop; leaving it open", reader.source)
                    continue
            reader.close()

    def _follow(self, reader: XidReader) -> None:
        while not self._stop.is_set():
            try:
                found = self.pump(reader)
            except Exception:
                logger.exception("reading XIDs from %s failed; retrying", reader.source)
                self._metrics.error(f"xid_{reader.source}", "read_failed")
                self._stop.wait(self._error_backoff_s)
                continue
            if not found and reader.idle_wait_s > 0:
                self._stop.wait(reader.idle_wait_s)

    def _events(self) -> list[NodeEvent]:
        gpus = self._gpus_by_pci()
        with self._lock:
            return [self._event(arrival, gpus) for arrival in self.feed.drain()]

    def _event(self, arrival: XidArrival, gpus: Mapping[str, Mapping[str, str]]) -> NodeEvent:
        xid = arrival.xid
        gpu = dict(gpus.get(xid.pci_bus_id, _NO_GPU))
        series = {**gpu, "pci_bus_id": xid.pci_bus_id, "xid": str(xid.xid)}
        key = (xid.pci_bus_id, xid.xid)
        count = self._totals.get(key, (series, 0, 0.0))[1] + 1
        self._totals[key] = (series, count, arrival.ts)
        attrs: dict[str, AttrValue] = {
            "xid": xid.xid,
            "pci": xid.pci_bus_id,
            "message": xid.message,
            "source": xid.source,
        }
        if gpu["gpu"]:
            attrs["gpu"] = int(gpu["gpu"])
        attrs.update(self._workload(xid.pid))
        where = f"GPU {gpu['gpu']} ({xid.pci_bus_id})" if gpu["gpu"] else xid.pci_bus_id
        text = f"Xid {xid.xid} on {where}" + (f": {xid.message}" if xid.message else "")
        labels = {k: v for k, v in gpu.items() if v}
        return NodeEvent(kind=XID, ts=arrival.ts, labels=labels, message=text, attrs=attrs)

    def _workload(self, pid: int) -> dict[str, AttrValue]:
        if pid <= 0:
            return {}
        attrs: dict[str, AttrValue] = {"pid": pid}
        workload = self._workloads.resolve(pid) if self._workloads is not None else None
        if workload is not None:
            attrs.update({k: v for k, v in workload.labels().items() if v})
        return attrs
