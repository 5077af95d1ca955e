"""The agent's composition root: backlog (disk spool or memory), shipper, exporter, local sources.

`AgentParts.build_loop` wires them around the GPU sources (simulated or NVML) into an `AgentLoop`;
everything it opens is closed by the `ExitStack` passed in. The local sources report as the node
of the first GPU source. A port already in use is logged and that part left off: delivering to
the bot comes first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, ProcessCollector

from agent.backlog import Backlog, MemoryBacklog, SpillingBacklog
from agent.collectors.logs import LOG_METRICS, LogTailer
from agent.collectors.serving import SERVING_METRICS, ServingScraper
from agent.exporter import (
    DEFAULT_METRICS_PORT,
    GPU_METRICS,
    MetricInfo,
    ReadingsCollector,
    Snapshot,
    serve_metrics,
)
from agent.quality import QUALITY_METRICS, QualityEndpoint
from agent.runner import AgentLoop, StopFlag
from agent.shipper import Shipper
from agent.simulate.serving import SIMULATED_METRICS
from agent.source import Source
from agent.spool import DEFAULT_MAX_BYTES, DiskSpool
from agent.urgent import UrgentEvents
from agent.watch import DEFAULT_WATCH_INTERVAL_S, LevelPoller, WatchedLevels

logger = logging.getLogger(__name__)

CATALOGUE: Mapping[str, MetricInfo] = {
    **GPU_METRICS,
    **SERVING_METRICS,
    **LOG_METRICS,
    **QUALITY_METRICS,
    **SIMULATED_METRICS,
}


@dataclass(frozen=True, slots=True)
class LocalSources:
    """The node's sources beside its GPUs: serving /metrics, log files, the quality endpoint."""

    serving_urls: tuple[str, ...] = ()
    serving_interval_s: float = 5.0
    log_files: tuple[Path, ...] = ()
    quality_port: int = 0

    def build(self, stack: ExitStack, *, node: str, registry: CollectorRegistry) -> list[Source]:
        """Return the configured sources for `node`, their closing registered on `stack`."""
        sources: list[Source] = []
        if self.serving_urls:
            scraper = ServingScraper(
                self.serving_urls,
                node=node,
                registry=registry,
                interval_s=self.serving_interval_s,
            )
            sources.append(stack.enter_context(closing(scraper)))
        if self.log_files:
            sources.append(
                stack.enter_context(
                    closing(LogTailer(self.log_files, node=node, registry=registry))
                )
            )
        if self.quality_port:
            endpoint = QualityEndpoint(node=node)
            try:
                endpoint.start(port=self.quality_port)
            except OSError as exc:
                logger.error(
                    "quality endpoint off: cannot listen on %d: %s", self.quality_port, exc
                )
            else:
                sources.append(stack.enter_context(closing(endpoint)))
        return sources


@dataclass(frozen=True, slots=True)
class AgentParts:
    """Where batches wait, where metrics are served, and which local sources run."""

    metrics_port: int = DEFAULT_METRICS_PORT
    spool_dir: Path | None = None
    spool_max_bytes: int = DEFAULT_MAX_BYTES
    local: LocalSources = field(default_factory=LocalSources)
    watch_interval_s: float = DEFAULT_WATCH_INTERVAL_S  # 0: no watched levels

    def build_loop(
        self,
        stack: ExitStack,
        *,
        sources: Sequence[Source],
        ingest_url: str,
        token: str,
        interval_s: float,
        stop: StopFlag,
        urgent: UrgentEvents | None = None,
        registry: CollectorRegistry | None = None,
        silenced: Callable[[str, float], bool] | None = None,
        watch_url: str | None = None,
    ) -> AgentLoop:
        """Return the loop over `sources` plus the local ones, shipping to `ingest_url`.

        `registry` is the one the sources' self-metrics live in (a new one when not given); the
        exporter serves it. With `watch_url` (and a watch interval) the bot's levels are fetched
        from there and checked between ticks.
        """
        registry = registry or CollectorRegistry()
        ProcessCollector(registry=registry)
        shipper = stack.enter_context(
            Shipper(ingest_url, token, registry=registry, backlog=self._backlog(stack, registry))
        )
        local = self.local.build(stack, node=sources[0].node, registry=registry)
        snapshot = Snapshot()
        if self.metrics_port:
            registry.register(ReadingsCollector.beside(registry, snapshot, CATALOGUE))
            try:
                stack.callback(serve_metrics(registry, port=self.metrics_port))
            except OSError as exc:
                logger.error("/metrics off: cannot listen on %d: %s", self.metrics_port, exc)
        watched = None
        if watch_url and self.watch_interval_s:
            watched = WatchedLevels()
            poller = stack.enter_context(LevelPoller(watch_url, token, watched))
            poller.start()
        return AgentLoop(
            sources=[*sources, *local],
            shipper=shipper,
            stop=stop,
            interval_s=interval_s,
            urgent=urgent,
            snapshot=snapshot,
            silenced=silenced,
            watched=watched,
            watch_interval_s=self.watch_interval_s or 1.0,
        )

    def _backlog(self, stack: ExitStack, registry: CollectorRegistry) -> Backlog:
        if self.spool_dir is None:
            return MemoryBacklog()
        spool = DiskSpool(self.spool_dir, max_bytes=self.spool_max_bytes, registry=registry)
        backlog = SpillingBacklog(stack.enter_context(spool))
        stack.callback(backlog.close)  # before the spool closes: held batches go to disk
        return backlog
