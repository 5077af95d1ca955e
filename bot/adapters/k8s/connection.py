"""Connecting to the API server, and turning the client's failures into gpuwarden errors.

``connect`` builds an ``ApiClient`` from, in order: a base URL and bearer token (the sandbox, or
a cluster reached through a proxy), the in-cluster service account, or a kubeconfig file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from bot.core.errors import AdapterError, ConfigError, Conflict, NotFound, UserError

T = TypeVar("T")
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
_HTTP_CONFLICT, _HTTP_NOT_FOUND, _HTTP_FORBIDDEN, _HTTP_INVALID = 409, 404, 403, 422


def connect(
    *,
    url: str | None = None,
    token: str | None = None,
    ca_cert: str | None = None,
    kubeconfig: str | None = None,
    context: str | None = None,
) -> client.ApiClient:
    """An ApiClient for ``url`` + ``token``, else in-cluster, else the kubeconfig."""
    if url:
        configuration = client.Configuration(host=url.rstrip("/"), ssl_ca_cert=ca_cert)
        if token:
            configuration.api_key = {"BearerToken": token}
            configuration.api_key_prefix = {"BearerToken": "Bearer"}
        return client.ApiClient(configuration)
    configuration = client.Configuration()
    try:
        if kubeconfig is None and _in_cluster():
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context, client_configuration=configuration
            )
    except ConfigException as exc:
        raise ConfigError(
            source=kubeconfig or "kubeconfig",
            key="GPUWARDEN_KUBE_URL",
            expected=f"a reachable cluster: set the URL and token, or a valid kubeconfig ({exc})",
        ) from exc
    return client.ApiClient(configuration)


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST"))


def call(what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one client call; map its failure to Conflict, NotFound, UserError or AdapterError."""
    try:
        return function(*args, **kwargs)
    except ApiException as exc:
        message = status_message(exc)
        if exc.status == _HTTP_CONFLICT:
            msg = f"{what}: the object changed since the plan was made; re-plan ({message})"
            raise Conflict(msg) from exc
        if exc.status == _HTTP_NOT_FOUND:
            raise NotFound(f"{what}: {message}") from exc
        if exc.status == _HTTP_INVALID:
            raise UserError(f"{what}: the cluster rejected the change: {message}") from exc
        if exc.status == _HTTP_FORBIDDEN:
            msg = f"{what}: forbidden by the cluster's RBAC ({message}); see deploy/rbac/"
            raise AdapterError(msg) from exc
        msg = f"{what}: Kubernetes API answered {exc.status}: {message}"
        raise AdapterError(msg) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        msg = f"{what}: Kubernetes API unreachable: {exc}"
        raise AdapterError(msg) from exc


def status_message(exc: ApiException) -> str:
    """The ``message`` of the Status body, or the HTTP reason."""
    try:
        body = json.loads(exc.body or "")
    except ValueError:
        return str(exc.reason)
    return str(body.get("message", exc.reason)) if isinstance(body, dict) else str(exc.reason)
