"""Run a stand-in's ASGI app under a real uvicorn server in a background thread.

Used by tests and the demo launcher: ``with ServerThread(app) as server: server.url``.
Binding the socket up front gives the port before the app is built, so two apps that call each
other (the sandbox and a bot) can learn each other's URL first.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn

START_TIMEOUT_SECONDS = 10.0
# Open event streams (``/_sandbox/events``) never finish on their own; stop waiting for them.
GRACEFUL_SHUTDOWN_SECONDS = 1


def bind_loopback(port: int = 0) -> socket.socket:
    """Bind a listening TCP socket on 127.0.0.1 (port 0 picks a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class ServerThread:
    """A uvicorn server for ``app`` on a loopback socket, started and stopped from tests."""

    def __init__(self, app: Any, sock: socket.socket | None = None) -> None:
        self.socket = sock or bind_loopback()
        host, port = self.socket.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def start(self) -> None:
        """Start serving; return once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                msg = f"server for {self.url} did not start"
                raise RuntimeError(msg)
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask the server to exit and wait for it."""
        self.request_stop()
        self.wait_stopped()

    def request_stop(self) -> None:
        """Ask the server to exit (several servers can then stop side by side)."""
        self._server.should_exit = True

    def wait_stopped(self) -> None:
        """Wait until the server has exited, and release its socket."""
        self._thread.join(timeout=START_TIMEOUT_SECONDS)
        self.socket.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
