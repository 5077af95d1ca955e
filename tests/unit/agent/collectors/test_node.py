from __future__ import annotations

import logging

from agent.collectors.node import NodeSource
from agent.wire import NodeEvent, Reading

from .conftest import NOW


class Stub:
    def __init__(self, name: str, gpus: int = 0, *, fail: bool = False) -> None:
        self.name = name
        self.gpu_count = gpus
        self.fail = fail
        self.closed = False

    def collect(self, now: float):
        if self.fail:
            raise RuntimeError("boom")
        reading = Reading("gpuwarden_stub", {"collector": self.name}, now, 1.0)
        return [reading], [NodeEvent(kind="stub", ts=now)]

    def close(self) -> None:
        self.closed = True


def test_a_failing_collector_costs_only_its_own_part(registry, caplog):
    parts = [Stub("nvml", 8), Stub("host", fail=True), Stub("xid")]
    source = NodeSource(node="n1", collectors=parts, registry=registry)
    with caplog.at_level(logging.ERROR):
        readings, events = source.collect(NOW)

    assert [r.labels["collector"] for r in readings] == ["nvml", "xid"]
    assert len(events) == 2
    assert source.gpu_count == 8
    errors = registry.get_sample_value(
        "gpuwarden_collect_errors_total", {"collector": "host", "reason": "exception"}
    )
    assert errors == 1
    assert "collector host failed" in caplog.text


def test_close_closes_every_collector(registry):
    parts = [Stub("nvml"), Stub("xid")]
    NodeSource(node="n1", collectors=parts, registry=registry).close()

    assert all(p.closed for p in parts)
