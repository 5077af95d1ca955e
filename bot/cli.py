"""The bot's subcommands: ``gpuwarden bot`` and ``gpuwarden db upgrade``."""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from collections.abc import Callable

import uvicorn
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from bot.bootstrap import build_bot
from bot.config.files import load_config
from bot.config.settings import DatabaseSettings, Settings, load_settings
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
            f"{len(config.rotations)} on-call schedules"
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


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
