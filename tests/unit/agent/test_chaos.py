import argparse

import pytest

from agent import chaos
from agent.chaos import CHUNK, MB, GpuArrays, leak, load


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def fake_arrays(allocations: list[int], bursts: list[int] | None = None) -> GpuArrays:
    def burst() -> None:
        if bursts is not None:
            bursts.append(1)

    return GpuArrays("fake", allocations.append, burst)


def test_leak_grows_memory_at_the_requested_rate():
    clock, sizes = FakeClock(), []
    held = leak(fake_arrays(sizes), rate_mb_per_min=60, seconds=120, clock=clock, sleep=clock.sleep)
    assert held == sum(sizes)
    assert held == pytest.approx(119 * MB, rel=0.02)  # 1 MiB/s for the 119 s it ran
    assert all(size % CHUNK == 0 for size in sizes)  # whole allocator blocks, never rounded up


def test_load_runs_bursts_until_the_time_is_up():
    clock, bursts = FakeClock(), []
    arrays = GpuArrays("fake", lambda _: None, lambda: (bursts.append(1), clock.sleep(0.5))[0])
    assert load(arrays, seconds=10, clock=clock) == 20


def test_without_a_gpu_library_the_command_explains_and_exits_2(monkeypatch, capsys):
    def no_library(_: int) -> GpuArrays:
        raise chaos.NoGpuLibrary("needs PyTorch or CuPy")

    monkeypatch.setattr(chaos, "gpu_arrays", no_library)
    args = argparse.Namespace(fault="gpu-load", seconds=1.0, device=0)
    assert chaos.run(args) == 2
    assert "needs PyTorch or CuPy" in capsys.readouterr().out


def test_rejects_non_positive_durations(capsys):
    args = argparse.Namespace(fault="gpu-memory-leak", seconds=0.0, rate=10.0, device=0)
    assert chaos.run(args) == 2
    assert "must be positive" in capsys.readouterr().out
