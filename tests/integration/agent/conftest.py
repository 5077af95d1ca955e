"""A scripted ingest endpoint on loopback (a real HTTP server), and the agent CLI as a process."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ACCEPTED = (202, {}, b'{"accepted_samples": 1, "accepted_events": 1, "duplicate": false}')
REPO = Path(__file__).resolve().parents[3]
ENTRY = (
    "import argparse, sys\n"
    "from agent import cli\n"
    "parser = argparse.ArgumentParser(prog='gpuwarden agent')\n"
    "cli.configure(parser)\n"
    "sys.exit(cli.run(parser.parse_args()))\n"
)


def start_agent(*argv: str, **env: str) -> subprocess.Popen[str]:
    """`gpuwarden agent ARGV` as a child process, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-c", ENTRY, *argv],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    def payload(self) -> dict[str, Any]:
        assert self.headers["Content-Encoding"] == "gzip"
        return json.loads(gzip.decompress(self.body))


class ScriptedBot:
    """Answers POSTs with the next (status, headers, body) of `script`; the last one repeats."""

    def __init__(self, port: int = 0) -> None:
        self.script: list[tuple[int, dict[str, str], bytes]] = [ACCEPTED]
        self.received: list[Received] = []
        self._lock = threading.Lock()
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, headers, reply = bot._record(self.path, dict(self.headers), body)
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, fmt: str, *args: object) -> None:
                pass  # keep test output quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _record(self, path: str, headers: dict[str, str], body: bytes):
        with self._lock:
            self.received.append(Received(time.monotonic(), path, headers, body))
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def payloads(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.payload() for r in self.received]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def bot() -> Iterator[ScriptedBot]:
    server = ScriptedBot()
    server.start()
    yield server
    server.stop()
