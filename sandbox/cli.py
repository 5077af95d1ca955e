"""The ``gpuwarden sandbox`` subcommand: serve the local stand-ins for external services.

Today that is the Slack stand-in (Web API at ``/api/``, browser UI at ``/``); the Kubernetes and
LLM stand-ins will join it on ports 8701 and 8702.
"""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from sandbox.serving import GRACEFUL_SHUTDOWN_SECONDS
from sandbox.slack import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_SLACK_PORT = 8700
DEFAULT_BOT_TOKEN = "xoxb-sandbox-token"  # noqa: S105 - a local stand-in's well-known token
DEFAULT_SIGNING_SECRET = "sandbox-signing-secret"  # noqa: S105 - same
DEFAULT_REQUEST_URL = "http://127.0.0.1:8800/slack/events"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox options to ``parser``."""
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface to listen on")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_SLACK_PORT, help="port of the Slack stand-in"
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
        "--request-url",
        default=DEFAULT_REQUEST_URL,
        help="the bot's Slack Request URL for commands and interactions",
    )


def run(args: argparse.Namespace) -> int:
    """Serve the Slack stand-in until interrupted; return the exit status."""
    app = create_app(
        bot_token=args.bot_token,
        signing_secret=args.signing_secret,
        request_url=args.request_url,
    )
    sys.stdout.write(f"Slack sandbox UI: http://{args.host}:{args.port}/\n")
    sys.stdout.flush()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return 0
