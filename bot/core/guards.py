"""Guard rails every remediation passes, at request time and again right before it runs (pure).

- a global **kill switch** stops all remediation;
- a **circuit breaker** opens after ``breaker_failures`` failed actions within
  ``breaker_window_s`` (any target): people look before the bot acts again;
- a per-target **cooldown**: no second action on a target within ``cooldown_s`` of the last one;
- **replicas** stay within ``min_replicas`` … ``max_replicas`` and change by at most ``max_step``
  per action;
- **GPU headroom** (the seed's 20 % reserve): after a scale-up the fleet still has
  ``gpu_headroom`` of its GPUs free; a drain needs room elsewhere for the pods it moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.actions import ActionKind, Plan
from bot.core.cluster import NodeCapacity


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    """The limits; defaults follow the reliability notes (G14) and the seed."""

    kill_switch: bool = False
    min_replicas: int = 1
    max_replicas: int = 10
    max_step: int = 4
    gpu_headroom: float = 0.2
    cooldown_s: float = 300.0
    breaker_failures: int = 3
    breaker_window_s: float = 1800.0


@dataclass(frozen=True, slots=True)
class PastAction:
    """An action that ran: on what, when it finished, and whether it worked."""

    target: str
    at: float
    ok: bool


def violations(
    plan: Plan,
    *,
    policy: GuardPolicy,
    history: Sequence[PastAction],
    nodes: Sequence[NodeCapacity] | None,
    now: float,
) -> list[str]:
    """Why ``plan`` must not run now (empty: it may); ``nodes`` None skips the GPU check."""
    if policy.kill_switch:
        return ["remediation is switched off (kill switch in remediation.yaml)"]
    found = _breaker(policy, history, now) + _cooldown(plan, policy, history, now)
    if plan.request.kind is ActionKind.SCALE:
        found += _replicas(plan, policy)
        if nodes is not None:
            found += _headroom_after_scale(plan, policy, nodes)
    if plan.request.kind is ActionKind.DRAIN and nodes is not None:
        found += _room_to_drain(plan, nodes)
    return found


def _breaker(policy: GuardPolicy, history: Sequence[PastAction], now: float) -> list[str]:
    recent = [p for p in history if not p.ok and now - p.at <= policy.breaker_window_s]
    if len(recent) >= policy.breaker_failures:
        minutes = policy.breaker_window_s / 60
        return [
            f"circuit breaker open: {len(recent)} actions failed in the last {minutes:g} min; "
            "find out why before acting again"
        ]
    return []


def _cooldown(
    plan: Plan, policy: GuardPolicy, history: Sequence[PastAction], now: float
) -> list[str]:
    last = max((p.at for p in history if p.target == plan.request.target), default=None)
    if last is not None and now - last < policy.cooldown_s:
        wait = policy.cooldown_s - (now - last)
        return [f"{plan.request.target} was changed {now - last:.0f} s ago; wait {wait:.0f} s"]
    return []


def _current_replicas(plan: Plan) -> int | None:
    text = plan.observed.get("spec.replicas")
    return int(text) if text is not None and text.isdigit() else None


def _replicas(plan: Plan, policy: GuardPolicy) -> list[str]:
    wanted = plan.request.replicas
    if wanted is None:
        return []
    found = []
    if not policy.min_replicas <= wanted <= policy.max_replicas:
        found.append(
            f"{wanted} replicas is outside {policy.min_replicas}…{policy.max_replicas} "
            "(min/max replicas)"
        )
    current = _current_replicas(plan)
    if current is not None and abs(wanted - current) > policy.max_step:
        found.append(
            f"{current} → {wanted} changes more than {policy.max_step} replicas in one step"
        )
    return found


def _headroom_after_scale(
    plan: Plan, policy: GuardPolicy, nodes: Sequence[NodeCapacity]
) -> list[str]:
    current = _current_replicas(plan)
    wanted = plan.request.replicas
    if current is None or wanted is None or wanted <= current:
        return []
    total = sum(n.gpus_allocatable for n in nodes if n.ready)
    free = sum(n.gpus_free for n in nodes if n.ready)
    added = plan.blast.gpus
    if total == 0:
        return ["no schedulable GPU nodes are ready"]
    left = free - added
    if left < policy.gpu_headroom * total:
        return [
            f"scaling up takes {added} GPU(s) and leaves {max(left, 0)} of {total} free, "
            f"under the {policy.gpu_headroom:.0%} headroom reserve"
        ]
    return []


def _room_to_drain(plan: Plan, nodes: Sequence[NodeCapacity]) -> list[str]:
    drained = set(plan.blast.nodes) or {plan.request.target}
    moving = sum(n.gpus_requested for n in nodes if n.name in drained)
    room = sum(n.gpus_free for n in nodes if n.ready and n.name not in drained)
    if moving > room:
        return [f"the drained pods need {moving} GPU(s) elsewhere, only {room} are free"]
    return []
