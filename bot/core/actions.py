"""Remediation actions on Kubernetes as values: request → plan → outcome (pure, no I/O).

An :class:`ActionRequest` names what a person (or a runbook) wants: scale a Deployment, fail a
Service over to its standby colour, roll back or restart a Deployment, cordon, uncordon or drain
a node. The cluster adapter turns it into a :class:`Plan` — the observed state, the exact change
as a readable diff, the blast radius, the undo and the ``resourceVersion`` the change is
conditioned on — and approvals bind to the plan's :attr:`Plan.digest`. Executing or observing a
plan yields an :class:`Outcome`.

Targets: ``namespace/name`` of a Deployment (scale, rollback, restart) or of a Service
(failover); a bare node name (cordon, uncordon, drain). A Deployment or Service target without a
namespace is completed with the adapter's default namespace when the plan is made.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.core.errors import UserError


class ActionKind(StrEnum):
    """What the bot can do to the cluster."""

    SCALE = "scale"
    FAILOVER = "failover"
    ROLLBACK = "rollback"
    RESTART = "restart"
    CORDON = "cordon"
    UNCORDON = "uncordon"
    DRAIN = "drain"


NODE_KINDS = frozenset({ActionKind.CORDON, ActionKind.UNCORDON, ActionKind.DRAIN})
# the parameter each kind requires (None: takes none) and those it may take
_REQUIRED: dict[ActionKind, str | None] = {
    ActionKind.SCALE: "replicas",
    ActionKind.FAILOVER: "standby",
    ActionKind.ROLLBACK: None,
    ActionKind.RESTART: None,
    ActionKind.CORDON: None,
    ActionKind.UNCORDON: None,
    ActionKind.DRAIN: None,
}
_ALLOWED: dict[ActionKind, frozenset[str]] = {
    kind: frozenset({name} if name else set()) for kind, name in _REQUIRED.items()
} | {ActionKind.ROLLBACK: frozenset({"revision"})}


class Risk(StrEnum):
    """How many approvers an action needs: one for low, two distinct ones for high."""

    LOW = "low"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """One action on one target, with its typed parameters.

    Attributes:
        kind: what to do.
        target: ``namespace/name`` (Deployment, or the Service for failover) or a node name.
        replicas: scale: the absolute replica count wanted (never a relative "+2").
        standby: failover: the Deployment whose pods the Service should select from now on.
        revision: rollback: the Deployment revision to return to (None: the previous one).
    """

    kind: ActionKind
    target: str
    replicas: int | None = None
    standby: str | None = None
    revision: int | None = None

    def __post_init__(self) -> None:
        _check_target(self.kind, self.target)
        given = {
            name for name in ("replicas", "standby", "revision") if getattr(self, name) is not None
        }
        required = _REQUIRED[self.kind]
        if required and required not in given:
            msg = f"{self.kind} needs the parameter '{required}'"
            raise UserError(msg)
        if extra := sorted(given - _ALLOWED[self.kind]):
            msg = f"{self.kind} takes no parameter '{extra[0]}'"
            raise UserError(msg)
        if self.replicas is not None and (isinstance(self.replicas, bool) or self.replicas < 0):
            msg = f"replicas must be a whole number ≥ 0, got {self.replicas!r}"
            raise UserError(msg)
        if self.revision is not None and self.revision < 1:
            msg = f"revision must be a revision number ≥ 1, got {self.revision!r}"
            raise UserError(msg)
        if self.standby is not None and not _is_name(self.standby):
            msg = f"standby must be a Deployment name, got {self.standby!r}"
            raise UserError(msg)

    @property
    def on_node(self) -> bool:
        """Whether the target is a node (cordon, uncordon, drain)."""
        return self.kind in NODE_KINDS

    @property
    def namespace(self) -> str | None:
        """The target's namespace, if it names one."""
        return self.target.split("/", 1)[0] if "/" in self.target else None

    @property
    def name(self) -> str:
        """The target's object name (Deployment, Service or node)."""
        return self.target.rsplit("/", 1)[-1]

    def in_namespace(self, namespace: str) -> ActionRequest:
        """This request with its target completed to ``namespace/name`` where it had none."""
        if self.on_node or self.namespace is not None:
            return self
        return ActionRequest(
            self.kind, f"{namespace}/{self.target}", self.replicas, self.standby, self.revision
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (kind, target and the parameters that are set)."""
        data: dict[str, Any] = {"kind": str(self.kind), "target": self.target}
        for name in ("replicas", "standby", "revision"):
            if (value := getattr(self, name)) is not None:
                data[name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ActionRequest:
        """Inverse of :meth:`to_dict`; a bad field raises UserError naming it."""
        try:
            kind = ActionKind(data["kind"])
        except (KeyError, ValueError) as exc:
            expected = ", ".join(k.value for k in ActionKind)
            msg = f"action kind must be one of {expected}, got {data.get('kind')!r}"
            raise UserError(msg) from exc
        unknown = sorted(set(data) - {"kind", "target", "replicas", "standby", "revision"})
        if unknown:
            msg = f"unknown action field '{unknown[0]}'"
            raise UserError(msg)
        return cls(
            kind,
            str(data.get("target", "")),
            replicas=_int_or_none(data, "replicas"),
            standby=data.get("standby"),
            revision=_int_or_none(data, "revision"),
        )

    def describe(self) -> str:
        """One line for people: ``scale serving/deepseek-v3-blue to 6 replicas``."""
        if self.kind is ActionKind.SCALE:
            return f"scale {self.target} to {self.replicas} replicas"
        if self.kind is ActionKind.FAILOVER:
            return f"fail over {self.target} to {self.standby}"
        if self.kind is ActionKind.ROLLBACK:
            to = f"revision {self.revision}" if self.revision else "the previous revision"
            return f"roll back {self.target} to {to}"
        return f"{self.kind} {self.target}"


@dataclass(frozen=True, slots=True)
class BlastRadius:
    """What an action touches.

    Attributes:
        replicas: pods replaced, removed or added.
        gpus: GPUs those pods (or the cordoned/drained nodes) hold.
        capacity_share: share of the serving capacity affected, 0 to 1.
        nodes: nodes the action changes or whose pods it moves.
    """

    replicas: int = 0
    gpus: int = 0
    capacity_share: float = 0.0
    nodes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.capacity_share <= 1.0:
            msg = f"capacity_share must be within 0 to 1, got {self.capacity_share}"
            raise ValueError(msg)

    def describe(self) -> str:
        """One line for people."""
        nodes = f" on {', '.join(self.nodes)}" if self.nodes else ""
        return (
            f"{self.replicas} replica(s), {self.gpus} GPU(s), "
            f"{self.capacity_share:.0%} of serving capacity{nodes}"
        )


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """When an action is high-risk (needs two approvers).

    High: fail over, drain, scale to zero, scale by more than ``max_step`` replicas, or an action
    touching more than ``max_nodes`` nodes.
    """

    max_step: int = 2
    max_nodes: int = 2


def assess_risk(
    request: ActionRequest, *, current_replicas: int | None, blast: BlastRadius, policy: RiskPolicy
) -> Risk:
    """The risk level of ``request`` given the observed replicas and its blast radius."""
    if request.kind in {ActionKind.FAILOVER, ActionKind.DRAIN}:
        return Risk.HIGH
    if len(blast.nodes) > policy.max_nodes:
        return Risk.HIGH
    if request.kind is ActionKind.SCALE and request.replicas is not None:
        if request.replicas == 0:
            return Risk.HIGH
        if (
            current_replicas is not None
            and abs(request.replicas - current_replicas) > policy.max_step
        ):
            return Risk.HIGH
    return Risk.LOW


@dataclass(frozen=True, slots=True)
class Plan:
    """An action as it would run now; approvals bind to :attr:`digest`.

    Attributes:
        request: the action, its target completed with a namespace.
        observed: the pre-state that matters to this action (``spec.replicas`` → ``"4"``).
        diff: the exact change, one readable line per field (``spec.replicas: 4 → 6``).
        expected: the post-state that shows the change took effect (checked by observe).
        blast: what the action touches.
        undo: the action that reverses this one, if there is one.
        resource_version: the target's resourceVersion the change is conditioned on.
        risk: low (one approver) or high (two distinct approvers).
    """

    request: ActionRequest
    observed: Mapping[str, str]
    diff: tuple[str, ...]
    expected: Mapping[str, str]
    blast: BlastRadius
    undo: ActionRequest | None
    resource_version: str
    risk: Risk
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", _digest(self.content()))

    @property
    def changes_nothing(self) -> bool:
        """Whether the target is already in the requested state."""
        return not self.diff

    def content(self) -> dict[str, Any]:
        """Everything the digest covers, JSON-ready."""
        return {
            "request": self.request.to_dict(),
            "observed": dict(sorted(self.observed.items())),
            "diff": list(self.diff),
            "expected": dict(sorted(self.expected.items())),
            "blast": {
                "replicas": self.blast.replicas,
                "gpus": self.blast.gpus,
                "capacity_share": round(self.blast.capacity_share, 4),
                "nodes": list(self.blast.nodes),
            },
            "undo": self.undo.to_dict() if self.undo else None,
            "resource_version": self.resource_version,
            "risk": str(self.risk),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, digest included (for storing an approved plan)."""
        return {**self.content(), "digest": self.digest}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """Inverse of :meth:`to_dict`; raises UserError if the stored digest does not match."""
        blast = data["blast"]
        plan = cls(
            request=ActionRequest.from_dict(data["request"]),
            observed=dict(data["observed"]),
            diff=tuple(data["diff"]),
            expected=dict(data["expected"]),
            blast=BlastRadius(
                blast["replicas"], blast["gpus"], blast["capacity_share"], tuple(blast["nodes"])
            ),
            undo=ActionRequest.from_dict(data["undo"]) if data.get("undo") else None,
            resource_version=str(data["resource_version"]),
            risk=Risk(data["risk"]),
        )
        if "digest" in data and data["digest"] != plan.digest:
            msg = "stored plan does not match its digest"
            raise UserError(msg)
        return plan


@dataclass(frozen=True, slots=True)
class Outcome:
    """What executing, verifying or observing a plan found.

    Attributes:
        ok: executed / verified / took effect.
        detail: one readable line (what happened, or what is missing).
        observed: the state seen at the end (``status.readyReplicas`` → ``"6"``; for a drain,
            ``not_evicted`` lists the pods a PodDisruptionBudget kept).
    """

    ok: bool
    detail: str
    observed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AutoscalePolicy:
    """The seed's auto-scale rule: up when load > target, down when load < 0.7 * target."""

    min_replicas: int = 3
    max_replicas: int = 10
    down_ratio: float = 0.7
    step: int = 1


def suggest_scale(
    *,
    deployment: str,
    load: float,
    target: float,
    replicas: int,
    policy: AutoscalePolicy = AutoscalePolicy(),
) -> ActionRequest | None:
    """A scale request the seed's policy suggests for ``deployment``, or None to stay."""
    if load > target and replicas < policy.max_replicas:
        wanted = min(replicas + policy.step, policy.max_replicas)
    elif load < policy.down_ratio * target and replicas > policy.min_replicas:
        wanted = max(replicas - policy.step, policy.min_replicas)
    else:
        return None
    return ActionRequest(ActionKind.SCALE, deployment, replicas=wanted)


def _check_target(kind: ActionKind, target: str) -> None:
    parts = target.split("/") if isinstance(target, str) else []
    if kind in NODE_KINDS:
        if len(parts) != 1 or not _is_name(target):
            msg = f"{kind} needs a node name as target, got {target!r}"
            raise UserError(msg)
        return
    if not 1 <= len(parts) <= 2 or not all(_is_name(part) for part in parts):  # noqa: PLR2004
        msg = f"{kind} needs a target of the form namespace/name, got {target!r}"
        raise UserError(msg)


def _is_name(value: object) -> bool:
    """A Kubernetes object name (DNS subdomain: lower-case alphanumerics, '-' and '.')."""
    if not isinstance(value, str) or not 0 < len(value) <= 253:  # noqa: PLR2004
        return False
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-.")
    return set(value) <= allowed and value[0].isalnum() and value[-1].isalnum()


def _int_or_none(data: Mapping[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be a whole number, got {value!r}"
        raise UserError(msg)
    return value


def _digest(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
