"""Scale, roll back and restart a Deployment.

- scale: the ``deployments/scale`` subresource, a merge patch of ``spec.replicas`` carrying the
  planned ``metadata.resourceVersion``;
- rollback: as ``kubectl rollout undo``, the pod template of an older ReplicaSet is written back
  with a JSON patch whose first operation tests the resourceVersion;
- restart: the ``kubectl.kubernetes.io/restartedAt`` template annotation (a new rollout).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.adapters.k8s.connection import JSON_PATCH, MERGE_PATCH, call
from bot.adapters.k8s.planning import (
    TEMPLATE_HASH,
    Context,
    build_plan,
    rollout_done,
    template_digest,
    workload_blast,
)
from bot.adapters.k8s.reads import Obj, Reader, gpus_per_pod, revision
from bot.core.actions import ActionKind, ActionRequest, BlastRadius, Outcome, Plan
from bot.core.errors import UserError

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
CHANGE_CAUSE = "kubernetes.io/change-cause"


def _rfc3339(unix_seconds: float) -> str:
    return datetime.fromtimestamp(int(unix_seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Workload:
    """Checks shared by the three Deployment actions."""

    def check(self, reader: Reader, plan: Plan, *, converged: bool) -> Outcome:
        """In effect when the expected spec is there; converged when the rollout finished."""
        request = plan.request
        deployment = reader.deployment(request.namespace or "", request.name)
        in_effect = self.in_effect(deployment, plan)
        done, figures = rollout_done(deployment)
        if not in_effect:
            return Outcome(False, f"{request.describe()} is not in effect", figures)
        if converged and not done:
            return Outcome(False, f"{request.target} is still rolling out", figures)
        return Outcome(True, f"{request.describe()}: done", figures)

    def in_effect(self, deployment: Obj, plan: Plan) -> bool:  # noqa: ARG002 - see overrides
        """Whether the Deployment's spec shows the plan's change."""
        return False


class ScaleChange(_Workload):
    """``spec.replicas`` through the scale subresource."""

    def plan(self, reader: Reader, request: ActionRequest, context: Context) -> Plan:
        """Read the Deployment, dry-run the scale, and plan it."""
        namespace, name = request.namespace or "", request.name
        deployment = reader.deployment(namespace, name)
        current = int(deployment["spec"].get("replicas", 1))
        wanted = int(request.replicas or 0)
        rv = deployment["metadata"]["resourceVersion"]
        self._patch(reader, request, wanted, rv, dry_run=True)
        delta = abs(wanted - current)
        blast = workload_blast(reader, deployment, delta)
        blast = BlastRadius(blast.replicas, blast.gpus, blast.capacity_share, ())
        status = deployment.get("status") or {}
        return build_plan(
            request,
            observed={
                "spec.replicas": str(current),
                "status.readyReplicas": str(status.get("readyReplicas", 0)),
                "gpus_per_pod": str(gpus_per_pod(deployment["spec"]["template"]["spec"])),
            },
            diff=[f"spec.replicas: {current} → {wanted}"] if delta else [],
            expected={"spec.replicas": str(wanted)},
            blast=blast,
            undo=ActionRequest(ActionKind.SCALE, request.target, replicas=current),
            resource_version=rv,
            context=context,
            current_replicas=current,
        )

    def apply(self, reader: Reader, plan: Plan, context: Context) -> Outcome:  # noqa: ARG002
        """Scale, conditioned on the planned resourceVersion."""
        wanted = int(plan.request.replicas or 0)
        scale = self._patch(reader, plan.request, wanted, plan.resource_version, dry_run=False)
        return Outcome(True, f"{plan.request.describe()}: accepted", {"spec.replicas": str(scale)})

    def in_effect(self, deployment: Obj, plan: Plan) -> bool:
        """``spec.replicas`` is the requested count."""
        return str(deployment["spec"].get("replicas", 1)) == plan.expected["spec.replicas"]

    @staticmethod
    def _patch(
        reader: Reader, request: ActionRequest, replicas: int, rv: str, *, dry_run: bool
    ) -> int:
        body = {"metadata": {"resourceVersion": rv}, "spec": {"replicas": replicas}}
        scale = call(
            f"scale {request.target}",
            reader.apps.patch_namespaced_deployment_scale,
            request.name,
            request.namespace or "",
            body,
            dry_run="All" if dry_run else None,
            _content_type=MERGE_PATCH,
        )
        return int(scale.spec.replicas if scale.spec and scale.spec.replicas is not None else 0)


class RollbackChange(_Workload):
    """Back to an older revision's pod template."""

    def plan(self, reader: Reader, request: ActionRequest, context: Context) -> Plan:
        """Find the revision to return to, dry-run the JSON patch, and plan it."""
        namespace, name = request.namespace or "", request.name
        deployment = reader.deployment(namespace, name)
        history = reader.replicasets(deployment)
        current = revision(deployment)
        target = _target_revision(request, history, current)
        template = json.loads(json.dumps(target["spec"]["template"]))
        template["metadata"].get("labels", {}).pop(TEMPLATE_HASH, None)
        rv = deployment["metadata"]["resourceVersion"]
        operations = _rollback_patch(rv, template, target)
        _patch_deployment(reader, request, operations, JSON_PATCH, dry_run=True)
        replicas = int(deployment["spec"].get("replicas", 1))
        return build_plan(
            request,
            observed={"revision": str(current), "images": _images(deployment["spec"]["template"])},
            diff=[
                f"revision: {current} → {revision(target)} (re-applied as a new revision)",
                *_template_diff(deployment["spec"]["template"], template),
            ],
            expected={"template": template_digest(template), "revision": str(revision(target))},
            blast=workload_blast(reader, deployment, replicas),
            undo=ActionRequest(ActionKind.ROLLBACK, request.target, revision=current),
            resource_version=rv,
            context=context,
        )

    def apply(self, reader: Reader, plan: Plan, context: Context) -> Outcome:  # noqa: ARG002
        """Write the old template back, conditioned on the planned resourceVersion."""
        request = plan.request
        deployment = reader.deployment(request.namespace or "", request.name)
        history = reader.replicasets(deployment)
        wanted = int(plan.expected["revision"])
        target = next((rs for rs in history if revision(rs) == wanted), None)
        if target is None:
            msg = f"revision {wanted} of {request.target} no longer exists; re-plan"
            raise UserError(msg)
        template = json.loads(json.dumps(target["spec"]["template"]))
        template["metadata"].get("labels", {}).pop(TEMPLATE_HASH, None)
        operations = _rollback_patch(plan.resource_version, template, target)
        _patch_deployment(reader, request, operations, JSON_PATCH, dry_run=False)
        return Outcome(True, f"{request.describe()}: accepted", {"revision": str(wanted)})

    def in_effect(self, deployment: Obj, plan: Plan) -> bool:
        """The Deployment runs the old revision's template."""
        return template_digest(deployment["spec"]["template"]) == plan.expected["template"]


class RestartChange(_Workload):
    """A rollout that replaces every pod with the same template."""

    def plan(self, reader: Reader, request: ActionRequest, context: Context) -> Plan:
        """Stamp the restart time, dry-run the patch, and plan it."""
        deployment = reader.deployment(request.namespace or "", request.name)
        stamp = _rfc3339(context.now)
        rv = deployment["metadata"]["resourceVersion"]
        _patch_deployment(reader, request, _restart_patch(rv, stamp), MERGE_PATCH, dry_run=True)
        annotations = deployment["spec"]["template"]["metadata"].get("annotations") or {}
        replicas = int(deployment["spec"].get("replicas", 1))
        return build_plan(
            request,
            observed={
                "restartedAt": annotations.get(RESTARTED_AT, ""),
                "revision": str(revision(deployment)),
            },
            diff=[
                f"spec.template.metadata.annotations[{RESTARTED_AT}]: "
                f"{annotations.get(RESTARTED_AT, '(unset)')} → {stamp}"
            ],
            expected={"restartedAt": stamp},
            blast=workload_blast(reader, deployment, replicas),
            undo=None,
            resource_version=rv,
            context=context,
        )

    def apply(self, reader: Reader, plan: Plan, context: Context) -> Outcome:  # noqa: ARG002
        """Set the annotation, conditioned on the planned resourceVersion."""
        patch = _restart_patch(plan.resource_version, plan.expected["restartedAt"])
        _patch_deployment(reader, plan.request, patch, MERGE_PATCH, dry_run=False)
        return Outcome(True, f"{plan.request.describe()}: accepted", dict(plan.expected))

    def in_effect(self, deployment: Obj, plan: Plan) -> bool:
        """The template carries the planned restart time."""
        annotations = deployment["spec"]["template"]["metadata"].get("annotations") or {}
        return annotations.get(RESTARTED_AT) == plan.expected["restartedAt"]


def _target_revision(request: ActionRequest, history: list[Obj], current: int) -> Obj:
    older = [rs for rs in history if revision(rs) != current]
    if request.revision is not None:
        if request.revision == current:
            msg = f"{request.target} already runs revision {current}"
            raise UserError(msg)
        found = next((rs for rs in older if revision(rs) == request.revision), None)
    else:
        found = max((rs for rs in older if revision(rs) < current), key=revision, default=None)
    if found is None:
        known = ", ".join(str(revision(rs)) for rs in history) or "none"
        wanted = f"revision {request.revision}" if request.revision else "a previous revision"
        msg = f"{request.target} has no {wanted} to roll back to (revisions: {known})"
        raise UserError(msg)
    return found


def _rollback_patch(rv: str, template: Obj, target: Obj) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/spec/template", "value": template},
    ]
    cause = (target["metadata"].get("annotations") or {}).get(CHANGE_CAUSE)
    if cause:
        operations.append(
            {
                "op": "add",
                "path": "/metadata/annotations/kubernetes.io~1change-cause",
                "value": cause,
            }
        )
    return operations


def _restart_patch(rv: str, stamp: str) -> dict[str, Any]:
    return {
        "metadata": {"resourceVersion": rv},
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}},
    }


def _patch_deployment(
    reader: Reader, request: ActionRequest, body: Any, content_type: str, *, dry_run: bool
) -> None:
    call(
        f"{request.kind} {request.target}",
        reader.apps.patch_namespaced_deployment,
        request.name,
        request.namespace or "",
        body,
        dry_run="All" if dry_run else None,
        _content_type=content_type,
    )


def _images(template: Obj) -> str:
    return ",".join(c.get("image", "") for c in template["spec"].get("containers", []))


def _template_diff(old: Obj, new: Obj) -> list[str]:
    lines = []
    before = {c["name"]: c for c in old["spec"].get("containers", [])}
    for container in new["spec"].get("containers", []):
        previous = before.get(container["name"], {})
        for field in ("image", "args", "env", "resources"):
            if previous.get(field) != container.get(field):
                lines.append(
                    f"container {container['name']} {field}: {_short(previous.get(field))} → "
                    f"{_short(container.get(field))}"
                )
    return lines


def _short(value: Any) -> str:
    if value is None:
        return "(unset)"
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 120 else f"{text[:117]}..."  # noqa: PLR2004
