"""The API resources the stand-in serves, and the discovery documents kubectl reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ALL_VERBS = ("create", "delete", "get", "list", "patch", "update")


@dataclass(frozen=True, slots=True)
class Resource:
    """One REST resource: group/version, plural, kind and where it lives."""

    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[tuple[str, str, str], ...] = ()  # (name, kind, group/version)

    @property
    def api_version(self) -> str:
        """``v1`` or ``apps/v1``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """How the API server names the resource in messages: ``deployments.apps``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular(self) -> str:
        """The lower-case kind."""
        return self.kind.lower()


_SCALE = ("scale", "Scale", "autoscaling/v1")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",))
NODES = Resource(
    "",
    "v1",
    "nodes",
    "Node",
    namespaced=False,
    short_names=("no",),
    subresources=(("status", "Node", "v1"),),
)
PODS = Resource(
    "",
    "v1",
    "pods",
    "Pod",
    namespaced=True,
    short_names=("po",),
    subresources=(
        ("eviction", "Eviction", "policy/v1"),
        ("log", "Pod", "v1"),
        ("status", "Pod", "v1"),
    ),
)
SERVICES = Resource("", "v1", "services", "Service", namespaced=True, short_names=("svc",))
EVENTS = Resource("", "v1", "events", "Event", namespaced=True, short_names=("ev",))
DEPLOYMENTS = Resource(
    "apps",
    "v1",
    "deployments",
    "Deployment",
    namespaced=True,
    short_names=("deploy",),
    subresources=(_SCALE, ("status", "Deployment", "apps/v1")),
)
REPLICASETS = Resource(
    "apps",
    "v1",
    "replicasets",
    "ReplicaSet",
    namespaced=True,
    short_names=("rs",),
    subresources=(_SCALE, ("status", "ReplicaSet", "apps/v1")),
)
PDBS = Resource(
    "policy",
    "v1",
    "poddisruptionbudgets",
    "PodDisruptionBudget",
    namespaced=True,
    short_names=("pdb",),
    subresources=(("status", "PodDisruptionBudget", "policy/v1"),),
)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease", namespaced=True)

RESOURCES = (NAMESPACES, NODES, PODS, SERVICES, EVENTS, DEPLOYMENTS, REPLICASETS, PDBS, LEASES)
GROUPS = ("apps", "policy", "coordination.k8s.io")


def find(group: str, version: str, plural: str) -> Resource | None:
    """The resource served at ``/apis/<group>/<version>/<plural>`` (core: group "")."""
    for resource in RESOURCES:
        if (resource.group, resource.version, resource.plural) == (group, version, plural):
            return resource
    return None


def api_versions(server_address: str) -> dict[str, Any]:
    """``GET /api``."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def api_group_list() -> dict[str, Any]:
    """``GET /apis``."""
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in GROUPS]}


def api_group(group: str) -> dict[str, Any] | None:
    """``GET /apis/<group>``."""
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group)} if group in GROUPS else None


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    """``GET /api/v1`` or ``GET /apis/<group>/<version>``: the APIResourceList."""
    served = [r for r in RESOURCES if (r.group, r.version) == (group, version)]
    if not served:
        return None
    entries: list[dict[str, Any]] = []
    for resource in served:
        entry: dict[str, Any] = {
            "name": resource.plural,
            "singularName": resource.singular,
            "namespaced": resource.namespaced,
            "kind": resource.kind,
            "verbs": list(ALL_VERBS),
        }
        if resource.short_names:
            entry["shortNames"] = list(resource.short_names)
        entries.append(entry)
        for name, kind, group_version in resource.subresources:
            sub_group, _, sub_version = group_version.rpartition("/")
            entries.append(
                {
                    "name": f"{resource.plural}/{name}",
                    "singularName": "",
                    "namespaced": resource.namespaced,
                    "group": sub_group,
                    "version": sub_version,
                    "kind": kind,
                    "verbs": _sub_verbs(name),
                }
            )
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }


def _sub_verbs(name: str) -> list[str]:
    return {"eviction": ["create"], "log": ["get"]}.get(name, ["get", "patch", "update"])


def _group(name: str) -> dict[str, Any]:
    version = {"groupVersion": f"{name}/v1", "version": "v1"}
    return {"name": name, "versions": [version], "preferredVersion": version}
