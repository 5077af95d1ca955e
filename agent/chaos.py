"""``gpuwarden chaos``: create real faults on a real GPU, for drills and detection checks.

- ``gpu-memory-leak --rate 50``: grow this process's GPU memory by 50 MiB a minute (the unit of
  nvidia-smi and of the bot's leak-rate thresholds) in small steps, as a leaking server would.
- ``gpu-load --seconds 60``: keep the GPU's SMs busy with matrix products.

The GPU is reached through whichever array library is installed (PyTorch, else CuPy); neither is a
dependency of gpuwarden, so without them the command says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MB = 2**20  # MiB, as in bot.core.derived
# Allocate in whole blocks of the CUDA caching allocators' large-allocation granularity, so that
# the memory the driver reports grows at the requested rate instead of being rounded up per step.
CHUNK = 2 * MB


class NoGpuLibrary(RuntimeError):
    """Neither PyTorch nor CuPy (with a working GPU) is available."""


@dataclass(frozen=True)
class GpuArrays:
    """The two operations chaos needs, over PyTorch or CuPy."""

    library: str
    allocate: Callable[[int], Any]  # bytes -> a live allocation (kept referenced)
    matmul_burst: Callable[[], None]  # one burst of compute, synchronised


def gpu_arrays(device: int) -> GpuArrays:
    """Bind to the first GPU array library that imports and sees ``device``."""
    for name in ("torch", "cupy"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if name == "torch" and module.cuda.is_available():
            return _torch(module, device)
        if name == "cupy" and module.cuda.runtime.getDeviceCount() > device:
            return _cupy(module, device)
    msg = "needs PyTorch or CuPy with a visible NVIDIA GPU; neither was found"
    raise NoGpuLibrary(msg)


def _torch(torch: Any, device: int) -> GpuArrays:
    dev = torch.device("cuda", device)
    a = torch.randn(4096, 4096, device=dev, dtype=torch.float16)

    def burst() -> None:
        for _ in range(20):
            a @ a
        torch.cuda.synchronize(dev)

    def allocate(size: int) -> Any:
        return torch.ones(size, dtype=torch.uint8, device=dev)  # touched, so really resident

    return GpuArrays("torch", allocate, burst)


def _cupy(cupy: Any, device: int) -> GpuArrays:
    cupy.cuda.Device(device).use()
    a = cupy.random.standard_normal((4096, 4096), dtype=cupy.float32)

    def burst() -> None:
        for _ in range(20):
            a @ a
        cupy.cuda.Device(device).synchronize()

    def allocate(size: int) -> Any:
        return cupy.ones(size, dtype=cupy.uint8)

    return GpuArrays("cupy", allocate, burst)


def leak(
    arrays: GpuArrays,
    *,
    rate_mb_per_min: float,
    seconds: float,
    step_s: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Allocate at ``rate_mb_per_min`` for ``seconds``; return the bytes held at the end."""
    held: list[Any] = []
    start = clock()
    allocated = 0
    while (elapsed := clock() - start) < seconds:
        target = int(rate_mb_per_min * MB * elapsed / 60) // CHUNK * CHUNK
        if target > allocated:
            held.append(arrays.allocate(target - allocated))
            allocated = target
        sleep(step_s)
    log.info("chaos: leaked %.1f MiB over %.0f s with %s", allocated / MB, seconds, arrays.library)
    return allocated


def load(
    arrays: GpuArrays,
    *,
    seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Run matrix-product bursts for ``seconds``; return how many ran."""
    bursts, start = 0, clock()
    while clock() - start < seconds:
        arrays.matmul_burst()
        bursts += 1
    return bursts


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of ``gpuwarden chaos``."""
    parser.description = (
        "Create a real fault on a real GPU, for drills and for checking that gpuwarden detects "
        "it. Needs PyTorch or CuPy with a visible NVIDIA GPU."
    )
    sub = parser.add_subparsers(dest="fault", required=True, metavar="FAULT")
    leak_cmd = sub.add_parser("gpu-memory-leak", help="grow GPU memory at a fixed rate")
    leak_cmd.add_argument(
        "--rate",
        type=float,
        default=50.0,
        help="MB (10**6 bytes) per minute (default 50: the seed's critical rate)",
    )
    leak_cmd.add_argument("--seconds", type=float, default=300.0, help="how long (default 300)")
    load_cmd = sub.add_parser("gpu-load", help="saturate the GPU with matrix products")
    load_cmd.add_argument("--seconds", type=float, default=60.0, help="how long (default 60)")
    for cmd in (leak_cmd, load_cmd):
        cmd.add_argument("--device", type=int, default=0, help="GPU index (default 0)")


def run(args: argparse.Namespace) -> int:
    """Run one chaos fault to completion (Ctrl-C ends it early)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.seconds <= 0 or (args.fault == "gpu-memory-leak" and args.rate <= 0):
        print("gpuwarden chaos: --seconds and --rate must be positive")  # noqa: T201
        return 2
    try:
        arrays = gpu_arrays(args.device)
    except NoGpuLibrary as exc:
        print(f"gpuwarden chaos: {exc}")  # noqa: T201
        return 2
    if args.fault == "gpu-memory-leak":
        leak(arrays, rate_mb_per_min=args.rate, seconds=args.seconds)
    else:
        bursts = load(arrays, seconds=args.seconds)
        log.info("chaos: ran %d matrix-product bursts in %.0f s", bursts, args.seconds)
    return 0
