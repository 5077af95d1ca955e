"""Detection latency: a GPU's utilisation steps past critical → the alert reaches its receiver.

Three stacks run side by side on loopback, each on its own node names, in one run:

* **gpuwarden**: ``gpuwarden sandbox`` (Slack stand-in) + ``gpuwarden bot`` on SQLite with a
  ``rules.yaml`` whose utilisation rule has ``for: {warn: 0s, crit: 0s}``. A fleet pusher in this
  process posts one batch per node every second, exactly as the agent does (gzip JSON, bearer
  token, heartbeat event, 8 GPUs), each node at its own random phase (``--aligned``: all on the
  same 1 s grid, the worst case); every node keeps pushing, so none goes silent. Like the agent,
  each node also samples its GPUs every ``--watch-interval`` (default the agent's, 0.5 s) and
  checks them against the levels the bot hands out at ``GET /api/v1/agent/watch``, with the
  agent's own `agent.watch.WatchedLevels`; a crossing is posted at once in its own batch
  (``--watch-interval 0``: off, crossings wait for the next push). Each injection
  adds a fresh node, lets it push twice, then flips its GPU 3 to 0.99 at a random instant between
  two ticks (the recorded step time). The arrival is the ``ts`` of the first message naming that
  node in ``#gpu-alerts``: the sandbox stamps it with its own clock when the bot's
  ``chat.postMessage`` lands (same host). The watcher subscribes to ``/_sandbox/events`` and
  reads the channel on each change. Also, per injection, a fresh node sends an urgent batch with
  an ``xid`` event (attrs ``xid=79``) the way the agent ships events at once; that latency runs
  from the POST to the message.
* **Prometheus, common settings**: a prometheus_client exporter in this process, a real
  Prometheus (scrape 15 s, evaluation 15 s, rule ``gpu_util >= 0.95``) and a real Alertmanager
  (``group_wait`` 30 s) delivering to a webhook receiver in this process.
* **Prometheus, aggressive settings**: the same with 1 s / 1 s / ``group_wait`` 0 s.

The Prometheus stacks deliver to a bare webhook (no Slack hop), which favours them. Injections of
each Prometheus stack overlap in time (distinct ``node`` labels, so distinct alert groups).

    .venv/bin/python -m bench.detection_latency [--injections 50] [--common-injections 10]
        [--aggressive-injections N] [--aligned] [--watch-interval S] [--keep] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from agent.watch import DEFAULT_WATCH_INTERVAL_S, WATCH_PATH, WatchedLevels, parse_levels
from agent.wire import GPU_UTILIZATION, HEARTBEAT, INGEST_PATH, Batch, NodeEvent, Reading

CRIT = 0.95
HIGH = 0.99
NORMAL = 0.5
GPUS = 8
STEP_GPU = 3
PUSH_INTERVAL_S = 1.0
SLACK_TOKEN = "xoxb-bench-detection"
CHANNEL = "gpu-alerts"

RULES_YAML = f"""\
rules:
  - name: gpu_utilization_high
    type: threshold
    metric: {GPU_UTILIZATION}
    warn: 0.85
    crit: {CRIT}
    recover: 0.75
    for: {{warn: 0s, crit: 0s}}
    group_by: [node, gpu]
    severity: {{warn: P3, crit: P3}}
    summary: "GPU {{gpu}} on {{node}} at {{value:.0%}} utilisation"
"""


def log(message: str) -> None:
    """Print a progress line with the wall-clock time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- child processes

_CHILDREN: list[subprocess.Popen[bytes]] = []


@contextmanager
def child(
    name: str, argv: Sequence[str], log_dir: Path, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` with output in ``log_dir/name.log``; SIGTERM (then SIGKILL) when done."""
    with (log_dir / f"{name}.log").open("wb") as out:
        process = subprocess.Popen(
            list(argv),
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _CHILDREN.append(process)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def stop_children() -> None:
    """Terminate every child still running (a failed run must not leave servers behind)."""
    for process in _CHILDREN:
        if process.poll() is None:
            process.terminate()
    for process in _CHILDREN:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_ready(
    process: subprocess.Popen[bytes], name: str, url: str, timeout_s: float = 60
) -> None:
    """Poll ``url`` until it answers 200; fail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode} (see its log)")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{name} not ready at {url} after {timeout_s:.0f}s")


def gpuwarden(*args: str) -> list[str]:
    """The command line of ``python -m gpuwarden …`` with this interpreter."""
    return [sys.executable, "-m", "gpuwarden", *args]


# --------------------------------------------------------------------------- figures


@dataclass
class Figures:
    """Latencies of one stack, in seconds."""

    name: str
    latencies: list[float] = field(default_factory=list)
    missed: int = 0

    def quantile(self, q: float) -> float:
        """Return the q-quantile (linear interpolation between closest ranks)."""
        values = sorted(self.latencies)
        if not values:
            return float("nan")
        if len(values) == 1:
            return values[0]
        pos = q * (len(values) - 1)
        low = int(pos)
        high = min(low + 1, len(values) - 1)
        return values[low] + (values[high] - values[low]) * (pos - low)

    def row(self) -> str:
        """Return a table row: n, p50, p99, max, misses."""
        if not self.latencies:
            return f"| {self.name} | 0 | - | - | - | - | {self.missed} |"
        return (
            f"| {self.name} | {len(self.latencies)} | {self.quantile(0.5):.3f} | "
            f"{self.quantile(0.99):.3f} | {statistics.fmean(self.latencies):.3f} | "
            f"{max(self.latencies):.3f} | {self.missed} |"
        )


# --------------------------------------------------------------------------- gpuwarden stack


class SlackWatch:
    """First ``ts`` of a message (or thread reply) in ``#gpu-alerts`` naming each wanted node."""

    def __init__(self, sandbox_url: str) -> None:
        self._url = sandbox_url
        self._wanted: dict[str, float] = {}  # node → not before (epoch seconds)
        self._found: dict[str, float] = {}
        self._changed = asyncio.Event()
        self._scanning = asyncio.Lock()
        self.scans = 0

    def want(self, node: str, since: float) -> None:
        """Watch for ``node`` in messages posted at or after ``since``."""
        self._wanted[node] = since

    async def arrival(self, node: str, timeout_s: float) -> float | None:
        """Return the message ts for ``node``, or None after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while node not in self._found:
            left = deadline - time.monotonic()
            if left <= 0:
                self._wanted.pop(node, None)
                return None
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.5))
            except TimeoutError:
                await self._scan()  # a missed event must not cost an injection
        return self._found.pop(node)

    async def follow(self) -> None:
        """Read the sandbox's change stream; scan the channel after every change."""
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=None)) as client,
            client.stream("GET", f"{self._url}/_sandbox/events") as stream,
        ):
            async for line in stream.aiter_lines():
                if line.startswith("data:"):
                    await self._scan()

    async def _scan(self) -> None:
        async with self._scanning:
            await self._scan_once()

    async def _scan_once(self) -> None:
        if not self._wanted:
            return
        self.scans += 1
        async with httpx.AsyncClient(timeout=5.0) as client:
            answer = await client.get(f"{self._url}/_sandbox/messages", params={"channel": CHANNEL})
        if not self._wanted:
            return
        since = min(self._wanted.values()) - 1.0
        for message in answer.json()["messages"]:
            for item in [message, *message.get("replies", [])]:
                ts = float(item["ts"])
                if ts < since:
                    continue
                blob = json.dumps(item)
                for node, not_before in list(self._wanted.items()):
                    if ts >= not_before and node in blob:
                        self._found[node] = min(ts, self._found.get(node, ts))
                        self._wanted.pop(node)
        self._changed.set()


@dataclass
class FleetNode:
    """One simulated node of the pusher: GPU 3's utilisation and when its last batch went."""

    util: float = NORMAL
    pushes: int = 0
    last_push: float = 0.0
    high_push: float | None = None  # when the first batch carrying the high value was sent


class Fleet:
    """Pushes one batch per node every second to the bot, and crossings at once, as the agent."""

    def __init__(
        self, bot_url: str, token: str, *, aligned: bool, watch_s: float, levels: WatchedLevels
    ) -> None:
        self.nodes: dict[str, FleetNode] = {}
        self.aligned = aligned
        self.watch_s = watch_s
        self.levels = levels
        self.crossings = 0
        self._grid = time.time()
        self._rng = random.Random(11)
        self._tasks: list[asyncio.Task[None]] = []
        self._url = f"{bot_url}{INGEST_PATH}"
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        self.slow_ticks = 0
        self.ingest_s: list[float] = []

    @staticmethod
    def readings(state: FleetNode, now: float) -> tuple[Reading, ...]:
        """One node's 8 GPU utilisation readings at ``now``."""
        return tuple(
            Reading(
                GPU_UTILIZATION,
                {"gpu": str(gpu), "model_name": "NVIDIA H100 80GB HBM3"},
                now,
                state.util if gpu == STEP_GPU else NORMAL,
            )
            for gpu in range(GPUS)
        )

    def batch(self, node: str, state: FleetNode, now: float) -> Batch:
        """One node's batch: 8 GPU utilisation readings and a heartbeat."""
        samples = self.readings(state, now)
        self.levels.check(node, samples)  # as the agent's tick: the batch leaves now anyway
        heartbeat = NodeEvent(kind=HEARTBEAT, ts=now, attrs={"interval_s": PUSH_INTERVAL_S})
        return Batch(node=node, gpu_count=GPUS, sent_at=now, samples=samples, events=(heartbeat,))

    def crossing(self, node: str, state: FleetNode, now: float) -> Batch | None:
        """The agent's watch sample: a batch of the readings that crossed a level, or None."""
        crossed = self.levels.check(node, self.readings(state, now))
        if not crossed:
            return None
        self.crossings += 1
        samples = tuple(c.reading for c in crossed)
        return Batch(node=node, gpu_count=GPUS, sent_at=now, samples=samples)

    async def post(self, client: httpx.AsyncClient, batch: Batch) -> None:
        """POST one batch; fail loudly on anything but 2xx."""
        started = time.monotonic()
        answer = await client.post(self._url, content=batch.to_gzip_bytes(), headers=self._headers)
        self.ingest_s.append(time.monotonic() - started)
        if not answer.is_success:
            raise SystemExit(f"ingest answered {answer.status_code}: {answer.text}")

    def add(self, node: str, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        """Start pushing for a new node: on the shared 1 s grid (aligned) or at a random phase."""
        self.nodes[node] = FleetNode()
        now = time.time()
        if self.aligned:
            first = self._grid + math.ceil((now - self._grid) / PUSH_INTERVAL_S) * PUSH_INTERVAL_S
        else:
            first = now + self._rng.uniform(0.0, PUSH_INTERVAL_S)
        self._tasks.append(asyncio.create_task(self._loop(node, first, client, stop)))

    async def _loop(
        self, node: str, next_tick: float, client: httpx.AsyncClient, stop: asyncio.Event
    ) -> None:
        """One agent: push every tick, sample watched levels in between (a slow POST delays)."""
        state = self.nodes[node]
        next_watch = next_tick + self.watch_s if self.watch_s else math.inf
        while True:
            wake = min(next_tick, next_watch)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, wake - time.time()))
            if stop.is_set():
                return
            now = time.time()
            if now < next_tick:  # a watch sample between ticks
                next_watch += self.watch_s
                crossing = self.crossing(node, state, now)
                if crossing is not None:
                    if state.high_push is None:
                        state.high_push = now
                    await self.post(client, crossing)
                continue
            batch = self.batch(node, state, now)
            if state.util >= CRIT and state.high_push is None:
                state.high_push = now
            state.pushes += 1
            state.last_push = now
            await self.post(client, batch)
            next_tick += PUSH_INTERVAL_S
            if time.time() > next_tick:
                self.slow_ticks += 1
                next_tick += math.ceil((time.time() - next_tick) / PUSH_INTERVAL_S)
            if self.watch_s:
                next_watch = now + self.watch_s

    async def close(self) -> None:
        """Wait for every node's loop to end (after ``stop`` is set)."""
        await asyncio.gather(*self._tasks)

    async def wait_pushes(self, node: str, pushes: int) -> None:
        """Wait until ``node`` has pushed ``pushes`` batches."""
        while self.nodes[node].pushes < pushes:  # noqa: ASYNC110 - a bounded poll is enough
            await asyncio.sleep(0.02)


def fetch_levels(bot_url: str, token: str, watch_s: float) -> WatchedLevels:
    """The levels the bot hands agents (``GET /api/v1/agent/watch``), as the agent reads them."""
    answer = httpx.get(
        f"{bot_url}{WATCH_PATH}", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    answer.raise_for_status()
    levels, _ = parse_levels(answer.json())
    log(f"watching {len(levels)} level(s) every {watch_s:g} s" if watch_s else "watching off")
    return WatchedLevels(levels)


@dataclass
class GpuwardenResult:
    """What the gpuwarden half measured."""

    step: Figures
    sample_wait: Figures
    push_to_slack: Figures
    xid: Figures
    ingest_p50_s: float
    ingest_p99_s: float
    slow_ticks: int
    scans: int
    crossings: int


async def run_gpuwarden(
    injections: int,
    bot_url: str,
    sandbox_url: str,
    token: str,
    *,
    aligned: bool,
    watch_s: float,
    levels: WatchedLevels,
) -> GpuwardenResult:
    """Alternate utilisation steps and XID events, one at a time, on fresh nodes."""
    step = Figures("gpuwarden: step → chat.postMessage")
    sample_wait = Figures("  of which step → batch sent (sampling wait)")
    push_to_slack = Figures("  of which batch sent → chat.postMessage (bot)")
    xid = Figures("gpuwarden: XID 79 event POST → chat.postMessage")
    fleet = Fleet(bot_url, token, aligned=aligned, watch_s=watch_s, levels=levels)
    watch = SlackWatch(sandbox_url)
    stop = asyncio.Event()
    rng = random.Random(7)
    follow_task = asyncio.create_task(watch.follow())
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:
        for index in range(injections):
            # utilisation step
            node = f"gw-util-n{index:03d}"
            fleet.add(node, client, stop)
            await fleet.wait_pushes(node, 2)
            await asyncio.sleep(rng.uniform(0.0, PUSH_INTERVAL_S))
            step_at = time.time()
            watch.want(node, step_at)
            fleet.nodes[node].util = HIGH
            arrived = await watch.arrival(node, timeout_s=20)
            high_push = fleet.nodes[node].high_push
            if arrived is None or high_push is None:
                step.missed += 1
                log(f"gpuwarden util #{index + 1}: no message within 20 s")
            else:
                step.latencies.append(arrived - step_at)
                sample_wait.latencies.append(high_push - step_at)
                push_to_slack.latencies.append(arrived - high_push)
            # XID 79, shipped at once as the agent's urgent path does
            node = f"gw-xid-n{index:03d}"
            fleet.add(node, client, stop)
            await fleet.wait_pushes(node, 2)
            await asyncio.sleep(rng.uniform(0.0, PUSH_INTERVAL_S))
            sent_at = time.time()
            event = NodeEvent(
                kind="xid",
                ts=sent_at,
                labels={"gpu": str(STEP_GPU)},
                message=f"Xid 79 on GPU {STEP_GPU} (00000000:1B:00.0)",
                attrs={"xid": 79, "gpu": STEP_GPU, "pci": "00000000:1B:00.0", "source": "kmsg"},
            )
            urgent = Batch(node=node, gpu_count=GPUS, sent_at=sent_at, events=(event,))
            watch.want(node, sent_at)
            await fleet.post(client, urgent)
            arrived = await watch.arrival(node, timeout_s=20)
            if arrived is None:
                xid.missed += 1
                log(f"gpuwarden xid #{index + 1}: no message within 20 s")
            else:
                xid.latencies.append(arrived - sent_at)
            if (index + 1) % 5 == 0 or index + 1 == injections:
                log(
                    f"gpuwarden: {index + 1}/{injections} injections, "
                    f"step p50 {step.quantile(0.5):.3f} s, xid p50 {xid.quantile(0.5):.3f} s, "
                    f"fleet {len(fleet.nodes)} nodes"
                )
        stop.set()
        await fleet.close()
    follow_task.cancel()
    ingest = Figures("ingest", fleet.ingest_s)
    return GpuwardenResult(
        step,
        sample_wait,
        push_to_slack,
        xid,
        ingest.quantile(0.5),
        ingest.quantile(0.99),
        fleet.slow_ticks,
        watch.scans,
        fleet.crossings,
    )


# --------------------------------------------------------------------------- Prometheus stack


@dataclass(frozen=True)
class PromSettings:
    """One Prometheus + Alertmanager configuration."""

    name: str
    scrape_s: int
    eval_s: int
    group_wait_s: int
    injections: int
    spacing_s: float


class WebhookReceiver:
    """An HTTP server recording when the first firing alert for each ``node`` arrives."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(200)
                self.end_headers()
                receiver.record(json.loads(body or b"{}"), arrived)

            def log_message(self, *_: Any) -> None:
                return

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def record(self, payload: dict[str, Any], arrived: float) -> None:
        """Note the arrival of every firing alert not seen before."""
        with self._cond:
            for alert in payload.get("alerts", []):
                node = alert.get("labels", {}).get("node")
                if alert.get("status") == "firing" and node and node not in self.arrivals:
                    self.arrivals[node] = arrived
            self._cond.notify_all()

    def wait(self, node: str, timeout_s: float) -> float | None:
        """Return when ``node``'s alert arrived, or None after ``timeout_s``."""
        with self._cond:
            self._cond.wait_for(lambda: node in self.arrivals, timeout_s)
            return self.arrivals.get(node)


def run_prometheus(settings: PromSettings, tmp: Path, prefix: str, figures: Figures) -> None:
    """Start exporter, Prometheus, Alertmanager and receiver; inject; fill ``figures``."""
    tmp.mkdir()
    registry = CollectorRegistry()
    gauge = Gauge("gpu_util", "GPU utilisation (0-1)", ["node", "gpu"], registry=registry)
    exporter_port = free_port()
    exporter, _ = start_http_server(exporter_port, addr="127.0.0.1", registry=registry)
    receiver = WebhookReceiver()
    am_port, prom_port = free_port(), free_port()
    am_config = {
        "route": {
            "receiver": "bench",
            "group_by": ["alertname", "node"],
            "group_wait": f"{settings.group_wait_s}s",
            "group_interval": "5m" if settings.group_wait_s else "1s",
            "repeat_interval": "4h",
        },
        "receivers": [
            {
                "name": "bench",
                "webhook_configs": [
                    {"url": f"http://127.0.0.1:{receiver.port}/", "send_resolved": False}
                ],
            }
        ],
    }
    rules = {
        "groups": [
            {
                "name": "gpu",
                "rules": [
                    {
                        "alert": "GpuUtilizationCritical",
                        "expr": f"gpu_util >= {CRIT}",
                        "labels": {"severity": "critical"},
                    }
                ],
            }
        ]
    }
    prom_config = {
        "global": {
            "scrape_interval": f"{settings.scrape_s}s",
            "evaluation_interval": f"{settings.eval_s}s",
        },
        "rule_files": [str(tmp / "rules.yml")],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
        },
        "scrape_configs": [
            {"job_name": "gpu", "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}]}
        ],
    }
    (tmp / "alertmanager.yml").write_text(yaml.safe_dump(am_config))
    (tmp / "rules.yml").write_text(yaml.safe_dump(rules))
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(prom_config))
    am_argv = [
        "prometheus-alertmanager",
        f"--config.file={tmp / 'alertmanager.yml'}",
        f"--storage.path={tmp / 'am-data'}",
        f"--web.listen-address=127.0.0.1:{am_port}",
        "--cluster.listen-address=",
    ]
    prom_argv = [
        "prometheus",
        f"--config.file={tmp / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp / 'prom-data'}",
        f"--web.listen-address=127.0.0.1:{prom_port}",
    ]
    with (
        child(f"{settings.name}-alertmanager", am_argv, tmp) as am,
        child(f"{settings.name}-prometheus", prom_argv, tmp) as prom,
    ):
        wait_ready(am, "alertmanager", f"http://127.0.0.1:{am_port}/-/ready")
        wait_ready(prom, "prometheus", f"http://127.0.0.1:{prom_port}/-/ready")
        log(f"{settings.name}: Prometheus and Alertmanager ready")
        rng = random.Random(settings.name)
        timeout_s = settings.scrape_s + settings.eval_s + settings.group_wait_s + 30.0
        lock = threading.Lock()

        def inject(index: int) -> None:
            time.sleep(index * settings.spacing_s)
            node = f"{prefix}-n{index:03d}"
            gauge.labels(node, str(STEP_GPU)).set(NORMAL)
            time.sleep(settings.scrape_s + rng.uniform(0.0, settings.scrape_s))
            step_at = time.time()
            gauge.labels(node, str(STEP_GPU)).set(HIGH)
            arrived = receiver.wait(node, timeout_s)
            with lock:
                if arrived is None:
                    figures.missed += 1
                else:
                    figures.latencies.append(arrived - step_at)
                done = len(figures.latencies) + figures.missed
            if done % 5 == 0 or done == settings.injections:
                log(
                    f"{settings.name}: {done}/{settings.injections}, "
                    f"p50 {figures.quantile(0.5):.2f} s"
                )

        threads = [
            threading.Thread(target=inject, args=(i,), daemon=True)
            for i in range(settings.injections)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    exporter.shutdown()
    receiver.server.shutdown()


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--injections", type=int, default=50, help="gpuwarden utilisation steps and XIDs (each)"
    )
    parser.add_argument(
        "--aggressive-injections",
        type=int,
        default=None,
        help="Prometheus 1 s/1 s/group_wait 0 s steps (default: --injections)",
    )
    parser.add_argument(
        "--common-injections",
        type=int,
        default=10,
        help="Prometheus 15 s/15 s/group_wait 30 s steps (~45 s each, run overlapped)",
    )
    parser.add_argument(
        "--aligned",
        action="store_true",
        help="all simulated nodes push on the same 1 s grid (worst case; default: random phase)",
    )
    parser.add_argument(
        "--watch-interval",
        type=float,
        default=DEFAULT_WATCH_INTERVAL_S,
        help="seconds between the agents' samples of watched levels; 0: off (default "
        "%(default)s, the agent's)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir with all logs")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run all stacks at once, print the table and the ratios."""
    try:
        return run(argv)
    finally:
        stop_children()


def run(argv: Sequence[str] | None) -> int:
    """Start everything, measure, report."""
    args = parse_args(argv)
    aggressive_n = args.aggressive_injections or args.injections
    tmp_root = Path(tempfile.mkdtemp(prefix="gpuwarden-detection-"))
    log(f"logs and state in {tmp_root}")
    started = time.monotonic()
    common = Figures("Prometheus + Alertmanager, 15 s / 15 s / group_wait 30 s")
    aggressive = Figures("Prometheus + Alertmanager, 1 s / 1 s / group_wait 0 s")
    stacks = [
        (PromSettings("prom-common", 15, 15, 30, args.common_injections, 6.0), common),
        (PromSettings("prom-aggressive", 1, 1, 0, aggressive_n, 1.5), aggressive),
    ]
    errors: list[BaseException] = []

    def prom_thread(settings: PromSettings, figures: Figures) -> None:
        try:
            run_prometheus(settings, tmp_root / settings.name, settings.name, figures)
        except BaseException as exc:  # noqa: BLE001 - reported after the run
            errors.append(exc)

    with ExitStack() as stack:
        sandbox_port, bot_port = free_port(), free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        bot_url = f"http://127.0.0.1:{bot_port}"
        sandbox = stack.enter_context(
            child(
                "sandbox",
                gpuwarden(
                    "sandbox",
                    *("--port", str(sandbox_port), "--bot-token", SLACK_TOKEN),
                    *("--kube-port", str(free_port()), "--llm-port", str(free_port())),
                ),
                tmp_root,
            )
        )
        wait_ready(sandbox, "sandbox", f"{sandbox_url}/_sandbox/healthz")
        (tmp_root / "config").mkdir()
        (tmp_root / "config" / "rules.yaml").write_text(RULES_YAML)
        token = secrets.token_urlsafe(16)
        env = {
            "GPUWARDEN_PORT": str(bot_port),
            "GPUWARDEN_DATA_DIR": str(tmp_root / "data"),
            "GPUWARDEN_CONFIG_DIR": str(tmp_root / "config"),
            "GPUWARDEN_SLACK_API_URL": f"{sandbox_url}/api/",
            "GPUWARDEN_SLACK_BOT_TOKEN": SLACK_TOKEN,
            "GPUWARDEN_SLACK_SIGNING_SECRET": secrets.token_hex(16),
            "GPUWARDEN_INGEST_TOKEN": token,
            "GPUWARDEN_ALERTS_CHANNEL": CHANNEL,
        }
        bot = stack.enter_context(child("bot", gpuwarden("bot"), tmp_root, env))
        wait_ready(bot, "bot", f"{bot_url}/readyz")
        log(f"sandbox {sandbox_url} and bot {bot_url} ready")
        threads = [threading.Thread(target=prom_thread, args=pair, daemon=True) for pair in stacks]
        for thread in threads:
            thread.start()
        gw = asyncio.run(
            run_gpuwarden(
                args.injections,
                bot_url,
                sandbox_url,
                token,
                aligned=args.aligned,
                watch_s=args.watch_interval,
                levels=fetch_levels(bot_url, token, args.watch_interval),
            )
        )
        log("gpuwarden done; waiting for the Prometheus stacks")
        for thread in threads:
            thread.join()
        (tmp_root / "bot-metrics.txt").write_text(httpx.get(f"{bot_url}/metrics").text)
    if errors:
        raise errors[0]

    report(gw, common, aggressive, args.json, f"{time.monotonic() - started:.0f} s run")
    if args.keep:
        print(f"logs kept in {tmp_root}")
    else:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return 0


def report(
    gw: GpuwardenResult, common: Figures, aggressive: Figures, json_out: Path | None, run: str
) -> None:
    """Print the table, the ratios and the verdicts; write them as JSON when asked."""
    print()
    print(f"detection latency, seconds ({run})")
    print()
    print("| stack | n | p50 | p99 | mean | max | missed |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for figures in (gw.step, gw.sample_wait, gw.push_to_slack, gw.xid, common, aggressive):
        print(figures.row())
    print()
    base50, base99 = gw.step.quantile(0.5), gw.step.quantile(0.99)
    ratios = {}
    for label, figures in (("common", common), ("aggressive", aggressive)):
        r50, r99 = figures.quantile(0.5) / base50, figures.quantile(0.99) / base99
        ratios[label] = {"p50": r50, "p99": r99}
        print(f"Prometheus {label} / gpuwarden: p50 {r50:.1f}x, p99 {r99:.1f}x")
    print(
        f"bot ingest round trip (fleet pusher): p50 {gw.ingest_p50_s * 1000:.1f} ms, "
        f"p99 {gw.ingest_p99_s * 1000:.1f} ms; late fleet ticks {gw.slow_ticks}; "
        f"channel scans {gw.scans}; crossings shipped at once {gw.crossings}"
    )
    verdicts = [
        ("gpuwarden step p99 ≤ 1.0 s", gw.step.quantile(0.99) <= 1.0),
        ("gpuwarden XID p99 ≤ 0.3 s", gw.xid.quantile(0.99) <= 0.3),
    ]
    for what, ok in verdicts:
        print(f"target {what}: {'met' if ok else 'NOT met'}")
    if json_out:
        all_figures = (gw.step, gw.sample_wait, gw.push_to_slack, gw.xid, common, aggressive)
        out = {
            f.name: {
                "n": len(f.latencies),
                "missed": f.missed,
                "p50": f.quantile(0.5),
                "p99": f.quantile(0.99),
                "latencies": f.latencies,
            }
            for f in all_figures
        }
        json_out.write_text(json.dumps({"figures": out, "ratios": ratios}, indent=2))


if __name__ == "__main__":
    raise SystemExit(main())
