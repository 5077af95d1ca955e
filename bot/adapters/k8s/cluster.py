"""``KubernetesCluster``: the Cluster port over the blocking ``kubernetes`` client.

Each call runs in a worker thread (``asyncio.to_thread``). Plans are built from live reads and
a server-side dry run (``dryRun=All``); writes carry the plan's resourceVersion, so a 409 raises
Conflict and nothing is applied.
"""

from __future__ import annotations

import asyncio
import time

from kubernetes import client

from bot.adapters.k8s import probes
from bot.adapters.k8s.nodes import CordonChange, DrainChange
from bot.adapters.k8s.planning import Change, Context
from bot.adapters.k8s.reads import Reader
from bot.adapters.k8s.traffic import FailoverChange
from bot.adapters.k8s.workloads import RestartChange, RollbackChange, ScaleChange
from bot.core.actions import ActionKind, ActionRequest, Outcome, Plan, RiskPolicy
from bot.core.cluster import ClusterEvent, NodeCapacity, PodStatus, RolloutRevision
from bot.core.ports import Clock

_CHANGES: dict[ActionKind, Change] = {
    ActionKind.SCALE: ScaleChange(),
    ActionKind.FAILOVER: FailoverChange(),
    ActionKind.ROLLBACK: RollbackChange(),
    ActionKind.RESTART: RestartChange(),
    ActionKind.CORDON: CordonChange(),
    ActionKind.UNCORDON: CordonChange(),
    ActionKind.DRAIN: DrainChange(),
}


class KubernetesCluster:
    """The cluster the bot remediates, reached through one ``ApiClient``."""

    def __init__(
        self,
        api: client.ApiClient,
        *,
        clock: Clock,
        namespace: str = "default",
        risk: RiskPolicy = RiskPolicy(),  # noqa: B008 - frozen value
        poll_s: float = 1.0,
        eviction_timeout_s: float = 60.0,
    ) -> None:
        self._reader = Reader(api)
        self._clock = clock
        self.namespace = namespace
        self._risk = risk
        self._poll_s = poll_s
        self._eviction_timeout_s = eviction_timeout_s

    async def plan(self, request: ActionRequest) -> Plan:
        """Observe the target and build the plan, validated by a server-side dry run."""
        request = request.in_namespace(self.namespace)
        change = _CHANGES[request.kind]
        return await asyncio.to_thread(change.plan, self._reader, request, self._context())

    async def execute(self, plan: Plan) -> Outcome:
        """Apply ``plan`` once, conditioned on its resourceVersion; raises Conflict on 409."""
        change = _CHANGES[plan.request.kind]
        return await asyncio.to_thread(change.apply, self._reader, plan, self._context())

    async def verify(self, plan: Plan, *, timeout_s: float) -> Outcome:
        """Poll until the change has converged or ``timeout_s`` passed; the last check wins."""
        change = _CHANGES[plan.request.kind]
        deadline = time.monotonic() + timeout_s
        while True:
            outcome = await asyncio.to_thread(change.check, self._reader, plan, converged=True)
            if outcome.ok or time.monotonic() >= deadline:
                return outcome
            await asyncio.sleep(self._poll_s)

    async def observe(self, plan: Plan) -> Outcome:
        """Whether ``plan``'s change is in effect now (after a crash, say)."""
        change = _CHANGES[plan.request.kind]
        return await asyncio.to_thread(change.check, self._reader, plan, converged=False)

    async def events(self, target: str, *, limit: int = 20) -> list[ClusterEvent]:
        """Recent events about ``namespace/deployment`` (its pods too) or a node name."""
        namespace, _, name = target.rpartition("/")
        return await asyncio.to_thread(probes.events, self._reader, namespace or None, name, limit)

    async def pods(self, target: str, *, log_lines: int = 20) -> list[PodStatus]:
        """Status of a Deployment's pods with their last log lines."""
        namespace, name = self._split(target)
        return await asyncio.to_thread(probes.pods, self._reader, namespace, name, log_lines)

    async def rollout_history(self, target: str, *, limit: int = 3) -> list[RolloutRevision]:
        """A Deployment's last ``limit`` revisions, newest first."""
        namespace, name = self._split(target)
        return await asyncio.to_thread(probes.rollout_history, self._reader, namespace, name, limit)

    async def nodes(self) -> list[NodeCapacity]:
        """All nodes with their GPU capacity, by name."""
        return await asyncio.to_thread(probes.nodes, self._reader)

    def _context(self) -> Context:
        return Context(
            risk=self._risk,
            now=self._clock.now(),
            poll_s=self._poll_s,
            eviction_timeout_s=self._eviction_timeout_s,
        )

    def _split(self, target: str) -> tuple[str, str]:
        namespace, _, name = target.rpartition("/")
        return namespace or self.namespace, name
