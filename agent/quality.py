"""A local HTTP endpoint (127.0.0.1:9841) where serving, eval and training jobs POST signals.

Each POST is a JSON object; unknown or missing fields are refused. The readings ship with the next
batch (all readings of one POST share its arrival time)::

    /v1/output-histogram  {"model_name": str, "buckets": {bucket: count, ...}}
        → gpuwarden_model_output_bucket_ratio{model_name,bucket}  share of outputs (0-1)
          gpuwarden_model_output_observations{model_name}  outputs counted
        The bot reads the ratios of one (model_name, ts) as one distribution and computes the
        KL divergence against its baseline; the observations say how much to trust it. (Not
        ``…_histogram_…``: promtool refuses type names inside metric names.)
    /v1/train-loss        {"job": str, "value": number}        → gpuwarden_train_loss{job}
    /v1/topk-recall       {"model_name": str, "k": int >= 1, "value": 0-1}
                                                   → gpuwarden_model_topk_recall_ratio{model_name,k}
    /v1/param-sync        {"job": str, "seconds": number >= 0} → gpuwarden_train_param_sync_seconds

Answers: 202 ``{"accepted": n}``; otherwise ``{"error": "..."}`` with 400 (not a JSON object),
404 (unknown path), 411/413 (no or too large body), 422 (a field is wrong; the message names
it and what was expected), 503 (too many signals waiting for the next push).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from agent.errors import AgentError
from agent.exporter import MetricInfo
from agent.wire import NodeEvent, Reading

logger = logging.getLogger(__name__)

DEFAULT_QUALITY_PORT = 9841
OUTPUT_BUCKET = "gpuwarden_model_output_bucket_ratio"
OUTPUT_OBSERVATIONS = "gpuwarden_model_output_observations"
TRAIN_LOSS = "gpuwarden_train_loss"
TOPK_RECALL = "gpuwarden_model_topk_recall_ratio"
PARAM_SYNC = "gpuwarden_train_param_sync_seconds"
QUALITY_METRICS: Mapping[str, MetricInfo] = {
    OUTPUT_BUCKET: MetricInfo("gauge", "Share of a model's outputs in one bucket.", "ratio"),
    OUTPUT_OBSERVATIONS: MetricInfo("gauge", "Outputs counted in the pushed output histogram."),
    TRAIN_LOSS: MetricInfo("gauge", "Training loss last pushed by the job."),
    TOPK_RECALL: MetricInfo("gauge", "Top-K recall last pushed by the eval job (0-1).", "ratio"),
    PARAM_SYNC: MetricInfo("gauge", "Parameter synchronisation time of the last step.", "seconds"),
}
MAX_BODY_BYTES = 1024**2
MAX_BUCKETS = 256
_MAX_TEXT = 200
_SHOWN_CHARS = 60

Payload = Mapping[str, object]


class SignalError(AgentError):
    """A pushed signal was refused; `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _shown(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _invalid(field: str, expected: str, value: object) -> SignalError:
    return SignalError(422, f"field {field!r}: expected {expected}, got {_shown(value)}")


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_TEXT:
        raise _invalid(field, f"a non-empty string of at most {_MAX_TEXT} characters", value)
    return value


def _number(
    value: object, field: str, expected: str, low: float = -math.inf, high: float = math.inf
) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise _invalid(field, expected, value)
    return float(value)


def _buckets(payload: Payload) -> dict[str, float]:
    value = payload["buckets"]
    if not isinstance(value, dict) or not 0 < len(value) <= MAX_BUCKETS:
        raise _invalid("buckets", f"an object of 1-{MAX_BUCKETS} bucket: count pairs", value)
    counts = {
        _text(bucket, "buckets"): _number(count, f"buckets[{bucket!r}]", "a count of at least 0", 0)
        for bucket, count in value.items()
    }
    if sum(counts.values()) <= 0:
        raise _invalid("buckets", "at least one count above 0", value)
    return counts


def _output_histogram(payload: Payload, ts: float) -> list[Reading]:
    model = _text(payload["model_name"], "model_name")
    counts = _buckets(payload)
    total = sum(counts.values())
    readings = [
        Reading(OUTPUT_BUCKET, {"model_name": model, "bucket": bucket}, ts, count / total)
        for bucket, count in counts.items()
    ]
    readings.append(Reading(OUTPUT_OBSERVATIONS, {"model_name": model}, ts, total))
    return readings


def _train_loss(payload: Payload, ts: float) -> list[Reading]:
    job = _text(payload["job"], "job")
    loss = _number(payload["value"], "value", "a finite number")
    return [Reading(TRAIN_LOSS, {"job": job}, ts, loss)]


def _topk_recall(payload: Payload, ts: float) -> list[Reading]:
    model, k = _text(payload["model_name"], "model_name"), payload["k"]
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise _invalid("k", "a whole number of at least 1", k)
    recall = _number(payload["value"], "value", "a ratio from 0 to 1", 0, 1)
    return [Reading(TOPK_RECALL, {"model_name": model, "k": str(k)}, ts, recall)]


def _param_sync(payload: Payload, ts: float) -> list[Reading]:
    seconds = _number(payload["seconds"], "seconds", "a number of seconds, at least 0", 0)
    return [Reading(PARAM_SYNC, {"job": _text(payload["job"], "job")}, ts, seconds)]


_SIGNALS: Mapping[str, tuple[tuple[str, ...], Callable[[Payload, float], list[Reading]]]] = {
    "/v1/output-histogram": (("model_name", "buckets"), _output_histogram),
    "/v1/train-loss": (("job", "value"), _train_loss),
    "/v1/topk-recall": (("model_name", "k", "value"), _topk_recall),
    "/v1/param-sync": (("job", "seconds"), _param_sync),
}


def parse_signal(path: str, body: bytes, ts: float) -> list[Reading]:
    """Return the readings a POST of `body` to `path` stands for; raise `SignalError` if refused."""
    if path not in _SIGNALS:
        raise SignalError(404, f"unknown path {path!r}; expected one of: {', '.join(_SIGNALS)}")
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise SignalError(400, "expected a JSON object as the request body")
    fields, readings = _SIGNALS[path]
    missing = [f for f in fields if f not in payload]
    unknown = sorted(set(payload) - set(fields))
    if missing or unknown:
        what = f"missing field {missing[0]!r}" if missing else f"unknown field {unknown[0]!r}"
        raise SignalError(422, f"{what}; {path} takes: {', '.join(fields)}")
    return readings(payload, ts)


class QualityEndpoint:
    """A `Source` of pushed quality signals, served over HTTP once `start` is called."""

    name = "quality"
    gpu_count = 0

    def __init__(
        self, *, node: str, clock: Callable[[], float] = time.time, max_pending: int = 10_000
    ) -> None:
        self.node = node
        self._clock = clock
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._pending: list[Reading] = []
        self._server: ThreadingHTTPServer | None = None

    def accept(self, path: str, body: bytes) -> int:
        """Queue the readings of one POST for the next batch; return how many."""
        readings = parse_signal(path, body, self._clock())
        with self._lock:
            if len(self._pending) + len(readings) > self._max_pending:
                raise SignalError(503, f"{len(self._pending)} readings wait for the next push")
            self._pending.extend(readings)
        return len(readings)

    def collect(self, now: float) -> tuple[Sequence[Reading], Sequence[NodeEvent]]:  # noqa: ARG002
        """Return (and forget) every reading pushed since the last call (stamped on arrival)."""
        with self._lock:
            readings, self._pending = self._pending, []
        return readings, []

    def start(self, *, host: str = "127.0.0.1", port: int = DEFAULT_QUALITY_PORT) -> int:
        """Serve POSTs at http://host:port in a thread; return the port bound."""
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="quality", daemon=True).start()
        bound = int(self._server.server_address[1])
        logger.info("quality signals accepted at http://%s:%d/v1/...", host, bound)
        return bound

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _handler(endpoint: QualityEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            try:
                accepted = endpoint.accept(self.path, self._body())
            except SignalError as exc:
                self._answer(exc.status, {"error": str(exc)})
            else:
                self._answer(HTTPStatus.ACCEPTED, {"accepted": accepted})

        def _body(self) -> bytes:
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                raise SignalError(411, "expected a Content-Length header")
            if int(length) > MAX_BODY_BYTES:
                raise SignalError(413, f"expected a body of at most {MAX_BODY_BYTES} bytes")
            return self.rfile.read(int(length))

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
            logger.debug("quality endpoint: " + format, *args)

    return Handler
