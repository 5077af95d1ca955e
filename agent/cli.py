"""`gpuwarden agent`: run the node agent pushing to the bot.

Without ``--simulate`` it reads this node's GPUs through NVML, XIDs from NVML events and the
kernel log, and host signals (see ``agent.collectors.gpu_node``). With ``--simulate``, one
process plays every node of a simulated fleet: each tick ships one batch per node, carrying that
node's name, so 2 nodes x 8 GPUs look like two agents to the bot. The local sources (serving
``/metrics``, log files, the quality endpoint) then report as the first simulated node. The
exporter serves the latest readings and the agent's own metrics.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry

from agent.bootstrap import AgentParts, LocalSources
from agent.collectors.gpu_node import GpuNodeOptions, gpu_node_source
from agent.errors import ConfigError
from agent.exporter import DEFAULT_METRICS_PORT
from agent.quality import DEFAULT_QUALITY_PORT
from agent.runner import StopFlag
from agent.simulate import DEFAULT_FAULTS, Fleet, parse_schedule
from agent.simulate.cluster import ClusterFollower
from agent.simulate.fleet import DEFAULT_SLOW_IMAGES, MAX_GPUS_PER_NODE, MAX_NODES
from agent.simulate.scenario import load_scenario
from agent.source import Source
from agent.spool import DEFAULT_MAX_BYTES
from agent.urgent import UrgentEvents
from agent.watch import DEFAULT_WATCH_INTERVAL_S, WATCH_PATH
from agent.wire import INGEST_PATH

logger = logging.getLogger(__name__)

DEFAULT_BOT_URL = "http://127.0.0.1:8800"
DEFAULT_TOKEN = "dev-ingest-token"  # noqa: S105 - the documented local-development token
EXIT_USAGE = 2
DEFAULT_SPOOL_DIR = "/var/lib/gpuwarden/spool"


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected more than 0 seconds, got {text!r}")
    return value


def _seconds_or_off(text: str) -> float:
    return 0.0 if text.strip() in ("0", "0.0") else _positive_seconds(text)


def _count(high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isdigit() or not 1 <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number 1-{high}, got {text!r}")
        return int(text)

    return parse


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:  # noqa: PLR2004 - the TCP port range
        raise argparse.ArgumentTypeError(f"expected a TCP port 0-65535 (0: off), got {text!r}")
    return int(text)


def _byte_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of bytes, got {text!r}")
    return int(text)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `gpuwarden agent` options to `parser`."""
    env = os.environ.get
    parser.add_argument(
        "--bot-url",
        default=env("GPUWARDEN_BOT_URL", DEFAULT_BOT_URL),
        help="bot base URL (env GPUWARDEN_BOT_URL; default %(default)s)",
    )
    parser.add_argument(
        "--token",
        default=env("GPUWARDEN_INGEST_TOKEN", DEFAULT_TOKEN),
        help="bearer token for the ingest API (env GPUWARDEN_INGEST_TOKEN)",
    )
    parser.add_argument(
        "--interval",
        type=_positive_seconds,
        default=1.0,
        help="seconds between collections and pushes (default %(default)s)",
    )
    parser.add_argument(
        "--watch-interval",
        type=_seconds_or_off,
        default=DEFAULT_WATCH_INTERVAL_S,
        help="seconds between samples of the metrics the bot's threshold rules watch; a "
        "crossing is shipped at once (0: off; default %(default)s)",
    )
    parser.add_argument(
        "--simulate", action="store_true", help="play a simulated fleet instead of real GPUs"
    )
    parser.add_argument(
        "--nodes",
        type=_count(MAX_NODES),
        default=2,
        help="simulated nodes, gpu-node-1..N (default %(default)s)",
    )
    parser.add_argument(
        "--gpus-per-node",
        type=_count(MAX_GPUS_PER_NODE),
        default=8,
        help="simulated GPUs per node (default %(default)s)",
    )
    schedule = parser.add_mutually_exclusive_group()
    schedule.add_argument(
        "--faults",
        default=env("GPUWARDEN_SIM_FAULTS", DEFAULT_FAULTS),
        help="fault schedule, e.g. 'gpu_saturation@20s+120s:node=gpu-node-2,gpu=3' "
        "(';' between faults, '' for none; env GPUWARDEN_SIM_FAULTS; default %(default)s)",
    )
    schedule.add_argument(
        "--scenario",
        type=Path,
        default=env("GPUWARDEN_SIM_SCENARIO") or None,
        metavar="FILE",
        help="fault schedule as a YAML list of {at, duration, node, gpu, fault, params}, "
        "instead of --faults (env GPUWARDEN_SIM_SCENARIO; e.g. "
        "agent/simulate/scenarios/demo.yaml)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="random seed of the simulation (default: random)"
    )
    parser.add_argument(
        "--kube-url",
        default=env("GPUWARDEN_KUBE_URL") or None,
        help="Kubernetes API the simulated fleet follows (replicas, Service colour, cordons, "
        "images), e.g. the stand-in at http://127.0.0.1:8701 (env GPUWARDEN_KUBE_URL)",
    )
    parser.add_argument(
        "--kube-token",
        default=env("GPUWARDEN_KUBE_TOKEN", ""),
        help="bearer token for --kube-url (env GPUWARDEN_KUBE_TOKEN)",
    )
    parser.add_argument(
        "--sim-slow-image",
        action="append",
        default=None,
        metavar="IMAGE",
        help="serving image whose first token comes twice as late in the simulation "
        f"(repeatable; default {', '.join(sorted(DEFAULT_SLOW_IMAGES))})",
    )
    _configure_local(parser)
    _configure_gpu_node(parser)


def _configure_gpu_node(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--node",
        default=env("GPUWARDEN_NODE_NAME", socket.gethostname()),
        help="this node's name in alerts (env GPUWARDEN_NODE_NAME, e.g. the Kubernetes node "
        "name from the downward API; default the host name)",
    )
    parser.add_argument(
        "--no-nvml",
        dest="nvml",
        action="store_false",
        help="do not read GPUs through NVML (host and log signals only)",
    )
    parser.add_argument(
        "--nvml-timeout",
        type=_positive_seconds,
        default=0.5,
        help="time box of one NVML collection; a slower one serves the last "
        "sample, marked stale (default %(default)s s)",
    )
    parser.add_argument(
        "--kmsg-path",
        default="/dev/kmsg",
        help="kernel log to read XIDs from ('' for none; default %(default)s)",
    )
    parser.add_argument(
        "--serving-process",
        action="append",
        default=[],
        metavar="NAME=REGEX",
        help="serving process whose RSS to watch, by command-line regex or "
        "NAME=/path/to/pidfile (repeatable)",
    )


def _configure_local(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--metrics-port",
        type=_port,
        default=env("GPUWARDEN_METRICS_PORT", str(DEFAULT_METRICS_PORT)),
        help="Prometheus /metrics port on all interfaces, 0 for none "
        "(env GPUWARDEN_METRICS_PORT; default %(default)s)",
    )
    parser.add_argument(
        "--spool-dir",
        default=env("GPUWARDEN_SPOOL_DIR"),
        help="directory keeping undelivered batches across bot outages and agent restarts, "
        f"'' to keep them in memory only (env GPUWARDEN_SPOOL_DIR; default {DEFAULT_SPOOL_DIR}, "
        "or memory with --simulate)",
    )
    parser.add_argument(
        "--spool-max-bytes",
        type=_byte_count,
        default=DEFAULT_MAX_BYTES,
        help="spool size past which the oldest batches are dropped, counted "
        "(default %(default)s = 256 MiB)",
    )
    parser.add_argument(
        "--serving-url",
        action="append",
        default=[],
        metavar="URL",
        help="vLLM or SGLang /metrics URL to scrape, e.g. http://127.0.0.1:8000/metrics "
        "(repeatable)",
    )
    parser.add_argument(
        "--serving-interval",
        type=_positive_seconds,
        default=5.0,
        help="seconds between scrapes of the serving URLs (default %(default)s)",
    )
    parser.add_argument(
        "--log-file",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="log file in the seed's format to follow from its end (repeatable)",
    )
    parser.add_argument(
        "--quality-port",
        type=_port,
        default=DEFAULT_QUALITY_PORT,
        help="port on 127.0.0.1 taking POSTed model-quality signals, 0 for none "
        "(default %(default)s)",
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    fleet: Fleet | None  # None: this node's real GPUs
    ingest_url: str
    token: str
    interval_s: float
    seed: int
    parts: AgentParts
    gpu_node: GpuNodeOptions


def _http_url(flag: str, text: str) -> str:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        url = httpx.URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"{flag} must be an http:// or https:// URL, got {text!r}")
    return str(url)


def _parts(args: argparse.Namespace) -> AgentParts:
    spool_dir = args.spool_dir
    if spool_dir is None:
        spool_dir = "" if args.simulate else DEFAULT_SPOOL_DIR
    return AgentParts(
        watch_interval_s=args.watch_interval,
        metrics_port=args.metrics_port,
        spool_dir=Path(spool_dir) if spool_dir else None,
        spool_max_bytes=args.spool_max_bytes,
        local=LocalSources(
            serving_urls=tuple(_http_url("--serving-url", u) for u in args.serving_url),
            serving_interval_s=args.serving_interval,
            log_files=tuple(args.log_file),
            quality_port=args.quality_port,
        ),
    )


def _plan(args: argparse.Namespace) -> _Plan:
    if not args.token:
        raise ConfigError("--token (GPUWARDEN_INGEST_TOKEN) must not be empty")
    ingest_url = _http_url("--bot-url", args.bot_url).rstrip("/") + INGEST_PATH
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    gpu_node = GpuNodeOptions(
        nvml=args.nvml,
        nvml_timeout_s=args.nvml_timeout,
        kmsg_path=Path(args.kmsg_path) if args.kmsg_path else None,
        serving_processes=tuple(args.serving_process),
    )
    parts = _parts(args)
    if args.kube_url:
        _http_url("--kube-url", args.kube_url)
    if not args.simulate:
        return _Plan(None, ingest_url, args.token, args.interval, seed, parts, gpu_node)
    scenario = Path(args.scenario) if args.scenario else None
    flag = "--scenario" if scenario is not None else "--faults (GPUWARDEN_SIM_FAULTS)"
    try:
        fleet = Fleet(
            nodes=args.nodes,
            gpus_per_node=args.gpus_per_node,
            seed=seed,
            schedule=load_scenario(scenario) if scenario else parse_schedule(args.faults),
            slow_images=args.sim_slow_image or DEFAULT_SLOW_IMAGES,
        )
    except ConfigError as exc:
        raise ConfigError(f"{flag}: {exc}") from exc
    return _Plan(fleet, ingest_url, args.token, args.interval, seed, parts, gpu_node)


def _announce(plan: _Plan, args: argparse.Namespace) -> None:
    if plan.fleet is None:
        logger.info(
            "node %s: real collectors; shipping to %s every %.1fs",
            args.node,
            plan.ingest_url,
            plan.interval_s,
        )
        return
    logger.info(
        "simulating %d node(s) x %d GPU(s), seed %d, faults: %s; shipping to %s every %.1fs",
        len(plan.fleet.nodes),
        plan.fleet.nodes[0].gpu_count,
        plan.seed,
        plan.fleet.schedule.to_text() or "none",
        plan.ingest_url,
        plan.interval_s,
    )


def run(args: argparse.Namespace) -> int:
    """Run the agent until SIGTERM or SIGINT; return the exit status (2 for bad options)."""
    try:
        plan = _plan(args)
    except ConfigError as exc:
        print(f"gpuwarden agent: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    _announce(plan, args)
    stop = StopFlag()
    in_main_thread = threading.current_thread() is threading.main_thread()
    restore = stop.install() if in_main_thread else None
    try:
        with ExitStack() as stack:
            registry, urgent = CollectorRegistry(), UrgentEvents()
            sources: Sequence[Source] = (
                plan.fleet.nodes
                if plan.fleet is not None
                else [
                    gpu_node_source(
                        stack,
                        node=args.node,
                        registry=registry,
                        urgent=urgent,
                        options=plan.gpu_node,
                    )
                ]
            )
            fleet = plan.fleet
            loop = plan.parts.build_loop(
                stack,
                sources=sources,
                registry=registry,
                urgent=urgent,
                silenced=(lambda node, now: node in fleet.silent_nodes(now)) if fleet else None,
                ingest_url=plan.ingest_url,
                watch_url=plan.ingest_url.removesuffix(INGEST_PATH) + WATCH_PATH,
                token=plan.token,
                interval_s=plan.interval_s,
                stop=stop,
            )
            if plan.fleet is not None:
                plan.fleet.urgent = urgent.put  # XIDs leave at once, as the real collector's do
                if args.kube_url:
                    follower = ClusterFollower(args.kube_url, args.kube_token)
                    stack.enter_context(follower).start()
                    plan.fleet.placement = follower.placement
            loop.run()
    except ConfigError as exc:
        print(f"gpuwarden agent: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if restore is not None:
            restore()
    return 0
