"""Assembling one real GPU node's collectors: NVML, XIDs (NVML events + kernel log), host."""

from __future__ import annotations

import logging
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from agent.collectors.host import HostCollector, ServingProcess
from agent.collectors.kmsg import KmsgReader
from agent.collectors.node import Collector, NodeSource
from agent.collectors.nvml import NvmlCollector
from agent.collectors.workloads import WorkloadResolver
from agent.collectors.xid import XidReader
from agent.collectors.xid_events import XidCollector
from agent.urgent import UrgentEvents

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GpuNodeOptions:
    """How the real collectors of one node are set up (from the agent's command line)."""

    nvml: bool = True
    nvml_timeout_s: float = 0.5
    slow_every: int = 6
    expected_gpus: int | None = None
    kmsg_path: Path | None = Path("/dev/kmsg")
    serving_processes: tuple[str, ...] = ()


def gpu_node_source(
    stack: ExitStack,
    *,
    node: str,
    registry: CollectorRegistry,
    urgent: UrgentEvents,
    options: GpuNodeOptions,
) -> NodeSource:
    """The node's collectors as one source; their closing is registered on ``stack``."""
    workloads = WorkloadResolver()
    collectors: list[Collector] = []
    readers: list[XidReader] = []
    gpu: NvmlCollector | None = None
    if options.nvml:
        gpu = NvmlCollector(
            node=node,
            registry=registry,
            workloads=workloads,
            timeout_s=options.nvml_timeout_s,
            slow_every=options.slow_every,
            expected_gpus=options.expected_gpus,
        )
        stack.enter_context(closing(gpu))
        collectors.append(gpu)
        if gpu.open() and (reader := gpu.xid_reader()) is not None:
            readers.append(reader)
    if options.kmsg_path is not None:
        readers.append(KmsgReader(options.kmsg_path))
    if readers:
        xid = XidCollector(
            node=node,
            registry=registry,
            readers=readers,
            workloads=workloads,
            urgent=urgent.put,
            gpus_by_pci=gpu.gpus_by_pci if gpu is not None else dict,
        )
        xid.start()
        stack.enter_context(closing(xid))
        collectors.append(xid)
    serving = [ServingProcess.parse(s) for s in options.serving_processes]
    collectors.append(
        HostCollector(node=node, registry=registry, workloads=workloads, serving=serving)
    )
    logger.info("node %s: collectors %s", node, ", ".join(c.name for c in collectors))
    return NodeSource(node=node, collectors=collectors, registry=registry)
