"""A simulated model's output-token distribution, as an eval job pushes it to the quality endpoint.

The reference distribution is fixed per model; a drift of `kl` nats mixes it with a shifted one
(mass moved to the other end of the buckets) in the proportion that makes KL(drifted ‖ reference)
equal `kl`, found by bisection, so a scenario asks for the divergence the bot should compute.
Each push carries sampling noise of `observations` outputs.
"""

from __future__ import annotations

import math
import random

from agent.quality import OUTPUT_BUCKET, OUTPUT_OBSERVATIONS
from agent.wire import Reading

BUCKETS = 10
OBSERVATIONS = 20_000
_DECAY = 0.75  # reference share of bucket i ∝ decay^i
_BISECTIONS = 40


def reference() -> list[float]:
    """Return the reference shares of the buckets (a geometric decay, summing to 1)."""
    weights = [_DECAY**i for i in range(BUCKETS)]
    total = sum(weights)
    return [w / total for w in weights]


def kl(p: list[float], q: list[float]) -> float:
    """Return KL(p ‖ q) in nats (buckets where p is 0 add nothing)."""
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True) if pi > 0)


def drifted(target_kl: float) -> list[float]:
    """Return the reference mixed with its mirror image so that KL to the reference is `target_kl`.

    The divergence of the mixture grows with the mixing share, so bisection finds it; a target
    beyond the mirror image's own divergence gives the mirror image.
    """
    base = reference()
    if target_kl <= 0:
        return base
    mirror = base[::-1]
    low, high = 0.0, 1.0
    for _ in range(_BISECTIONS):
        mid = (low + high) / 2
        mixed = [(1 - mid) * b + mid * m for b, m in zip(base, mirror, strict=True)]
        low, high = (mid, high) if kl(mixed, base) < target_kl else (low, mid)
    return [(1 - low) * b + low * m for b, m in zip(base, mirror, strict=True)]


def output_readings(
    *, model: str, drift_kl: float, now: float, rng: random.Random
) -> list[Reading]:
    """Return one push of the output histogram (shares per bucket, observations counted)."""
    shares = drifted(drift_kl)
    noisy = [max(0.0, s + rng.gauss(0.0, math.sqrt(s * (1 - s) / OBSERVATIONS))) for s in shares]
    total = sum(noisy)
    out = [
        Reading(OUTPUT_BUCKET, {"model_name": model, "bucket": str(i)}, now, round(v / total, 6))
        for i, v in enumerate(noisy)
    ]
    out.append(Reading(OUTPUT_OBSERVATIONS, {"model_name": model}, now, float(OBSERVATIONS)))
    return out
