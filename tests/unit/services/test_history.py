"""The in-memory evidence window: bounded per series, per step, and in series count."""

from __future__ import annotations

from bot.core.signals import Event, Sample, SeriesKey
from bot.services.history import SampleHistory


def key(node: str, gpu: int) -> SeriesKey:
    return SeriesKey.of("util", {"node": node, "gpu": str(gpu)})


def test_keeps_one_sample_per_step_and_at_most_the_window() -> None:
    history = SampleHistory(keep_s=60, step_s=5, max_series=10)
    history.record(Sample(key("n1", 0), float(t), float(t)) for t in range(200))
    [points] = history.series(node="n1").values()
    assert len(points) == 12
    assert [t for t, _ in points[-3:]] == [185.0, 190.0, 195.0]


def test_keeps_no_more_series_than_its_limit() -> None:
    history = SampleHistory(keep_s=60, step_s=1, max_series=2)
    history.record([Sample(key("n1", 0), 0.0, 1.0), Sample(key("n1", 1), 0.0, 1.0)])
    history.record([Sample(key("n1", 0), 5.0, 1.0), Sample(key("n2", 0), 5.0, 1.0)])
    assert set(history.series()) == {key("n1", 0), key("n1", 1)}
    assert len(history.series(node="n1")[key("n1", 0)]) == 2


def test_events_by_node() -> None:
    history = SampleHistory(max_events=2)
    history.record([], [Event("log", float(i), (("node", f"n{i % 2}"),)) for i in range(3)])
    assert [e.ts for e in history.events()] == [1.0, 2.0]
    assert [e.ts for e in history.events(node="n0")] == [2.0]
