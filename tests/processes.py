"""Starting the project's own processes for integration tests, as a deployment would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")
GPUWARDEN = (sys.executable, "-m", "gpuwarden")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sandbox_args(port: int, *extra: str) -> list[str]:
    """``gpuwarden sandbox`` arguments: Slack on ``port``, the other stand-ins on free ports."""
    others = ["--kube-port", str(free_port()), "--llm-port", str(free_port())]
    return ["sandbox", "--port", str(port), *others, *extra]


class Process:
    """A child (``python -m gpuwarden …`` unless ``program`` says otherwise) logging to a file."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: Mapping[str, str],
        log_dir: Path,
        *,
        program: Sequence[str] = GPUWARDEN,
    ) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("w")
        self.popen = subprocess.Popen(
            [*program, *args],
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        """Everything the process printed so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def wait_ready(self, url: str, timeout_s: float = 30.0) -> None:
        """Poll ``url`` until it answers 200; fail with the process output if it never does."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                msg = f"{self.name} exited with {self.popen.returncode}:\n{self.output()}"
                raise AssertionError(msg)
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        msg = f"{self.name} not ready at {url} after {timeout_s}s:\n{self.output()}"
        raise AssertionError(msg)

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after 10 s; returns the exit code."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()
        return self.popen.returncode


@contextmanager
def running(
    name: str,
    args: list[str],
    env: Mapping[str, str],
    log_dir: Path,
    *,
    program: Sequence[str] = GPUWARDEN,
) -> Iterator[Process]:
    """A process that is stopped when the block ends."""
    process = Process(name, args, env, log_dir, program=program)
    try:
        yield process
    finally:
        process.stop()


def eventually(
    probe: Callable[[], T | None], *, timeout_s: float, what: str, interval_s: float = 0.05
) -> T:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval_s)
    msg = f"timed out after {timeout_s}s waiting for {what}"
    raise AssertionError(msg)
