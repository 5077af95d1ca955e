"""The NVML collector: every GPU's readings, time-boxed, with lost and missing GPUs reported.

Every cycle reads the fast set, every `slow_every`-th cycle the slow set too, and every
`rare_every`-th slow cycle the rare set (`agent.collectors.nvml_health`), and every
`nvlink_errors_every`-th rare cycle reads the NVLink error counters afresh: at the defaults,
every 1 s, 6 s, 30 s and 5 min. Each cycle runs in a worker thread (`TimeBox`); if NVML does
not answer within `timeout_s`, the last good sample is served again with its own timestamps,
``gpuwarden_collect_stale`` is 1, and the timeout is counted. A GPU that is lost (or gone from
the count) reports ``gpuwarden_gpu_up 0`` and a ``gpu_lost`` event when the episode begins; with
`lost_repeat_s` the event repeats that often while the episode lasts (the bot resolves a
``gpu_lost`` alert that stops repeating), carrying the episode's start in ``since``. When NVML
cannot be used at all the collector logs one line and returns nothing, while the other
collectors run on.
Errors follow the one policy in `agent.collectors.nvml_calls`. Between cycles, `sample` reads
only the watched metrics (`agent.watch`) among the fast set, in the same time box, so that a
crossing leaves at once: one NVML query per GPU for utilisation, one for memory, and so on.
"""

from __future__ import annotations

import importlib
import logging
import math
import time
from collections.abc import Mapping
from functools import partial

from prometheus_client import CollectorRegistry

from agent.collectors.collect_metrics import CollectMetrics
from agent.collectors.nvml_calls import NvmlCalls, NvmlModule, NvmlUnavailable, unavailable
from agent.collectors.nvml_gpu import FAST_METRICS
from agent.collectors.nvml_session import Down, NvmlSample, NvmlSession
from agent.collectors.nvml_xid import NvmlXidReader
from agent.collectors.timebox import Overrun, TimeBox
from agent.collectors.workloads import WorkloadResolver
from agent.wire import NodeEvent, Reading

logger = logging.getLogger(__name__)

NVML = "nvml"
GPU_LOST = "gpu_lost"
COLLECT_STALE = "gpuwarden_collect_stale"


class NvmlCollector:
    """A `Source` of every local GPU's readings through NVML (`nvml` defaults to pynvml)."""

    name = NVML

    def __init__(
        self,
        *,
        node: str,
        registry: CollectorRegistry,
        nvml: NvmlModule | None = None,
        workloads: WorkloadResolver | None = None,
        timeout_s: float = 0.5,
        open_timeout_s: float = 10.0,
        slow_every: int = 6,
        rare_every: int = 5,
        nvlink_errors_every: int = 10,
        expected_gpus: int | None = None,
        lost_repeat_s: float | None = 60.0,
    ) -> None:
        if min(slow_every, rare_every, nvlink_errors_every) < 1:
            raise ValueError(
                "slow_every, rare_every and nvlink_errors_every must be at least 1, got "
                f"{slow_every}, {rare_every}, {nvlink_errors_every}"
            )
        self.node = node
        self.unavailable: str | None = None
        self._nvml = nvml
        self._workloads = workloads or WorkloadResolver()
        self._metrics = CollectMetrics.on(registry)
        self._box = TimeBox(NVML, timeout_s)
        self._open_timeout_s = open_timeout_s
        self._slow_every = slow_every
        self._rare_every = rare_every
        self._nvlink_errors_every = nvlink_errors_every
        self._expected_gpus = expected_gpus
        self._session: NvmlSession | None = None
        self._last: NvmlSample | None = None
        self._lost_repeat_s = lost_repeat_s
        self._down: dict[str, tuple[float, float]] = {}  # key → (episode start, last event)
        self._since_slow: int | None = None

    @property
    def gpu_count(self) -> int:
        """Return how many GPUs the node has: those enumerated plus those down."""
        last = self._last
        seen = 0 if last is None else len({g.uuid for g in last.gpus} | set(last.down))
        return max(seen, self._expected_gpus or 0)

    def open(self) -> bool:
        """Start NVML within the open time box; return False (one line logged) if unavailable."""
        if self.unavailable is not None:
            return False
        session = self._ensure_session()
        if session is None:
            return False
        if session.opened:
            return True
        try:
            self._box.run(session.open, self._open_timeout_s)
        except NvmlUnavailable as exc:
            self._switch_off(str(exc))
            return False
        except Overrun:
            logger.warning(
                "nvmlInit gave no answer within %.0fs; still trying", self._open_timeout_s
            )
            self._metrics.error(NVML, "timeout")
            return False
        return True

    def collect(self, now: float) -> tuple[list[Reading], list[NodeEvent]]:
        """Return this cycle's GPU readings and `gpu_lost` events (nothing if unavailable)."""
        session = self._ensure_session() if self.unavailable is None else None
        if session is None:
            return [], []
        slow = self._since_slow is None or self._since_slow + 1 >= self._slow_every
        started = time.perf_counter()
        # the first cycle probes every field of every GPU (a cold driver without persistence
        # mode takes seconds on a multi-GPU node): it gets the open time box, later ones the
        # cycle's
        first = self._last is None
        try:
            sample = self._box.run(
                partial(session.sample, now, slow=slow), self._open_timeout_s if first else None
            )
        except NvmlUnavailable as exc:
            self._switch_off(str(exc))
            return [], []
        except Overrun as exc:
            return self._stale(now, "timeout", str(exc))
        except Exception:
            logger.exception("NVML collection failed")
            return self._stale(now, "exception", "collection failed")
        finally:
            self._metrics.duration.labels(collector=NVML).observe(time.perf_counter() - started)
        self._since_slow = 0 if slow else (self._since_slow or 0) + 1
        self._last = sample
        self._metrics.stale.labels(collector=NVML).set(0)
        readings = [*sample.readings, Reading(COLLECT_STALE, {"collector": NVML}, now, 0.0)]
        return readings, self._lost_events(now, sample.down)

    def sample(self, now: float, metrics: frozenset[str]) -> list[Reading]:
        """Return the fast readings among `metrics` at `now`, for watched levels between cycles.

        Only the NVML queries yielding those metrics run, in the same time box as a cycle; a
        timeout or failure is counted and yields nothing (the next cycle reports as usual).
        """
        wanted = metrics & FAST_METRICS
        session = self._session
        if not wanted or self.unavailable is not None or session is None or not session.opened:
            return []
        try:
            return self._box.run(partial(session.watch, now, wanted))
        except NvmlUnavailable as exc:
            self._switch_off(str(exc))
        except Overrun as exc:
            self._metrics.error(NVML, "timeout")
            logger.debug("NVML watched sample skipped: %s", exc)
        except Exception:
            logger.exception("NVML watched sample failed")
            self._metrics.error(NVML, "exception")
        return []

    def gpus_by_pci(self) -> Mapping[str, Mapping[str, str]]:
        """Return each enumerated GPU's labels by normalised PCI bus id (for kernel-log XIDs)."""
        gpus = () if self._session is None else self._session.gpus
        return {gpu.pci_bus_id: gpu.labels() for gpu in gpus}

    def xid_reader(self, *, wait_ms: int = 1000) -> NvmlXidReader | None:
        """Return a reader of NVML's XID events for the GPUs enumerated, if NVML is running."""
        session = self._session
        if self.unavailable is not None or session is None or not session.opened:
            return None
        try:
            reader = NvmlXidReader(session.nvml, session.gpus, wait_ms=wait_ms)
        except session.nvml.NVMLError as exc:
            logger.warning("NVML XID events are not available: %s", exc)
            return None
        if reader.watching:
            return reader
        reader.close()
        return None

    def close(self) -> None:
        """Shut NVML down, unless a call is still hung in it."""
        session = self._session
        try:
            if session is not None and session.opened:
                self._box.run(session.close)
        except Overrun:
            logger.warning("an NVML call is still running; leaving NVML initialised")
        finally:
            self._box.close()

    def _ensure_session(self) -> NvmlSession | None:
        if self._session is None:
            try:
                nvml = self._nvml or importlib.import_module("pynvml")
            except ImportError as exc:
                self._switch_off(str(unavailable(exc)))
                return None
            calls = NvmlCalls(nvml, partial(self._metrics.error, NVML))
            self._session = NvmlSession(
                nvml,
                calls,
                self._workloads,
                expected_gpus=self._expected_gpus,
                lost_retry_cycles=self._slow_every,
                rare_every=self._rare_every,
                nvlink_errors_every=self._nvlink_errors_every,
            )
        return self._session

    def _switch_off(self, message: str) -> None:
        self.unavailable = message
        self._metrics.error(NVML, "unavailable")
        logger.error("%s", message)

    def _stale(self, now: float, reason: str, why: str) -> tuple[list[Reading], list[NodeEvent]]:
        self._metrics.error(NVML, reason)
        logger.warning("NVML: %s; serving the last good sample", why)
        if self._last is None:
            return [], []
        self._metrics.stale.labels(collector=NVML).set(1)
        stale = Reading(COLLECT_STALE, {"collector": NVML}, now, 1.0)
        return [*self._last.readings, stale], []

    def _lost_events(self, now: float, down: Mapping[str, Down]) -> list[NodeEvent]:
        for key in self._down.keys() - down.keys():
            logger.info("GPU %s answers again", key)
        events = []
        episodes: dict[str, tuple[float, float]] = {}
        for key, gone in down.items():
            since, last = self._down.get(key, (now, -math.inf))
            repeat = self._lost_repeat_s
            if last == -math.inf or (repeat is not None and now - last >= repeat):
                events.append(_lost_event(now, gone, since))
                last = now
            episodes[key] = (since, last)
        self._down = episodes
        return events


def _lost_event(now: float, gone: Down, since: float) -> NodeEvent:
    gpu, uuid = gone.labels["gpu"], gone.labels["uuid"]
    return NodeEvent(
        kind=GPU_LOST,
        ts=now,
        labels=dict(gone.labels),
        message=f"GPU {gpu} ({uuid or 'unknown UUID'}) is lost: {gone.reason}",
        attrs={"gpu": int(gpu), "uuid": uuid, "reason": gone.reason, "since": since},
    )
