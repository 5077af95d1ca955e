"""The bot's RBAC manifests stay least-privilege: no wildcards, no Secrets, scale only through
the subresource, template writes and evictions only in the opt-in files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

RBAC = Path(__file__).parents[3] / "deploy" / "rbac"
BASE = sorted(RBAC.glob("*.yaml"))
OPT_IN = sorted((RBAC / "opt-in").glob("*.yaml"))


def documents(paths: list[Path]) -> list[dict[str, Any]]:
    return [doc for path in paths for doc in yaml.safe_load_all(path.read_text()) if doc]


def rules(paths: list[Path]) -> list[dict[str, Any]]:
    return [
        rule
        for doc in documents(paths)
        if doc["kind"] in ("Role", "ClusterRole")
        for rule in doc["rules"]
    ]


def grants(paths: list[Path], resource: str, verb: str) -> bool:
    return any(resource in r["resources"] and verb in r["verbs"] for r in rules(paths))


def test_the_manifests_exist_and_parse() -> None:
    kinds = {doc["kind"] for doc in documents(BASE + OPT_IN)}
    assert {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"} <= kinds


@pytest.mark.parametrize("field", ["apiGroups", "resources", "verbs", "resourceNames"])
def test_no_wildcards(field: str) -> None:
    for rule in rules(BASE + OPT_IN):
        assert "*" not in rule.get(field, []), rule


def test_no_secrets_and_nothing_that_creates_or_deletes_workloads() -> None:
    for rule in rules(BASE + OPT_IN):
        assert "secrets" not in rule["resources"], rule
        assert not {"create", "delete", "deletecollection", "escalate", "bind", "impersonate"} & (
            set(rule["verbs"]) - ({"create"} if rule["resources"] == ["pods/eviction"] else set())
        ), rule


def test_writes_to_deployments_and_services_are_pinned_by_name() -> None:
    for rule in rules(BASE + OPT_IN):
        writes = {"patch", "update"} & set(rule["verbs"])
        if writes and set(rule["resources"]) & {"deployments", "deployments/scale", "services"}:
            assert rule.get("resourceNames"), rule


def test_base_scales_through_the_subresource_only__template_writes_and_drain_are_opt_in() -> None:
    assert grants(BASE, "deployments/scale", "patch")
    assert not grants(BASE, "deployments", "patch")
    assert not grants(BASE, "pods/eviction", "create")
    assert grants(OPT_IN, "deployments", "patch")
    assert grants(OPT_IN, "pods/eviction", "create")


def test_every_binding_names_the_bot_and_an_existing_role() -> None:
    docs = documents(BASE + OPT_IN)
    roles = {(d["kind"], d["metadata"]["name"]) for d in docs if d["kind"].endswith("Role")}
    for binding in (d for d in docs if d["kind"].endswith("Binding")):
        assert (binding["roleRef"]["kind"], binding["roleRef"]["name"]) in roles
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "gpuwarden-bot", "namespace": "gpuwarden"}
        ]
