"""What the LLM stand-in is set to do, and what it received.

Automation endpoints (``/_sandbox/…``) change the mode, the latency, the scripted answers and the
queued failures; every chat-completions request is recorded for tests to inspect.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Mode(StrEnum):
    """How the stand-in answers when no scripted answer is queued."""

    EVIDENCE = "evidence"  # reads the data block and answers in the JSON shape asked for
    ECHO = "echo"  # repeats the last user message
    SCRIPTED = "scripted"  # only scripted answers; none left is a 500


class FailureKind(StrEnum):
    """A failure the next request meets."""

    STATUS = "status"  # an HTTP error with OpenAI's error body (500, 503, 429 …)
    HANG = "hang"  # no answer for ``seconds`` (longer than the client's timeout)
    MALFORMED = "malformed"  # 200 with a body that is not a chat completion


@dataclass(frozen=True, slots=True)
class Failure:
    """One queued failure."""

    kind: FailureKind
    status: int = 500
    seconds: float = 60.0


@dataclass
class LlmState:
    """The stand-in's settings, script, failures and recorded requests (thread-safe)."""

    api_key: str
    models: tuple[str, ...]
    mode: Mode = Mode.EVIDENCE
    latency_s: float = 0.0
    script: deque[str] = field(default_factory=deque)
    failures: deque[Failure] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, request: dict[str, Any]) -> None:
        """Keep one received request (headers and body)."""
        with self.lock:
            self.requests.append(request)

    def next_failure(self) -> Failure | None:
        """The failure this request meets, if one is queued."""
        with self.lock:
            return self.failures.popleft() if self.failures else None

    def next_script(self) -> str | None:
        """The next scripted answer, if one is queued."""
        with self.lock:
            return self.script.popleft() if self.script else None

    def reset(self) -> None:
        """Back to the defaults: evidence mode, no latency, nothing queued or recorded."""
        with self.lock:
            self.mode, self.latency_s = Mode.EVIDENCE, 0.0
            self.script.clear()
            self.failures.clear()
            self.requests.clear()
