"""Argument parsing for ``gpuwarden`` and dispatch to each part's own subcommand."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from agent import chaos
from agent import cli as agent_cli
from bot import cli as bot_cli
from gpuwarden import demo
from sandbox import cli as sandbox_cli

Runner = Callable[[argparse.Namespace], int]

_COMMANDS: list[tuple[str, str, Callable[[argparse.ArgumentParser], None], Runner]] = [
    (
        "demo",
        "start the whole local world: sandbox, bot and a simulated GPU fleet",
        demo.configure,
        demo.run,
    ),
    (
        "bot",
        "run the bot (ingest API, Slack events, incidents)",
        bot_cli.configure_bot,
        bot_cli.run_bot,
    ),
    (
        "agent",
        "run the GPU node agent (real GPUs via NVML, or --simulate a fleet)",
        agent_cli.configure,
        agent_cli.run,
    ),
    (
        "sandbox",
        "run the local stand-ins: Slack (with its browser UI), Kubernetes and an LLM",
        sandbox_cli.configure,
        sandbox_cli.run,
    ),
    ("db", "manage the database (db upgrade)", bot_cli.configure_db, bot_cli.run_db),
    (
        "chaos",
        "create a real fault on a real GPU (gpu-memory-leak, gpu-load) for drills",
        chaos.configure,
        chaos.run,
    ),
    (
        "silence",
        "mute alerts for a while (silence add|list|expire)",
        bot_cli.configure_silence,
        bot_cli.run_silence,
    ),
    (
        "rules",
        "work with the alert rules (rules export --format prometheus)",
        bot_cli.configure_rules,
        bot_cli.run_rules,
    ),
    (
        "incident",
        "work with incidents (incident export ID --format md|json|csv|html|postmortem)",
        bot_cli.configure_incident,
        bot_cli.run_incident,
    ),
    (
        "report",
        "MTTA, MTTR, SLA compliance and availability over 7 or 30 days",
        bot_cli.configure_report,
        bot_cli.run_report,
    ),
    (
        "runbooks",
        "work with the runbooks (runbooks lint)",
        bot_cli.configure_runbooks,
        bot_cli.run_runbooks,
    ),
]


def build_parser() -> argparse.ArgumentParser:
    """The full ``gpuwarden`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="gpuwarden",
        description="ChatOps incident response for GPU model-serving clusters.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text, configure, runner in _COMMANDS:
        child = sub.add_parser(name, help=help_text, description=help_text)
        configure(child)
        child.set_defaults(run=runner)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gpuwarden`` console script."""
    args = build_parser().parse_args(argv)
    runner: Runner = args.run
    try:
        return runner(args)
    except KeyboardInterrupt:
        return 130
