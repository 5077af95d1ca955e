"""The ``gpuwarden sandbox`` subcommand: serve the local stand-ins for external services.

The Slack stand-in (Web API at ``/api/``, browser UI at ``/``) on port 8700 and the Kubernetes
stand-in (API server subset, demo serving cluster) on 8701, and the OpenAI-compatible LLM
stand-in (``/v1/chat/completions``, ``/v1/models``) on 8702.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import uvicorn

from sandbox import kube, llm
from sandbox.serving import GRACEFUL_SHUTDOWN_SECONDS
from sandbox.slack import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_SLACK_PORT = 8700
DEFAULT_KUBE_PORT = 8701
DEFAULT_LLM_PORT = 8702
DEFAULT_BOT_TOKEN = "xoxb-sandbox-token"  # noqa: S105 - a local stand-in's well-known token
DEFAULT_SIGNING_SECRET = "sandbox-signing-secret"  # noqa: S105 - same
DEFAULT_APP_TOKEN = "xapp-sandbox-token"  # noqa: S105 - same
DEFAULT_REQUEST_URL = "http://127.0.0.1:8800/slack/events"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox options to ``parser``."""
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface to listen on")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_SLACK_PORT, help="port of the Slack stand-in"
    )
    parser.add_argument(
        "--kube-port", type=int, default=DEFAULT_KUBE_PORT, help="port of the Kubernetes stand-in"
    )
    parser.add_argument(
        "--kube-token",
        default=os.environ.get("GPUWARDEN_KUBE_TOKEN", kube.DEFAULT_TOKEN),
        help="bearer token the Kubernetes stand-in accepts (env GPUWARDEN_KUBE_TOKEN)",
    )
    parser.add_argument(
        "--kube-tls-cert",
        default=None,
        help="serve the Kubernetes stand-in over HTTPS with this PEM certificate (kubectl sends "
        "bearer tokens only over TLS)",
    )
    parser.add_argument("--kube-tls-key", default=None, help="the PEM key of --kube-tls-cert")
    parser.add_argument(
        "--kube-ready-after",
        type=float,
        default=kube.DEFAULT_READY_AFTER_S,
        help="seconds a new pod of the Kubernetes stand-in takes to turn ready",
    )
    parser.add_argument(
        "--llm-port", type=int, default=DEFAULT_LLM_PORT, help="port of the LLM stand-in"
    )
    parser.add_argument(
        "--llm-api-key",
        default=os.environ.get("GPUWARDEN_LLM_API_KEY", llm.DEFAULT_API_KEY),
        help="API key the LLM stand-in accepts (env GPUWARDEN_LLM_API_KEY)",
    )
    parser.add_argument(
        "--bot-token",
        default=os.environ.get("GPUWARDEN_SLACK_BOT_TOKEN", DEFAULT_BOT_TOKEN),
        help="bot token the Web API accepts (env GPUWARDEN_SLACK_BOT_TOKEN)",
    )
    parser.add_argument(
        "--signing-secret",
        default=os.environ.get("GPUWARDEN_SLACK_SIGNING_SECRET", DEFAULT_SIGNING_SECRET),
        help="secret that signs deliveries to the bot (env GPUWARDEN_SLACK_SIGNING_SECRET)",
    )
    parser.add_argument(
        "--app-token",
        default=os.environ.get("GPUWARDEN_SLACK_APP_TOKEN", DEFAULT_APP_TOKEN),
        help="app-level token Socket Mode accepts (env GPUWARDEN_SLACK_APP_TOKEN)",
    )
    parser.add_argument(
        "--request-url",
        default=DEFAULT_REQUEST_URL,
        help="the bot's Slack Request URL for commands and interactions",
    )


def run(args: argparse.Namespace) -> int:
    """Serve the Slack, Kubernetes and LLM stand-ins until interrupted; return the exit status."""
    app = create_app(
        bot_token=args.bot_token,
        signing_secret=args.signing_secret,
        request_url=args.request_url,
        app_token=args.app_token,
    )
    kube_app = kube.create_app(
        tokens={args.kube_token: kube.DEFAULT_USER}, ready_after_s=args.kube_ready_after
    )
    sys.stdout.write(f"Slack sandbox UI: http://{args.host}:{args.port}/\n")
    scheme = "https" if args.kube_tls_cert else "http"
    sys.stdout.write(f"Kubernetes sandbox API: {scheme}://{args.host}:{args.kube_port}/\n")
    sys.stdout.write(f"LLM sandbox API: http://{args.host}:{args.llm_port}/v1\n")
    sys.stdout.flush()
    tls = {"ssl_certfile": args.kube_tls_cert, "ssl_keyfile": args.kube_tls_key}
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                served,
                host=args.host,
                port=port,
                log_level="info",
                access_log=False,
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                **options,
            )
        )
        for served, port, options in (
            (app, args.port, {}),
            (kube_app, args.kube_port, tls),
            (llm.create_app(api_key=args.llm_api_key), args.llm_port, {}),
        )
    ]
    asyncio.run(_serve_all(servers))
    return 0


async def _serve_all(servers: list[uvicorn.Server]) -> None:
    await asyncio.gather(*(server.serve() for server in servers))
