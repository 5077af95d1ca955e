"""Storage fixtures: each contract case runs on memory, a SQLite file and PostgreSQL.

Every PostgreSQL test gets a fresh schema (``search_path`` set through the URL), migrated like a
real database and dropped afterwards. An unreachable server skips those tests locally and fails
them where ``CI=true``.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from bot.core.ports import UnitOfWorkFactory
from storage.engine import create_engine_for, default_sqlite_url
from storage.memory import InMemoryStore, InMemoryUnitOfWork
from storage.migrate import upgrade
from storage.repositories import SqlUnitOfWork

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test?connect_timeout=5"

SQLITE = "sqlite"
POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a database file that does not exist yet."""
    return default_sqlite_url(tmp_path / "data")


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """Engine on the test database; reachability is checked once per session."""
    engine = create_engine_for(POSTGRES_URL)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        engine.dispose()
        _postgres_unreachable(exc)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """URL of a fresh, empty schema, dropped after the test."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with postgres_admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    yield f"{POSTGRES_URL}&options=-csearch_path%3D{schema}"
    with postgres_admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=[SQLITE, POSTGRES])
def empty_database_url(request: pytest.FixtureRequest) -> str:
    """An empty database: a new SQLite file or a new PostgreSQL schema."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture(params=["memory", SQLITE, POSTGRES])
def new_uow(request: pytest.FixtureRequest) -> Iterator[UnitOfWorkFactory]:
    """Makes units of work over one empty store, in memory or in a migrated database."""
    if request.param == "memory":
        store = InMemoryStore()
        yield lambda: InMemoryUnitOfWork(store)
        return
    with _sql_units(request.getfixturevalue(f"{request.param}_url")) as factory:
        yield factory


@pytest.fixture(params=[SQLITE, POSTGRES])
def new_sql_uow(request: pytest.FixtureRequest) -> Iterator[UnitOfWorkFactory]:
    """Like ``new_uow``, for the cases only a real database can show (locking)."""
    with _sql_units(request.getfixturevalue(f"{request.param}_url")) as factory:
        yield factory


@contextmanager
def _sql_units(url: str) -> Iterator[UnitOfWorkFactory]:
    upgrade(url)
    engine = create_engine_for(url)
    try:
        yield lambda: SqlUnitOfWork(engine)
    finally:
        engine.dispose()


def _postgres_unreachable(exc: Exception) -> NoReturn:
    msg = f"PostgreSQL at 127.0.0.1:5432 (database test, user postgres) is unreachable: {exc}"
    if os.environ.get("CI") == "true":
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)
