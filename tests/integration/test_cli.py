"""The ``gpuwarden`` command as an operator meets it: help, configuration errors, migrations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config.files import load_config
from bot.config.runbooks import load_runbooks
from storage.migrate import current_revision, head_revision

SECRETS = {
    "GPUWARDEN_INGEST_TOKEN": "ingest-token-for-tests",
    "GPUWARDEN_SLACK_BOT_TOKEN": "xoxb-test",
    "GPUWARDEN_SLACK_SIGNING_SECRET": "signing-secret-for-tests",
}


def gpuwarden(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GPUWARDEN_")}
    return subprocess.run(
        [sys.executable, "-m", "gpuwarden", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def test_top_level_help_lists_every_subcommand():
    result = gpuwarden("--help")
    assert result.returncode == 0
    for command in ("demo", "bot", "agent", "sandbox", "db", "rules", "chaos"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("args", "explains"),
    [
        (["demo"], "Ctrl-C stops everything"),
        (["bot"], "GPUWARDEN_"),
        (["agent"], "--simulate"),
        (["sandbox"], "--request-url"),
        (["db", "upgrade"], "migration"),
        (["chaos"], "PyTorch or CuPy"),
        (["chaos", "gpu-memory-leak"], "--rate RATE"),
    ],
)
def test_each_subcommand_explains_itself(args, explains):
    result = gpuwarden(*args, "--help")
    assert result.returncode == 0, result.stderr
    assert explains in result.stdout


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({**SECRETS, "GPUWARDEN_PORT": "eighty"}, "GPUWARDEN_PORT"),
        ({**SECRETS, "GPUWARDEN_INGEST_TOKEN": "short"}, "GPUWARDEN_INGEST_TOKEN"),
        (
            {k: v for k, v in SECRETS.items() if "SIGNING" not in k},
            "GPUWARDEN_SLACK_SIGNING_SECRET",
        ),
        ({**SECRETS, "GPUWARDEN_SLACK_BOT_TOKEN": "not-a-token"}, "GPUWARDEN_SLACK_BOT_TOKEN"),
    ],
)
def test_a_bad_setting_stops_the_bot_with_one_line_naming_it(env, named, tmp_path: Path):
    result = gpuwarden("bot", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was written


def test_a_bad_rules_file_names_the_file_and_the_key(tmp_path: Path):
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - {name: hot, type: threshold, metric: m, warn: high, crit: 1, recover: 0}\n"
    )
    result = gpuwarden(
        "bot", "--check-config", env={**SECRETS, "GPUWARDEN_CONFIG_DIR": str(tmp_path)}
    )
    assert result.returncode == 2
    assert f"{tmp_path / 'rules.yaml'}: rules[0].warn: expected" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_accepts_the_shipped_defaults():
    result = gpuwarden("bot", "--check-config", env=SECRETS)
    assert result.returncode == 0, result.stderr
    config, runbooks = load_config(None), load_runbooks(None)
    assert f"configuration OK: {len(config.rules)} rules" in result.stdout
    assert f"{len(runbooks)} runbooks" in result.stdout


def test_db_upgrade_creates_the_sqlite_database_in_the_data_dir(tmp_path: Path):
    result = gpuwarden("db", "upgrade", env={"GPUWARDEN_DATA_DIR": str(tmp_path / "state")})
    assert result.returncode == 0, result.stderr
    url = f"sqlite:///{tmp_path / 'state' / 'gpuwarden.sqlite'}"
    assert current_revision(url) == head_revision()
    again = gpuwarden("db", "upgrade", env={"GPUWARDEN_DATA_DIR": str(tmp_path / "state")})
    assert again.returncode == 0
    assert "up to date" in again.stdout


def test_db_upgrade_refuses_an_unknown_database_url_clearly():
    result = gpuwarden("db", "upgrade", env={"GPUWARDEN_DATABASE_URL": "mysql://x@y/z"})
    assert result.returncode == 2
    assert "GPUWARDEN_DATABASE_URL" in result.stderr
    assert "'mysql'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_reported_in_one_line():
    url = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"
    result = gpuwarden("db", "upgrade", env={"GPUWARDEN_DATABASE_URL": url})
    assert result.returncode == 1
    assert result.stderr.startswith("gpuwarden: cannot use the database:")
    assert "Traceback" not in result.stderr
