"""`gpuwarden agent`: run the node agent (for now, a simulated fleet) pushing to the bot.

With ``--simulate``, one process plays every node of a simulated fleet: each tick ships one batch
per node, carrying that node's name, so 2 nodes x 8 GPUs look like two agents to the bot.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from prometheus_client import CollectorRegistry

from agent.errors import ConfigError
from agent.runner import AgentLoop, StopFlag
from agent.shipper import Shipper
from agent.simulate import DEFAULT_FAULTS, Fleet, parse_schedule
from agent.simulate.fleet import MAX_GPUS_PER_NODE, MAX_NODES
from agent.wire import INGEST_PATH

logger = logging.getLogger(__name__)

DEFAULT_BOT_URL = "http://127.0.0.1:8800"
DEFAULT_TOKEN = "dev-ingest-token"  # noqa: S105 - the documented local-development token
NO_COLLECTORS = "real collectors are not available in this build; pass --simulate"
EXIT_USAGE = 2


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected more than 0 seconds, got {text!r}")
    return value


def _count(high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isdigit() or not 1 <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number 1-{high}, got {text!r}")
        return int(text)

    return parse


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
        default=5.0,
        help="seconds between collections (default %(default)s)",
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
    parser.add_argument(
        "--faults",
        default=env("GPUWARDEN_SIM_FAULTS", DEFAULT_FAULTS),
        help="fault schedule, e.g. 'gpu_saturation@20s+120s:node=gpu-node-2,gpu=3' "
        "(';' between faults, '' for none; env GPUWARDEN_SIM_FAULTS; default %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="random seed of the simulation (default: random)"
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    fleet: Fleet
    ingest_url: str
    token: str
    interval_s: float
    seed: int


def _ingest_url(bot_url: str) -> str:
    try:
        url = httpx.URL(bot_url)
    except httpx.InvalidURL:
        url = httpx.URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"--bot-url must be an http:// or https:// URL, got {bot_url!r}")
    return str(url).rstrip("/") + INGEST_PATH


def _plan(args: argparse.Namespace) -> _Plan:
    if not args.simulate:
        raise ConfigError(NO_COLLECTORS)
    if not args.token:
        raise ConfigError("--token (GPUWARDEN_INGEST_TOKEN) must not be empty")
    ingest_url = _ingest_url(args.bot_url)
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    try:
        fleet = Fleet(
            nodes=args.nodes,
            gpus_per_node=args.gpus_per_node,
            seed=seed,
            schedule=parse_schedule(args.faults),
        )
    except ConfigError as exc:
        raise ConfigError(f"--faults (GPUWARDEN_SIM_FAULTS): {exc}") from exc
    return _Plan(fleet, ingest_url, args.token, args.interval, seed)


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
    fleet = plan.fleet
    logger.info(
        "simulating %d node(s) x %d GPU(s), seed %d, faults: %s; shipping to %s every %.1fs",
        len(fleet.nodes),
        fleet.nodes[0].gpu_count,
        plan.seed,
        fleet.schedule.to_text() or "none",
        plan.ingest_url,
        plan.interval_s,
    )
    stop = StopFlag()
    in_main_thread = threading.current_thread() is threading.main_thread()
    restore = stop.install() if in_main_thread else None
    try:
        with Shipper(plan.ingest_url, plan.token, registry=CollectorRegistry()) as shipper:
            AgentLoop(
                sources=fleet.nodes, shipper=shipper, stop=stop, interval_s=plan.interval_s
            ).run()
    finally:
        if restore is not None:
            restore()
    return 0
