"""The Kubernetes stand-in as its own process (``gpuwarden sandbox``, over TLS so that kubectl
sends its bearer token) and the bot's adapter on the real ``kubernetes`` client."""

from __future__ import annotations

import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client

from bot.adapters.k8s import KubernetesCluster, connect
from tests.conftest import require_tool
from tests.fakes import FrozenClock
from tests.processes import Process, eventually, free_port

TOKEN = "integration-kube-token"
READY_AFTER_S = 0.4


@dataclass(frozen=True)
class KubeServer:
    """Where the stand-in listens and how to trust it."""

    url: str
    ca_cert: Path
    process: Process

    def automation(self, method: str, path: str, body: Any = None) -> Any:
        """Call a ``/_sandbox/`` endpoint."""
        response = httpx.request(
            method,
            f"{self.url}/_sandbox/{path}",
            json=body,
            verify=ssl.create_default_context(cafile=self.ca_cert),
        )
        response.raise_for_status()
        return response.json()

    def state(self) -> dict[str, Any]:
        """The stand-in's summary of the cluster."""
        return dict(self.automation("GET", "state"))

    def deployment(self, name: str) -> dict[str, Any]:
        """One deployment of the summary."""
        return next(d for d in self.state()["deployments"] if d["name"] == name)


@pytest.fixture(scope="module")
def kube_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeServer]:
    openssl = require_tool("openssl", "openssl")
    directory = tmp_path_factory.mktemp("kube")
    cert, key = directory / "tls.crt", directory / "tls.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    args = [
        "sandbox",
        "--port",
        str(free_port()),
        "--kube-port",
        str(port),
        "--kube-token",
        TOKEN,
        "--kube-tls-cert",
        str(cert),
        "--kube-tls-key",
        str(key),
        "--kube-ready-after",
        str(READY_AFTER_S),
    ]
    process = Process("kube-sandbox", args, {}, directory)
    url = f"https://127.0.0.1:{port}"
    try:
        eventually(lambda: _healthy(url, cert, process), timeout_s=30, what="the kube stand-in")
        yield KubeServer(url, cert, process)
    finally:
        process.stop()


def _healthy(url: str, cert: Path, process: Process) -> bool:
    if process.popen.poll() is not None:
        raise AssertionError(process.output())
    try:
        return (
            httpx.get(
                f"{url}/healthz", verify=ssl.create_default_context(cafile=cert), timeout=1
            ).status_code
            == 200
        )
    except httpx.TransportError:
        return False


@pytest.fixture
def kube(kube_server: KubeServer) -> KubeServer:
    """The stand-in, reset to the demo world."""
    kube_server.automation("POST", "reset", {})
    return kube_server


@pytest.fixture
def api(kube: KubeServer) -> Iterator[client.ApiClient]:
    api_client = connect(url=kube.url, token=TOKEN, ca_cert=str(kube.ca_cert))
    yield api_client
    api_client.close()


@pytest.fixture
def cluster(api: client.ApiClient) -> KubernetesCluster:
    return KubernetesCluster(
        api,
        clock=FrozenClock(time.time()),
        namespace="serving",
        poll_s=0.1,
        eviction_timeout_s=3.0,
    )
