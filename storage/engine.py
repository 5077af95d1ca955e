"""Engines for the two supported databases: a SQLite file (the default) and PostgreSQL.

SQLite connections get foreign keys and, for files, WAL. pysqlite's own transaction handling
breaks SAVEPOINT, so it is switched off and SQLAlchemy emits ``BEGIN`` itself (the recipe from
SQLAlchemy's SQLite dialect documentation).
"""

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from bot.core.errors import ConfigError

_SQLITE_FILE = "gpuwarden.sqlite"
_PSYCOPG = "postgresql+psycopg"
_SQLITE_DRIVERS = ("sqlite", "sqlite+pysqlite")


def default_sqlite_url(data_dir: Path) -> str:
    """URL of the SQLite database file inside ``data_dir``."""
    return f"sqlite:///{data_dir / _SQLITE_FILE}"


def create_engine_for(url: str) -> Engine:
    """Engine for a ``sqlite:///…`` or ``postgresql[+psycopg]://…`` URL."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername=_PSYCOPG)
    if parsed.drivername in _SQLITE_DRIVERS:
        return _sqlite_engine(parsed)
    if parsed.drivername == _PSYCOPG:
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigError(
        source="environment",
        key="GPUWARDEN_DATABASE_URL",
        expected=f"a sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DATABASE URL, "
        f"got the unsupported driver {parsed.drivername!r}",
    )


def _sqlite_engine(url: URL) -> Engine:
    in_file = url.database not in (None, "", ":memory:")
    if in_file:
        Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)

    def on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if in_file:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _begin)
    return engine


def _begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")
