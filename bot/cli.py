"""The bot's subcommands: ``gpuwarden bot``, ``gpuwarden db upgrade`` and ``gpuwarden rules``."""

from __future__ import annotations

import argparse
import asyncio
import functools
import getpass
import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import uvicorn
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from bot.adapters.prometheus import PrometheusMetricsSource
from bot.adapters.slack import arguments
from bot.bootstrap import build_bot
from bot.config.export import export_prometheus, exported_rules, with_derivations
from bot.config.files import load_config, load_engine_config, parse_duration
from bot.config.runbooks import lint_runbooks, load_remediation, load_runbooks
from bot.config.settings import (
    DatabaseSettings,
    ExportSettings,
    RulesSettings,
    Settings,
    load_settings,
)
from bot.core.errors import ConfigError, NotFound, UserError
from bot.core.export import ExportFormat
from bot.core.reports import as_record
from bot.services import exports, silences
from bot.services.reports import WINDOWS, build_report, to_text
from storage.engine import create_engine_for
from storage.migrate import current_revision, head_revision, upgrade
from storage.repositories import SqlUnitOfWork


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
        runbooks = load_runbooks(settings.runbooks_dir)
        load_remediation(settings.config_dir)  # roles, approvals and guard rails
        print(
            f"configuration OK: {len(config.rules)} rules, "
            f"{len(config.schedules)} on-call schedules, {len(runbooks)} runbooks"
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
        access_log=settings.access_log,  # agents push every second: off unless asked for
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
    rules, left_out = exported_rules(load_engine_config(settings.config_dir))
    text = export_prometheus(
        rules,
        runbook_base_url=args.runbook_base_url or settings.runbook_base_url,
        left_out=left_out,
    )
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {2 * len(rules)} alerting rules to {args.output}", file=sys.stderr)
    return 0


def configure_runbooks(parser: argparse.ArgumentParser) -> None:
    """Options of ``gpuwarden runbooks``."""
    parser.description = "Work with the runbooks (GPUWARDEN_RUNBOOKS_DIR; default: the shipped)."
    sub = parser.add_subparsers(dest="runbooks_command", required=True, metavar="COMMAND")
    lint = sub.add_parser(
        "lint",
        help="validate every runbook file",
        description=(
            "Validate every runbook *.yaml against the schema (docs/schemas/runbook.schema.json): "
            "errors name the file, the step and the field. Warns about rule names the bot does "
            "not evaluate itself (they match only Alertmanager alerts of that name). Exit 1 on "
            "any error."
        ),
    )
    lint.add_argument("--dir", type=Path, metavar="DIR", help="the runbooks directory to check")


@_reported
def run_runbooks(args: argparse.Namespace) -> int:
    """Run a ``gpuwarden runbooks`` command."""
    settings = load_settings(RulesSettings)
    report = lint_runbooks(
        args.dir or settings.runbooks_dir, engine=load_engine_config(settings.config_dir)
    )
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    if report.errors:
        return 1
    steps = sum(len(r.steps) for r in report.runbooks)
    print(f"{len(report.runbooks)} runbooks OK ({steps} steps)")
    return 0


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.log_level != "DEBUG":  # APScheduler logs every run of every job (every 2 s) at INFO
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


def configure_silence(parser: argparse.ArgumentParser) -> None:
    """Options of ``gpuwarden silence``."""
    parser.description = (
        "Mute alerts for a while: a silence mutes every alert whose labels match all of its "
        "matchers (Alertmanager's syntax: name=value, name!=value, name=~regex, name!~regex). "
        "It is stored in the bot's database; a running bot applies it within seconds."
    )
    sub = parser.add_subparsers(dest="silence_command", required=True, metavar="COMMAND")
    add = sub.add_parser("add", help="create a silence", description="Create a silence.")
    add.add_argument(
        "--match",
        action="append",
        required=True,
        metavar="MATCHER",
        help="a label matcher, e.g. node=gpu-node-2 or 'alertname=~gpu_.*' (repeatable)",
    )
    add.add_argument("--for", dest="duration", required=True, help="how long, e.g. 30m, 2h, 1d")
    add.add_argument("--comment", required=True, help="why (shown on the timeline)")
    add.add_argument("--by", default=getpass.getuser(), help="who (default: the login name)")
    listing = sub.add_parser(
        "list", help="list silences", description="Silences in force or scheduled."
    )
    listing.add_argument("--all", action="store_true", help="include silences that have ended")
    expire = sub.add_parser("expire", help="end a silence now", description="End a silence.")
    expire.add_argument("id", help="the silence's id (from `gpuwarden silence list`)")
    expire.add_argument("--by", default=getpass.getuser(), help="who (default: the login name)")


@_reported
def run_silence(args: argparse.Namespace) -> int:
    """Run a ``gpuwarden silence`` command."""
    settings = load_settings(DatabaseSettings)
    upgrade(settings.sqlalchemy_url())
    db = create_engine_for(settings.sqlalchemy_url())
    uow = functools.partial(SqlUnitOfWork, db)
    now = time.time()
    try:
        if args.silence_command == "add":
            made = silences.create(
                uow=uow,
                matchers=args.match,
                ends_at=now + parse_duration(args.duration),
                created_by=args.by,
                comment=args.comment,
                now=now,
            )
            print(f"silence {made.id} until {_local(made.ends_at)}")
        elif args.silence_command == "list":
            for s in silences.listed(uow=uow, now=now, include_ended=args.all):
                matchers = " ".join(str(m) for m in s.matchers)
                until = _local(s.ends_at)
                print(f"{s.id}  {s.state(now):<7}  until {until}  {matchers}  ({s.comment})")
        else:
            ended = silences.expire(uow=uow, silence_id=args.id, actor=args.by, now=now)
            print(f"silence {ended.id} ended at {_local(ended.ends_at)}")
    except (UserError, NotFound, ValueError) as exc:
        print(f"gpuwarden: {exc}", file=sys.stderr)
        return 2
    return 0


def _local(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


def configure_incident(parser: argparse.ArgumentParser) -> None:
    """Options of ``gpuwarden incident``."""
    parser.description = (
        "Work with the incidents in the bot's database (GPUWARDEN_DATABASE_URL or the SQLite "
        "file in GPUWARDEN_DATA_DIR); nothing is written to it."
    )
    sub = parser.add_subparsers(dest="incident_command", required=True, metavar="COMMAND")
    export = sub.add_parser(
        "export",
        help="write an incident's timeline as Markdown, JSON, CSV or HTML, or a postmortem draft",
        description=(
            "Write an incident, its timeline and its alerts as a file: md (Markdown tables), "
            "json (docs/schemas/incident-export.schema.json), csv (the timeline, RFC 4180) or "
            "html (a self-contained page with a chart of the triggering metric, from "
            "GPUWARDEN_PROMETHEUS_URL when set, else the values recorded at alert transitions); "
            "postmortem writes a Markdown postmortem draft instead."
        ),
    )
    export.add_argument("incident", metavar="ID", help="the incident: 12 or INC-12")
    export.add_argument(
        "--format", choices=[f.value for f in ExportFormat], required=True, help="file format"
    )
    export.add_argument(
        "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output"
    )


def configure_report(parser: argparse.ArgumentParser) -> None:
    """Options of ``gpuwarden report``."""
    parser.description = (
        "MTTA, MTTR, SLA compliance per severity, incident count and availability per service "
        "over the last 7 or 30 days, beside the window before, from the bot's database."
    )
    parser.add_argument("--days", type=int, choices=WINDOWS, default=WINDOWS[0], help="window")
    parser.add_argument("--format", choices=["text", "json"], default="text", help="output")


def _read_only(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Exit 2 with one line naming what was wrong: settings, database, incident or file."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except (ConfigError, UserError, NotFound) as exc:
            print(f"gpuwarden: {exc}", file=sys.stderr)
        except OperationalError as exc:
            print(f"gpuwarden: cannot read the database: {exc.orig}", file=sys.stderr)
        except OSError as exc:
            print(f"gpuwarden: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2

    return wrapper


def _database(settings: ExportSettings) -> Callable[[], SqlUnitOfWork]:
    """Units of work on the configured database, which must exist at the current schema."""
    url = make_url(settings.sqlalchemy_url())
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and not Path(str(url.database)).is_file():
        raise UserError(f"no database at {shown}: start the bot or run `gpuwarden db upgrade`")
    have, want = current_revision(str(settings.sqlalchemy_url())), head_revision()
    if have != want:
        msg = f"database {shown} is at schema {have}, not {want}: run `gpuwarden db upgrade`"
        raise UserError(msg)
    return functools.partial(SqlUnitOfWork, create_engine_for(settings.sqlalchemy_url()))


@_read_only
def run_incident(args: argparse.Namespace) -> int:
    """Run a ``gpuwarden incident`` command."""
    settings = load_settings(ExportSettings)
    config = load_config(settings.config_dir)
    incident_id = arguments.incident_id(args.incident)
    history = None
    if settings.prometheus_url is not None:
        history = PrometheusMetricsSource(url=settings.prometheus_url)
    file = asyncio.run(
        exports.export_incident(
            incident_id=incident_id,
            fmt=ExportFormat(args.format),
            uow=_database(settings),
            rules={rule.name: rule for rule in with_derivations(config.engine)},
            history=history,
            now=time.time(),
        )
    )
    if args.output is None:
        sys.stdout.write(file.content)
        return 0
    args.output.write_bytes(file.data)
    print(f"wrote {file.incident.ref} as {args.format} to {args.output}", file=sys.stderr)
    return 0


@_read_only
def run_report(args: argparse.Namespace) -> int:
    """Run ``gpuwarden report``."""
    settings = load_settings(ExportSettings)
    sla = load_config(settings.config_dir).sla
    comparison = build_report(uow=_database(settings), sla=sla, days=args.days, now=time.time())
    if args.format == "json":
        print(json.dumps(as_record(comparison), indent=2))
    else:
        sys.stdout.write(to_text(comparison, sla=sla))
    return 0
