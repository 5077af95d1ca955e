"""``gpuwarden demo``: the whole local world in one command.

Starts, as separate processes talking real HTTP, the sandbox (Slack, Kubernetes and LLM
stand-ins), the bot (on SQLite) and a simulated GPU fleet playing the demo scenario; prints the
URL to open; Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from agent import simulate

# GPU saturation at 5 s, a 50 MiB/min GPU memory leak at 30 s, an XID 94 at 60 s (posted, never
# paged), a straggler GPU at 90 s and a traffic surge on a serving node at 150 s (scale out)
DEMO_SCENARIO = Path(simulate.__file__).parent / "scenarios" / "demo.yaml"
_COLOURS = {"sandbox": "\033[36m", "bot": "\033[35m", "agent": "\033[33m"}
_RESET = "\033[0m"


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of ``gpuwarden demo``."""
    parser.description = (
        "Start the local world: the sandbox (Slack with its browser UI, Kubernetes and LLM "
        "stand-ins), the bot on SQLite and a simulated fleet of GPU nodes playing the demo "
        "scenario. Open the printed URL and watch the incidents arrive; acknowledge one, walk a "
        "runbook and approve its scale-out as a second user. Ctrl-C stops everything."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default loopback)")
    parser.add_argument("--sandbox-port", type=int, default=8700, help="Slack sandbox port")
    parser.add_argument("--bot-port", type=int, default=8800, help="bot port")
    parser.add_argument(
        "--kube-port", type=int, default=8701, help="Kubernetes stand-in port (sandbox)"
    )
    parser.add_argument("--llm-port", type=int, default=8702, help="LLM stand-in port (sandbox)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("data/demo"),
        help="where the demo's SQLite database lives (default data/demo)",
    )
    parser.add_argument("--nodes", type=int, default=2, help="simulated GPU nodes")
    parser.add_argument("--gpus-per-node", type=int, default=8, help="GPUs per simulated node")
    parser.add_argument("--interval", type=float, default=1.0, help="agent push interval, seconds")
    parser.add_argument(
        "--faults",
        default=None,
        help="fault schedule for the simulator instead of the demo scenario, e.g. "
        "'gpu_saturation@5s+300s:node=gpu-node-2,gpu=3' (default: the scenario "
        "agent/simulate/scenarios/demo.yaml)",
    )
    parser.add_argument("--fresh", action="store_true", help="delete the demo database first")


@dataclass
class _Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[str] | None = field(default=None, repr=False)


def run(args: argparse.Namespace) -> int:
    """Start every process, wait until they are ready, then supervise until Ctrl-C."""
    for port in (args.sandbox_port, args.bot_port, args.kube_port, args.llm_port):
        if _port_taken(args.host, port):
            print(
                f"gpuwarden demo: port {port} on {args.host} is already in use; stop what "
                "listens there or pick another with --sandbox-port / --bot-port / --kube-port "
                "/ --llm-port",
                file=sys.stderr,
            )
            return 2
    if args.fresh:
        (args.data_dir / "gpuwarden.sqlite").unlink(missing_ok=True)
    children = _children(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        return _supervise(children, args, stop)
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_all(children)
        print("gpuwarden demo: stopped.")


def _children(args: argparse.Namespace) -> list[_Child]:
    sandbox_url = f"http://{args.host}:{args.sandbox_port}"
    bot_url = f"http://{args.host}:{args.bot_port}"
    kube_url = f"http://{args.host}:{args.kube_port}"
    shared = {
        "GPUWARDEN_SLACK_BOT_TOKEN": f"xoxb-demo-{secrets.token_hex(8)}",
        "GPUWARDEN_SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "GPUWARDEN_INGEST_TOKEN": secrets.token_urlsafe(24),
        "GPUWARDEN_KUBE_TOKEN": secrets.token_urlsafe(24),  # the sandbox's kube stand-in takes it
        "PYTHONUNBUFFERED": "1",
    }
    env = {**os.environ, **shared}
    me = [sys.executable, "-m", "gpuwarden"]
    return [
        _Child(
            "sandbox",
            [
                *me,
                "sandbox",
                "--host",
                args.host,
                "--port",
                str(args.sandbox_port),
                "--kube-port",
                str(args.kube_port),
                "--llm-port",
                str(args.llm_port),
                "--request-url",
                f"{bot_url}/slack/events",
            ],
            env,
        ),
        _Child(
            "bot",
            [*me, "bot"],
            {
                **env,
                "GPUWARDEN_HOST": args.host,
                "GPUWARDEN_PORT": str(args.bot_port),
                "GPUWARDEN_DATA_DIR": str(args.data_dir),
                "GPUWARDEN_SLACK_API_URL": f"{sandbox_url}/api/",
                "GPUWARDEN_KUBE_URL": kube_url,
                "GPUWARDEN_KUBE_NAMESPACE": "serving",
            },
        ),
        _Child(
            "agent",
            [
                *me,
                "agent",
                "--simulate",
                "--bot-url",
                bot_url,
                "--interval",
                str(args.interval),
                "--nodes",
                str(args.nodes),
                "--gpus-per-node",
                str(args.gpus_per_node),
                # the fleet follows the stand-in: an approved scale-out or fail-over shows
                "--kube-url",
                kube_url,
                "--kube-token",
                shared["GPUWARDEN_KUBE_TOKEN"],
                *(["--faults", args.faults] if args.faults else ["--scenario", str(DEMO_SCENARIO)]),
            ],
            env,
        ),
    ]


def _supervise(children: Sequence[_Child], args: argparse.Namespace, stop: threading.Event) -> int:
    sandbox, bot, agent = children
    ready = [
        (sandbox, f"http://{args.host}:{args.sandbox_port}/_sandbox/healthz"),
        (bot, f"http://{args.host}:{args.bot_port}/readyz"),
    ]
    for child, url in ready:
        _start(child)
        if not _wait_ready(child, url, timeout_s=60):
            print(
                f"gpuwarden demo: {child.name} did not become ready; see its output above",
                file=sys.stderr,
            )
            return 1
    _start(agent)
    _banner(args)
    while not stop.wait(0.5):
        for child in children:
            code = child.process.poll() if child.process else None
            if code is not None:
                print(
                    f"gpuwarden demo: {child.name} exited with {code}; stopping the rest",
                    file=sys.stderr,
                )
                return 1
    return 0


def _banner(args: argparse.Namespace) -> None:
    url = f"http://{args.host}:{args.sandbox_port}/"
    print(
        "\n"
        f"  gpuwarden demo is running.  Open  {url}\n"
        f"  {args.nodes} simulated nodes x {args.gpus_per_node} GPUs report every "
        f"{args.interval:g} s; scheduled faults: {args.faults or DEMO_SCENARIO.name}\n"
        "  Watch #gpu-alerts: an incident appears within about a minute; click Acknowledge.\n"
        f"  Kubernetes stand-in (the fleet follows it): http://{args.host}:{args.kube_port}\n"
        f"  Bot API: http://{args.host}:{args.bot_port}/docs     Ctrl-C stops everything.\n",
        flush=True,
    )


def _start(child: _Child) -> None:
    child.process = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
        child.argv,
        env=child.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Ctrl-C reaches the launcher only; it stops children in order
    )
    threading.Thread(target=_relay, args=(child,), daemon=True).start()


def _relay(child: _Child) -> None:
    """Copy a child's output to ours, each line prefixed with the child's name."""
    assert child.process is not None
    assert child.process.stdout is not None
    colour = _COLOURS.get(child.name, "") if sys.stdout.isatty() else ""
    reset = _RESET if colour else ""
    for line in child.process.stdout:
        sys.stdout.write(f"{colour}{child.name:>8} |{reset} {line}")
        sys.stdout.flush()


def _wait_ready(child: _Child, url: str, *, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.process is None or child.process.poll() is not None:
            return False
        try:
            if httpx.get(url, timeout=1.0).is_success:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False


def _stop_all(children: Sequence[_Child]) -> None:
    """SIGTERM in reverse start order, then SIGKILL whatever is still there after 10 s."""
    running = [c.process for c in reversed(children) if c.process and c.process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + 10
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) == 0
