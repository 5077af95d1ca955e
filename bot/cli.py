"""The bot's subcommands: ``gpuwarden bot``, ``gpuwarden db upgrade`` and ``gpuwarden rules``."""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from bot.bootstrap import build_bot
from bot.config.export import export_prometheus, with_derivations
from bot.config.files import load_config, load_engine_config
from bot.config.settings import DatabaseSettings, RulesSettings, Settings, load_settings
from bot.core.errors import ConfigError
from storage.migrate import upgrade


def configure_bot(parser: argparse.ArgumentParser) -> None:
    """Options of ``gpuwarden bot``."""
    parser.description = (
        "Run the bot: the ingest API for node agents, the Slack event endpoint and the incident "
        "API, on GPUWARDEN_HOST:GPUWARDEN_PORT (default 127.0.0.1:8800). Pending database "
        "migrations run first. Configuration comes from GPUWARDEN_* variables (see .env.example) "
        "and the YAML files in GPUWARDEN_CONFIG_DIR."
    )
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="validate settings and YAML files, print a summary and exit",
    )


def _reported(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn known start-up failures into one line on stderr and an exit code, not a traceback."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except ConfigError as exc:
            print(f"gpuwarden: configuration error: {exc}", file=sys.stderr)
            return 2
        except OperationalError as exc:
            print(f"gpuwarden: cannot use the database: {exc.orig}", file=sys.stderr)
            return 1

    return wrapper


@_reported
def run_bot(args: argparse.Namespace) -> int:
    """Start the bot (or only check its configuration)."""
    settings = load_settings(Settings)
    config = load_config(settings.config_dir)
    if args.check_config:
        print(
            f"configuration OK: {len(config.rules)} rules, "
            f"{len(config.schedules)} on-call schedules"
        )
        return 0
    _logging(settings)
    upgrade(settings.sqlalchemy_url())
    bot = build_bot(settings, config)
    uvicorn.run(
        bot.app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        log_level=settings.log_level.lower(),
    )
    return 0


def configure_db(parser: argparse.ArgumentParser) -> None:
    """Options of ``gpuwarden db``."""
    parser.description = "Manage the bot's database (GPUWARDEN_DATABASE_URL or DATABASE_URL)."
    sub = parser.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    sub.add_parser(
        "upgrade",
        help="apply pending migrations (the bot also does this at start-up)",
        description="Apply every pending Alembic migration to the configured database.",
    )


@_reported
def run_db(args: argparse.Namespace) -> int:
    """Run a ``gpuwarden db`` command."""
    settings = load_settings(DatabaseSettings)
    if args.db_command == "upgrade":
        upgrade(settings.sqlalchemy_url())
        shown = make_url(settings.sqlalchemy_url()).render_as_string(hide_password=True)
        print(f"database {shown} is up to date")
    return 0


def configure_rules(parser: argparse.ArgumentParser) -> None:
    """Options of ``gpuwarden rules``."""
    parser.description = "Work with the alert rules of rules.yaml (in GPUWARDEN_CONFIG_DIR)."
    sub = parser.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")
    export = sub.add_parser(
        "export",
        help="write the threshold rules as a Prometheus rule file",
        description=(
            "Write the threshold rules as a Prometheus rule file: per rule a <name>_warn and a "
            "<name>_crit alerting rule with the rule's `for` durations, labels severity and "
            "gpuwarden_severity, annotations summary and runbook_url, and the recover value "
            "kept through an ALERTS self-join (explained in the file). Check it with "
            "`promtool check rules FILE`."
        ),
    )
    export.add_argument(
        "--format", choices=["prometheus"], required=True, help="output format (prometheus)"
    )
    export.add_argument(
        "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output"
    )
    export.add_argument(
        "--runbook-base-url",
        metavar="URL",
        help="runbook_url is URL + rule name (default: GPUWARDEN_RUNBOOK_BASE_URL)",
    )


@_reported
def run_rules(args: argparse.Namespace) -> int:
    """Run a ``gpuwarden rules`` command."""
    settings = load_settings(RulesSettings)
    rules = with_derivations(load_engine_config(settings.config_dir))
    text = export_prometheus(
        rules, runbook_base_url=args.runbook_base_url or settings.runbook_base_url
    )
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {2 * len(rules)} alerting rules to {args.output}", file=sys.stderr)
    return 0


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
