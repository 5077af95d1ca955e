"""Engines: SQLite files get their directory, WAL and foreign keys; PostgreSQL uses psycopg."""

from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from bot.core.errors import ConfigError
from storage.engine import create_engine_for, default_sqlite_url
from storage.migrate import upgrade


def test_default_sqlite_url_points_at_a_file_in_the_data_dir(tmp_path: Path) -> None:
    assert default_sqlite_url(tmp_path) == f"sqlite:///{tmp_path}/gpuwarden.sqlite"


def test_sqlite_engine_creates_the_missing_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "var" / "gpuwarden"

    engine = create_engine_for(default_sqlite_url(data_dir))
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()

    assert (data_dir / "gpuwarden.sqlite").is_file()


def test_sqlite_connections_use_wal_and_enforce_foreign_keys(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = create_engine_for(sqlite_url)
    try:
        with engine.connect() as connection:
            journal_mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            with pytest.raises(IntegrityError):
                connection.exec_driver_sql(
                    "INSERT INTO timeline_entry (incident_id, at, kind, text, actor, data)"
                    " VALUES (404, 1.0, 'note', 'orphan', 'me', '{}')"
                )
    finally:
        engine.dispose()

    assert journal_mode == "wal"


def test_plain_postgresql_url_is_driven_by_psycopg() -> None:
    engine = create_engine_for("postgresql://postgres@127.0.0.1:5432/test")

    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_unsupported_database_url_raises_config_error_naming_the_scheme() -> None:
    with pytest.raises(ConfigError, match="mysql") as raised:
        create_engine_for("mysql://root@localhost/gpuwarden")

    assert "postgresql+psycopg://" in raised.value.expected
