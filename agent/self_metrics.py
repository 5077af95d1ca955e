"""The agent's own metrics (delivery and spool health), on a registry passed in."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

from agent.backlog import Backlog


class ShipperMetrics:
    """Counters and gauges that say whether readings reach the bot."""

    def __init__(self, registry: CollectorRegistry, backlog: Backlog) -> None:
        self.sent_batches = Counter(
            "gpuwarden_agent_sent_batches_total",
            "Batches the bot accepted (202), duplicates included.",
            registry=registry,
        )
        self.sent_samples = Counter(
            "gpuwarden_agent_sent_samples_total",
            "Samples in batches the bot accepted.",
            registry=registry,
        )
        self.retries = Counter(
            "gpuwarden_agent_retries_total",
            "Failed deliveries that will be retried, by reason.",
            ["reason"],
            registry=registry,
        )
        self.rejected_batches = Counter(
            "gpuwarden_agent_rejected_batches_total",
            "Batches the bot refused for good (4xx other than 408/429), by HTTP status.",
            ["status"],
            registry=registry,
        )
        self.dropped_samples = Counter(
            "gpuwarden_agent_dropped_samples_total",
            "Samples dropped undelivered because the queue overflowed.",
            registry=registry,
        )
        self.dropped_batches = Counter(
            "gpuwarden_agent_dropped_batches_total",
            "Batches dropped undelivered because the queue overflowed.",
            registry=registry,
        )
        self.last_success = Gauge(
            "gpuwarden_agent_last_success_timestamp_seconds",
            "Unix time of the last batch the bot accepted.",
            registry=registry,
        )
        queued_batches = Gauge(
            "gpuwarden_agent_queue_batches",
            "Batches waiting for delivery.",
            registry=registry,
        )
        queued_batches.set_function(lambda: len(backlog))
        queued_records = Gauge(
            "gpuwarden_agent_queue_records",
            "Records (samples plus events) waiting for delivery.",
            registry=registry,
        )
        queued_records.set_function(lambda: backlog.records)


class SpoolMetrics:
    """Size of the disk spool and the files it had to set aside."""

    def __init__(self, registry: CollectorRegistry, size_bytes: Callable[[], float]) -> None:
        size = Gauge(
            "gpuwarden_agent_spool_bytes",
            "Bytes of batches waiting in the disk spool.",
            registry=registry,
        )
        size.set_function(size_bytes)
        self.corrupt_files = Counter(
            "gpuwarden_agent_spool_corrupt_files_total",
            "Spool files that could not be read back and were moved aside.",
            registry=registry,
        )
