"""Bot ingest throughput: samples/s through a real ``POST /api/v1/ingest``, and RSS at 100k series.

Run (loopback only; three to four minutes with the defaults)::

    .venv/bin/python -m bench.ingest_throughput [--nodes 625] [--clients 2] [--seconds 90]

The fleet: ``--nodes`` nodes x 8 GPUs x 20 GPU metrics = 160 series per node (100,000 series with
the default 625 nodes). One batch is one node's 160 series over 31 one-second ticks (4,960
samples, gzip'd JSON), as an agent that flushes every 31 s sends it. A temporary
``GPUWARDEN_CONFIG_DIR`` holds a ``rules.yaml`` with the shipped rules plus, for every metric
sent, a threshold rule and a ``type: anomaly`` rule, so every sample goes through thresholds,
an anomaly detector, peer outliers and the noise policy. Values stay far below the thresholds
and flat (±1 %), so nothing fires; Slack points at a dead loopback port anyway.

Phases, all in one run:

1. **fill**: the bot (``gpuwarden bot`` under uvicorn, temporary SQLite) receives one batch per
   node from ``--clients`` client processes: 100k series, each past the detector's 30-sample
   warm-up. The bot's VmRSS is then read from ``/proc``.
2. **sustained**: one more batch per node (a further 31 s of the same series), timed:
   samples/s, p50/p99 request latency, bot CPU.
3. **in process**: the same bodies without HTTP, stage by stage (gunzip + ``json.loads`` as the
   baseline, pydantic validation, ``to_batch``, ``AlertEngine.observe_batch``), on a fresh
   engine with the same rules; figures are per sample and as ratios to the baseline.
4. **profile**: a second bot under ``cProfile`` receives ``--profile-nodes`` nodes twice; the
   top functions by own time and by cumulative time are printed.

Targets (the ingest issue): ≥ 100,000 samples/s on a 2-core machine, ≤ 1 GB RSS at 100k series.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import http.client
import json
import multiprocessing as mp
import os
import pstats
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.api.schemas import IngestPayload
from bot.config.files import load_config
from bot.core.engine import AlertEngine
from bot.services.history import SampleHistory
from bot.services.ingest import HeapKeeper, gc_paused

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-ingest-token"
GPUS = 8
TICKS = 31  # seconds per batch: one past the anomaly detector's 30-sample warm-up
# (metric, typical value): real agent names first (peer rules watch utilisation, SM clock, power)
METRICS: tuple[tuple[str, float], ...] = (
    ("gpuwarden_gpu_utilization_ratio", 0.5),
    ("gpuwarden_gpu_sm_clock_hertz", 1.5e9),
    ("gpuwarden_gpu_power_usage_watts", 400.0),
    ("gpuwarden_gpu_temperature_celsius", 55.0),
    ("gpuwarden_gpu_memory_used_bytes", 4.0e10),
    *((f"gpuwarden_gpu_bench_metric_{i:02d}", 100.0 + i) for i in range(15)),
)
SERIES_PER_NODE = GPUS * len(METRICS)
HEARTBEAT_S = 600.0


# ---------------------------------------------------------------------------------- the fleet


def node_name(i: int) -> str:
    return f"gpu-node-{i:04d}"


def body(node: int, rnd: int, base_ts: float) -> bytes:
    """One node's batch for round ``rnd``: every series over ``TICKS`` one-second ticks."""
    rng = random.Random(node * 1_000_003 + rnd)
    samples = []
    for t in range(TICKS):
        ts = base_ts + rnd * TICKS + t
        for metric, typical in METRICS:
            for gpu in range(GPUS):
                value = typical * (1.0 + 0.01 * (2.0 * rng.random() - 1.0))
                samples.append(
                    {"metric": metric, "labels": {"gpu": str(gpu)}, "ts": ts, "value": value}
                )
    payload = {
        "batch_id": uuid.uuid4().hex,
        "node": node_name(node),
        "agent_version": "bench",
        "gpu_count": GPUS,
        "sent_at": base_ts + (rnd + 1) * TICKS,
        "samples": samples,
        # as agents do; each node sends once per round here, which takes minutes at worst, so
        # the heartbeat says so and the bot's absence rules stay quiet
        "events": [{"kind": "heartbeat", "ts": ts, "attrs": {"interval_s": HEARTBEAT_S}}],
    }
    return gzip.compress(json.dumps(payload).encode(), compresslevel=6)


def rules_yaml() -> str:
    shipped = (ROOT / "bot/config/defaults/rules.yaml").read_text()
    extra = []
    for metric, typical in METRICS:
        short = metric.removeprefix("gpuwarden_gpu_")
        extra.append(
            f"  - name: bench_{short}_high\n    type: threshold\n    metric: {metric}\n"
            f"    warn: {typical * 10}\n    crit: {typical * 20}\n    recover: {typical * 5}\n"
            f"    group_by: [node, gpu]\n"
        )
        if metric != "gpuwarden_gpu_temperature_celsius":  # the shipped rules have this one
            extra.append(
                f"  - name: bench_{short}_anomaly\n    type: anomaly\n    metric: {metric}\n"
            )
    return shipped.rstrip("\n") + "\n" + "".join(extra)


# ---------------------------------------------------------------------------------- the bot


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_bot(tmp: Path, *, profile_to: Path | None = None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    data = tmp / f"data-{port}"
    data.mkdir()
    env = {
        **os.environ,
        "GPUWARDEN_INGEST_TOKEN": TOKEN,
        "GPUWARDEN_SLACK_BOT_TOKEN": "xoxb-bench",
        "GPUWARDEN_SLACK_SIGNING_SECRET": "bench-secret",
        "GPUWARDEN_SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",  # nobody listens
        "GPUWARDEN_DATA_DIR": str(data),
        "GPUWARDEN_CONFIG_DIR": str(tmp / "config"),
        "GPUWARDEN_PORT": str(port),
        "GPUWARDEN_HOST": "127.0.0.1",
        "GPUWARDEN_LOG_LEVEL": "WARNING",
    }
    prof = ["-m", "cProfile", "-o", str(profile_to)] if profile_to else []
    cmd = [sys.executable, *prof, "-m", "gpuwarden", "bot"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("bot did not start within 60 s")


def stop_bot(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def proc_status(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` field in bytes (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------- clients


def client(
    *,
    port: int,
    nodes: list[int],
    rounds: list[int],
    base_ts: float,
    ready: Any,
    go: Any,
    out: Any,
    cap_s: float,
) -> None:
    """Pre-build this client's bodies, then send them round by round; report latencies."""
    bodies = {r: [body(n, r, base_ts) for n in nodes] for r in rounds}
    ready.put(sum(len(b) for bs in bodies.values() for b in bs))
    for r in rounds:
        go.get()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        lat, sent, errors = [], 0, 0
        t0 = time.perf_counter()
        for i, raw in enumerate(bodies[r]):
            t = time.perf_counter()
            conn.request(
                "POST",
                "/api/v1/ingest",
                body=raw,
                headers={
                    "Authorization": f"Bearer {TOKEN}",
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                },
            )
            resp = conn.getresponse()
            answer = resp.read()
            lat.append(time.perf_counter() - t)
            if resp.status == 202:
                sent += json.loads(answer)["accepted_samples"]
            else:
                errors += 1
                if errors <= 3:
                    print(f"  client: HTTP {resp.status}: {answer[:200]!r}", flush=True)
            if nodes[0] == 0 and i % 50 == 49:  # the first client reports progress
                done = time.perf_counter() - t0
                print(
                    f"  … {i + 1}/{len(bodies[r])} batches, {sent / done:,.0f} samples/s",
                    flush=True,
                )
            if r > 0 and time.perf_counter() - t0 > cap_s:  # the fill always completes
                break
        out.put((sent, errors, time.perf_counter() - t0, lat))
        conn.close()


def run_round(
    label: str, procs: int, go: Any, out: Any, bot_pid: int
) -> tuple[float, list[float], float]:
    cpu0, t0 = cpu_seconds(bot_pid), time.perf_counter()
    for _ in range(procs):
        go.put(1)
    results = [out.get() for _ in range(procs)]
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(bot_pid) - cpu0
    sent = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    lat = sorted(x for r in results for x in r[3])
    rate = sent / wall
    print(
        f"{label}: {sent:,} samples in {len(lat)} batches, {wall:.1f} s → {rate:,.0f} samples/s; "
        f"latency p50 {pct(lat, 50) * 1000:.0f} ms, p99 {pct(lat, 99) * 1000:.0f} ms; "
        f"bot CPU {cpu / wall:.2f} cores; errors {errors}",
        flush=True,
    )
    return rate, lat, cpu / wall


def pct(xs: list[float], p: float) -> float:
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] if xs else float("nan")


def http_phase(tmp: Path, args: argparse.Namespace, base_ts: float) -> dict[str, float]:
    proc, port = start_bot(tmp)
    try:
        ctx = mp.get_context("fork")
        ready, out = ctx.Queue(), ctx.Queue()
        gos = [ctx.Queue() for _ in range(args.clients)]
        nodes = list(range(args.nodes))
        workers = [
            ctx.Process(
                target=client,
                kwargs={
                    "port": port,
                    "nodes": nodes[i :: args.clients],
                    "rounds": [0, 1],
                    "base_ts": base_ts,
                    "ready": ready,
                    "go": gos[i],
                    "out": out,
                    "cap_s": args.seconds,
                },
            )
            for i in range(args.clients)
        ]
        for w in workers:
            w.start()
        t = time.perf_counter()
        size = sum(ready.get() for _ in workers)
        n = args.nodes * 2
        print(
            f"clients built {n} gzip'd bodies ({size / n / 1024:.0f} KiB each, "
            f"{TICKS * SERIES_PER_NODE:,} samples) in {time.perf_counter() - t:.1f} s",
            flush=True,
        )
        rss0 = proc_status(proc.pid, "VmRSS")

        print(f"fill: {args.nodes * SERIES_PER_NODE:,} series …", flush=True)
        fill, _, _ = run_round("fill", args.clients, _SplitGo(gos), out, proc.pid)
        rss = proc_status(proc.pid, "VmRSS")
        hwm = proc_status(proc.pid, "VmHWM")
        print(
            f"bot RSS at {args.nodes * SERIES_PER_NODE:,} series: {rss / 2**20:,.0f} MiB "
            f"(peak {hwm / 2**20:,.0f} MiB; {rss0 / 2**20:,.0f} MiB idle)",
            flush=True,
        )
        print("sustained …", flush=True)
        rate, lat, cores = run_round("sustained", args.clients, _SplitGo(gos), out, proc.pid)
        for w in workers:
            w.join()
        return {
            "fill": fill,
            "rate": rate,
            "p50": pct(lat, 50),
            "p99": pct(lat, 99),
            "cores": cores,
            "rss": rss,
            "rss_idle": rss0,
        }
    finally:
        stop_bot(proc)


class _SplitGo:
    """``put`` starts one round on every client."""

    def __init__(self, gos: list[Any]) -> None:
        self._gos = gos
        self._i = 0

    def put(self, _: int) -> None:
        self._gos[self._i % len(self._gos)].put(1)
        self._i += 1


# ---------------------------------------------------------------------------------- in process


def inprocess_phase(tmp: Path, args: argparse.Namespace, base_ts: float) -> None:
    engine = AlertEngine(load_config(tmp / "config").engine)
    history = SampleHistory()  # as the bot keeps for the root-cause evidence
    nodes = range(args.inproc_nodes)
    warm = [body(n, 0, base_ts) for n in nodes]
    timed = [body(n, 1, base_ts) for n in nodes]
    now = base_ts + 3 * TICKS
    for raw in warm:
        p = IngestPayload.from_json(zlib.decompress(raw, 16 + zlib.MAX_WBITS), now=now).to_batch()
        history.record(p.samples, p.events)
        engine.observe_batch(node=p.node, samples=p.samples, events=p.events, now=now)
    HeapKeeper().settle(engine.series_count())  # as the bot does after a fill
    stages = dict.fromkeys(
        ("gunzip", "json.loads", "validate", "to_batch", "history", "engine"), 0.0
    )
    total = 0
    for raw in timed:
        gc.disable()  # the baseline's raw cost, without collections of the engine's state
        t0 = time.perf_counter()
        plain = zlib.decompress(raw, 16 + zlib.MAX_WBITS)
        t1 = time.perf_counter()
        json.loads(plain)
        t2 = time.perf_counter()
        gc.enable()
        payload = IngestPayload.from_json(plain, now=now)
        t3 = time.perf_counter()
        batch = payload.to_batch()
        t4 = time.perf_counter()
        with gc_paused():  # as bot.services.ingest does
            history.record(batch.samples, batch.events)
            t5 = time.perf_counter()
            out = engine.observe_batch(
                node=batch.node, samples=batch.samples, events=batch.events, now=now
            )
        t6 = time.perf_counter()
        assert not out.notify, out.notify
        times = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)
        for k, dt in zip(stages, times, strict=True):
            stages[k] += dt
        total += len(batch.samples)
    base = stages["gunzip"] + stages["json.loads"]
    print(f"in process, {total:,} samples ({len(timed)} batches, warmed series):")
    for k, v in stages.items():
        print(f"  {k:<11} {v / total * 1e6:6.2f} µs/sample  {v / base:5.2f}x baseline")
    whole = sum(stages.values()) - stages["json.loads"]
    print(
        f"  pipeline (all but json.loads) {total / whole:,.0f} samples/s on one core; "
        f"{whole / base:.1f}x the gunzip+json.loads baseline ({total / base:,.0f} samples/s)",
        flush=True,
    )


# ---------------------------------------------------------------------------------- profile


def profile_phase(tmp: Path, args: argparse.Namespace, base_ts: float) -> None:
    prof = tmp / "bot.prof"
    proc, port = start_bot(tmp, profile_to=prof)
    try:
        bodies = [body(n, r, base_ts) for r in (0, 1) for n in range(args.profile_nodes)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for raw in bodies:
            conn.request(
                "POST",
                "/api/v1/ingest",
                body=raw,
                headers={"Authorization": f"Bearer {TOKEN}", "Content-Encoding": "gzip"},
            )
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 202, resp.status
    finally:
        stop_bot(proc)
    if not prof.exists():
        print("profile: the bot wrote no profile")
        return
    stats = pstats.Stats(str(prof))
    print(f"profile of the bot, {len(bodies)} batches (cProfile; times inflated by it):")
    everything = stats.stats.items()  # type: ignore[attr-defined]
    ours = [kv for kv in everything if f"{ROOT}/bot/" in kv[0][0] or f"{ROOT}/storage/" in kv[0][0]]
    for column, table, title in (
        (2, everything, "own time, all functions"),
        (3, ours, "cumulative time, the bot's own functions"),
    ):
        print(f"  top by {title}:")
        rows = sorted(table, key=lambda kv: kv[1][column])
        for (file, line, fn), (_, calls, tt, ct, _) in rows[::-1][: args.top]:
            where = f"{Path(file).name}:{line}" if line else file
            print(f"    {tt:7.2f} s own {ct:7.2f} s cum {calls:>10,} calls  {fn} ({where})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=625, help="nodes (160 series each)")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--seconds", type=float, default=90.0, help="cap of the sustained round")
    parser.add_argument("--inproc-nodes", type=int, default=160)
    parser.add_argument("--profile-nodes", type=int, default=20)
    parser.add_argument("--top", type=int, default=18)
    parser.add_argument("--skip", nargs="*", default=[], choices=["http", "inproc", "profile"])
    args = parser.parse_args()
    print(
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; {args.nodes} nodes x "
        f"{SERIES_PER_NODE} series = {args.nodes * SERIES_PER_NODE:,} series; "
        f"{TICKS * SERIES_PER_NODE:,} samples per batch",
        flush=True,
    )
    tmp = Path(tempfile.mkdtemp(prefix="gpuwarden-bench-"))
    try:
        (tmp / "config").mkdir()
        (tmp / "config/rules.yaml").write_text(rules_yaml())
        base_ts = time.time() - 6 * 86400  # inside the bot's 7-day window; 1 s per tick
        if "http" not in args.skip:
            http_phase(tmp, args, base_ts)
        if "inproc" not in args.skip:
            inprocess_phase(tmp, args, base_ts)
        if "profile" not in args.skip:
            profile_phase(tmp, args, base_ts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
