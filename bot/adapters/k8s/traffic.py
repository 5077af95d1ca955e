"""Fail a Service over to its standby colour by patching its selector (and back, as the undo)."""

from __future__ import annotations

from bot.adapters.k8s.connection import MERGE_PATCH, call
from bot.adapters.k8s.planning import Context, build_plan, labels_text, share
from bot.adapters.k8s.reads import Reader, gpus_per_pod, is_ready, selects
from bot.core.actions import ActionKind, ActionRequest, BlastRadius, Outcome, Plan
from bot.core.errors import UserError


class FailoverChange:
    """``spec.selector`` of a Service moves from the primary's pods to the standby's."""

    def plan(self, reader: Reader, request: ActionRequest, context: Context) -> Plan:
        """Check the standby can take traffic, dry-run the selector patch, and plan it."""
        namespace = request.namespace or ""
        service = reader.service(namespace, request.name)
        standby = reader.deployment(namespace, str(request.standby))
        old = dict(service["spec"].get("selector") or {})
        new = dict(standby["spec"]["selector"].get("matchLabels") or {})
        standby_labels = standby["spec"]["template"]["metadata"].get("labels") or {}
        if selects(old, standby_labels):
            msg = f"{request.target} already sends traffic to {request.standby}"
            raise UserError(msg)
        ready = int((standby.get("status") or {}).get("readyReplicas", 0))
        if ready == 0:
            msg = f"standby {request.standby} has no ready replicas to take the traffic"
            raise UserError(msg)
        rv = service["metadata"]["resourceVersion"]
        self._patch(reader, request, old, new, rv, dry_run=True)
        deployments = reader.deployments(namespace)
        primary = next(
            (
                d
                for d in deployments
                if selects(old, d["spec"]["template"]["metadata"].get("labels") or {})
            ),
            None,
        )
        return build_plan(
            request,
            observed={
                "spec.selector": labels_text(old),
                "primary": primary["metadata"]["name"] if primary else "(none)",
                "standby.readyReplicas": str(ready),
            },
            diff=[f"spec.selector: {labels_text(old)} → {labels_text(new)}"],
            expected={"spec.selector": labels_text(new)},
            blast=_moved(reader, namespace, old),
            undo=(
                ActionRequest(
                    ActionKind.FAILOVER, request.target, standby=primary["metadata"]["name"]
                )
                if primary
                else None
            ),
            resource_version=rv,
            context=context,
        )

    def apply(self, reader: Reader, plan: Plan, context: Context) -> Outcome:  # noqa: ARG002
        """Patch the selector, conditioned on the planned resourceVersion."""
        request = plan.request
        old = _parse(plan.observed["spec.selector"])
        new = _parse(plan.expected["spec.selector"])
        self._patch(reader, request, old, new, plan.resource_version, dry_run=False)
        return Outcome(True, f"{request.describe()}: accepted", dict(plan.expected))

    def check(self, reader: Reader, plan: Plan, *, converged: bool) -> Outcome:
        """In effect when the selector is the standby's; converged when its pods are ready."""
        request = plan.request
        namespace = request.namespace or ""
        service = reader.service(namespace, request.name)
        selector = dict(service["spec"].get("selector") or {})
        ready = sum(
            1 for pod in reader.pods(namespace, labels=labels_text(selector)) if is_ready(pod)
        )
        observed = {"spec.selector": labels_text(selector), "readyEndpoints": str(ready)}
        if labels_text(selector) != plan.expected["spec.selector"]:
            return Outcome(False, f"{request.describe()} is not in effect", observed)
        if converged and ready == 0:
            return Outcome(False, f"{request.target} has no ready endpoints yet", observed)
        return Outcome(True, f"{request.describe()}: done", observed)

    @staticmethod
    def _patch(
        reader: Reader,
        request: ActionRequest,
        old: dict[str, str],
        new: dict[str, str],
        rv: str,
        *,
        dry_run: bool,
    ) -> None:
        selector: dict[str, str | None] = {key: new.get(key) for key in {*old, *new}}
        call(
            f"fail over {request.target}",
            reader.core.patch_namespaced_service,
            request.name,
            request.namespace or "",
            {"metadata": {"resourceVersion": rv}, "spec": {"selector": selector}},
            dry_run="All" if dry_run else None,
            _content_type=MERGE_PATCH,
        )


def _moved(reader: Reader, namespace: str, old: dict[str, str]) -> BlastRadius:
    serving = reader.serving_pods(namespace)
    moved = [pod for pod in serving if selects(old, pod["metadata"].get("labels") or {})]
    return BlastRadius(
        replicas=len(moved),
        gpus=sum(gpus_per_pod(pod["spec"]) for pod in moved),
        capacity_share=share(len(moved), len(serving)),
        nodes=tuple(
            sorted({pod["spec"]["nodeName"] for pod in moved if pod["spec"].get("nodeName")})
        ),
    )


def _parse(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split(",") if item)
